// The engine every strategy (DFS, BFS, replay, the reduction's walks) runs steps through: successor()
// into a buffer, tryInPlace() in place with an undo log and settle(), a step's footprint and its
// replay in another branch, the step memos (src/por/step-memo.ts). Property evaluation is in
// properties.ts, the owner-map and future checks in src/por/footprint-check.ts, --check-determinism in
// determinism.ts. Never allocates per state; never prints.

import { CompiledModel, DONE, BLOCKED } from '../model/compile.ts';
import { ModelError, StepError } from '../model/errors.ts';
import { FieldError } from '../model/sealed.ts';
import type { Property } from '../spec/property.ts';
import { store } from '../state/zobrist.ts';
import { FootprintCheck } from '../por/footprint-check.ts';
import { StepMemo } from '../por/step-memo.ts';
import { Properties, type SafeWatch } from './properties.ts';
import { DeterminismCheck } from './determinism.ts';

/** no result cached yet for a (thread, pc): a value no step can return (not even undefined) */
const NO_RESULT: unique symbol = Symbol('no result');
/** footprint words recorded per step run (a sleep-set entry takes at most SLEEP_WORDS of them) */
const REC_WORDS = 4096;
const SLEEP_WORDS = 64;

/** (StepError lives with the other model errors; SafeWatch with the properties: re-exported for the engine's callers) */
export { StepError };
export type { SafeWatch } from './properties.ts';

export class Engine {
  readonly W: number;
  readonly T: number;
  /** the properties, evaluated by check() and terminal() (src/explore/properties.ts) */
  readonly propEval: Properties;
  private readonly pcOffs: Int32Array;
  private readonly daemon: Uint8Array;
  /** one-entry cache per (thread, pc): last label returned and its pc */
  private readonly lastRes: unknown[][];
  private readonly lastNext: Int32Array[];
  /** what each step did last time it ran, to skip running it where that recurs (src/por/step-memo.ts) */
  private readonly memo: StepMemo;
  /** words the last step run by tryInPlace() touched (first REC_WORDS of h.rn) */
  private readonly memoRec = new Int32Array(REC_WORDS);
  private recN = 0;
  /**
   * The step running now: thread, pc (-1: none), alternative, for the watchdog to name a step that
   * never returns. In a worker thread, a view into the watchdog's shared memory.
   */
  running: Int32Array<ArrayBufferLike> = Int32Array.of(0, -1, 0);
  /** offset of the state tryInPlace() last ran a step on (the DFS stack depth times W) */
  runOff = 0;
  /**
   * Set while partial-order reduction is on (src/por/reduction.ts): per word, the thread it is private
   * to, or -1. Every step run and every property evaluation is checked against it. (Setting it
   * forgets the property memos: their reads were checked against the map of their time.)
   */
  get owner(): Int8Array | null {
    return this.owner_;
  }
  set owner(o: Int8Array | null) {
    this.owner_ = o;
    this.fc.owner = o;
    this.propEval.owner = o;
  }
  private owner_: Int8Array | null = null;
  /** checks every step run and every property evaluation against the owner map and the futures */
  private readonly fc: FootprintCheck;
  /**
   * The model declares futures (CompiledThread.futTouch): every step run is checked against the one
   * at its label. False: no check, and no work for it.
   */
  private readonly fut: boolean;

  /** See Properties.safeWatch. */
  get safeWatch(): SafeWatch | null {
    return this.propEval.safeWatch;
  }
  set safeWatch(w: SafeWatch | null) {
    this.propEval.safeWatch = w;
  }

  /** After tryInPlace() returned true, before settle(): the undo log, (word, old value) pairs in order. */
  get undoLog(): Int32Array {
    return this.undoBuf;
  }
  get undoCount(): number {
    return this.undoN;
  }
  /** The word a bit-test property reads without a view (so unrecorded), or -1. */
  get bitsWord(): number {
    return this.propEval.bitsWord;
  }
  /** The words the `always` and `sometimes` properties read on state a[off..], written to rec (see Properties.reads). */
  propertyReads(a: Int32Array, off: number, rec: Int32Array): number {
    return this.propEval.reads(a, off, rec);
  }

  /** Words the last step run by tryInPlace() (or its memo) touched, in order; see touchedCount. */
  get touched(): Int32Array {
    return this.memoRec;
  }
  /** How many words it touched (may exceed touched.length: then not all are known). */
  get touchedCount(): number {
    return this.recN;
  }

