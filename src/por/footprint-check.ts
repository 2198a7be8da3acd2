// The run-time checks the reduction's soundness argument rests on (src/por/reduction.ts, its header),
// made on every step the engine runs and every property evaluation while they apply:
// - the owner map: a step touched only shared words and its own thread's private ones, a property
//   read no private word; a breach is no error but a dependency: the words become shared and the
//   search starts again (ReductionWidened);
// - the futures a model declares, or that were derived from its steps (src/por/derive-futures.ts): a
//   step touched only words of the future at its label, changed only words it may write, and moved
//   only to a label whose future is within it; a breach means the reduction rests on something false:
//   a model error naming model, thread, label and word (StepError, exit 2).
// Checks what a run recorded (the words it touched, in order, and its undo log or its before and after
// states); runs no step and keeps no state of its own beyond the owner map it is given.

import type { CompiledModel } from '../model/compile.ts';
import { ModelError, StepError } from '../model/errors.ts';
import { foreignWords, ReductionWidened } from './reduction.ts';

/** Checks steps and property reads of one compiled model against the owner map and its futures. */
export class FootprintCheck {
  /** the reduction's owner map (per word, the thread it is private to, or -1), or null: not checked */
  owner: Int8Array | null = null;
  /** the model has futures (CompiledThread.futTouch): every step is checked against the one at its label */
  readonly fut: boolean;

  constructor(private readonly cm: CompiledModel) {
    this.fut = cm.hasFutures;
  }

  /**
   * The step thread tid ran at pc into out[outOff..] (its record rec[0..rn), its state before at
   * src[off..]), against the owner map and its future.
   */
  ranInto(tid: number, pc: number, rec: Int32Array, rn: number, src: Int32Array, off: number, out: Int32Array, outOff: number, ok: boolean): void {
    if (this.owner !== null) this.checkOwner(tid, pc, rec, rn);
    if (this.fut) this.future(tid, pc, rec, 0, rn, src, off, out, outOff, ok);
  }

  /**
   * The step thread tid ran at pc in place at buf[off..] (its record rec[0..rn), what it stored in the
   * undo log u[0..un)), against the owner map and its future: in one pass over the words it touched
   * while none breaks either; at the first that does, the two checks apart say what.
   */
  ranInPlace(tid: number, pc: number, rec: Int32Array, rn: number, buf: Int32Array, off: number, ok: boolean, u: Int32Array, un: number): void {
    const owner = this.owner;
    const rd = this.fut ? (this.cm.threads[tid]!.futTouch[pc] ?? null) : null;
    let clean = rn <= rec.length;
    for (let i = 0; i < rn && clean; i++) {
      const w = rec[i]!;
      if (owner !== null) {
        const o = owner[w]!;
        if (o >= 0 && o !== tid) clean = false;
      }
      if (rd !== null && (rd[w >>> 5]! & (1 << (w & 31))) === 0) clean = false;
    }
    if (!clean) {
      if (owner !== null) this.checkOwner(tid, pc, rec, rn);
      if (this.fut) this.futureInPlace(tid, pc, rec, rn, buf, off, ok, u, un);
      return;
    }
    if (rd !== null && ok) this.changedInPlace(tid, pc, buf, off, u, un);
  }

  /**
   * The step thread tid ran at pc (its record rec[from..to), its state before at src[off..], after at
   * out[outOff..] when enabled) kept within the future declared at pc: it touched only words of that
   * future, changed only words it may write, and moved to a label whose future is within it. Else a
   * model error naming model, thread, label and word: a declaration the reduction relies on is false.
   */
  future(tid: number, pc: number, rec: Int32Array, from: number, to: number, src: Int32Array, off: number, out: Int32Array, outOff: number, ok: boolean): void {
    const th = this.cm.threads[tid]!;
    const rd = th.futTouch[pc];
    if (rd === null || rd === undefined) return;
    if (to > rec.length) throw this.tooWideForFuture(tid, pc, rec.length);
    for (let i = from; i < to; i++) {
      const w = rec[i]!;
      if ((rd[w >>> 5]! & (1 << (w & 31))) === 0) throw this.futureError(tid, pc, `touched '${this.cm.leaves[w]!.path}' outside its declared future`);
    }
    if (!ok) return;
    const wr = th.futChange[pc]!;
    for (let i = from; i < to; i++) {
      const w = rec[i]!;
      if (out[outOff + w] !== src[off + w] && (wr[w >>> 5]! & (1 << (w & 31))) === 0) throw this.futureError(tid, pc, `changed '${this.cm.leaves[w]!.path}' outside its declared future`);
    }
    this.moved(tid, pc, out[outOff + th.pcOff]!);
  }

