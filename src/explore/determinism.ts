// --check-determinism, a debug mode of the engine (src/explore/engine.ts): every step it runs is run
// a second time from the same state and must give the same successor, and a transition it would take
// from a footprint recorded in another branch (Engine.replay, sleep sets) is run too and must give
// the state the footprint gives. The step memos, the replayed footprints and the reduction all take
// a step to be a function of the words it reads; a step that is not gives a StepError naming it
// (exit 2). Runs steps only through the engine; never prints.

import { StepError } from '../model/errors.ts';
import type { FootprintCheck } from '../por/footprint-check.ts';
import { fullFingerprint } from '../state/zobrist.ts';
import type { Engine } from './engine.ts';

export class DeterminismCheck {
  /** the second run's successor */
  private readonly again: Int32Array;
  /** the parent of the step tryInPlace() or replay() last applied, kept whole instead of an undo log */
  readonly save: Int32Array;
  /** the first run's successor, before it is applied in place */
  private readonly out: Int32Array;
  private readonly fp = { hi: 0, lo: 0 };

  constructor(
    private readonly e: Engine,
    private readonly fc: FootprintCheck,
  ) {
    this.again = new Int32Array(e.W);
    this.save = new Int32Array(e.W);
    this.out = new Int32Array(e.W);
  }

  /** Engine.tryInPlace() checked: the step is run twice into a buffer, compared, then applied at buf[off..] (save keeps the parent). */
  tryInPlace(buf: Int32Array, off: number, tid: number, alt: number, hi: number, lo: number): boolean {
    const e = this.e;
    const pc = e.pc(buf, off, tid);
    const ok = e.runRecorded(buf, off, tid, alt, this.out, hi, lo, 0);
    this.fc.ranInto(tid, pc, e.touched, e.touchedCount, buf, off, this.out, 0, ok);
    this.recheck(buf, off, tid, alt, this.out, hi, lo, 0, ok);
    if (ok) {
      this.save.set(buf.subarray(off, off + e.W));
      buf.set(this.out, off);
    }
    return ok;
  }

  /**
   * Runs (tid, alt) from src[off..] again (its first run gave `ok` and out[outOff..]) and throws if the
   * two differ. The holder's view and fingerprint are left as the first run left them.
   */
  recheck(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array, hi: number, lo: number, outOff: number, ok: boolean): void {
    const e = this.e;
    const W = e.W;
    const h = e.cm.holder;
    const hi1 = h.hi;
    const lo1 = h.lo;
    const buf = this.again;
    const src2 = src === out && off === outOff ? Int32Array.from(src.subarray(off, off + W)) : src;
    const ok2 = e.successor1(src2, src2 === src ? off : 0, tid, alt, buf, hi, lo, 0);
    let same = ok2 === ok;
    if (same && ok) for (let i = 0; i < W && same; i++) same = buf[i] === out[outOff + i];
    h.b = out;
    h.o = outOff;
    h.hi = hi1;
    h.lo = lo1;
    if (!same) {
      const th = e.cm.threads[tid]!;
      const pc = e.pc(src, off, tid);
      throw new StepError(
        `step ${th.name}.${th.labels[pc] ?? '?'} is nondeterministic: run twice on the same state it gave different results ` +
          '(steps must depend only on the state: no Math.random, Date, or variables kept outside the state)',
        th.name,
        th.labels[pc] ?? '?',
      );
    }
  }

  /**
   * Engine.replay() checked: runs (tid, alt) from buf[off..], applies the nW (word, value) pairs at
   * fp[base..] in place (save keeps the parent), and throws unless both give the same state and it has
   * the fingerprint (hi, lo).
   */
  replay(buf: Int32Array, off: number, tid: number, alt: number, fp: Int32Array, base: number, nW: number, hi: number, lo: number): void {
    const e = this.e;
    const W = e.W;
    const ok = e.successor(buf, off, tid, alt, this.out, 0, 0, 0);
    this.save.set(buf.subarray(off, off + W));
    for (let i = 0; i < nW; i++) buf[off + fp[base + 2 * i]!] = fp[base + 2 * i + 1]!;
    let same = ok;
    for (let i = 0; i < W && same; i++) same = buf[off + i] === this.out[i];
    if (same) {
      fullFingerprint(buf, off, W, this.fp);
      same = this.fp.hi === hi && this.fp.lo === lo;
    }
    if (!same) {
      const th = e.cm.threads[tid]!;
      const label = th.labels[e.pc(this.save, 0, tid)] ?? '?';
      throw new StepError(
        `step ${th.name}.${label} did not do what it did in an earlier branch, though no word it touched had changed ` +
          '(steps must depend only on the state they read through the model\'s views)',
        th.name,
        label,
      );
    }
  }

  /**
   * For Engine.footprint(): the words the applied step changed (buf[off..] against save), as bits of
   * the bitset at fp[wb..] and (word, new value) pairs from fp[j..]; returns the end of the pairs.
   */
  changes(buf: Int32Array, off: number, fp: Int32Array, wb: number, j: number): number {
    const p = this.save;
    for (let w = 0; w < this.e.W; w++) {
      if (buf[off + w] !== p[w]) {
        fp[wb + (w >>> 5)] |= 1 << (w & 31);
        fp[j++] = w;
        fp[j++] = buf[off + w]!;
      }
    }
    return j;
  }
}
