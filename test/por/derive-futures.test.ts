// Derived thread futures (src/por/derive-futures.ts): as tight as exact declarations on the fixture,
// per instance and per object, declarations winning at their labels, havoc states that make a step
// throw ending only that branch, budgets giving up whole (never guessing), and every step of every
// run kept within what was derived (the engine checks each one).

import { describe, expect, it } from 'vitest';
import model from '../fixtures/models/future-readers.ts';
import spec from '../fixtures/specs/future-readers.ts';
import { instantiate, type CompiledModel } from '../../src/model/compile.ts';
import { ModelError } from '../../src/model/errors.ts';
import { DONE, defineModel, defineState, thread, type ModelDef } from '../../src/model/model.ts';
import { array, int } from '../../src/model/schema.ts';
import { verify } from '../../src/explore/verify.ts';
import { always, defineSpec } from '../../src/spec/property.ts';
import { deriveFutures, DEFAULT_DERIVE_BUDGET } from '../../src/por/derive-futures.ts';
import { callRcu, kernelState, ptFree, ptInitLive, rcuThread } from '../../src/kernel/index.ts';

const derive = { deriveFutures: (cm: CompiledModel) => deriveFutures(cm) };
const statuses = (r: { properties: readonly { status: string }[] }) => r.properties.map((p) => p.status);
const has = (bits: Int32Array | null | undefined, w: number) => bits != null && (bits[w >>> 5]! & (1 << (w & 31))) !== 0;
const off = (cm: CompiledModel, path: string) => cm.leaves.find((l) => l.path === path)!.off;

