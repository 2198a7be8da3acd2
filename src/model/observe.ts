// Reads that give the caller less than a word's value (is it c? its bits under a mask?) and updates
// that give it nothing, for the kernel primitives. While the future derivation listens (it alone sets
// the log), each tags its touch with what the caller could learn; otherwise they are plain reads/writes.

import type { FpHolder } from '../state/zobrist.ts';

/** Touch kinds (0 = untagged: the caller may have seen the whole value). */
export const OBS_NONE = 1; // read only to compute the store that follows (an update): nothing learnt
export const OBS_EQ = 2; // learnt (value === a)
export const OBS_GT = 3; // learnt (value > a)
export const OBS_MASK = 4; // learnt (value & a)
export const OBS_UPD = 5; // stored (value & a) | b over the value it read (or over any, for a = 0)
export const OBS_ADD = 6; // stored value + a over the value it read
export const OBS_ANY = 7; // stored b, a value with bits of a only, computed from the OBS_GATHER reads just before it
export const OBS_GATHER = 8; // read untold, to compute bit a of the OBS_ANY store that follows

/**
 * The derivation's log: per touch index of `h`'s record, its kind and arguments. `h` null (the
 * default, and always in a search) = nobody listens; the helpers then only read and write.
 */
export const obsLog: { h: FpHolder | null; kind: Int8Array; a: Int32Array; b: Int32Array } = {
  h: null,
  kind: new Int8Array(0),
  a: new Int32Array(0),
  b: new Int32Array(0),
};

/** Tags the touches from index r0 on as kinds k0 (and k1 for the second), if exactly n were recorded. */
function tag(r0: number, n: number, k0: number, k1: number, a: number, b: number): void {
  const h = obsLog.h!;
  if (h.rn !== r0 + n || h.rec === null || h.rn > obsLog.kind.length) return; // not one view touch each: stays untagged
  if (n === 2 && h.rec[r0] !== h.rec[r0 + 1]) return;
  obsLog.kind[h.rn - 1] = n === 2 ? k1 : k0;
  obsLog.a[h.rn - 1] = a;
  obsLog.b[h.rn - 1] = b;
  if (n === 2) {
    obsLog.kind[r0] = k0;
    obsLog.a[r0] = 0;
    obsLog.b[r0] = 0;
  }
}

type Word<K extends string> = { [k in K]: number };

/** o[k] === c, the caller learning nothing more of o[k]. */
export function wordIs<K extends string>(o: Word<K>, k: K, c: number): boolean {
  if (obsLog.h === null) return o[k] === c;
  const r0 = obsLog.h.rn;
  const r = o[k] === c;
  tag(r0, 1, OBS_EQ, 0, c, 0);
  return r;
}

/** o[k] > c, the caller learning nothing more of o[k]. */
export function wordAbove<K extends string>(o: Word<K>, k: K, c: number): boolean {
  if (obsLog.h === null) return o[k] > c;
  const r0 = obsLog.h.rn;
  const r = o[k] > c;
  tag(r0, 1, OBS_GT, 0, c, 0);
  return r;
}

/** o[k] & m, the caller learning nothing more of o[k]. */
export function wordBits<K extends string>(o: Word<K>, k: K, m: number): number {
  if (obsLog.h === null) return o[k] & m;
  const r0 = obsLog.h.rn;
  const r = o[k] & m;
  tag(r0, 1, OBS_MASK, 0, m, 0);
  return r;
}

/** o[k] |= bits, the caller learning nothing of o[k]. */
export function orInto<K extends string>(o: Word<K>, k: K, bits: number): void {
  const r0 = obsLog.h === null ? 0 : obsLog.h.rn;
  o[k] = o[k] | bits;
  if (obsLog.h !== null) tag(r0, 2, OBS_NONE, OBS_UPD, -1, bits);
}