  constructor(
    readonly cm: CompiledModel,
    readonly props: readonly Property[],
  ) {
    this.W = cm.W;
    this.T = cm.threads.length;
    if (this.T > 30) throw new ModelError('at most 30 threads');
    this.pcOffs = Int32Array.from(cm.threads.map((t) => t.pcOff));
    this.daemon = Uint8Array.from(cm.threads.map((t) => (t.daemon ? 1 : 0)));
    this.lastRes = cm.threads.map((t) => t.labels.map(() => NO_RESULT));
    this.lastNext = cm.threads.map((t) => new Int32Array(t.labels.length));
    this.memo = new StepMemo(cm.threads.map((t) => t.alts));
    this.fut = cm.hasFutures;
    this.fc = new FootprintCheck(cm);
    this.propEval = new Properties(cm, props, this.fc);
  }

  /** Number of alternatives thread `tid` offers in state a[off..] (0 when done). */
  alts(a: Int32Array, off: number, tid: number): number {
    const pc = a[off + this.pcOffs[tid]!]!;
    return pc < 0 ? 0 : this.cm.threads[tid]!.alts[pc]!;
  }

  /** pc of thread tid in state a[off..] (-1 = done). */
  pc(a: Int32Array, off: number, tid: number): number {
    return a[off + this.pcOffs[tid]!]!;
  }

  /** Fingerprint (high lane) of the state the last successor() built. */
  get hi(): number {
    return this.cm.holder.hi;
  }
  /** Fingerprint (low lane) of the state the last successor() built. */
  get lo(): number {
    return this.cm.holder.lo;
  }

  /**
   * Runs (tid, alt) from state src[off..] into `out` (length W). False if the step is not enabled
   * (out then holds garbage). Steps see the state through the model's views, pointed at `out`.
   * Given the source state's fingerprint (hi, lo), the new state's is in this.hi / this.lo after.
   */
  successor(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array, hi = 0, lo = 0, outOff = 0): boolean {
    const h = this.cm.holder;
    if ((this.owner_ !== null || this.fut) && h.rec === null) return this.successorOwned(src, off, tid, alt, out, hi, lo, outOff);
    // (only for a caller that records: replay runs a step twice to check it, and must really run it)
    if (h.rec !== null && this.det === null && this.fromMemo(src, off, tid, alt, out, hi, lo, outOff)) return this.memoOk;
    const pc = this.fut ? this.pc(src, off, tid) : -1;
    if (this.fut && src === out && off === outOff) {
      // run from a copy, so that what the step changed can be told from what it found
      src = this.futSrc(src, off);
      off = 0;
    }
    const rn0 = h.rn;
    const ok = this.successor1(src, off, tid, alt, out, hi, lo, outOff);
    if (this.det !== null) this.det.recheck(src, off, tid, alt, out, hi, lo, outOff, ok);
    // the caller records (the reduction's walks): check the words this step added to its record
    if (this.fut) this.fc.future(tid, pc, h.rec!, rn0, h.rn, src, off, out, outOff, ok);
    return ok;
  }

  /**
   * successor() for a caller that records (the reduction's walks), from the step memos where they
   * know what (tid, alt) does in src[off..] (see tryInPlace()): out[outOff..] holds the successor (if
   * enabled, memoOk), the words the step would touch are appended to the caller's record in the
   * order it would touch them, and the fingerprint is (hi, lo) changed as the step would change it.
   * False: the memos do not know; nothing was done.
   */
  private fromMemo(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array, hi: number, lo: number, outOff: number): boolean {
    const pc = src[off + this.pcOffs[tid]!]!;
    if (pc < 0) return false;
    const memo = this.memo;
    const h = this.cm.holder;
    const rec = h.rec!;
    const rn = h.rn;
    // (not into memoRec: that is what the last tryInPlace() touched, until its caller is done)
    const mr = this.walkRec;
    const nb = memo.blocked(src, off, tid, alt, pc, mr);
    let eo = -1;
    let n = nb;
    if (nb < 0) {
      eo = memo.enabled(src, off, tid, alt, pc, mr);
      if (eo < 0) return false;
      n = memo.touchedOf(eo);
    }
    for (let i = 0; i < n; i++) {
      if (rn + i < rec.length) rec[rn + i] = mr[i]!;
    }
    h.rn = rn + n;
    this.memoOk = eo >= 0;
    if (eo < 0) return true;
    const W = this.W;
    if (src === out) out.copyWithin(outOff, off, off + W);
    else for (let i = 0; i < W; i++) out[outOff + i] = src[off + i]!;
    h.b = out;
    h.o = outOff;
    const t = memo.table;
    for (let j = memo.storesAt(eo), end = j + 2 * memo.storesOf(eo); j < end; j += 2) out[outOff + t[j]!] = t[j + 1]!;
    h.hi = hi ^ memo.changeHi(eo);
    h.lo = lo ^ memo.changeLo(eo);
    return true;
  }
  private memoOk = false;
  private readonly walkRec = new Int32Array(REC_WORDS);

