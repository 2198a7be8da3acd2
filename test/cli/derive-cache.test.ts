// The derivation cache (src/cli/derive-cache.ts): a second run reads the derived futures instead of
// deriving them; an entry is data, checked against the compiled model (a corrupt or mismatched one is
// derived again and rewritten); and a wrong entry that passes those checks costs an error naming the
// derived future (exit 2), never a wrong verdict, because the engine checks every step against it. The
// cache is bounded (the least recently used entries go), and one that cannot be written costs one warning.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';
import model from '../fixtures/models/future-readers.ts';
import { instantiate } from '../../src/model/compile.ts';
import { deriveFutures } from '../../src/por/derive-futures.ts';
import { entryFor, pruneDeriveCache } from '../../src/cli/derive-cache.ts';

const F = 'test/fixtures/models/future-readers.ts';
const ARGS = ['verify', F, '--variant', 'undeclared', '--derive-futures', '--workers', '1'];

let dir: string;
const saved = process.env.PTCHECK_CACHE_DIR;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ptcheck-derive-cache-'));
  process.env.PTCHECK_CACHE_DIR = dir;
});
afterEach(() => {
  if (saved === undefined) delete process.env.PTCHECK_CACHE_DIR;
  else process.env.PTCHECK_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

/** The one derivation entry in the cache folder. */
function entryFile(): string {
  const files = readdirSync(join(dir, 'derive')).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return join(dir, 'derive', files[0]!);
}

describe('the derivation cache', () => {
  it('a second run reads the derived futures from the cache, with the same states and verdicts', () => {
    const first = ptcheck([...ARGS, '-v']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/thread futures: 10 labels derived, 0 declared, 0 unrestricted \(derived in [\d,]+ step runs, [\d.]+ m?s\)/);
    const second = ptcheck([...ARGS, '-v']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/thread futures: 10 labels derived, 0 declared, 0 unrestricted \(derived in [\d,]+ step runs, read from the cache in/);
    const a = JSON.parse(ptcheck([...ARGS, '--json']).stdout);
    expect(a.stats.futures.derivation.cached).toBe(true);
    const fresh = mkdtempSync(join(tmpdir(), 'ptcheck-derive-cache-'));
    try {
      process.env.PTCHECK_CACHE_DIR = fresh;
      const b = JSON.parse(ptcheck([...ARGS, '--json']).stdout);
      expect(b.stats.futures.derivation.cached).toBeUndefined();
      expect(a.stats.states).toBe(b.stats.states);
      expect(a.properties).toEqual(b.properties);
    } finally {
      process.env.PTCHECK_CACHE_DIR = dir;
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('another variant or other parameters are another entry', () => {
    expect(ptcheck(ARGS).code).toBe(0);
    expect(ptcheck([...ARGS, '--param', 'readers=3']).code).toBe(0);
    expect(readdirSync(join(dir, 'derive')).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });

  it('a planted wrong entry (futures too narrow) ends in exit 2 naming the derived future, never a verdict', () => {
    expect(ptcheck(ARGS).code).toBe(0);
    const file = entryFile();
    const e = JSON.parse(readFileSync(file, 'utf8'));
    // every derived future empty: well-formed, fits the layout, and wrong (the writer stores to `data`)
    const empty = (side: (number[] | null)[][]) => side.map((per) => per.map((b) => (b === null ? null : b.map(() => 0))));
    writeFileSync(file, JSON.stringify({ ...e, touch: empty(e.touch), change: empty(e.change) }));
    const r = ptcheck(ARGS);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/derived future/);
    expect(r.stdout).not.toMatch(/verdict/);
  });

  for (const [what, corrupt] of [
    ['not JSON', () => '{"v":1,'],
    ['code, not data', () => 'module.exports = {}'],
    ['another layout', (e: any) => JSON.stringify({ ...e, layout: '0'.repeat(64) })],
    ['a word past the model', (e: any) => JSON.stringify({ ...e, touch: e.touch.map((per: (number[] | null)[]) => per.map((b) => (b === null ? null : b.map(() => -1)))) })],
    ['a thread missing', (e: any) => JSON.stringify({ ...e, touch: e.touch.slice(1), change: e.change.slice(1) })],
    ['a bitset of the wrong length', (e: any) => JSON.stringify({ ...e, change: e.change.map((per: (number[] | null)[]) => per.map((b) => (b === null ? null : [...b, 0]))) })],
    ['a fraction', (e: any) => JSON.stringify({ ...e, touch: e.touch.map((per: (number[] | null)[]) => per.map((b) => (b === null ? null : b.map((x) => x + 0.5)))) })],
    ['a negative run count', (e: any) => JSON.stringify({ ...e, runs: -1 })],
  ] as const) {
    it(`an entry with ${what} is ignored, derived again and rewritten`, () => {
      expect(ptcheck(ARGS).code).toBe(0);
      const file = entryFile();
      const good = readFileSync(file, 'utf8');
      writeFileSync(file, corrupt(JSON.parse(good)));
      const r = ptcheck([...ARGS, '-v']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/10 labels derived, 0 declared, 0 unrestricted \(derived in [\d,]+ step runs, [\d.]+ m?s\)/);
      expect(readFileSync(file, 'utf8')).toBe(good);
    });
  }

  it('entryFor: an entry made for one compiled model fits it, and not another of other parameters', () => {
    const cm = instantiate(model, 'undeclared', { readers: 2 }).compiled;
    const other = instantiate(model, 'undeclared', { readers: 3 }).compiled;
    const d = deriveFutures(cm);
    expect(d.gaveUp).toBeUndefined();
    // the CLI's own writer, through a run, is tested above; here the reader alone, on a hand-made entry
    expect(ptcheck([...ARGS]).code).toBe(0);
    const text = readFileSync(entryFile(), 'utf8');
    const hit = entryFor(cm, text)!;
    expect(hit.cached).toBe(true);
    expect(hit.touch.map((per) => per.map((b) => (b ? Array.from(b) : null)))).toEqual(d.touch.map((per) => per.map((b) => (b ? Array.from(b) : null))));
    expect(entryFor(other, text)).toBeUndefined();
    const gave = JSON.stringify({ ...JSON.parse(text), touch: undefined, change: undefined, gaveUp: 'x'.repeat(2000) });
    expect(entryFor(cm, gave)).toBeUndefined();
  });

  it('pruning keeps the newest entries within the bounds, and removes only stale temporary files', () => {
    const d = join(dir, 'derive');
    mkdirSync(d, { recursive: true });
    const t0 = Date.now() / 1000;
    for (let i = 0; i < 6; i++) {
      const f = join(d, `${i}.json`);
      writeFileSync(f, 'x'.repeat(100));
      utimesSync(f, t0 - 100 + i, t0 - 100 + i); // 5 is the newest
    }
    writeFileSync(join(d, 'a.json.tmp-1-0'), '');
    utimesSync(join(d, 'a.json.tmp-1-0'), t0 - 3600, t0 - 3600);
    writeFileSync(join(d, 'b.json.tmp-2-0'), '');
    pruneDeriveCache(d, 4, 1_000_000);
    expect(readdirSync(d).sort()).toEqual(['2.json', '3.json', '4.json', '5.json', 'b.json.tmp-2-0']);
    pruneDeriveCache(d, 100, 250); // bytes: two entries of 100 fit, a third would not
    expect(readdirSync(d).filter((f) => f.endsWith('.json')).sort()).toEqual(['4.json', '5.json']);
    pruneDeriveCache(join(dir, 'none'), 1, 1); // no folder: nothing to do, no error
  });

  it('a run keeps the cache bounded, and a hit keeps its entry among the newest', () => {
    const d = join(dir, 'derive');
    mkdirSync(d, { recursive: true });
    const old = Date.now() / 1000 - 86_400;
    const planted = new Set<string>();
    for (let i = 0; i < 1005; i++) {
      planted.add(`${String(i).padStart(64, '0')}.json`);
      const f = join(d, `${String(i).padStart(64, '0')}.json`);
      writeFileSync(f, '{}');
      utimesSync(f, old + i, old + i);
    }
    expect(ptcheck(ARGS).code).toBe(0);
    const names = readdirSync(d);
    expect(names).toHaveLength(1000);
    expect(names).not.toContain(`${'0'.repeat(64)}.json`);
    // the run's own entry is the newest; make it the oldest, and a hit renews it
    const mine = names.find((n) => !planted.has(n))!;
    expect(mine).toBeDefined();
    utimesSync(join(d, mine), old - 10, old - 10);
    const r = ptcheck([...ARGS, '-v']);
    expect(r.stdout).toMatch(/read from the cache/);
    expect(statSync(join(d, mine)).mtimeMs).toBeGreaterThan((old + 2000) * 1000);
  });

  it('a cache that cannot be written costs one warning, never the run', () => {
    const plain = JSON.parse(ptcheck([...ARGS, '--json']).stdout);
    rmSync(join(dir, 'derive'), { recursive: true, force: true });
    writeFileSync(join(dir, 'derive'), 'not a folder');
    // every variant of a shipped model: several derivations, each unable to write
    const all = ptcheck(['verify', 'models/kernel-pgtable-async-free.ts', '--derive-futures', '--workers', '1']);
    expect(all.code).toBe(0);
    expect(all.stderr.match(/warning: the derivation cache .* cannot be written/g)).toHaveLength(1);
    const r = ptcheck([...ARGS, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.stats.states).toBe(plain.stats.states);
    expect(j.properties).toEqual(plain.properties);
    expect(j.stats.futures.derivation.cached).toBeUndefined();
  });

  it('an entry that is a folder, not a file, is derived past (and cannot be written: one warning)', () => {
    expect(ptcheck(ARGS).code).toBe(0);
    const file = entryFile();
    rmSync(file);
    mkdirSync(file);
    const r = ptcheck([...ARGS, '-v']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/10 labels derived, 0 declared, 0 unrestricted \(derived in [\d,]+ step runs, [\d.]+ m?s\)/);
    expect(r.stderr.match(/warning/g) ?? []).toHaveLength(1);
  });
});
