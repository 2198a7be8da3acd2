// A fixed-capacity fingerprint table in a SharedArrayBuffer, shared by every worker of a parallel run.
// Lock-free: a slot is claimed by compareExchange of its high word (never 0 for a stored fingerprint);
// the winner then publishes the low word (never 0 either), and a reader that finds a matching high word
// waits for the low word to appear before comparing. Growth is the coordinator's job, between tasks.

import type { VisitedSet } from './visited.ts';

export const SHARED_FULL = -1;

function home(hi: number, lo: number, cap: number): number {
  let h = hi ^ Math.imul(lo ^ (lo >>> 16), 0x85ebca6b);
  h = (h ^ (h >>> 13)) >>> 0;
  return Math.floor((h * cap) / 4294967296);
}

export class SharedFingerprintSet implements VisitedSet {
  readonly slots: Int32Array;
  readonly cap: number;

  /** Views `buffer` (2 int32 per slot) as a table; a fresh SharedArrayBuffer is an empty one. */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.slots = new Int32Array(buffer);
    this.cap = this.slots.length >>> 1;
  }

  static create(capacity: number): SharedFingerprintSet {
    return new SharedFingerprintSet(new SharedArrayBuffer(Math.max(64, capacity) * 8));
  }

  get bytes(): number {
    return this.buffer.byteLength;
  }

  /** every view of one buffer is the same set */
  get shared(): object {
    return this.buffer;
  }

  insertIfAbsent(hi: number, lo: number): number {
    if (hi === 0) hi = 1;
    if (lo === 0) lo = 1;
    const slots = this.slots;
    const cap = this.cap;
    let i = home(hi, lo, cap);
    for (let probes = 0; probes < cap; probes++) {
      // a plain read is enough to probe: a stale 0 only sends us to the compareExchange, which sees
      // the truth
      let h = slots[2 * i]!;
      if (h === 0) {
        h = Atomics.compareExchange(slots, 2 * i, 0, hi);
        if (h === 0) {
          Atomics.store(slots, 2 * i + 1, lo);
          return 1;
        }
      }
      if (h === hi) {
        // a low word, once published, never changes (growth happens with every worker paused), so a
        // plain read that sees it non-zero sees it right; only a 0 needs waiting for
        let l = slots[2 * i + 1]!;
        while (l === 0) l = Atomics.load(slots, 2 * i + 1); // the claimer is publishing it
        if (l === lo) return 0;
      }
      if (++i === cap) i = 0;
    }
    return SHARED_FULL;
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0) hi = 1;
    if (lo === 0) lo = 1;
    const slots = this.slots;
    const cap = this.cap;
    let i = home(hi, lo, cap);
    for (let probes = 0; probes < cap; probes++) {
      const h = slots[2 * i]!;
      if (h === 0) return false;
      if (h === hi) {
        let l = slots[2 * i + 1]!;
        while (l === 0) l = Atomics.load(slots, 2 * i + 1);
        if (l === lo) return true;
      }
      if (++i === cap) i = 0;
    }
    return false;
  }

  /**
   * Adds a fingerprint known to be absent, with plain stores: only while no other thread uses the
   * table (filling it before the workers start, or growing it while they are paused).
   */
  insertUnshared(hi: number, lo: number): void {
    if (hi === 0) hi = 1;
    if (lo === 0) lo = 1;
    const d = this.slots;
    const cap = this.cap;
    let i = home(hi, lo, cap);
    while (d[2 * i] !== 0) if (++i === cap) i = 0;
    d[2 * i] = hi;
    d[2 * i + 1] = lo;
  }

  /**
   * Writes a zero into every page of part `part` of `parts` of an empty table (no other thread uses it
   * yet), so that the operating system maps its memory now: the first write to each page of a fresh
   * table is a page fault, and a 32 MB table takes ~8,000 of them (about 0.15 s on a virtual machine).
   */
  touchPart(part: number, parts: number): void {
    const d = this.slots;
    const end = Math.floor(((part + 1) * d.length) / parts);
    for (let j = Math.floor((part * d.length) / parts); j < end; j += 1024) d[j] = 0;
  }

  /**
   * Copies part `part` of `parts` of the fingerprints of `from` into this table: each of `parts`
   * threads copies its own part at the same time (nothing else uses either table meanwhile).
   */
  copyPart(from: SharedFingerprintSet, part: number, parts: number): void {
    const s = from.slots;
    const cap = from.cap;
    const end = Math.floor(((part + 1) * cap) / parts);
    for (let j = Math.floor((part * cap) / parts); j < end; j++) {
      const hi = s[2 * j]!;
      if (hi !== 0 && this.insertIfAbsent(hi, s[2 * j + 1]!) === SHARED_FULL) throw new Error('shared table: copy into a smaller table');
    }
  }

  /** Copies every fingerprint into a table of `capacity` slots (single-threaded: workers are paused). */
  grow(capacity: number): SharedFingerprintSet {
    const next = SharedFingerprintSet.create(capacity);
    const s = this.slots;
    for (let j = 0; j < s.length; j += 2) if (s[j] !== 0) next.insertUnshared(s[j]!, s[j + 1]!);
    return next;
  }
}