  private futSave: Int32Array | null = null;
  private futSrc(src: Int32Array, off: number): Int32Array {
    const c = (this.futSave ??= new Int32Array(this.W));
    c.set(src.subarray(off, off + this.W));
    return c;
  }

  private undoBuf: Int32Array = new Int32Array(64);

  /** successor() with what the step touches recorded and checked against the reduction's owner map and the declared futures. */
  private successorOwned(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array, hi: number, lo: number, outOff: number): boolean {
    const h = this.cm.holder;
    const pc = this.pc(src, off, tid);
    if (this.fut && src === out && off === outOff) {
      src = this.futSrc(src, off);
      off = 0;
    }
    h.rec = this.memoRec;
    h.rn = 0;
    let ok: boolean;
    try {
      ok = this.successor1(src, off, tid, alt, out, hi, lo, outOff);
      if (this.det !== null) this.det.recheck(src, off, tid, alt, out, hi, lo, outOff, ok);
    } finally {
      this.recN = h.rn;
      h.rec = null;
    }
    this.fc.ranInto(tid, pc, this.memoRec, this.recN, src, off, out, outOff, ok);
    return ok;
  }

  /**
   * Like successor(), but in place: runs (tid, alt) on the state at buf[off..] with an undo log. False
   * if the step is not enabled (the state is then already restored, so a blocked step copies
   * nothing). True: buf[off..] holds the successor, its fingerprint in this.hi / this.lo, until
   * settle() restores the parent -- after copying the successor to buf[next..] if the caller keeps it
   * (so a successor that was already visited is never copied either).
   */
  tryInPlace(buf: Int32Array, off: number, tid: number, alt: number, hi: number, lo: number): boolean {
    this.runOff = off;
    if (this.det !== null) return this.det.tryInPlace(buf, off, tid, alt, hi, lo);
    const pc = buf[off + this.pcOffs[tid]!]!;
    if (pc < 0) return false;
    const memo = this.memo;
    const nb = memo.blocked(buf, off, tid, alt, pc, this.memoRec);
    if (nb >= 0) {
      this.recN = nb;
      return false;
    }
    const eo = memo.enabled(buf, off, tid, alt, pc, this.memoRec);
    // a memo hit needs no check against the owner map or a declared future: the step ran, and was
    // checked, from a state with the same pc and the same values in every word it read, so it would
    // read, store and move here exactly as it did there
    if (eo >= 0) {
      // the successor from the entry, without running the step
      this.recN = memo.touchedOf(eo);
      this.applyStores(buf, off, memo.table, memo.storesAt(eo), memo.storesOf(eo));
      const hh = this.cm.holder;
      hh.hi = hi ^ memo.changeHi(eo);
      hh.lo = lo ^ memo.changeLo(eo);
      return true;
    }
    const h = this.cm.holder;
    h.undo = this.undoBuf;
    h.un = 0;
    h.rec = this.memoRec;
    h.rn = 0;
    let ok = false;
    try {
      ok = this.step(buf, off, tid, alt, hi, lo);
    } finally {
      const u = h.undo!;
      this.undoBuf = u;
      this.undoN = h.un;
      this.recN = h.rn;
      h.undo = null;
      h.rec = null;
      if (!ok) this.undo(buf, off);
    }
    if (this.owner_ !== null || this.fut) this.fc.ranInPlace(tid, pc, this.memoRec, this.recN, buf, off, ok, this.undoBuf, this.undoN);
    if (ok) memo.rememberEnabled(buf, off, tid, alt, pc, this.memoRec, h.rn, this.undoBuf, this.undoN, h.hi ^ hi, h.lo ^ lo);
    // the state is restored: remember what the step saw, so the same view blocks without running
    else memo.rememberBlocked(buf, off, tid, alt, pc, this.memoRec, h.rn);
    return ok;
  }

