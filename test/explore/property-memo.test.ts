// Engine.check()'s property memo (src/explore/properties.ts): a property whose last-read words hold the
// values they held is answered without running it. It must give what evaluating afresh gives, on
// every shipped model, and a search's sets of property reads (safeWatch) must not lose a read to it.

import { describe, expect, it } from 'vitest';
import { loadModel, shippedModelNames } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { Engine, type SafeWatch } from '../../src/explore/engine.ts';
import { defineModel, defineState, thread, DONE } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { always, sometimes } from '../../src/spec/property.ts';

/** xorshift32: the same walks every run */
function rng(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe('property memo', async () => {
  for (const name of shippedModelNames()) {
    const lm = await loadModel(name);
    const variant = Object.keys(lm.module.variants)[0]!;
    it(`${name} [${variant}]: on random walks, the same answers as evaluating afresh`, () => {
      const inst = instantiate(lm.module, variant, {});
      const e = new Engine(inst.compiled, lm.spec.properties);
      const fresh = new Engine(inst.compiled, lm.spec.properties);
      const all = e.sometimesMask;
      const below = rng(0x9e3779b9);
      const W = e.W;
      const cur = new Int32Array(W);
      const next = new Int32Array(W);
      let checks = 0;
      for (let walk = 0; walk < 20; walk++) {
        cur.set(inst.compiled.init);
        for (let d = 0; d < 200; d++) {
          // every sometimes pending, then only some (a reached one is no longer asked)
          for (const pending of [all, all & below(1 << 30)]) {
            fresh.owner = null; // forgets its memos: each answer is a fresh evaluation
            expect(e.check(cur, pending)).toBe(fresh.check(cur, pending));
            checks++;
          }
          const moves: number[] = [];
          for (let t = 0; t < e.T; t++) for (let a = 0; a < e.alts(cur, 0, t); a++) moves.push(t, a);
          let moved = false;
          while (moves.length > 0 && !moved) {
            const i = 2 * below(moves.length >> 1);
            moved = e.successor(cur, 0, moves[i]!, moves[i + 1]!, next);
            moves.splice(i, 2);
          }
          if (!moved) break;
          cur.set(next);
        }
      }
      // the memo answered some: consecutive states of a walk differ in a few words
      expect(e.propEval.propHits).toBeGreaterThan(0);
      expect(e.propEval.propEvals).toBeLessThan(fresh.propEval.propEvals);
      expect(checks).toBeGreaterThan(0);
    });
  }

  const st = defineState({ x: int(0, 3), y: int(0, 3) });
  const toy = defineModel({
    name: 'memo-toy',
    title: 'x then y',
    doc: '',
    params: {},
    build: () => ({
      state: st,
      threads: {
        a: thread(st, { steps: { a1: (s) => {
              s.x = 1;
              return 'a2';
            },
            a2: (s) => ((s.y = 2), DONE) } }),
      },
    }),
    variants: { base: { summary: 'the only variant' } },
  });
  // reads y only once x is 1: the words read depend on the values
  const props = [always('x-then-y', '', (s: { x: number; y: number }) => s.x !== 1 || s.y !== 3), sometimes('y-two', '', (s: { y: number }) => s.y === 2)];

  it('reads a property made while the watch was emptied are watched again once a search sets it anew', () => {
    const inst = instantiate(toy, 'base');
    const e = new Engine(inst.compiled, props);
    const K = (e.W + 31) >>> 5;
    const watch: SafeWatch = { reads: new Int32Array(K), changed: new Int32Array(K), readsBy: props.map(() => new Int32Array(K)) };
    e.safeWatch = watch;
    const s = Int32Array.from(inst.compiled.init);
    e.check(s, e.sometimesMask);
    const reads = Array.from(watch.reads);
    const readsBy = Array.from(watch.readsBy[1]!);
    expect(reads.some((b) => b !== 0)).toBe(true);
    expect(readsBy.some((b) => b !== 0)).toBe(true);
    const evals = e.propEval.propEvals;
    // the search that gathered them ends (its sets are emptied), the next one sets the watch
    watch.reads.fill(0);
    watch.readsBy[1]!.fill(0);
    e.safeWatch = watch;
    e.check(s, e.sometimesMask);
    expect(e.propEval.propEvals).toBe(evals + 2);
    expect(Array.from(watch.reads)).toEqual(reads);
    expect(Array.from(watch.readsBy[1]!)).toEqual(readsBy);
    // same state, same search: answered by the memo, nothing more to watch
    e.check(s, e.sometimesMask);
    expect(e.propEval.propEvals).toBe(evals + 2);
  });

  it('a word read only in some states is read, and watched, where it is', () => {
    const inst = instantiate(toy, 'base');
    const e = new Engine(inst.compiled, props);
    const K = (e.W + 31) >>> 5;
    const watch: SafeWatch = { reads: new Int32Array(K), changed: new Int32Array(K), readsBy: props.map(() => new Int32Array(K)) };
    e.safeWatch = watch;
    const leaf = (p: string) => inst.compiled.leaves.find((l) => l.path === p)!.off;
    const x = leaf('x');
    const y = leaf('y');
    const s = Int32Array.from(inst.compiled.init);
    expect(e.check(s, 0)).toBe(0);
    const has = (w: number) => (watch.reads[w >>> 5]! & (1 << (w & 31))) !== 0;
    expect(has(x)).toBe(true);
    expect(has(y)).toBe(false);
    s[x] = 1;
    expect(e.check(s, 0)).toBe(0);
    expect(has(y)).toBe(true);
    s[y] = 3;
    expect(e.check(s, 0)).toBe(1);
    s[x] = 2;
    expect(e.check(s, 0)).toBe(0);
    s[x] = 1;
    expect(e.check(s, 0)).toBe(1);
  });
});
