// Derived futures with value classes (src/por/derive-futures.ts "Classes", src/model/observe.ts): a step
// that reads a word only through a tagged helper runs once per class of values it can tell apart, a
// word it only updates blindly needs no values, and the futures are those of plain reads; a plain read
// beside a tagged one is a whole-value read; the helpers do what they say whether or not anyone listens.

import { describe, expect, it } from 'vitest';
import { instantiate, type CompiledModel } from '../../src/model/compile.ts';
import { BLOCKED, DONE, defineModel, defineState, thread, type ModelDef } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { verify } from '../../src/explore/verify.ts';
import { always, defineSpec } from '../../src/spec/property.ts';
import { deriveFutures } from '../../src/por/derive-futures.ts';
import { addTo, clearIn, orInto, storeBitsOf, storeWord, wordAbove, wordBits, wordIs } from '../../src/model/observe.ts';
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

describe("derived futures: value classes and gathered stores", () => {
  it('tagged reads and blind updates derive the futures plain reads do, in fewer runs; verdicts of --no-por', () => {
    const plain = bitsModel(false);
    const tagged = bitsModel(true);
    const p = instantiate(plain.m, 'base', {}, derive);
    const t = instantiate(tagged.m, 'base', {}, derive);
    expect(p.compiled.derived!.gaveUp).toBeUndefined();
    expect(t.compiled.derived!.gaveUp).toBeUndefined();
    // every word of every label as plain reads derive it
    for (let k = 0; k < p.compiled.threads.length; k++) {
      const [a, b] = [p.compiled.threads[k]!, t.compiled.threads[k]!];
      for (let pc = 0; pc < a.labels.length; pc++) {
        expect(Array.from(b.futTouch[pc]!), `${a.name} ${a.labels[pc]}`).toEqual(Array.from(a.futTouch[pc]!));
        expect(Array.from(b.futChange[pc]!), `${a.name} ${a.labels[pc]}`).toEqual(Array.from(a.futChange[pc]!));
      }
    }
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
});
