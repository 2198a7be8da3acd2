// Step memos: what a step did the last few times it ran, keyed by its thread, alternative and pc and the
// values of every word it touched, so that where those recur the engine need not run it again.
// Owns the two memo tables; the engine owns the state, the undo log and the running of steps.
//
// Why a memo is sound: a step depends only on the words it reads through the model's views (steps must
// be deterministic; --check-determinism checks it). In a state where its pc and every word it touched
// hold the values they held when it ran, it reads the same values, takes the same path, blocks again
// or stores the same values over the same old ones, and changes the fingerprint by the same amount.

/** a blocked step that touched more words than this is not memoised */
const MEMO_WORDS = 8;
const MEMO_STRIDE = 2 + 2 * MEMO_WORDS;
/** an enabled step is memoised if it touched at most this many words (counted with repeats)... */
const EMEMO_TOUCHED = 24;
/** ...and stored at most this many times */
const EMEMO_CHANGED = 12;
/** entry: pc, n, n (word, value) slots, nw, nw (word, new value) slots, fingerprint change hi, lo */
const EMEMO_STRIDE = 2 + 2 * EMEMO_TOUCHED + 1 + 2 * EMEMO_CHANGED + 2;
/** offset, in an enabled entry, of the count of stores (the stores follow as (word, new value)) */
const EMEMO_STORES = 2 + 2 * EMEMO_TOUCHED;
/**
 * entries per (thread, pc, alternative), each replaced in turn: a state's threads take turns, so what
 * a step met a few runs ago comes back (retract-page-tables upstream faults=2: one entry per thread
 * and alternative ran 299k steps, four 178k, four per pc too 72k)
 */
const WAYS = 4;

export class StepMemo {
  /**
   * Blocked-step memo, WAYS entries per (thread, pc, alternative): the pc at which that step returned
   * BLOCKED (-2: none) and every word it touched with the value the word had: pc, n, n (word, value).
   */
  private readonly memo: Int32Array;
  /**
   * Enabled-step memo, WAYS entries per (thread, pc, alternative): the pc and every word the step touched
   * with its value before the step, in one of the last times it ran enabled, and what it did: the words it stored
   * to with their new values, and the change of the fingerprint (the old values of those words are
   * among the words compared, so the change is the same).
   */
  private readonly emo: Int32Array;
  /** per thread: where its pcs start in slotAt */
  private readonly base: Int32Array;
  /** per (thread, pc): its first (thread, pc, alternative) slot */
  private readonly slotAt: Int32Array;
  /** per (thread, pc, alternative) slot: which of its WAYS entries the next blocked / enabled run replaces */
  private readonly nextBlocked: Uint8Array;
  private readonly nextEnabled: Uint8Array;

  /** `alts[t]`: the alternatives per pc of thread t */
  constructor(alts: readonly (readonly number[])[]) {
    this.base = new Int32Array(alts.length);
    this.slotAt = new Int32Array(alts.reduce((n, a) => n + a.length, 0));
    let slots = 0;
    let pcs = 0;
    alts.forEach((a, i) => {
      this.base[i] = pcs;
      for (const n of a) {
        this.slotAt[pcs++] = slots;
        slots += Math.max(1, n);
      }
    });
    this.memo = new Int32Array(WAYS * slots * MEMO_STRIDE);
    for (let k = 0; k < WAYS * slots; k++) this.memo[k * MEMO_STRIDE] = -2;
    this.emo = new Int32Array(WAYS * slots * EMEMO_STRIDE);
    for (let k = 0; k < WAYS * slots; k++) this.emo[k * EMEMO_STRIDE] = -2;
    this.nextBlocked = new Uint8Array(slots);
    this.nextEnabled = new Uint8Array(slots);
  }

  /**
   * If (tid, alt) blocked at pc with every word it touched holding its value in buf[off..]: it blocks
   * here too. Writes the words it touched to rec and returns how many; -1 if the memo does not say.
   */
  blocked(buf: Int32Array, off: number, tid: number, alt: number, pc: number, rec: Int32Array): number {
    const mo = this.find(this.memo, MEMO_STRIDE, buf, off, tid, alt, pc, rec);
    return mo < 0 ? -1 : this.memo[mo + 1]!;
  }

  /** (tid, alt) just blocked at pc in buf[off..] (restored) after touching rec[0..n): remember it. */
  rememberBlocked(buf: Int32Array, off: number, tid: number, alt: number, pc: number, rec: Int32Array, n: number): void {
    if (n > MEMO_WORDS) return;
    const memo = this.memo;
    const mo = this.nextEntry(this.nextBlocked, tid, alt, pc) * MEMO_STRIDE;
    memo[mo] = pc;
    memo[mo + 1] = n;
    copyTouched(memo, mo + 2, rec, buf, off, n);
  }

