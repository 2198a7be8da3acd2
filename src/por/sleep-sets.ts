// Sleep sets for the DFS, used to avoid running steps rather than to skip successors.
//
// Classic sleep sets: after the DFS has explored transition t from state s, every later sibling u
// that is independent of t passes t down to u(s) as "asleep", because t(u(s)) = u(t(s)) was reached
// through t(s) already; sleeping transitions are not explored. With a visited set that stores only
// 64-bit fingerprints this is unsound unless each state's sleep set is stored with it (a state first
// reached with t asleep and later with t awake must still get t explored), which would cost at least
// 4 more bytes per state.
//
// Here a sleeping transition is still explored, and its successor is still looked up in the visited
// set, so the search visits exactly the same states and transitions, in the same order, as without
// sleep sets: only the step itself is not run. Each entry carries what the transition did where it
// was run: the words it touched (read or wrote; its own pc counts as read), the words it changed with
// their new values, and the change of the fingerprint. While no transition taken since has changed a
// word it touched, it reads the same values, so it takes the same path and writes the same values
// over the same old ones: its successor is the current state with those writes applied (the engine's
// replay()), and its fingerprint the current one XOR the same change. Only that direction matters:
// classic sleep sets also need the two transitions to commute, because they skip the other order;
// here nothing is skipped, so a sleeping transition may change what later ones read.
//
// Layout: one stack of entries and one stack of footprints, both growing with the DFS depth. Depth d
// owns entries [zStart[d], zEnd[d]) (its sleep set, sorted by (thread, alternative)) followed by
// [zEnd[d], eEnd[d]) (the transitions it has run so far), and footprints [.., fTop[d]). A footprint
// holds exact bitsets of the words touched and changed, so independence is a few ANDs.

/** What sleep sets need of the explorer's engine (src/explore/engine.ts provides it). */
export interface FootprintSource {
  /**
   * After a step ran in place at buf[off..]: writes its footprint at fp[at..] (number n of changed
   * words, bitset of touched words, bitset of changed words, k int32s each, then n (word, new value)
   * pairs); the end offset, or -1 if it is not known in full.
   */
  footprint(buf: Int32Array, off: number, tid: number, fp: Int32Array, at: number, k: number): number;
}

/** entry: key (tid << 16 | alt), fingerprint change hi, lo, footprint offset */
const E = 4;

export class SleepSets {
  /** int32s per bitset over the state's words */
  readonly k: number;
  /** entries, E ints each */
  ent = new Int32Array(1024 * E);
  /** footprints, as FootprintSource.footprint writes them */
  fp = new Int32Array(16384);
  zStart = new Int32Array(256);
  zEnd = new Int32Array(256);
  eEnd = new Int32Array(256);
  fTop = new Int32Array(256);
  /** per depth: next sleep entry the cursor has not passed */
  zPtr = new Int32Array(256);

  constructor(readonly W: number) {
    this.k = (W + 31) >>> 5;
  }

  /** Depth 0 starts with nothing asleep and nothing run. */
  reset(): void {
    this.zStart[0] = 0;
    this.zEnd[0] = 0;
    this.eEnd[0] = 0;
    this.fTop[0] = 0;
    this.zPtr[0] = 0;
  }

  /** The per-depth arrays hold `depth`. */
  ensureDepth(depth: number): void {
    let cap = this.zStart.length;
    if (depth < cap) return;
    while (cap <= depth) cap *= 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.zStart = grow(this.zStart);
    this.zEnd = grow(this.zEnd);
    this.eEnd = grow(this.eEnd);
    this.fTop = grow(this.fTop);
    this.zPtr = grow(this.zPtr);
  }

  /** The cursor of depth d went back to its first transition (the proviso expands fully). */
  restart(d: number): void {
    this.zPtr[d] = this.zStart[d]!;
  }

