// Incremental 64-bit fingerprints: fp(state) = XOR over every word i of z(i, state[i]), two 32-bit
// lanes. A write of v over old at word i changes fp by z(i, old) ^ z(i, v), so the view setters keep
// the fingerprint of the state being built current and no pass over the whole vector is needed.
// z is a strong 32-bit integer mixer (lowbias32-style) over (i, v), with different keys per lane.

export function zhi(i: number, v: number): number {
  let x = Math.imul(i, 0x9e3779b1) ^ Math.imul(v ^ 0x5bd1e995, 0x85ebca77);
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x;
}

export function zlo(i: number, v: number): number {
  let x = Math.imul(i ^ 0x2545f491, 0xc2b2ae3d) ^ Math.imul(v, 0x27d4eb2f);
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  x = Math.imul(x, 0x297a2d39);
  x ^= x >>> 15;
  return x;
}

/** A state (at offset o of buffer b) with the running fingerprint of its contents. */
export interface FpHolder {
  b: Int32Array;
  o: number;
  hi: number;
  lo: number;
  /** when set, every word read or written is appended here (footprint recording, for POR) */
  rec: Int32Array | null;
  rn: number;
  /** when set, every store appends (word, old value) here, so a step run in place can be undone */
  undo: Int32Array | null;
  un: number;
}

/** Notes that word i was touched, when footprints are being recorded (overflow = "touched a lot"). */
export function note(h: FpHolder, i: number): void {
  const r = h.rec;
  if (r !== null) {
    if (h.rn < r.length) r[h.rn] = i;
    h.rn++;
  }
}

/** Stores v at word i of the state in h, keeping h's fingerprint current. */
export function store(h: FpHolder, i: number, v: number): void {
  note(h, i);
  const j = h.o + i;
  const old = h.b[j]!;
  if (old === v) return;
  const u = h.undo;
  if (u !== null) {
    if (h.un + 2 > u.length) {
      const g = new Int32Array(u.length * 2);
      g.set(u);
      h.undo = g;
    }
    h.undo![h.un++] = i;
    h.undo![h.un++] = old;
  }
  h.b[j] = v;
  h.hi ^= zhi(i, old) ^ zhi(i, v);
  h.lo ^= zlo(i, old) ^ zlo(i, v);
}

/** Fingerprint of a[off .. off+n) from scratch (same value the incremental updates maintain). */
export function fullFingerprint(a: Int32Array, off: number, n: number, out: { hi: number; lo: number }): void {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < n; i++) {
    const v = a[off + i]!;
    hi ^= zhi(i, v);
    lo ^= zlo(i, v);
  }
  out.hi = hi;
  out.lo = lo;
}