  /**
   * The enabled entry of (tid, alt) if it was recorded at pc and every word it touched holds its
   * recorded value in buf[off..] (then the step would do here what it did there), else -1. Its words
   * touched are written to rec (the count is touchedOf()).
   */
  enabled(buf: Int32Array, off: number, tid: number, alt: number, pc: number, rec: Int32Array): number {
    return this.find(this.emo, EMEMO_STRIDE, buf, off, tid, alt, pc, rec);
  }

  /**
   * The entry of `table` (entries of `stride` ints: pc, n, then n (word, value) pairs) for (tid, alt)
   * recorded at pc whose every word holds its recorded value in buf[off..], its words written to rec;
   * else -1.
   */
  private find(table: Int32Array, stride: number, buf: Int32Array, off: number, tid: number, alt: number, pc: number, rec: Int32Array): number {
    const e0 = (this.slotAt[this.base[tid]! + pc]! + alt) * WAYS * stride;
    for (let eo = e0; eo < e0 + WAYS * stride; eo += stride) {
      if (table[eo] !== pc) continue;
      const n = table[eo + 1]!;
      let same = true;
      for (let j = eo + 2, end = eo + 2 + 2 * n; j < end && same; j += 2) same = buf[off + table[j]!] === table[j + 1];
      if (!same) continue;
      for (let i = 0; i < n; i++) rec[i] = table[eo + 2 + 2 * i]!;
      return eo;
    }
    return -1;
  }

  /** The entry (its index, in entries) a run of (tid, alt) at pc replaces next, by `next`'s turn, which moves on. */
  private nextEntry(next: Uint8Array, tid: number, alt: number, pc: number): number {
    const slot = this.slotAt[this.base[tid]! + pc]! + alt;
    const way = next[slot]!;
    next[slot] = (way + 1) % WAYS;
    return slot * WAYS + way;
  }

  /** Of an enabled entry: the number of words it touched. */
  touchedOf(eo: number): number {
    return this.emo[eo + 1]!;
  }
  /** Of an enabled entry: its stores, as (word, new value) pairs from storesAt() on in table(). */
  storesOf(eo: number): number {
    return this.emo[eo + EMEMO_STORES]!;
  }
  storesAt(eo: number): number {
    return eo + EMEMO_STORES + 1;
  }
  get table(): Int32Array {
    return this.emo;
  }
  /** Of an enabled entry: the change of the fingerprint's high and low lanes. */
  changeHi(eo: number): number {
    return this.emo[eo + EMEMO_STRIDE - 2]!;
  }
  changeLo(eo: number): number {
    return this.emo[eo + EMEMO_STRIDE - 1]!;
  }

  /**
   * (tid, alt) just ran enabled at pc: buf[off..] holds its successor, rec[0..rn) the words it
   * touched, undo[0..un) its undo log as (word, old value) pairs, (dhi, dlo) the fingerprint's change.
   * Remembers it, if it is small enough.
   */
  rememberEnabled(buf: Int32Array, off: number, tid: number, alt: number, pc: number, rec: Int32Array, rn: number, undo: Int32Array, un: number, dhi: number, dlo: number): void {
    if (rn > EMEMO_TOUCHED || un > 2 * EMEMO_CHANGED) return;
    const emo = this.emo;
    const eo = this.nextEntry(this.nextEnabled, tid, alt, pc) * EMEMO_STRIDE;
    emo[eo] = pc;
    emo[eo + 1] = rn;
    copyTouched(emo, eo + 2, rec, buf, off, rn);
    // words the step changed held, before it, the oldest value the undo log has for them
    for (let k = un - 2; k >= 0; k -= 2) {
      const w = undo[k]!;
      for (let i = 0; i < rn; i++) if (emo[eo + 2 + 2 * i] === w) emo[eo + 3 + 2 * i] = undo[k + 1]!;
    }
    const wb = eo + EMEMO_STORES;
    emo[wb] = un >>> 1;
    for (let k = 0; k < un; k += 2) {
      const w = undo[k]!;
      emo[wb + 1 + k] = w;
      emo[wb + 2 + k] = buf[off + w]!;
    }
    emo[eo + EMEMO_STRIDE - 2] = dhi;
    emo[eo + EMEMO_STRIDE - 1] = dlo;
  }
}

/** Writes rec[0..n) each with its value in buf[off..], as (word, value) pairs at dst[at..]. */
function copyTouched(dst: Int32Array, at: number, rec: Int32Array, buf: Int32Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const w = rec[i]!;
    dst[at + 2 * i] = w;
    dst[at + 2 * i + 1] = buf[off + w]!;
  }
}
