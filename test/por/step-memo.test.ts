// The step memos (src/por/step-memo.ts): a few entries per (thread, pc, alternative), each answering only
// where the pc and every word its step touched hold the values they held when it ran.

import { describe, expect, it } from 'vitest';
import { StepMemo } from '../../src/por/step-memo.ts';

/** one thread, one alternative at each of two pcs */
const memo = () => new StepMemo([[1, 1]]);

describe('step memo', () => {
  it('remembers the last four blocked runs of a step; a fifth replaces the oldest', () => {
    const m = memo();
    const rec = new Int32Array(16);
    const touched = Int32Array.of(3, 5);
    const state = (a: number, b: number) => {
      const s = new Int32Array(8);
      s[3] = a;
      s[5] = b;
      return s;
    };
    for (let v = 0; v < 4; v++) m.rememberBlocked(state(v, 7), 0, 0, 0, 1, touched, 2);
    for (let v = 0; v < 4; v++) {
      rec.fill(-1);
      expect(m.blocked(state(v, 7), 0, 0, 0, 1, rec)).toBe(2);
      expect(Array.from(rec.subarray(0, 2))).toEqual([3, 5]);
    }
    // another value of a word it touched, another pc, another alternative: nothing known
    expect(m.blocked(state(0, 6), 0, 0, 0, 1, rec)).toBe(-1);
    expect(m.blocked(state(0, 7), 0, 0, 0, 0, rec)).toBe(-1);
    m.rememberBlocked(state(4, 7), 0, 0, 0, 1, touched, 2);
    expect(m.blocked(state(4, 7), 0, 0, 0, 1, rec)).toBe(2);
    expect(m.blocked(state(0, 7), 0, 0, 0, 1, rec)).toBe(-1);
    for (let v = 1; v < 4; v++) expect(m.blocked(state(v, 7), 0, 0, 0, 1, rec)).toBe(2);
    // runs at another pc keep entries of their own
    for (let v = 0; v < 8; v++) m.rememberBlocked(state(v, 8), 0, 0, 0, 0, touched, 2);
    for (let v = 1; v < 5; v++) expect(m.blocked(state(v, 7), 0, 0, 0, 1, rec)).toBe(2);
    expect(m.blocked(state(7, 8), 0, 0, 0, 0, rec)).toBe(2);
    expect(m.blocked(state(7, 8), 0, 0, 0, 1, rec)).toBe(-1);
  });

  it('an enabled entry gives back the stores and fingerprint change of the run it was made from', () => {
    const m = memo();
    const rec = new Int32Array(16);
    // the step read word 2 and stored word 4 := word 2 + 1 (the successor is in buf, the undo log has the old value)
    const runs: [number, number][] = [];
    for (let v = 0; v < 5; v++) {
      const after = new Int32Array(8);
      after[2] = v;
      after[4] = v + 1;
      m.rememberEnabled(after, 0, 0, 0, 0, Int32Array.of(2, 4), 2, Int32Array.of(4, 0), 2, 100 + v, 200 + v);
      runs.push([v, v + 1]);
    }
    for (let v = 0; v < 5; v++) {
      const before = new Int32Array(8);
      before[2] = v;
      const eo = m.enabled(before, 0, 0, 0, 0, rec);
      if (v === 0) {
        expect(eo).toBe(-1); // replaced by the fifth
        continue;
      }
      expect(eo).toBeGreaterThanOrEqual(0);
      expect(m.touchedOf(eo)).toBe(2);
      expect(m.storesOf(eo)).toBe(1);
      const at = m.storesAt(eo);
      expect([m.table[at], m.table[at + 1]]).toEqual([4, runs[v]![1]]);
      expect([m.changeHi(eo), m.changeLo(eo)]).toEqual([100 + v, 200 + v]);
      // the word it stored held another value before: not the state it ran from
      before[4] = 9;
      expect(m.enabled(before, 0, 0, 0, 0, rec)).toBe(-1);
    }
  });
});