describe('derived futures', () => {
  for (const [params, states] of [
    [{ readers: 2, noise: 0 }, 3],
    [{ readers: 3, noise: 0 }, 3],
    [{ readers: 3, noise: 6 }, 111],
  ] as const) {
    it(`future-readers ${JSON.stringify(params)}: undeclared, derived, stores what exact declarations store (${states}), verdicts of --no-por`, () => {
      const inst = instantiate(model, 'undeclared', params, derive);
      const r = verify(inst, spec, { stopAtFirst: false });
      const exact = verify(instantiate(model, 'exact', params), spec, { stopAtFirst: false });
      const full = verify(instantiate(model, 'undeclared', params), spec, { stopAtFirst: false, por: false });
      expect(exact.stats.states).toBe(states);
      expect(r.stats.states).toBe(states);
      expect(statuses(r)).toEqual(statuses(full));
      const d = inst.compiled.derived!;
      expect(d.gaveUp).toBeUndefined();
      // the noise threads declare theirs; every other label is derived
      expect(d.declared).toBe(params.noise > 0 ? 2 : 0);
      expect(d.unrestricted).toBe(0);
      expect(d.derived).toBe(2 + 4 * params.readers);
    });
  }

  it('per instance and per label: a reader touches its own out slot only, and from `work` on nothing else', () => {
    const cm = instantiate(model, 'undeclared', { readers: 2, noise: 0 }, derive).compiled;
    for (const th of cm.threads.filter((t) => t.group === 'reader')) {
      const [wait, read, work, store] = [0, 1, 2, 3].map((pc) => th.futTouch[pc]!);
      const mine = off(cm, `out[${th.index}]`);
      const other = off(cm, `out[${1 - th.index}]`);
      for (const f of [wait, read, work, store]) expect(has(f, mine) && !has(f, other)).toBe(true);
      expect(has(wait, off(cm, 'flag')) && has(wait, off(cm, 'data'))).toBe(true);
      expect(has(read, off(cm, 'flag'))).toBe(false);
      expect(has(read, off(cm, 'data'))).toBe(true);
      expect(has(work, off(cm, 'data'))).toBe(false);
      // reads are not writes: only the slot (and its own words) change
      expect(has(th.futChange[0], off(cm, 'data')) || has(th.futChange[0], off(cm, 'flag'))).toBe(false);
      expect(has(th.futChange[0], mine)).toBe(true);
      expect(th.futDerived).toEqual([true, true, true, true]);
      // monotone: every label may move to the next
      expect([0, 1, 2].map((pc) => th.futWithin[pc]![pc + 1])).toEqual([1, 1, 1]);
    }
  });

  it('a declaration wins at its label; a wrong one is still reported', () => {
    const cm = instantiate(model, 'exact', { readers: 2, noise: 0 }, derive).compiled;
    expect(cm.derived!.declared).toBe(10);
    expect(cm.threads.every((t) => t.futDerived.every((d) => !d))).toBe(true);
    const wrong = instantiate(model, 'wrong-touch', { readers: 2, noise: 0 }, derive);
    expect(() => verify(wrong, spec, { stopAtFirst: false })).toThrow(/outside its declared future/);
  });

  it('a step throwing on a combination of values no real state has ends that branch only', () => {
    // x and y are never 1 together; the derivation's values are per word, so it runs `check` on x = y = 1
    const st = defineState({ x: int(0, 1), y: int(0, 1), z: int(0, 1), w: int(0, 1) });
    const m = defineModel({
      name: 'derive-throw',
      title: '',
      doc: '',
      params: {},
      build: (): ModelDef => ({
        state: st,
        threads: {
          a: thread(st, { steps: { x1: (s) => ((s.x = 1), 'x0' as const), x0: (s) => ((s.x = 0), 'y1' as const), y1: (s) => ((s.y = 1), DONE) } }),
          b: thread(st, {
            steps: {
              check: (s) => {
                if (s.x === 1 && s.y === 1) throw new Error('x and y both set');
                s.z = 1;
                return 'late';
              },
              late: (s) => ((s.w = 1), DONE),
            },
          }),
        },
      }),
      variants: { base: { summary: '' } },
    });
    const sp = defineSpec(m, { properties: [always('late-after-check', 'w is set only after z', (s: any) => s.w === 0 || s.z === 1)], expect: { base: { 'late-after-check': 'holds' } } });
    const inst = instantiate(m, 'base', {}, derive);
    expect(inst.compiled.derived!.gaveUp).toBeUndefined();
    const b = inst.compiled.threads[1]!;
    expect(has(b.futTouch[0], off(inst.compiled, 'w'))).toBe(true);
    expect(has(b.futTouch[1], off(inst.compiled, 'x'))).toBe(false);
    const r = verify(inst, sp, { stopAtFirst: false });
    expect(statuses(r)).toEqual(statuses(verify(instantiate(m, 'base'), sp, { stopAtFirst: false, por: false })));
  });

  it('per object: a thread queueing rcu_head[0] for T1 does not touch rcu_head[1] or T2; the rcu thread touches both', () => {
    const st = kernelState({ tables: 2, rcuHeads: 2, rcuCallbacks: ['free'] }, {});
    const m = defineModel({
      name: 'derive-objects',
      title: '',
      doc: '',
      params: {},
      build: (): ModelDef => ({
        state: st,
        init: (s: any) => {
          ptInitLive(s, 1);
          ptInitLive(s, 2);
        },
        threads: {
          a: thread(st, { steps: { pte_free_defer: (s: any, me: any) => (callRcu(s, me, 0, 1, 1), DONE) } }),
          b: thread(st, { steps: { pte_free_defer: (s: any, me: any) => (callRcu(s, me, 1, 1, 2), DONE) } }),
          rcu: rcuThread(st, ['free'], { free: (s, t) => ptFree(s, t) }, 2),
        },
      }),
      variants: { base: { summary: '' } },
    });
    const cm = instantiate(m, 'base', {}, derive).compiled;
    expect(cm.derived!.gaveUp).toBeUndefined();
    const [a, b, rcu] = cm.threads;
    expect(has(a!.futTouch[0], off(cm, 'rcu_head[0].queued'))).toBe(true);
    expect(has(a!.futTouch[0], off(cm, 'rcu_head[1].queued'))).toBe(false);
    expect(has(b!.futTouch[0], off(cm, 'rcu_head[0].queued'))).toBe(false);
    for (const t of [a!, b!]) expect(has(t.futTouch[0], off(cm, 'T1.state')) || has(t.futTouch[0], off(cm, 'T2.state'))).toBe(false);
    for (const p of ['rcu_head[0].queued', 'rcu_head[1].queued', 'T1.state', 'T2.state']) expect(has(rcu!.futChange[0], off(cm, p)), p).toBe(true);
  });

  it('a budget met gives up for the whole model: nothing derived, the model runs as without', () => {
    const small = { ...DEFAULT_DERIVE_BUDGET, runs: 10 };
    const inst = instantiate(model, 'undeclared', { readers: 3, noise: 0 }, { deriveFutures: (cm) => deriveFutures(cm, small) });
    const d = inst.compiled.derived!;
    expect(d.gaveUp).toMatch(/more than 10 step runs/);
    expect(d.derived).toBe(0);
    expect(d.unrestricted).toBe(14);
    expect(inst.compiled.hasFutures).toBe(false);
    expect(verify(inst, spec, { stopAtFirst: false }).stats.states).toBe(verify(instantiate(model, 'undeclared', { readers: 3, noise: 0 }), spec, { stopAtFirst: false }).stats.states);
  });

  it('a step changing another thread\'s local makes it give up', () => {
    const st = defineState({ x: int(0, 1) });
    const m = defineModel({
      name: 'derive-foreign',
      title: '',
      doc: '',
      params: {},
      build: (): ModelDef => ({
        state: st,
        threads: {
          t: thread(st, {
            count: 2,
            locals: { l: int(0, 1) },
            steps: {
              poke: (_s: any, me: any) => {
                me.all[1 - me.index].l = 1;
                return DONE;
              },
            },
          }),
        },
      }),
      variants: { base: { summary: '' } },
    });
    expect(instantiate(m, 'base', {}, derive).compiled.derived!.gaveUp).toMatch(/may change 't1\.l', private to another thread/);
  });

  it('injected mistakes are caught by the run-time check (exit 2), never turned into a verdict', () => {
    const params = { readers: 2, noise: 0 };
    for (const mistake of ['drop-value', 'no-fixpoint'] as const) {
      const inst = instantiate(model, 'undeclared', params, { deriveFutures: (cm) => deriveFutures(cm, DEFAULT_DERIVE_BUDGET, mistake) });
      let err: unknown;
      try {
        verify(inst, spec, { stopAtFirst: false });
      } catch (e) {
        err = e;
      }
      expect(err, mistake).toBeInstanceOf(ModelError);
      expect((err as Error).message).toMatch(/outside its derived future|whose future is wider/);
    }
  });

  it('arrays of per-instance slots stay apart', () => {
    const st = defineState({ slot: array(3, int(0, 2)) });
    const m = defineModel({
      name: 'derive-slots',
      title: '',
      doc: '',
      params: {},
      build: (): ModelDef => ({
        state: st,
        threads: { t: thread(st, { count: 3, steps: { inc: (s: any, me: any) => (s.slot.set(me.index, s.slot.get(me.index) + 1), s.slot.get(me.index) === 2 ? DONE : 'inc') } }) },
      }),
      variants: { base: { summary: '' } },
    });
    const cm = instantiate(m, 'base', {}, derive).compiled;
    for (const th of cm.threads) for (let i = 0; i < 3; i++) expect(has(th.futTouch[0], off(cm, `slot[${i}]`))).toBe(i === th.index);
  });
});
