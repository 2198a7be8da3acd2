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
// was run: the words it changed with their new values and the change of the fingerprint. While every
// transition taken since is independent of it, the transition reads the same values, so it takes the
// same path and writes the same values, and its successor is the current state with those writes
// applied (the engine's replay()). Independence is decided on recorded footprints: u and t are
// independent when neither changes a word the other read or wrote (a step's own pc counts as read).
//
// Layout: one stack of entries and one stack of footprints, both growing with the DFS depth. Depth d
// owns entries [zStart[d], zEnd[d]) (its sleep set, sorted by (thread, alternative)) followed by
// [zEnd[d], eEnd[d]) (the transitions it has run so far), and footprints [.., fTop[d]).

/** What sleep sets need of the explorer's engine (src/explore/engine.ts provides it). */
export interface FootprintSource {
  /**
   * After a step ran in place at buf[off..]: writes its footprint at fp[at..] (nTouched, nChanged,
   * touched words, then (word, new value) per changed word); the end offset, or -1 if too large.
   */
  footprint(buf: Int32Array, off: number, tid: number, fp: Int32Array, at: number, max: number): number;
}

/**
 * entry: key (tid << 16 | alt), fingerprint change hi, lo, footprint offset, and two 32-bit summaries
 * of the footprint (bit h(w) set for each touched / changed word w): disjoint summaries prove
 * independence without comparing the word lists
 */
const E = 6;

/** summary bit of word w */
function bit(w: number): number {
  return 1 << (Math.imul(w, 0x9e3779b1) >>> 27);
}
/** a step whose footprint is larger than this many words is not put to sleep */
export const MAX_FOOTPRINT = 48;

export class SleepSets {
  /** entries, E ints each */
  ent = new Int32Array(1024 * E);
  /** footprints: nTouched, nChanged, touched words, then (word, new value) per changed word */
  fp = new Int32Array(16384);
  zStart = new Int32Array(256);
  zEnd = new Int32Array(256);
  eEnd = new Int32Array(256);
  fTop = new Int32Array(256);
  /** per depth: next sleep entry the cursor has not passed */
  zPtr = new Int32Array(256);
  /** per word: stamps marking the footprint being compared against */
  private readonly markT: Int32Array;
  private readonly markW: Int32Array;
  private stamp = 0;

  constructor(readonly W: number) {
    this.markT = new Int32Array(W);
    this.markW = new Int32Array(W);
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
   * dhi/dlo): appends it to the transitions run at d. Its entry index, or -1 if its footprint was too
   * large to keep (then nothing is passed down through it).
   */
  record(engine: FootprintSource, d: number, tid: number, alt: number, buf: Int32Array, off: number, dhi: number, dlo: number): number {
    const at = this.fTop[d]!;
    if (at + 2 + 3 * MAX_FOOTPRINT > this.fp.length) {
      const g = new Int32Array(this.fp.length * 2);
      g.set(this.fp);
      this.fp = g;
    }
    const top = engine.footprint(buf, off, tid, this.fp, at, MAX_FOOTPRINT);
    if (top < 0) return -1;
    this.fTop[d] = top;
    const fp = this.fp;
    const nT = fp[at]!;
    let mT = 0;
    let mW = 0;
    for (let j = at + 2, end = at + 2 + nT; j < end; j++) mT |= bit(fp[j]!);
    for (let j = at + 2 + nT; j < top; j += 2) mW |= bit(fp[j]!);
    const i = this.eEnd[d]!;
    if ((i + 1) * E > this.ent.length) this.growEntries();
    const ent = this.ent;
    ent[i * E] = (tid << 16) | alt;
    ent[i * E + 1] = dhi;
    ent[i * E + 2] = dlo;
    ent[i * E + 3] = at;
    ent[i * E + 4] = mT;
    ent[i * E + 5] = mW;
    this.eEnd[d] = i + 1;
    return i;
  }

  /** Marks the words of footprint f (touched in markT, changed in markW); returns the stamp. */
  private mark(f: number): number {
    const fp = this.fp;
    const mT = this.markT;
    const mW = this.markW;
    if (this.stamp === 0x3fffffff) {
      // stamps live in Int32Arrays: start over before they could wrap
      mT.fill(0);
      mW.fill(0);
      this.stamp = 0;
    }
    const s = ++this.stamp;
    const nT = fp[f]!;
    const nW = fp[f + 1]!;
    for (let j = f + 2, end = f + 2 + nT; j < end; j++) mT[fp[j]!] = s;
    for (let j = f + 2 + nT, end = j + 2 * nW; j < end; j += 2) mW[fp[j]!] = s;
    return s;
  }

  /** Footprint g changes no word marked touched and touches no word marked changed (stamp s). */
  private disjoint(g: number, s: number): boolean {
    const fp = this.fp;
    const mT = this.markT;
    const mW = this.markW;
    const gT = fp[g]!;
    const gW = fp[g + 1]!;
    for (let j = g + 2 + gT, end = j + 2 * gW; j < end; j += 2) if (mT[fp[j]!] === s) return false;
    for (let j = g + 2, end = g + 2 + gT; j < end; j++) if (mW[fp[j]!] === s) return false;
    return true;
  }

  private growEntries(): void {
    const g = new Int32Array(this.ent.length * 2);
    g.set(this.ent);
    this.ent = g;
  }

  /**
   * Depth d+1 is entered through entry `via` of depth d (-1: through a step whose footprint is not
   * known): its sleep set is every entry asleep or run at d, other than `via`, that is independent of
   * it, in cursor order.
   */
  push(d: number, via: number): void {
    const start = this.eEnd[d]!;
    let n = start;
    if (via >= 0) {
      const need = start + (start - this.zStart[d]!);
      if (need * E > this.ent.length) this.growEntries();
      const ent = this.ent;
      const uT = ent[via * E + 4]!;
      const uW = ent[via * E + 5]!;
      let marked = 0;
      for (let i = this.zStart[d]!; i < start; i++) {
        if (i === via) continue;
        // it must not change a word `via` touched, nor touch a word `via` changed
        if (((ent[i * E + 4]! & uW) | (ent[i * E + 5]! & uT)) !== 0) {
          if (marked === 0) marked = this.mark(ent[via * E + 3]!);
          if (!this.disjoint(ent[i * E + 3]!, marked)) continue;
        }
        // insert in key order (the lists are short)
        const key = ent[i * E]!;
        let k = n * E;
        while (k > start * E && ent[k - E]! > key) {
          for (let j = 0; j < E; j++) ent[k + j] = ent[k - E + j]!;
          k -= E;
        }
        for (let j = 0; j < E; j++) ent[k + j] = ent[i * E + j]!;
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
