// Partial-order reduction by safe local steps. A step whose footprint in this state (every word it
// read or wrote, recorded as it runs) lies inside its thread's private words — its pc and its locals
// that are not cells — commutes with every transition of every other thread, now and later: nobody
// else can read or write those words, no property can see them, and nothing can enable or disable
// it. Its enabled alternatives then form a persistent set and the other threads need not be expanded
// here. The search pairs this with the closed-set proviso: if any of those successors was already
// visited, the state is expanded fully, so no transition is postponed forever around a cycle.

import type { CompiledModel } from '../model/compile.ts';

/** What the reduction needs of the explorer's successor function (the engine provides it). */
export interface Stepper {
  readonly W: number;
  readonly T: number;
  readonly cm: CompiledModel;
  pc(a: Int32Array, off: number, tid: number): number;
  alts(a: Int32Array, off: number, tid: number): number;
  successor(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array): boolean;
}

export class LocalStepReduction {
  /** per thread: 1 for its private words */
  private readonly priv: Uint8Array[];
  /** per thread, per pc: 1 once that step was seen to touch something not private (skip trying it) */
  private readonly shared: Uint8Array[];
  private readonly rec = new Int32Array(64);
  private readonly scratch: Int32Array;

  constructor(private readonly engine: Stepper) {
    const cm = engine.cm;
    this.scratch = new Int32Array(engine.W);
    this.priv = cm.threads.map((t) => {
      const m = new Uint8Array(engine.W);
      const prefix = `${t.name}.`;
      for (const leaf of cm.leaves) {
        if (!leaf.path.startsWith(prefix) || leaf.tag !== undefined) continue;
        const field = leaf.path.slice(prefix.length).split(/[.[]/)[0]!;
        if (field === 'pc' || t.locals.has(field)) m[leaf.off] = 1;
      }
      return m;
    });
    this.shared = cm.threads.map((t) => new Uint8Array(t.labels.length));
  }

  /**
   * The thread whose enabled transitions in state a[off..] form a persistent set of safe local steps,
   * or -1 to expand every thread.
   */
  select(a: Int32Array, off: number): number {
    const e = this.engine;
    const h = e.cm.holder;
    for (let tid = 0; tid < e.T; tid++) {
      const pc = e.pc(a, off, tid);
      if (pc < 0 || this.shared[tid]![pc]) continue;
      const n = e.alts(a, off, tid);
      const priv = this.priv[tid]!;
      let local = true;
      let enabled = false;
      for (let alt = 0; alt < n && local; alt++) {
        h.rec = this.rec;
        h.rn = 0;
        let ok: boolean;
        try {
          ok = e.successor(a, off, tid, alt, this.scratch);
        } finally {
          h.rec = null;
        }
        enabled ||= ok;
        if (h.rn > this.rec.length) local = false;
        for (let i = 0; i < h.rn && local; i++) if (!priv[this.rec[i]!]) local = false;
      }
      if (!local) {
        this.shared[tid]![pc] = 1;
        continue;
      }
      if (enabled) return tid;
    }
    return -1;
  }
}
