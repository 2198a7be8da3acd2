// Derived futures with value classes (src/por/derive-futures.ts "Classes", src/model/observe.ts): a step
// that reads a word only through a tagged helper runs once per class of values it can tell apart, a
// word it only updates blindly needs no values, and the futures are those of plain reads; a plain read
// beside a tagged one is a whole-value read; the helpers do what they say whether or not anyone listens.

import { describe, expect, it } from 'vitest';
import { instantiate, type CompiledModel } from '../../src/model/compile.ts';
import { BLOCKED, DONE, defineModel, defineState, thread, type ModelDef } from '../../src/model/model.ts';
import { array, int } from '../../src/model/schema.ts';
import { verify } from '../../src/explore/verify.ts';
import { always, defineSpec } from '../../src/spec/property.ts';
import { deriveFutures } from '../../src/por/derive-futures.ts';
import { addTo, addToElem, clearIn, elemAbove, elemIs, obsLog, OBS_ADD, OBS_EQ, OBS_GT, OBS_NONE, OBS_UPD, orInto, storeBitsOf, storeElem, storeWord, wordAbove, wordBits, wordIs } from '../../src/model/observe.ts';
import pteRefcount from '../../models/pte-refcount.ts';
import ptoml from '../../models/pte-offset-map-lock.ts';
import ptomlSpec from '../../specs/pte-offset-map-lock.ts';
import ttf from '../../models/try-to-free-user-pte.ts';
import ttfSpec from '../../specs/try-to-free-user-pte.ts';

const derive = { deriveFutures: (cm: CompiledModel) => deriveFutures(cm) };
const statuses = (r: { properties: readonly { status: string }[] }) => r.properties.map((p) => p.status);
const has = (bits: Int32Array | null | undefined, w: number) => bits != null && (bits[w >>> 5]! & (1 << (w & 31))) !== 0;
const off = (cm: CompiledModel, path: string) => cm.leaves.find((l) => l.path === path)!.off;

/**
 * Six threads, each sets its own bit of `flags` (a fault word's shape), bumps a counter unless at its
 * bound, and, once every thread before it has set its bit, records whether the counter is above 2.
 * `tagged` reads through the helpers; otherwise with plain reads, the same arithmetic.
 */
function bitsModel(tagged: boolean) {
  const N = 6;
  const st = defineState({ flags: int(0, 63), cnt: int(0, 7), high: int(0, 1) });
  const step = {
    set: (s: any, me: any) => {
      if (tagged) orInto(s, 'flags', 1 << me.index);
      else s.flags = s.flags | (1 << me.index);
      return 'bump' as const;
    },
    bump: (s: any) => {
      if (tagged ? !wordAbove(s, 'cnt', 6) : !(s.cnt > 6)) {
        if (tagged) addTo(s, 'cnt', 1);
        else s.cnt = s.cnt + 1;
      }
      return 'wait' as const;
    },
    wait: (s: any, me: any) => {
      const mask = (1 << me.index) - 1;
      if ((tagged ? wordBits(s, 'flags', mask) : s.flags & mask) !== mask) return BLOCKED;
      if (tagged ? wordAbove(s, 'cnt', 2) : s.cnt > 2) {
        if (tagged) storeWord(s, 'high', 1);
        else s.high = 1;
      }
      return DONE;
    },
  };
  const m = defineModel({
    name: `derive-bits-${tagged}`,
    title: '',
    doc: '',
    params: {},
    build: (): ModelDef => ({ state: st, threads: { t: thread(st, { count: N, steps: step }) } }),
    variants: { base: { summary: '' } },
  });
  const sp = defineSpec(m, { properties: [always('all-or-low', 'high only once three have bumped', (s: any) => s.high === 0 || s.cnt >= 3)], expect: { base: {} } });
  return { m, sp };
}