  /** Stores n (word, value) pairs from src[at..] into buf[off..], logging them for settle() to undo. */
  private applyStores(buf: Int32Array, off: number, src: Int32Array, at: number, n: number): void {
    let u = this.undoBuf;
    if (2 * n > u.length) u = this.undoBuf = new Int32Array(Math.max(2 * u.length, 2 * n));
    let k = 0;
    for (let j = at, end = at + 2 * n; j < end; j += 2) {
      const w = src[j]!;
      u[k++] = w;
      u[k++] = buf[off + w]!;
      buf[off + w] = src[j + 1]!;
    }
    this.undoN = k;
  }

  /**
   * After tryInPlace() returned true, before settle(): writes the footprint of the step it ran by
   * thread tid into fp[at..]: the number n of words it changed, a bitset of the words it touched (its
   * pc included; `k` int32s, bit w for word w), a bitset of the words it changed, then n (word, new
   * value) pairs. Returns the end offset, or -1 if the step touched more words than were recorded.
   */
  footprint(buf: Int32Array, off: number, tid: number, fp: Int32Array, at: number, k: number): number {
    const rn = this.recN;
    if (rn > SLEEP_WORDS) return -1;
    const tb = at + 1;
    const wb = tb + k;
    for (let i = tb; i < wb + k; i++) fp[i] = 0;
    const rec = this.memoRec;
    const pcOff = this.pcOffs[tid]!;
    fp[tb + (pcOff >>> 5)] |= 1 << (pcOff & 31);
    for (let i = 0; i < rn; i++) {
      const w = rec[i]!;
      fp[tb + (w >>> 5)] |= 1 << (w & 31);
    }
    let j = wb + k;
    let n = 0;
    if (this.det !== null) {
      // checked mode keeps the parent whole instead of an undo log
      j = this.det.changes(buf, off, fp, wb, j);
      n = (j - wb - k) >> 1;
    } else {
      const u = this.undoBuf;
      for (let i = 0; i < this.undoN; i += 2) {
        const w = u[i]!;
        const m = 1 << (w & 31);
        const x = wb + (w >>> 5);
        if (fp[x]! & m) continue; // changed twice: once is enough (its value is the final one)
        fp[x] |= m;
        fp[j++] = w;
        fp[j++] = buf[off + w]!;
        n++;
      }
    }
    fp[at] = n;
    return j;
  }

  /**
   * Applies, in place at buf[off..], the changes recorded in footprint fp[ref..] by footprint(): the
   * successor of a transition known (by independence) to do here what it did where it was recorded.
   * (hi, lo) is the successor's fingerprint. Undone by settle(), like a step run by tryInPlace().
   * Under --check-determinism the step is also run, and must give the same state.
   */
  replay(buf: Int32Array, off: number, tid: number, alt: number, fp: Int32Array, ref: number, k: number, hi: number, lo: number): void {
    const h = this.cm.holder;
    const nW = fp[ref]!;
    const base = ref + 1 + 2 * k;
    if (this.det !== null) {
      this.runOff = off;
      this.det.replay(buf, off, tid, alt, fp, base, nW, hi, lo);
    } else {
      // no check against the owner map or a declared future: the step ran, and was checked, where the
      // entry was recorded, and by independence reads here what it read there
      this.applyStores(buf, off, fp, base, nW);
    }
    h.hi = hi;
    h.lo = lo;
  }

  /** After tryInPlace() returned true: copies the successor to buf[next..] if `keep`, then restores the parent at buf[off..]. */
  settle(buf: Int32Array, off: number, next: number, keep: boolean): void {
    if (keep) buf.copyWithin(next, off, off + this.W);
    if (this.det !== null) buf.set(this.det.save, off);
    else this.undo(buf, off);
  }

  private undoN = 0;

  private undo(buf: Int32Array, off: number): void {
    const u = this.undoBuf;
    for (let k = this.undoN - 2; k >= 0; k -= 2) buf[off + u[k]!] = u[k + 1]!;
    this.undoN = 0;
  }

  /** Debug mode (--check-determinism): every step is run twice from the same state and must agree (src/explore/determinism.ts). */
  checkDeterminism(on: boolean): void {
    this.det = on ? new DeterminismCheck(this, this.fc) : null;
  }
  private det: DeterminismCheck | null = null;