/** o[k] &= ~bits, the caller learning nothing of o[k]. */
export function clearIn<K extends string>(o: Word<K>, k: K, bits: number): void {
  if (obsLog.h === null) {
    // a search: store only when a bit is set, as the kernel primitives did before this helper (the
    // same words are touched). Stored every time, rcu's quiescent() (every head's and thread's bit)
    // doubled its touches, past the step memo's limits: pte-offset-map-lock searched ~1.5x as long
    const v = o[k];
    if ((v & bits) !== 0) o[k] = v & ~bits;
    return;
  }
  const r0 = obsLog.h.rn;
  o[k] = o[k] & ~bits;
  if (obsLog.h !== null) tag(r0, 2, OBS_NONE, OBS_UPD, ~bits, 0);
}

/** o[k] += d, the caller learning nothing of o[k] (a result out of the field's range throws, untagged). */
export function addTo<K extends string>(o: Word<K>, k: K, d: number): void {
  const r0 = obsLog.h === null ? 0 : obsLog.h.rn;
  o[k] = o[k] + d;
  if (obsLog.h !== null) tag(r0, 2, OBS_NONE, OBS_ADD, d, 0);
}

/**
 * o[k] = the OR of bit i over the views[i] one of whose `fields` (those it has) passes `test`. Every
 * such field of every view is read, whatever the others hold, and the caller learns nothing of them
 * nor of o[k]; the value stored has no bit beyond views.length.
 */
export function storeBitsOf<K extends string>(o: Word<K>, k: K, views: readonly object[], fields: readonly string[], test: (v: unknown) => boolean): void {
  const L = obsLog.h;
  let m = 0;
  for (let i = 0; i < views.length; i++) {
    const v = views[i] as Record<string, unknown>;
    let hit = false;
    for (let j = 0; j < fields.length; j++) {
      const f = fields[j]!;
      if (!(f in v)) continue;
      const r0 = L === null ? 0 : L.rn;
      if (test(v[f])) hit = true;
      if (L !== null) tag(r0, 1, OBS_GATHER, 0, i, 0);
    }
    if (hit) m |= 1 << i;
  }
  const r0 = L === null ? 0 : L.rn;
  o[k] = m as Word<K>[K];
  if (L !== null) tag(r0, 1, OBS_ANY, 0, views.length >= 31 ? -1 : (1 << views.length) - 1, m);
}

/** o[k] = v without reading it. */
export function storeWord<K extends string>(o: Word<K>, k: K, v: number): void {
  const r0 = obsLog.h === null ? 0 : obsLog.h.rn;
  o[k] = v;
  if (obsLog.h !== null) tag(r0, 1, OBS_UPD, 0, 0, v);
}

/** An array of int words, as the schema's int arrays give them (get and set by index). */
export interface IntElems {
  get(i: number): number;
  set(i: number, v: number): void;
}

/** a[i] === c, the caller learning nothing more of a[i]. */
export function elemIs(a: IntElems, i: number, c: number): boolean {
  if (obsLog.h === null) return a.get(i) === c;
  const r0 = obsLog.h.rn;
  const r = a.get(i) === c;
  tag(r0, 1, OBS_EQ, 0, c, 0);
  return r;
}

/** a[i] > c, the caller learning nothing more of a[i]. */
export function elemAbove(a: IntElems, i: number, c: number): boolean {
  if (obsLog.h === null) return a.get(i) > c;
  const r0 = obsLog.h.rn;
  const r = a.get(i) > c;
  tag(r0, 1, OBS_GT, 0, c, 0);
  return r;
}

/** a[i] += d, the caller learning nothing of a[i] (a result out of the field's range throws, untagged). */
export function addToElem(a: IntElems, i: number, d: number): void {
  const r0 = obsLog.h === null ? 0 : obsLog.h.rn;
  a.set(i, a.get(i) + d);
  if (obsLog.h !== null) tag(r0, 2, OBS_NONE, OBS_ADD, d, 0);
}

/** a[i] = v without reading it. */
export function storeElem(a: IntElems, i: number, v: number): void {
  const r0 = obsLog.h === null ? 0 : obsLog.h.rn;
  a.set(i, v);
  if (obsLog.h !== null) tag(r0, 1, OBS_UPD, 0, 0, v);
}
