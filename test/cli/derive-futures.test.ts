// verify --derive-futures as a user meets it: the futures of undeclared labels derived, -v, --json and
// --check-reduction saying how many labels got one, the same verdicts, fewer states, and the same
// states on two worker threads as on one.

import { describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';
import { loadModel, shippedModelNames } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { deriveFutures } from '../../src/por/derive-futures.ts';

const F = 'test/fixtures/models/future-readers.ts';

describe('verify --derive-futures', () => {
  it('-v and --json count the labels derived; the undeclared variant stores what exact declarations do', () => {
    const plain = JSON.parse(ptcheck(['verify', F, '--variant', 'undeclared', '--param', 'readers=3', '--json', '--workers', '1', '--no-derive-futures']).stdout);
    const j = ptcheck(['verify', F, '--variant', 'undeclared', '--param', 'readers=3', '--derive-futures', '--json', '--workers', '1']);
    expect(j.code).toBe(0);
    const r = JSON.parse(j.stdout);
    expect(r.stats.futures).toMatchObject({ declared: 0, derived: 14, unrestricted: 0 });
    expect(r.stats.futures.derivation.runs).toBeGreaterThan(0);
    expect(r.stats.futures.derivation.gaveUp).toBeUndefined();
    const exact = JSON.parse(ptcheck(['verify', F, '--variant', 'exact', '--param', 'readers=3', '--json', '--workers', '1']).stdout);
    expect(r.stats.states).toBe(exact.stats.states);
    expect(r.stats.states).toBeLessThan(plain.stats.states);
    expect(r.properties.map((p: { status: string }) => p.status)).toEqual(plain.properties.map((p: { status: string }) => p.status));
    // with --no-derive-futures, a model with no declaration reports no futures
    expect(plain.stats.futures).toBeUndefined();
    // on by default: no flag derives the same futures and stores the same states
    const dflt = JSON.parse(ptcheck(['verify', F, '--variant', 'undeclared', '--param', 'readers=3', '--json', '--workers', '1']).stdout);
    expect(dflt.stats.futures).toMatchObject({ declared: 0, derived: 14, unrestricted: 0 });
    expect(dflt.stats.states).toBe(r.stats.states);
    const v = ptcheck(['verify', F, '--variant', 'undeclared', '--derive-futures', '-v', '--workers', '1']);
    expect(v.stdout).toMatch(/thread futures: 10 labels derived, 0 declared, 0 unrestricted \(derived in [\d,]+ step runs/);
  });

  it('declarations win at their labels (the noise threads declare theirs)', () => {
    const r = JSON.parse(ptcheck(['verify', F, '--variant', 'undeclared', '--param', 'noise=2', '--derive-futures', '--json', '--workers', '1']).stdout);
    expect(r.stats.futures).toMatchObject({ declared: 2, derived: 10, unrestricted: 0 });
  });

  it('--check-reduction says where the futures came from, and the verdicts agree', () => {
    const r = ptcheck(['verify', F, '--variant', 'undeclared', '--derive-futures', '--check-reduction', '--workers', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/  thread futures: 10 labels derived/);
    expect(r.stdout).toMatch(/verdicts agree/);
  });

  it('two worker threads derive the same futures and store the same states as one', () => {
    const args = ['verify', F, '--variant', 'undeclared', '--param', 'readers=3', '--param', 'noise=6', '--derive-futures', '--json'];
    const one = JSON.parse(ptcheck([...args, '--workers', '1']).stdout);
    // PTCHECK_HANDOFF: hand the search to the workers at 20 states (the child inherits it)
    process.env.PTCHECK_HANDOFF = '20';
    let two;
    try {
      two = JSON.parse(ptcheck([...args, '--workers', '2']).stdout);
    } finally {
      delete process.env.PTCHECK_HANDOFF;
    }
    expect(two.stats.workers).toBe(2);
    expect(two.stats.states).toBe(one.stats.states);
  });

  it('a derivation that meets its budget gives up whole: -v says why, and the run is the one without it', () => {
    const W = 'test/fixtures/models/derive-wide.ts';
    const v = ptcheck(['verify', W, '--variant', 'base', '--derive-futures', '-v', '--workers', '1']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/thread futures: 0 labels derived, 0 declared, 2 unrestricted \(derivation gave up after [\d,]+ step runs, (?:read from the cache in )?[\d.]+ m?s: 'c' takes more than 256 values\)/);
    const j = JSON.parse(ptcheck(['verify', W, '--variant', 'base', '--derive-futures', '--json', '--workers', '1']).stdout);
    const plain = JSON.parse(ptcheck(['verify', W, '--variant', 'base', '--json', '--workers', '1', '--no-derive-futures']).stdout);
    expect(j.stats.futures.derivation.gaveUp).toMatch(/'c' takes more than 256 values/);
    expect(j.stats.states).toBe(plain.stats.states);
  });

  it('only verify takes it', () => {
    const r = ptcheck(['simulate', F, '--variant', 'undeclared', '--derive-futures']);
    expect(r.code).toBe(2);
  });

  it('--derive-futures with --no-derive-futures is bad input; with --no-por nothing is derived', () => {
    const both = ptcheck(['verify', F, '--variant', 'undeclared', '--derive-futures', '--no-derive-futures']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/contradict/);
    const r = JSON.parse(ptcheck(['verify', F, '--variant', 'undeclared', '--derive-futures', '--no-por', '--json', '--workers', '1']).stdout);
    expect(r.stats.futures).toBeUndefined();
  });

  it('a derivation that gives up leaves every shipped variant compiled as without it (futures, and whether it has any)', async () => {
    for (const name of shippedModelNames()) {
      const lm = await loadModel(name);
      for (const variant of Object.keys(lm.module.variants)) {
        const plain = instantiate(lm.module, variant).compiled;
        const gave = instantiate(lm.module, variant, {}, { deriveFutures: (cm) => ({ touch: cm.threads.map((th) => th.labels.map(() => null)), change: cm.threads.map((th) => th.labels.map(() => null)), runs: 1, nodes: 1, ms: 0, gaveUp: 'a budget' }) }).compiled;
        const futs = (cm: typeof plain) => ({ has: cm.hasFutures, th: cm.threads.map((th) => ({ t: th.futTouch.map((b) => (b ? Array.from(b) : null)), c: th.futChange.map((b) => (b ? Array.from(b) : null)), w: th.futWithin.map((u) => Array.from(u)), d: th.futDerived, p: th.privateWords })) });
        expect(futs(gave), `${name} [${variant}]`).toEqual(futs(plain));
        expect(gave.derived?.gaveUp).toBe('a budget');
      }
    }
  });

  it('every shipped variant derives at its defaults (none gives up)', async () => {
    const gaveUp: string[] = [];
    let n = 0;
    for (const name of shippedModelNames()) {
      const lm = await loadModel(name);
      for (const variant of Object.keys(lm.module.variants)) {
        const d = instantiate(lm.module, variant, {}, { deriveFutures: (cm) => deriveFutures(cm) }).compiled.derived!;
        n++;
        if (d.gaveUp !== undefined) gaveUp.push(`${name} [${variant}]: ${d.gaveUp}`);
      }
    }
    expect(gaveUp).toEqual([]);
    expect(n).toBeGreaterThanOrEqual(34);
  });

  it('where the derivation gives up, the run is the one without it: states, transitions, reduction, paths', () => {
    const base = ['verify', 'test/fixtures/models/derive-wide.ts', '--variant', 'base', '--json', '--workers', '1'];
    const off = JSON.parse(ptcheck([...base, '--no-derive-futures']).stdout);
    const on = JSON.parse(ptcheck([...base, '--derive-futures']).stdout);
    expect(on.stats.futures.derivation.gaveUp).toBeDefined();
    const { futures, elapsedMs: _a, ...rest } = on.stats;
    const { elapsedMs: _b, ...restOff } = off.stats;
    expect(futures.derived).toBe(0);
    expect(rest).toEqual(restOff);
    expect(on.properties).toEqual(off.properties);
  });

  it('a derivation that does not end within the step bound gives up, and the search runs as without it', () => {
    // b loops only where x is 2, which the derivation meets and no search does
    const H = 'test/fixtures/models/derive-hang.ts';
    const v = ptcheck(['verify', H, '--variant', 'base', '--step-timeout', '1', '-v', '--workers', '1', '--derive-futures']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/thread futures: 0 labels derived, 0 declared, 3 unrestricted \(derivation gave up after .*: it did not end within the step bound \(1 s; --step-timeout\)\)/);
    const on = JSON.parse(ptcheck(['verify', H, '--variant', 'base', '--step-timeout', '1', '--json', '--workers', '1', '--derive-futures']).stdout);
    const off = JSON.parse(ptcheck(['verify', H, '--variant', 'base', '--json', '--workers', '1', '--no-derive-futures']).stdout);
    expect(on.stats.states).toBe(off.stats.states);
    expect(on.properties).toEqual(off.properties);
  });
});