  /** Runs (tid, alt) from src[off..] into out[outOff..] recording what it touched (touched, touchedCount); checks nothing. */
  runRecorded(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array, hi: number, lo: number, outOff: number): boolean {
    const h = this.cm.holder;
    h.rec = this.memoRec;
    h.rn = 0;
    try {
      return this.successor1(src, off, tid, alt, out, hi, lo, outOff);
    } finally {
      this.recN = h.rn;
      h.rec = null;
    }
  }

  /** Copies src[off..] to out[outOff..] and runs (tid, alt) on it (for determinism.ts too: its second run). */
  successor1(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array, hi: number, lo: number, outOff: number): boolean {
    const W = this.W;
    if (src === out) out.copyWithin(outOff, off, off + W);
    else for (let i = 0; i < W; i++) out[outOff + i] = src[off + i]!;
    return this.step(out, outOff, tid, alt, hi, lo);
  }

  /** Runs (tid, alt) on the state at out[outOff..] in place, its fingerprint (hi, lo) kept current. */
  private step(out: Int32Array, outOff: number, tid: number, alt: number, hi: number, lo: number): boolean {
    const cm = this.cm;
    const h = cm.holder;
    h.b = out;
    h.o = outOff;
    h.hi = hi;
    h.lo = lo;
    const th = cm.threads[tid]!;
    const pcOff = this.pcOffs[tid]!;
    const pc = out[outOff + pcOff]!;
    if (pc < 0) return false;
    let res: unknown;
    const run = this.running;
    run[0] = tid;
    run[1] = pc;
    run[2] = alt;
    try {
      res = th.steps[pc]!(cm.root, th.me, alt);
      run[1] = -1;
    } catch (e) {
      throw this.stepError(e, th.name, th.labels[pc]!);
    }
    if (res === BLOCKED) return false;
    if (res === DONE) {
      store(h, pcOff, -1);
      const hooks = cm.exitHooks;
      try {
        for (let i = 0; i < hooks.length; i++) hooks[i]!(cm.root, th.me);
      } catch (e) {
        throw this.stepError(e, th.name, th.labels[pc]!);
      }
      return true;
    }
    const lr = this.lastRes[tid]!;
    if (lr[pc] === res) {
      store(h, pcOff, this.lastNext[tid]![pc]!);
      return true;
    }
    const next = typeof res === 'string' ? th.labelIndex[res] : undefined;
    if (next === undefined) {
      const shown = typeof res === 'string' ? `'${res}'` : res === undefined ? 'undefined (a forgotten return?)' : typeof res === 'object' && res !== null ? 'an object' : typeof res === 'function' ? 'a function' : String(res);
      throw new StepError(
        `step ${th.name}.${th.labels[pc]} returned ${shown}, which is not a label of thread '${th.group}' (nor DONE/BLOCKED)`,
        th.name,
        th.labels[pc]!,
      );
    }
    lr[pc] = res;
    this.lastNext[tid]![pc] = next;
    store(h, pcOff, next);
    return true;
  }

  private stepError(e: unknown, thread: string, label: string): StepError {
    if (e instanceof StepError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    const where = e instanceof FieldError ? ` (model '${this.cm.name}')` : '';
    return new StepError(`step ${thread}.${label}${where}: ${msg}`, thread, label);
  }

  /** Evaluates the `always` and the still-pending `sometimes` properties on a[off..] (see Properties.check). */
  check(a: Int32Array, pendingSometimes: number, off = 0): number {
    return this.propEval.check(a, pendingSometimes, off);
  }

  /** True when every non-daemon thread has finished. */
  allDone(a: Int32Array, off: number): boolean {
    for (let t = 0; t < this.T; t++) if (!this.daemon[t] && a[off + this.pcOffs[t]!]! >= 0) return false;
    return true;
  }

  /**
   * A terminal state (nothing enabled): the deadlock bit if a non-daemon thread is unfinished,
   * otherwise the violated `final` properties. State must be in a (length W).
   */
  terminal(a: Int32Array, off = 0): number {
    if (!this.allDone(a, off)) return this.propEval.deadlockIdx >= 0 ? 1 << this.propEval.deadlockIdx : 0;
    return this.propEval.finals(a, off);
  }

  /** Mask of all sometimes properties. */
  get sometimesMask(): number {
    return this.propEval.sometimesMask;
  }
  /** indices (into `props`) of the `sometimes` properties */
  get sometimesIdx(): readonly number[] {
    return this.propEval.sometimesIdx;
  }
}
