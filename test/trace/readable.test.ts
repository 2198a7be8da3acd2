import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, defineModel, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { kernelState, lock, spinLock, spinTrylock, spinUnlock } from '../../src/kernel/index.ts';
import { always, defineSpec } from '../../src/spec/property.ts';
import model from '../../models/pte-offset-map-lock.ts';
import spec from '../../specs/pte-offset-map-lock.ts';
import { instantiate } from '../../src/model/compile.ts';
import { Engine } from '../../src/explore/engine.ts';
import { verify } from '../../src/explore/verify.ts';
import { contextSwitches, reorderForReadability } from '../../src/trace/readable.ts';
import { replay } from '../../src/trace/replay.ts';

describe('readable counterexamples', () => {
  for (const [variant, strategy] of [
    ['no-pmd-recheck', 'dfs'],
    ['no-pmd-recheck', 'bfs'],
    ['no-rcu', 'dfs'],
    ['no-rcu', 'bfs'],
  ] as const) {
    it(`${variant} (${strategy}): same final state, same violation, no more switches`, () => {
      const inst = instantiate(model, variant);
      const r = verify(inst, spec, { strategy, stopAtFirst: false });
      const engine = new Engine(inst.compiled, spec.properties);
      r.properties.forEach((p, k) => {
        if (p.status !== 'violated' || p.kind !== 'always') return;
        const before = p.path!;
        const after = reorderForReadability(engine, before, k, true);
        expect(after.length).toBe(before.length);
        expect([...after].sort()).toEqual([...before].sort());
        expect(contextSwitches(after)).toBeLessThanOrEqual(contextSwitches(before));
        const end = (path: readonly number[]) => replay(engine, path).at(-1)!.after;
        expect(Array.from(end(after))).toEqual(Array.from(end(before)));
        // the property shows at the last state and not before
        const states = replay(engine, after);
        states.forEach((s, i) => {
          const violated = (engine.check(s.after, 0) & (1 << k)) !== 0;
          expect(violated).toBe(i === states.length - 1);
        });
      });
    });
  }

  it('reduces the switches of a DFS counterexample', () => {
    const inst = instantiate(model, 'no-pmd-recheck');
    const r = verify(inst, spec, { strategy: 'dfs', stopAtFirst: false });
    const engine = new Engine(inst.compiled, spec.properties);
    const k = r.properties.findIndex((p) => p.name === 'no-use-after-free');
    const before = r.properties[k]!.path!;
    const after = reorderForReadability(engine, before, k, true);
    expect(contextSwitches(after)).toBeLessThan(contextSwitches(before));
  });
});

describe('shrinking', () => {
  it('drops the steps a DFS counterexample does not need, keeping the same violating step', async () => {
    const { shrinkPath } = await import('../../src/trace/readable.ts');
    const { choiceTid } = await import('../../src/trace/path.ts');
    const inst = instantiate(model, 'no-pmd-recheck');
    const r = verify(inst, spec, { strategy: 'dfs', stopAtFirst: false });
    const engine = new Engine(inst.compiled, spec.properties);
    r.properties.forEach((p, k) => {
      if (p.status !== 'violated' || p.kind !== 'always') return;
      const before = p.path!;
      const after = shrinkPath(engine, before, k);
      expect(after.length).toBeLessThanOrEqual(before.length);
      expect(choiceTid(after.at(-1)!)).toBe(choiceTid(before.at(-1)!));
      const states = replay(engine, after);
      states.forEach((s, i) => expect((engine.check(s.after, 0) & (1 << k)) !== 0).toBe(i === states.length - 1));
    });
    const k = r.properties.findIndex((p) => p.name === 'pte-write-attached');
    // the detached write needs one fault and the remover: fault1's steps go
    const shrunk = shrinkPath(engine, r.properties[k]!.path!, k);
    expect(new Set(shrunk.map(choiceTid)).size).toBe(2);
  });
});

