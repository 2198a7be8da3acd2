// Preemption-bounded search: what it finds within K preemptions, against a plain oracle (a 0-1
// breadth-first search over (state, last thread) with string keys, no code shared with bounded.ts);
// its labelling (never complete, never "holds").

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { instantiate } from '../../src/model/compile.ts';
import { Engine } from '../../src/explore/engine.ts';
import { verify } from '../../src/explore/verify.ts';
import type { Property, SpecModule } from '../../src/spec/property.ts';
import { replay } from '../../src/trace/replay.ts';
import { compileDesc, modelDesc } from '../differential/gen.ts';
import { mutex, mutexSpec } from '../helpers/toys.ts';
import { BLOCKED, DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { always, defineSpec } from '../../src/spec/property.ts';
import type { Instance } from '../../src/model/compile.ts';

/**
 * Per property, the fewest preemptions any path to a state showing it uses (Infinity: none), found
 * by a 0-1 BFS: a switch away from a thread with an enabled step costs 1, anything else 0.
 */
function minPreemptions(inst: Instance, spec: SpecModule): number[] {
  const props = spec.properties as readonly Property[];
  const e = new Engine(inst.compiled, props);
  const W = e.W;
  const best = props.map(() => Infinity);
  const dist = new Map<string, number>();
  const deque: { s: Int32Array; last: number; p: number }[] = [{ s: Int32Array.from(inst.compiled.init), last: -1, p: 0 }];
  dist.set(`-1|${deque[0]!.s.join(',')}`, 0);
  const note = (m: number, p: number) => {
    for (let k = 0; k < props.length; k++) if (m & (1 << k)) best[k] = Math.min(best[k]!, p);
  };
  note(e.check(deque[0]!.s, e.sometimesMask), 0);
  const out = new Int32Array(W);
  while (deque.length) {
    // the smallest p first: with 0/1 costs, a sorted pick keeps it simple and exact
    let bi = 0;
    for (let i = 1; i < deque.length; i++) if (deque[i]!.p < deque[bi]!.p) bi = i;
    const { s, last, p } = deque.splice(bi, 1)[0]!;
    if (dist.get(`${last}|${s.join(',')}`)! < p) continue;
    const succ: { t: number; s: Int32Array }[] = [];
    for (let t = 0; t < e.T; t++) {
      for (let a = 0; a < e.alts(s, 0, t); a++) if (e.successor(s, 0, t, a, out)) succ.push({ t, s: Int32Array.from(out) });
    }
    if (succ.length === 0) note(e.terminal(s), p);
    const lastEnabled = succ.some((x) => x.t === last);
    for (const x of succ) {
      const np = p + (last >= 0 && x.t !== last && lastEnabled ? 1 : 0);
      const key = `${x.t}|${x.s.join(',')}`;
      if ((dist.get(key) ?? Infinity) <= np) continue;
      dist.set(key, np);
      note(e.check(x.s, e.sometimesMask), np);
      deque.push({ s: x.s, last: x.t, p: np });
    }
  }
  return best;
}

function preemptionsOf(inst: Instance, spec: SpecModule, path: readonly number[]): number {
  const e = new Engine(inst.compiled, spec.properties as readonly Property[]);
  const steps = replay(e, path);
  let n = 0;
  const probe = new Int32Array(e.W);
  for (let i = 1; i < steps.length; i++) {
    const last = steps[i - 1]!.tid;
    if (steps[i]!.tid === last) continue;
    const before = steps[i]!.before;
    let enabled = false;
    for (let a = 0; a < e.alts(before, 0, last) && !enabled; a++) enabled = e.successor(before, 0, last, a, probe);
    if (enabled) n++;
  }
  return n;
}

/**
 * A state the search meets first with a preemption and later without one, beyond which the bug needs
 * one preemption. Threads are tried in order a, b, c. Path X = a1, b1, b2 preempts a after a1 (a2 can
 * still run: y is 0); path Y = b1, a1, b2 reaches the same state with b last and no preemption (b2
 * waits for x, a2 for y == 0). From there the bug needs c to run between b3 and b4: a preemption of b.
 * Any path with a1 before b1 preempts a, so the bug takes one preemption only through Y: a search
 * that kept X's count for that state misses it.
 */
const reSt = defineState({ x: int(0, 1), y: int(0, 1), w: int(0, 1), err: int(0, 1) });
const reModel = defineModel({
  name: 'reexplore',
  title: 'a state reached first with more preemptions',
  doc: '',
  params: {},
  build: () => ({
    state: reSt,
    threads: {
      a: thread(reSt, {
        daemon: true,
        steps: {
          a1: (s) => {
            s.x = 1;
            return 'a2';
          },
          // spins while y is 0: a can run on (and never finish) until b1
          a2: (s) => (s.y === 0 ? 'a2' : BLOCKED),
        },
      }),
      b: thread(reSt, {
        steps: {
          b1: (s) => {
            s.y = 1;
            return 'b2';
          },
          b2: (s) => (s.x === 1 ? 'b3' : BLOCKED),
          b3: (s) => {
            s.w = 1;
            return 'b4';
          },
          b4: (s) => ((s.w = 0), DONE),
        },
      }),
      c: thread(reSt, {
        daemon: true,
        steps: { c1: (s) => (s.w === 1 ? ((s.err = 1), DONE) : BLOCKED) },
      }),
    },
  }),
  variants: { base: { summary: 'the only variant' } },
});
const reSpec = defineSpec(reModel, {
  properties: [always('no-err', 'c never runs between b3 and b4', (s) => s.err === 0)],
  expect: { base: { 'no-err': 'violated', 'deadlock-free': 'holds' } },
});

describe('bounded preemption', () => {
  it('explores a state again when it is reached later with fewer preemptions', () => {
    const inst = instantiate(reModel, 'base');
    expect(minPreemptions(inst, reSpec)[0]).toBe(1);
    expect(verify(inst, reSpec, { maxPreemptions: 0 }).properties[0]!.status).toBe('unknown');
    const r = verify(inst, reSpec, { maxPreemptions: 1 });
    expect(r.properties[0]!.status).toBe('violated');
    expect(r.bound!.reexplored).toBeGreaterThan(0);
  });

  it('finds the unlocked race with one preemption, not with none', () => {
    // two threads each do inside++ then inside--: both inside at once needs a switch away from the
    // first thread between its increment and its decrement, while it can still run: one preemption
    const inst = instantiate(mutex, 'no-lock');
    const r0 = verify(inst, mutexSpec, { maxPreemptions: 0 });
    expect(r0.outcome).toEqual({ kind: 'incomplete', reason: 'preemption-bound' });
    expect(r0.properties.find((p) => p.name === 'mutual-exclusion')!.status).toBe('unknown');
    expect(r0.bound).toMatchObject({ maxPreemptions: 0 });
    expect(r0.bound!.cut).toBeGreaterThan(0);
    const r1 = verify(inst, mutexSpec, { maxPreemptions: 1 });
    const p1 = r1.properties.find((p) => p.name === 'mutual-exclusion')!;
    expect(p1.status).toBe('violated');
    expect(preemptionsOf(inst, mutexSpec, p1.path!)).toBe(1);
  });

  it('never ends as complete, even when the bound cut nothing', () => {
    const inst = instantiate(mutex, 'locked');
    const r = verify(inst, mutexSpec, { maxPreemptions: 10 });
    expect(r.outcome).toEqual({ kind: 'incomplete', reason: 'preemption-bound' });
    expect(r.properties.every((p) => p.status === 'unknown')).toBe(true);
    // every state of the locked mutex is reached (12, see toys.ts) within 10 preemptions
    expect(r.stats.states).toBe(12);
  });

  it('agrees with the oracle on random models, for K = 0, 1, 2', () => {
    let reexplored = 0;
    let cases = 0;
    const descs = fc.sample(modelDesc(), { numRuns: 60, seed: 17 });
    for (const d of descs) {
      const { model, spec } = compileDesc(d);
      const inst = instantiate(model, 'base');
      const want = minPreemptions(inst, spec);
      for (const K of [0, 1, 2]) {
        const r = verify(inst, spec, { maxPreemptions: K, stopAtFirst: false });
        reexplored += r.bound!.reexplored;
        r.properties.forEach((p, k) => {
          const within = want[k]! <= K;
          const found = p.status === 'violated' || p.status === 'reachable';
          expect(found, `${p.name} K=${K}: oracle says ${want[k]} preemptions`).toBe(within);
          if (found && p.path && p.kind !== 'sometimes') expect(preemptionsOf(inst, spec, p.path)).toBeLessThanOrEqual(K);
        });
        cases++;
      }
    }
    expect(cases).toBe(180);
    // the case the search must get right was met: a node reached first with more preemptions, later with fewer
    expect(reexplored).toBeGreaterThan(0);
  });
});