  /** Entry index if transition (tid, alt) is asleep at depth d, else -1. Cursor order only. */
  asleep(d: number, tid: number, alt: number): number {
    const end = this.zEnd[d]!;
    let i = this.zPtr[d]!;
    if (i >= end) return -1;
    const key = (tid << 16) | alt;
    const ent = this.ent;
    while (i < end && ent[i * E]! < key) i++;
    this.zPtr[d] = i;
    return i < end && ent[i * E] === key ? i : -1;
  }

  /** Fingerprint change (high lane) of entry i. */
  dHi(i: number): number {
    return this.ent[i * E + 1]!;
  }
  dLo(i: number): number {
    return this.ent[i * E + 2]!;
  }
  /** Footprint offset of entry i. */
  ref(i: number): number {
    return this.ent[i * E + 3]!;
  }

  /**
   * After `engine` ran (tid, alt) in place at depth d (successor at buf[off..], fingerprint change
   * dhi/dlo): appends it to the transitions run at d. Its entry index, or -1 if its footprint is not
   * known in full (then nothing is passed down through it).
   */
  record(engine: FootprintSource, d: number, tid: number, alt: number, buf: Int32Array, off: number, dhi: number, dlo: number): number {
    const at = this.fTop[d]!;
    // a step changes at most what it touched: at most W words
    if (at + 1 + 2 * this.k + 2 * this.W > this.fp.length) {
      const g = new Int32Array(2 * (this.fp.length + 2 * this.k + 2 * this.W));
      g.set(this.fp);
      this.fp = g;
    }
    const top = engine.footprint(buf, off, tid, this.fp, at, this.k);
    if (top < 0) return -1;
    this.fTop[d] = top;
    const i = this.eEnd[d]!;
    if ((i + 1) * E > this.ent.length) this.growEntries();
    const ent = this.ent;
    ent[i * E] = (tid << 16) | alt;
    ent[i * E + 1] = dhi;
    ent[i * E + 2] = dlo;
    ent[i * E + 3] = at;
    this.eEnd[d] = i + 1;
    return i;
  }

  private growEntries(): void {
    const g = new Int32Array(this.ent.length * 2);
    g.set(this.ent);
    this.ent = g;
  }

  /**
   * Depth d+1 is entered through entry `via` of depth d (-1: through a step whose footprint is not
   * known): its sleep set is every entry asleep or run at d, other than `via`, that touched no word
   * `via` changed, in cursor order.
   */
  push(d: number, via: number): void {
    const start = this.eEnd[d]!;
    let n = start;
    if (via >= 0) {
      const need = start + (start - this.zStart[d]!);
      if (need * E > this.ent.length) this.growEntries();
      const ent = this.ent;
      const fp = this.fp;
      const k = this.k;
      const u = ent[via * E + 3]! + 1;
      for (let i = this.zStart[d]!; i < start; i++) {
        if (i === via) continue;
        // it stays asleep if `via` changed no word it touched (read or wrote): it then reads what it
        // read where it ran, so it takes the same path and writes the same values. (Whether it
        // changes what `via` touched does not matter: nothing here runs `via` after it.)
        const g = ent[i * E + 3]! + 1;
        let clash = 0;
        for (let j = 0; j < k; j++) clash |= fp[g + j]! & fp[u + k + j]!;
        if (clash !== 0) continue;
        // insert in key order (the lists are short)
        const key = ent[i * E]!;
        let x = n * E;
        while (x > start * E && ent[x - E]! > key) {
          ent[x] = ent[x - E]!;
          ent[x + 1] = ent[x - E + 1]!;
          ent[x + 2] = ent[x - E + 2]!;
          ent[x + 3] = ent[x - E + 3]!;
          x -= E;
        }
        ent[x] = key;
        ent[x + 1] = ent[i * E + 1]!;
        ent[x + 2] = ent[i * E + 2]!;
        ent[x + 3] = ent[i * E + 3]!;
        n++;
      }
    }
    const c = d + 1;
    this.zStart[c] = start;
    this.zEnd[c] = n;
    this.eEnd[c] = n;
    this.zPtr[c] = start;
    this.fTop[c] = this.fTop[d]!;
  }
}