  /** As future(), for a step run in place: what it changed is in the undo log u[0..un). */
  private futureInPlace(tid: number, pc: number, rec: Int32Array, rn: number, buf: Int32Array, off: number, ok: boolean, u: Int32Array, un: number): void {
    const th = this.cm.threads[tid]!;
    const rd = th.futTouch[pc];
    if (rd === null || rd === undefined) return;
    if (rn > rec.length) throw this.tooWideForFuture(tid, pc, rec.length);
    // a blocked step's stores are among its touches (store() notes them): restored, but still checked
    for (let i = 0; i < rn; i++) {
      const w = rec[i]!;
      if ((rd[w >>> 5]! & (1 << (w & 31))) === 0) throw this.futureError(tid, pc, `touched '${this.cm.leaves[w]!.path}' outside its declared future`);
    }
    if (ok) this.changedInPlace(tid, pc, buf, off, u, un);
  }

  /** The rest of futureInPlace() for an enabled step: what it changed, and where it moved. */
  private changedInPlace(tid: number, pc: number, buf: Int32Array, off: number, u: Int32Array, un: number): void {
    const th = this.cm.threads[tid]!;
    const wr = th.futChange[pc]!;
    for (let k = 0; k < un; k += 2) {
      const w = u[k]!;
      if ((wr[w >>> 5]! & (1 << (w & 31))) !== 0) continue;
      // its value before the step is the first the log holds for it; written back, it did not change
      let first = k;
      for (let j = 0; j < k; j += 2) if (u[j] === w) first = j;
      if (first === k && buf[off + w] !== u[k + 1]) throw this.futureError(tid, pc, `changed '${this.cm.leaves[w]!.path}' outside its declared future`);
    }
    this.moved(tid, pc, buf[off + th.pcOff]!);
  }

  private moved(tid: number, pc: number, next: number): void {
    if (next < 0 || next === pc) return;
    const th = this.cm.threads[tid]!;
    if (th.futWithin[pc]![next] === 0) throw this.futureError(tid, pc, `moved to '${th.labels[next] ?? '?'}' whose future is wider`);
  }

  private futureError(tid: number, pc: number, what: string): StepError {
    const th = this.cm.threads[tid]!;
    const label = th.labels[pc] ?? '?';
    const d = th.futDecl[pc];
    const list = (xs: readonly string[] | undefined): string => `[${(xs ?? []).join(', ')}]`;
    if (th.futDerived[pc]) {
      // derived from the steps themselves (src/por/derive-futures.ts): only a step depending on more than the state gets here
      const why = '(derived by running its steps on every state they can meet: does a step depend on anything but the state? try --check-determinism, or run with --no-derive-futures)';
      return new StepError(`model ${this.cm.name}: thread ${th.name} at '${label}' ${what.replace('declared future', 'derived future')} ${why}`, th.name, label);
    }
    return new StepError(`model ${this.cm.name}: thread ${th.name} at '${label}' ${what} (reads: ${list(d?.reads)}, writes: ${list(d?.writes)})`, th.name, label);
  }

  private tooWideForFuture(tid: number, pc: number, max: number): StepError {
    return this.futureError(tid, pc, `touched more than ${max} words, too many to check against its declared future`);
  }

  /**
   * The step thread tid just ran (at pc; its record rec[0..n)) touched only shared words and its own
   * private ones; else the words of other threads it touched become shared, and the search must start
   * again.
   */
  private checkOwner(tid: number, pc: number, rec: Int32Array, n: number): void {
    if (n > rec.length) throw this.tooWide(tid, pc, rec.length);
    const bad = foreignWords(this.owner!, rec, n, tid);
    if (bad !== null) {
      const th = this.cm.threads[tid]!;
      throw new ReductionWidened(bad, `step ${th.name}.${th.labels[pc] ?? '?'} touched ${bad.map((w) => this.cm.leaves[w]!.path).join(', ')}, private to another thread`);
    }
  }

  private tooWide(tid: number, pc: number, max: number): StepError {
    const th = this.cm.threads[tid]!;
    const label = th.labels[pc] ?? '?';
    return new StepError(`step ${th.name}.${label} touched more than ${max} words: too many for the reduction's footprint check (run with --no-por)`, th.name, label);
  }

  /** The properties' reads rec[0..n) of one state: one of a thread's private words makes it shared (visible), and the search starts again. */
  propertyReads(rec: Int32Array, n: number): void {
    if (n > rec.length) throw new ModelError(`the properties read more than ${rec.length} words of one state: too many for the reduction's check (run with --no-por)`);
    const bad = foreignWords(this.owner!, rec, n, -1);
    if (bad !== null) throw new ReductionWidened(bad, `a property read ${bad.map((w) => this.cm.leaves[w]!.path).join(', ')}, private to a thread`);
  }
}
