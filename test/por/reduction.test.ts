// Partial-order reduction by safe local steps: a toy where it must cut states, and must not change
// verdicts; and a step that touches shared state is never taken as local.

import { describe, expect, it } from 'vitest';
import { DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { instantiate } from '../../src/model/compile.ts';
import { verify } from '../../src/explore/verify.ts';
import { Engine } from '../../src/explore/engine.ts';
import { Reduction, WHY_CYCLE, WHY_NO_LOCAL, WHY_VISIBLE } from '../../src/por/reduction.ts';
import { always, defineSpec, sometimes } from '../../src/spec/property.ts';
import { Fault, PMD_NONE, callRcu, kernelState, noFault, pmdEntry, ptFree, ptInitLive, rcuReadLock, rcuReadUnlock, rcuThread, readPte, tableRef } from '../../src/kernel/index.ts';

// Two threads, each: three steps on its own local counter, then one write to the shared x.
// Without reduction: 5 x 5 pcs = 25 states (the locals follow the pcs, x follows both writes).
// With local steps reduced, a thread's local steps run without interleaving: far fewer states.
const st = defineState({ x: int(0, 3) });
function worker(bit: number) {
  return thread(st, {
    locals: { c: int(0, 3) },
    steps: {
      a: (_s, me) => {
        me.c = 1;
        return 'b';
      },
      b: (_s, me) => {
        me.c = me.c + 1;
        return 'c';
      },
      c: (_s, me) => {
        me.c = me.c + 1;
        return 'publish';
      },
      publish: (s) => {
        s.x = s.x | bit;
        return DONE;
      },
    },
  });
}
const toy = defineModel({
  name: 'local-toy',
  title: 'local steps',
  doc: '',
  params: {},
  build: () => ({ state: st, threads: { p: worker(1), q: worker(2) } }),
  variants: { base: { summary: '' } },
});
const spec = defineSpec(toy, {
  properties: [
    always('x-not-both', 'x never gets both bits (violated)', (s) => s.x !== 3),
    sometimes('x-one', 'x gets one bit', (s) => s.x === 1),
  ],
  expect: { base: { 'x-not-both': 'violated', 'x-one': 'reachable', 'deadlock-free': 'holds' } },
});

describe('partial-order reduction by local steps', () => {
  for (const strategy of ['dfs', 'bfs'] as const) {
    it(`cuts states without changing verdicts (${strategy})`, () => {
      const off = verify(instantiate(toy, 'base'), spec, { strategy, stopAtFirst: false, por: false });
      const on = verify(instantiate(toy, 'base'), spec, { strategy, stopAtFirst: false, por: true });
      expect(off.stats.states).toBe(25);
      expect(on.stats.states).toBeLessThan(off.stats.states);
      expect(on.properties.map((p) => p.status)).toEqual(off.properties.map((p) => p.status));
      expect(on.properties.map((p) => p.status)).toEqual(['violated', 'reachable', 'holds']);
    });
  }
});

// RCU readers with local work between their shared accesses, and a writer that unlinks and frees
// through call_rcu: the shape where commuting interleavings dominate.
function readersModel(readers: number, work: number) {
  const st = kernelState({ tables: 1, rcuCallbacks: ['pte_free_now'] }, { pmd: pmdEntry() });
  const steps: Record<string, any> = {
    rcu_read_lock: (_s: any, me: any) => (rcuReadLock(me), 'w0'),
  };
  for (let i = 0; i < work; i++) steps[`w${i}`] = (_s: any, me: any) => ((me.acc = (me.acc + 1) % 8), i + 1 < work ? `w${i + 1}` : 'deref');
  steps.deref = (s: any, me: any) => {
    me.t = s.pmd.v;
    return 'touch';
  };
  steps.touch = (s: any, me: any) => {
    if (me.t > 0) readPte(s, me.t, 0);
    return 'rcu_read_unlock';
  };
  steps.rcu_read_unlock = (s: any, me: any) => (rcuReadUnlock(s, me), DONE);
  return defineModel({
    name: 'rcu-readers',
    title: 'readers with local work',
    doc: '',
    params: {},
    build: () => ({
      state: st,
      init: (s: any) => {
        ptInitLive(s, 1);
        s.pmd.v = 1;
      },
      threads: {
        reader: thread(st, { count: readers, locals: { acc: int(0, 7), t: tableRef() }, steps }),
        writer: thread(st, {
          steps: {
            unlink: (s: any) => ((s.pmd.v = PMD_NONE), 'call_rcu' as const),
            call_rcu: (s: any, me: any) => (callRcu(s, me, 0, 1, 1), DONE),
          },
        }),
        rcu: rcuThread(st, ['pte_free_now'], { pte_free_now: (s: any, t: number) => ptFree(s, t) }, 1),
      },
    }),
    variants: { base: { summary: '' } },
  });
}

describe('partial-order reduction: local work merged, decisions from the state alone', () => {
  const m = readersModel(3, 4);
  const spec2 = defineSpec(m, {
    properties: [noFault('no-use-after-free', Fault.UAF, 'readers never touch a freed table')],
    expect: { base: { 'no-use-after-free': 'holds', 'deadlock-free': 'holds' } },
  });
  it('cuts the state space of readers with local work many times over, same verdicts', () => {
    const off = verify(instantiate(m, 'base'), spec2, { stopAtFirst: false, por: false, symmetry: false });
    const dfs = verify(instantiate(m, 'base'), spec2, { stopAtFirst: false, por: true, symmetry: false });
    const bfs = verify(instantiate(m, 'base'), spec2, { strategy: 'bfs', stopAtFirst: false, por: true, symmetry: false });
    expect(dfs.properties.map((p) => p.status)).toEqual(off.properties.map((p) => p.status));
    expect(dfs.properties.map((p) => p.status)).toEqual(['holds', 'holds']);
    console.log(`readers x3, 4 local steps each: ${off.stats.states} states without reduction, ${dfs.stats.states} with (${dfs.stats.reduction!.merged} walked through)`);
    expect(off.stats.states / dfs.stats.states).toBeGreaterThan(5);
    expect(dfs.stats.reduction!.merged).toBeGreaterThan(0);
    // DFS and BFS take the same reduced graph: the same states are stored
    expect(bfs.stats.states).toBe(dfs.stats.states);
  });

  it('a step reading another thread\'s local is seen as a dependency: one restart, same verdicts', () => {
    const st = defineState({ x: int(0, 3) });
    const peek = defineModel({
      name: 'peek',
      title: '',
      doc: '',
      params: {},
      build: () => ({
        state: st,
        threads: {
          p: thread(st, { locals: { c: int(0, 3) }, steps: { a: (_s, me) => ((me.c = 1), 'b' as const), b: (_s, me) => ((me.c = 2), DONE) } }),
          q: thread(st, { steps: { look: (s, me) => ((s.x = (me.all[0] as any).c), DONE) } }),
        },
      }),
      variants: { base: { summary: '' } },
    });
    const sp = defineSpec(peek, {
      properties: [sometimes('saw-one', 'q saw the middle value', (s) => s.x === 1)],
      expect: { base: { 'saw-one': 'reachable', 'deadlock-free': 'holds' } },
    });
    const on = verify(instantiate(peek, 'base'), sp, { stopAtFirst: false, por: true });
    expect(on.properties[0]!.status).toBe('reachable');
    expect(on.stats.reduction!.restarts).toBe(1);
    expect(on.stats.reduction!.widenedBy).toMatch(/p\.c/);
  });

  it('a local step whose words a property reads is visible: its states are expanded fully and counted so', () => {
    const m1 = readersModel(2, 2);
    const watched = defineSpec(m1, {
      properties: [
        noFault('no-use-after-free', Fault.UAF, 'readers never touch a freed table'),
        always('acc-bounded', 'the first reader\'s work stays in range', (_s, t) => (t.reader0 as any).acc <= 7),
      ],
      expect: { base: { 'no-use-after-free': 'holds', 'acc-bounded': 'holds', 'deadlock-free': 'holds' } },
    });
    const plain = verify(instantiate(m1, 'base'), defineSpec(m1, { properties: [noFault('no-use-after-free', Fault.UAF, '')], expect: { base: { 'no-use-after-free': 'holds', 'deadlock-free': 'holds' } } }), { stopAtFirst: false, por: true, symmetry: false });
    const on = verify(instantiate(m1, 'base'), watched, { stopAtFirst: false, por: true, symmetry: false });
    const r = on.stats.reduction!;
    expect(plain.stats.reduction!.fullVisible).toBe(0);
    expect(r.restarts).toBe(1);
    expect(r.fullVisible).toBeGreaterThan(0);
    // every stored state but the initial one was expanded fully for one of the three reasons, or reduced
    expect(r.fullNoLocal + r.fullCycle + r.fullVisible).toBeLessThanOrEqual(on.stats.states);
    expect(on.stats.states).toBeGreaterThan(plain.stats.states);
  });

  it('a thread whose local steps can loop forever is expanded fully (cycle proviso)', () => {
    const st = defineState({ x: int(0, 1) });
    const spin = defineModel({
      name: 'spin',
      title: '',
      doc: '',
      params: {},
      build: () => ({
        state: st,
        threads: {
          p: thread(st, { locals: { c: int(0, 1) }, steps: { flip: (_s, me) => ((me.c = 1 - me.c), 'flip' as const) } }),
          q: thread(st, { steps: { set: (s) => ((s.x = 1), DONE) } }),
        },
      }),
      variants: { base: { summary: '' } },
    });
    const sp = defineSpec(spin, {
      properties: [sometimes('x-set', 'q runs', (s) => s.x === 1)],
      expect: { base: { 'x-set': 'reachable', 'deadlock-free': 'holds' } },
    });
    const on = verify(instantiate(spin, 'base'), sp, { stopAtFirst: false, por: true });
    expect(on.properties[0]!.status).toBe('reachable');
    expect(on.stats.reduction!.fullCycle).toBeGreaterThan(0);
  });
});

// select() caches its verdict on a thread by the thread's private words where the verdict is a
// function of them (src/por/reduction.ts, verdict()). Exactness: in every reachable state, a
// reduction that has seen every state (its caches warm) answers as a fresh one (caches empty).
describe('partial-order reduction: cached verdicts are the ones computed afresh', () => {
  const st = defineState({ x: int(0, 3), y: int(0, 3) });
  const m = defineModel({
    name: 'verdicts',
    title: '',
    doc: '',
    params: {},
    build: () => ({
      state: st,
      threads: {
        // local or not by the value of its own word c: shared x only when c is 0
        p: thread(st, {
          locals: { c: int(0, 3), d: int(0, 3) },
          steps: {
            a: (s, me) => {
              if (me.c === 0) s.x = (s.x + 1) % 4;
              me.c = (me.c + 1) % 4;
              return me.c === 3 ? 'b' : 'a';
            },
            // d is read by a property (widened: visible); then y, or not, by d's value
            b: (s, me) => {
              me.d = me.d + 1;
              if (me.d > 1) s.y = 1;
              return me.d === 3 ? DONE : 'b';
            },
          },
        }),
        // local work that may loop forever (a cyclic closure) or stop
        q: thread(st, { locals: { e: int(0, 1) }, steps: { spin: { alts: 2, run: (_s, me, alt) => ((me.e = 1 - me.e), alt === 0 ? ('spin' as const) : DONE) } } }),
        r: thread(st, { steps: { set: (s) => ((s.x = 2), DONE) } }),
      },
    }),
    variants: { base: { summary: '' } },
  });
  const sp = defineSpec(m, {
    properties: [always('d-small', 'p.d stays in range', (_s, t) => (t.p as any).d <= 3)],
    expect: { base: { 'd-small': 'holds', 'deadlock-free': 'holds' } },
  });

  it('in every reachable state, select() and why agree between a warm and a fresh reduction', () => {
    const cm = instantiate(m, 'base').compiled;
    const engine = new Engine(cm, sp.properties as never);
    const dWord = cm.leaves.find((l) => l.path === 'p.d')!.off;
    const fresh = () => {
      const r = new Reduction(engine);
      r.widen([dWord]);
      return r;
    };
    // every reachable state, by the engine's successor() with no reduction
    const W = engine.W;
    const states: Int32Array[] = [Int32Array.from(cm.init)];
    const seen = new Set([states[0]!.join()]);
    const out = new Int32Array(W);
    for (let i = 0; i < states.length; i++) {
      for (let t = 0; t < engine.T; t++) {
        for (let alt = 0; alt < engine.alts(states[i]!, 0, t); alt++) {
          if (!engine.successor(states[i]!, 0, t, alt, out)) continue;
          const k = out.join();
          if (!seen.has(k)) {
            seen.add(k);
            states.push(Int32Array.from(out));
          }
        }
      }
    }
    expect(states.length).toBeGreaterThan(30);
    const warm = fresh();
    engine.owner = warm.owner;
    const first = states.map((s) => [warm.select(s, 0, 0, 0), warm.why]);
    const again = states.map((s) => [warm.select(s, 0, 0, 0), warm.why]);
    const afresh = states.map((s) => {
      const r = fresh();
      engine.owner = r.owner;
      return r.select(s, 0, 0, 0);
    });
    expect(again).toEqual(first);
    // the choice is a function of the state. (Why a state is expanded fully is a statistic, and
    // not always one: a thread whose first word at a label was once seen to be its own widened
    // word counts as "visible" there from then on, as it did before the verdicts were cached.)
    expect(afresh).toEqual(first.map(([t]) => t));
    // the model exercises every verdict: a thread chosen, and full expansions for each reason
    const whys = new Set(first.filter(([t]) => t! < 0).map(([, w]) => w));
    expect(first.some(([t]) => t! >= 0)).toBe(true);
    expect([...whys].sort()).toEqual([WHY_NO_LOCAL, WHY_CYCLE, WHY_VISIBLE].sort());
  });
});
