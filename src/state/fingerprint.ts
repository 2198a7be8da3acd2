// 64-bit state fingerprints as two 32-bit lanes (no BigInt, no allocation): murmur3-style mixing with
// different constants per lane, then a cross-lane finalizer. (0, 0) is reserved as the empty marker
// of the fingerprint tables and is never produced.

export class Fingerprinter {
  /** high lane of the last fingerprint */
  hi = 0;
  /** low lane of the last fingerprint */
  lo = 0;

  /** Fingerprints a[off .. off+n). Result in this.hi / this.lo. */
  hash(a: Int32Array, off: number, n: number): void {
    let h1 = 0x9747b28c ^ n;
    let h2 = 0x2545f491 ^ Math.imul(n, 0x27d4eb2f);
    for (let i = 0; i < n; i++) {
      const w = a[off + i]!;
      let k1 = Math.imul(w, 0xcc9e2d51);
      k1 = (k1 << 15) | (k1 >>> 17);
      k1 = Math.imul(k1, 0x1b873593);
      h1 ^= k1;
      h1 = (h1 << 13) | (h1 >>> 19);
      h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
      let k2 = Math.imul(w ^ 0x5bd1e995, 0x85ebca6b);
      k2 = (k2 << 17) | (k2 >>> 15);
      k2 = Math.imul(k2, 0xc2b2ae35);
      h2 ^= k2;
      h2 = (h2 << 11) | (h2 >>> 21);
      h2 = (Math.imul(h2, 9) + 0x7f4a7c15) | 0;
    }
    // fmix32 on each lane, then mix the lanes into each other
    h1 ^= h1 >>> 16;
    h1 = Math.imul(h1, 0x85ebca6b);
    h1 ^= h1 >>> 13;
    h1 = Math.imul(h1, 0xc2b2ae35);
    h1 ^= h1 >>> 16;
    h2 ^= h2 >>> 15;
    h2 = Math.imul(h2, 0x2c1b3c6d);
    h2 ^= h2 >>> 12;
    h2 = Math.imul(h2, 0x297a2d39);
    h2 ^= h2 >>> 15;
    h1 = (h1 + h2) | 0;
    h2 = (h2 + h1) | 0;
    if (h1 === 0 && h2 === 0) h2 = 1;
    this.hi = h1;
    this.lo = h2;
  }
}

/**
 * Probability that at least one pair among n distinct states shares a 64-bit fingerprint (so that a
 * state was wrongly taken as visited), assuming uniform fingerprints: about n(n-1)/2^65.
 */
export function collisionProbability(n: number): number {
  if (n < 2) return 0;
  const p = (n * (n - 1)) / 2 / 2 ** 64;
  return p >= 1 ? 1 : -Math.expm1(-p);
}
