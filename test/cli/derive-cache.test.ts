// The derivation cache (src/cli/derive-cache.ts): a second run reads the derived futures instead of
// deriving them; an entry is data, checked against the compiled model (a corrupt or mismatched one is
// derived again and rewritten); and a wrong entry that passes those checks costs an error naming the
// derived future (exit 2), never a wrong verdict, because the engine checks every step against it.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';
import model from '../fixtures/models/future-readers.ts';
import { instantiate } from '../../src/model/compile.ts';
import { deriveFutures } from '../../src/por/derive-futures.ts';
import { entryFor } from '../../src/cli/derive-cache.ts';

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
});