/** Every label of every thread of `got` has the futures (touched and changed words) `want` has. */
function expectSameFutures(got: { compiled: CompiledModel }, want: { compiled: CompiledModel }): void {
  for (let k = 0; k < want.compiled.threads.length; k++) {
    const [a, b] = [want.compiled.threads[k]!, got.compiled.threads[k]!];
    for (let pc = 0; pc < a.labels.length; pc++) {
      expect(Array.from(b.futTouch[pc]!), `${a.name} ${a.labels[pc]}`).toEqual(Array.from(a.futTouch[pc]!));
      expect(Array.from(b.futChange[pc]!), `${a.name} ${a.labels[pc]}`).toEqual(Array.from(a.futChange[pc]!));
    }
  }
}

describe("derived futures: value classes and gathered stores", () => {
  it('tagged reads and blind updates derive the futures plain reads do, in fewer runs; verdicts of --no-por', () => {
    const plain = bitsModel(false);
    const tagged = bitsModel(true);
    const p = instantiate(plain.m, 'base', {}, derive);
    const t = instantiate(tagged.m, 'base', {}, derive);
    expect(p.compiled.derived!.gaveUp).toBeUndefined();
    expect(t.compiled.derived!.gaveUp).toBeUndefined();
    // every word of every label as plain reads derive it
    expectSameFutures(t, p);
    expect(t.compiled.derived!.runs * 4).toBeLessThan(p.compiled.derived!.runs);
    const full = verify(instantiate(tagged.m, 'base'), tagged.sp, { stopAtFirst: false, por: false });
    const r = verify(t, tagged.sp, { stopAtFirst: false });
    expect(statuses(r)).toEqual(statuses(full));
    expect(statuses(r).every((x) => x === 'holds')).toBe(true);
  });

  it('a plain read of a word beside a tagged one tells every value apart', () => {
    // `x` is asked "is it 0?", then read whole: only x == 2 sets y, which the derivation must see
    const st = defineState({ x: int(0, 2), y: int(0, 1) });
    const m = defineModel({
      name: 'derive-mixed',
      title: '',
      doc: '',
      params: {},
      build: (): ModelDef => ({
        state: st,
        threads: {
          w: thread(st, { steps: { one: (s: any) => ((s.x = 1), 'two' as const), two: (s: any) => ((s.x = 2), DONE) } }),
          r: thread(st, {
            steps: {
              look: (s: any) => {
                if (wordIs(s, 'x', 0)) return BLOCKED;
                if (s.x === 2) s.y = 1;
                return DONE;
              },
            },
          }),
        },
      }),
      variants: { base: { summary: '' } },
    });
    const cm = instantiate(m, 'base', {}, derive).compiled;
    expect(cm.derived!.gaveUp).toBeUndefined();
    expect(has(cm.threads[1]!.futChange[0], off(cm, 'y'))).toBe(true);
  });

  it('the helpers read and write as plain code does when nobody listens', () => {
    const o = { f: 5 };
    expect(wordIs(o, 'f', 5)).toBe(true);
    expect(wordAbove(o, 'f', 5)).toBe(false);
    expect(wordBits(o, 'f', 4)).toBe(4);
    orInto(o, 'f', 2);
    expect(o.f).toBe(7);
    clearIn(o, 'f', 1);
    expect(o.f).toBe(6);
    addTo(o, 'f', -2);
    expect(o.f).toBe(4);
    storeWord(o, 'f', 9);
    expect(o.f).toBe(9);
    const views = [{ n: 0, on: false }, { n: 2, on: false }, { n: 0, on: true }, { other: 1 }];
    storeBitsOf(o, 'f', views, ['n', 'on'], (v) => v === true || (typeof v === 'number' && v > 0));
    expect(o.f).toBe(0b110);
  });

  it('pte-offset-map-lock (upstream): derived, fewer states than without, the verdicts of --no-por', () => {
    const inst = instantiate(ptoml, 'upstream', {}, derive);
    expect(inst.compiled.derived!.gaveUp).toBeUndefined();
    expect(inst.compiled.derived!.unrestricted).toBe(0);
    const r = verify(inst, ptomlSpec, { stopAtFirst: false });
    const plain = verify(instantiate(ptoml, 'upstream'), ptomlSpec, { stopAtFirst: false });
    const full = verify(instantiate(ptoml, 'upstream'), ptomlSpec, { stopAtFirst: false, por: false });
    expect(statuses(r)).toEqual(statuses(full));
    expect(r.stats.states).toBeLessThan(plain.stats.states);
  });

  it('try-to-free-user-pte: its percpu_ref counters asked only "below zero?" and "zero?" (pcpu never read), it derives: fewer states, the verdicts of --no-por', () => {
    for (const variant of ['rfc', 'rfc-switch-back']) {
      const inst = instantiate(ttf, variant, {}, derive);
      expect(inst.compiled.derived!.gaveUp, variant).toBeUndefined();
      const r = verify(inst, ttfSpec, { stopAtFirst: false });
      const full = verify(instantiate(ttf, variant), ttfSpec, { stopAtFirst: false, por: false });
      expect(statuses(r), variant).toEqual(statuses(full));
      expect(r.stats.states, variant).toBeLessThan(full.stats.states * 0.8);
    }
  });

  /**
   * Three threads on one int array: each adds to its own element unless it is above 5, sets element
   * 3 if its own is 0, and once element 0 is above 1 stores into element 2. `tagged` reads
   * through the array helpers; otherwise with plain get/set, the same arithmetic.
   */
  function elemsModel(tagged: boolean) {
    const st = defineState({ a: array(4, int(0, 7)), hit: int(0, 1) });
    const step = {
      bump: (s: any, me: any) => {
        const i = me.index;
        if (tagged ? !elemAbove(s.a, i, 5) : !(s.a.get(i) > 5)) {
          if (tagged) addToElem(s.a, i, 2);
          else s.a.set(i, s.a.get(i) + 2);
        }
        return 'clear' as const;
      },
      clear: (s: any, me: any) => {
        if (tagged ? elemIs(s.a, me.index, 0) : s.a.get(me.index) === 0) {
          if (tagged) storeElem(s.a, 3, 1);
          else s.a.set(3, 1);
        }
        return 'look' as const;
      },
      look: (s: any) => {
        if (tagged ? !elemAbove(s.a, 0, 1) : !(s.a.get(0) > 1)) return BLOCKED;
        if (tagged) storeElem(s.a, 2, 5);
        else s.a.set(2, 5);
        s.hit = 1;
        return DONE;
      },
    };
    const m = defineModel({
      name: `derive-elems-${tagged}`,
      title: '',
      doc: '',
      params: {},
      build: (): ModelDef => ({ state: st, threads: { t: thread(st, { count: 3, steps: step }) } }),
      variants: { base: { summary: '' } },
    });
    const sp = defineSpec(m, { properties: [always('two-after-hit', 'element 2 is 5 once hit', (s: any) => s.hit === 0 || s.a.get(2) === 5)], expect: { base: {} } });
    return { m, sp };
  }

  it('array helpers: tagged element reads derive the futures plain ones do, in fewer runs; verdicts of --no-por', () => {
    const plain = elemsModel(false);
    const tagged = elemsModel(true);
    const p = instantiate(plain.m, 'base', {}, derive);
    const t = instantiate(tagged.m, 'base', {}, derive);
    expect(p.compiled.derived!.gaveUp).toBeUndefined();
    expect(t.compiled.derived!.gaveUp).toBeUndefined();
    expectSameFutures(t, p);
    expect(t.compiled.derived!.runs).toBeLessThan(p.compiled.derived!.runs);
    const full = verify(instantiate(tagged.m, 'base'), tagged.sp, { stopAtFirst: false, por: false });
    const r = verify(t, tagged.sp, { stopAtFirst: false });
    expect(statuses(r)).toEqual(statuses(full));
  });

  it('array helpers: each tags exactly its own touch, with what the caller learns and nothing more', () => {
    const { m } = elemsModel(true);
    const cm = instantiate(m, 'base').compiled;
    const h = cm.holder;
    const a = (cm.root as any).a;
    const rec = new Int32Array(16);
    const kind = new Int8Array(16);
    const oa = new Int32Array(16);
    const ob = new Int32Array(16);
    const listen = (f: () => void) => {
      h.b = Int32Array.from(cm.init);
      h.o = 0;
      h.rec = rec;
      h.rn = 0;
      h.undo = new Int32Array(16);
      h.un = 0;
      kind.fill(0);
      Object.assign(obsLog, { h, kind, a: oa, b: ob });
      try {
        f();
      } finally {
        obsLog.h = null;
        h.rec = null;
        h.undo = null;
      }
      return Array.from({ length: h.rn }, (_, i) => [rec[i], kind[i], oa[i], ob[i]]);
    };
    const w1 = off(cm, 'a[1]');
    let r: unknown;
    expect(listen(() => (r = elemIs(a, 1, 0)))).toEqual([[w1, OBS_EQ, 0, 0]]);
    expect(r).toBe(true);
    expect(listen(() => (r = elemAbove(a, 1, 3)))).toEqual([[w1, OBS_GT, 3, 0]]);
    expect(r).toBe(false);
    expect(listen(() => addToElem(a, 1, 2))).toEqual([
      [w1, OBS_NONE, 0, 0],
      [w1, OBS_ADD, 2, 0],
    ]);
    expect(listen(() => storeElem(a, 1, 6))).toEqual([[w1, OBS_UPD, 0, 6]]);
    // and what they do, whether or not anyone listens
    const o = { v: [3, 0], get(i: number) { return this.v[i]!; }, set(i: number, x: number) { this.v[i] = x; } };
    expect(elemIs(o, 0, 3)).toBe(true);
    expect(elemAbove(o, 0, 3)).toBe(false);
    addToElem(o, 1, -2);
    storeElem(o, 0, 7);
    expect(o.v).toEqual([7, -2]);
  });

  it('pte-refcount: its counts read plainly in a search and through the helpers while the derivation listens do the same; the same futures in fewer runs', () => {
    const cm = instantiate(pteRefcount, 'rcu-deferred').compiled;
    const h = cm.holder;
    const madvise = cm.threads.find((th) => th.name === 'madvise')!;
    const me = madvise.me as any;
    const s = cm.root as any;
    const rec = new Int32Array(256);
    const undo = new Int32Array(256);
    const kind = new Int8Array(256);
    const run = (label: string, count: number, nr: number, listening: boolean) => {
      const b = Int32Array.from(cm.init);
      h.b = b;
      h.o = 0;
      h.rec = null;
      h.undo = null;
      s.pte_refcount.set(0, count);
      me.pmdval = 1;
      me.nr = nr;
      me.op = label === 'atomic_add' ? 'get' : 'put';
      let res: unknown;
      let threw = false;
      if (listening) {
        h.rec = rec;
        h.rn = 0;
        h.undo = undo;
        h.un = 0;
        kind.fill(0);
        Object.assign(obsLog, { h, kind, a: new Int32Array(256), b: new Int32Array(256) });
      }
      try {
        res = madvise.steps[madvise.labelIndex[label]!]!(cm.root, madvise.me, 0);
      } catch {
        threw = true;
      } finally {
        obsLog.h = null;
        h.rec = null;
        h.undo = null;
      }
      return { res, threw, b: Array.from(b) };
    };
    let n = 0;
    for (const label of ['pte_get_unless_zero', 'atomic_add', 'atomic_sub_and_test'])
      for (let count = -4; count <= 15; count++)
        for (const nr of [1, 2]) {
          expect(run(label, count, nr, true), `${label} count ${count} nr ${nr}`).toEqual(run(label, count, nr, false));
          n++;
        }
    expect(n).toBe(3 * 20 * 2);
    // the plain reads gave every count a run of its own: the derivation now asks only the questions
    expect(instantiate(pteRefcount, 'rcu-deferred', {}, derive).compiled.derived!.runs).toBeLessThan(6000);
  });
});