describe('minimal traces', () => {
  it('no-rcu: the use-after-free needs one fault and the remover; at most 14 steps', async () => {
    const { readablePath } = await import('../../src/trace/readable.ts');
    const { choiceTid } = await import('../../src/trace/path.ts');
    const inst = instantiate(model, 'no-rcu');
    const engine = new Engine(inst.compiled, spec.properties);
    for (const strategy of ['dfs', 'bfs'] as const) {
      const r = verify(inst, spec, { strategy, stopAtFirst: false });
      const k = r.properties.findIndex((p) => p.name === 'no-use-after-free');
      expect(r.properties[k]!.status).toBe('violated');
      const path = readablePath(engine, r.properties[k]!.path!, k);
      expect(path.length).toBeLessThanOrEqual(14);
      const threads = new Set(path.map((c) => inst.compiled.threads[choiceTid(c)]!.name));
      expect(threads.has('remover')).toBe(true);
      expect([...threads].filter((t) => t.startsWith('fault'))).toHaveLength(1);
      const states = replay(engine, path);
      states.forEach((s, i) => expect((engine.check(s.after, 0) & (1 << k)) !== 0).toBe(i === states.length - 1));
    }
  });

  it('a deadlock is shrunk too, and still ends in the same deadlock', async () => {
    const { loadModel } = await import('../../src/cli/registry.ts');
    const { readablePath } = await import('../../src/trace/readable.ts');
    const lm = await loadModel('retract-page-tables');
    const inst = instantiate(lm.module, 'spin-lock-pml');
    const engine = new Engine(inst.compiled, lm.spec.properties);
    const r = verify(inst, lm.spec, { stopAtFirst: false });
    const k = r.properties.findIndex((p) => p.kind === 'deadlock');
    expect(r.properties[k]!.status).toBe('violated');
    const before = r.properties[k]!.path!;
    const after = readablePath(engine, before, k);
    expect(after.length).toBeLessThanOrEqual(before.length);
    const end = replay(engine, after).at(-1)!.after;
    expect(engine.terminal(Int32Array.from(end)) & (1 << k)).not.toBe(0);
  });
});

describe('shrinking a failed-trylock loop', () => {
  it('drops the retry iterations that change nothing, a trylock and its retry together', async () => {
    const { shrinkPath } = await import('../../src/trace/readable.ts');
    const { parsePath, pathToString } = await import('../../src/trace/path.ts');
    // holder: takes the lock, publishes x, unlocks; looper: trylock, on failure retry (a step that
    // changes nothing but its pc), on success copies x. The property: looper never copies x = 1.
    const st = kernelState({}, { m: lock(), x: int(0, 1), y: int(0, 1) });
    const m = defineModel({
      name: 'trylock-loop',
      title: 'a trylock retry loop',
      doc: '',
      params: {},
      build: () => ({
        state: st,
        threads: {
          holder: thread(st, {
            steps: {
              lock: (s, me) => (spinLock(me, s.m) ? ('publish' as const) : BLOCKED),
              publish: (s) => ((s.x = 1), 'unlock' as const),
              unlock: (s, me) => (spinUnlock(s, me, s.m), DONE),
            },
          }),
          looper: thread(st, {
            steps: {
              trylock: (s, me) => (spinTrylock(me, s.m) ? ('copy' as const) : ('retry' as const)),
              retry: () => 'trylock' as const,
              copy: (s, me) => ((s.y = s.x), spinUnlock(s, me, s.m), DONE),
            },
          }),
        },
      }),
      variants: { base: { summary: '' } },
    });
    const spec = defineSpec(m, { properties: [always('y-zero', 'doc', (s) => s.y === 0)], expect: { base: { 'y-zero': 'violated', 'deadlock-free': 'holds' } } });
    const inst = instantiate(m, 'base');
    const engine = new Engine(inst.compiled, spec.properties);
    // holder locks; looper fails its trylock three times (6 steps); holder publishes and unlocks;
    // looper locks and copies
    const long = parsePath('0.1.1.1.1.1.1.0.0.1.1');
    expect(replay(engine, long).at(-1)!.label).toBe('copy');
    const short = shrinkPath(engine, long, 0);
    expect(pathToString(short)).toBe('0.0.0.1.1');
  });
});
