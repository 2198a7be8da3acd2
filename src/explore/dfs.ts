// Depth-first search over one flat stack of state vectors (SPIN-style): no per-state allocation.
// Each depth keeps a cursor (thread, alternative) into its state's transitions.

import type { Engine } from './engine.ts';
import { Search, type Limits, type SearchOptions } from './search.ts';
import { encodeChoice } from '../trace/path.ts';
import { SleepSets } from '../por/sleep-sets.ts';

/** walk(): out of budget (the search goes on), ended early (status says how), or every state explored */
const WALK_PAUSED = 0;
const WALK_ENDED = 1;
const WALK_DONE = 2;

/**
 * Where a DFS (re)starts: a state already in the visited set, the path that reached it, and the
 * transition cursor (thread, alternative) from which its successors are still to be explored.
 * A stopped DFS hands its unexplored stack back as such units (parallel work splitting).
 */
export interface DfsUnit {
  readonly state: Int32Array;
  readonly path: readonly number[];
  readonly tid: number;
  readonly alt: number;
  /** some transition of this state was already found enabled (so it is not terminal) */
  readonly any: boolean;
  /** fingerprint of the real (not canonical) state */
  readonly hi: number;
  readonly lo: number;
}

/** The per-depth arrays of a Dfs, kept for reuse. */
interface DfsBuffers {
  readonly W: number;
  readonly stack: Int32Array;
  readonly curTid: Int32Array;
  readonly curAlt: Int32Array;
  readonly any: Uint8Array;
  readonly choice: Int32Array;
  readonly fpHi: Int32Array;
  readonly fpLo: Int32Array;
  readonly amp: Int32Array;
  /** made on first use by a search with sleep sets */
  sleep: SleepSets | null;
}

const spare: DfsBuffers[] = [];

function takeBuffers(W: number): DfsBuffers {
  for (let i = spare.length - 1; i >= 0; i--) {
    if (spare[i]!.W === W) return spare.splice(i, 1)[0]!;
  }
  const cap = 256;
  return {
    W,
    stack: new Int32Array(cap * W),
    curTid: new Int32Array(cap),
    curAlt: new Int32Array(cap),
    any: new Uint8Array(cap),
    choice: new Int32Array(cap),
    fpHi: new Int32Array(cap),
    fpLo: new Int32Array(cap),
    amp: new Int32Array(cap),
    sleep: null,
  };
}

export class Dfs extends Search {
  private stack: Int32Array;
  private curTid: Int32Array;
  private curAlt: Int32Array;
  private any: Uint8Array;
  private choice: Int32Array;
  private fpHi: Int32Array;
  private fpLo: Int32Array;
  private d = 0;
  private readonly scratch: Int32Array;
  /** path to the bottom of the stack (a unit's path; empty from the initial state) */
  private readonly prefix: readonly number[];

  /** per depth: -1 expand every thread, t >= 0 only thread t (src/por/reduction.ts: a state not stored) */
  private amp: Int32Array;
  /** sleep sets (src/por/sleep-sets.ts): steps whose successor is known without running them */
  private readonly sl: SleepSets | null;
  private readonly sleepBuf: SleepSets | null;

  constructor(engine: Engine, limits: Limits, opts: SearchOptions, start?: DfsUnit) {
    super(engine, limits, opts);
    this.prefix = start?.path ?? [];
    const b = takeBuffers(engine.W);
    this.stack = b.stack;
    this.curTid = b.curTid;
    this.curAlt = b.curAlt;
    this.any = b.any;
    this.choice = b.choice;
    this.fpHi = b.fpHi;
    this.fpLo = b.fpLo;
    this.amp = b.amp;
    this.sleepBuf = b.sleep;
    this.sl = opts.sleep ?? opts.por ?? true ? (this.sleepBuf ?? new SleepSets(engine.W)) : null;
    this.sl?.ensureDepth(this.curTid.length);
    this.sl?.reset();
    this.curTid[0] = 0;
    this.curAlt[0] = 0;
    this.any[0] = 0;
    this.amp[0] = -1;
    this.scratch = new Int32Array(engine.W);
    if (start) {
      this.stack.set(start.state, 0);
      this.fpHi[0] = start.hi;
      this.fpLo[0] = start.lo;
      this.curTid[0] = start.tid;
      this.curAlt[0] = start.alt;
      this.any[0] = start.any ? 1 : 0;
      // resumed mid-way: the reduction's choice is a function of the state, so it is the one the
      // search that handed this unit over made
      const t = this.por ? this.por.select(this.stack, 0, start.hi, start.lo) : -1;
      this.amp[0] = t;
      if (t >= 0 && this.curTid[0]! < t) {
        this.curTid[0] = t;
        this.curAlt[0] = 0;
      }
      this.maxDepthSeen = this.prefix.length;
      return;
    }
    const init = engine.cm.init;
    this.stack.set(init, 0);
    this.scratch.set(init);
    this.fingerprint(this.scratch);
    this.fpHi[0] = this.fp.hi;
    this.fpLo[0] = this.fp.lo;
    this.visitState(this.scratch, 0, this.fp.hi, this.fp.lo);
    this.states = 1;
    // the initial state is stored whatever the reduction does with it
    this.amp[0] = this.por ? this.selectAt(this.stack, 0, this.fp.hi, this.fp.lo) : -1;
    if (this.amp[0]! >= 0) this.curTid[0] = this.amp[0]!;
    const m = engine.check(this.scratch, this.pendingSometimes);
    if (m !== 0) this.discover(m, () => []);
  }

  get depth(): number {
    return this.d;
  }

  private path(n: number): number[] {
    return [...this.prefix, ...this.choice.subarray(0, n)];
  }

  expandingPath(): number[] {
    return this.path(Math.floor(this.engine.runOff / this.engine.W));
  }

  /** The unexplored rest of a stopped search, as units (deepest last). */
  frontier(): DfsUnit[] {
    const W = this.engine.W;
    const out: DfsUnit[] = [];
    for (let k = 0; k <= this.d; k++) {
      out.push({
        state: this.stack.slice(k * W, (k + 1) * W),
        path: this.path(k),
        tid: this.curTid[k]!,
        alt: this.curAlt[k]!,
        any: this.any[k] === 1,
        hi: this.fpHi[k]!,
        lo: this.fpLo[k]!,
      });
    }
    return out;
  }

  /**
   * Gives this search's stack buffers back for the next Dfs of the same vector width (a worker runs
   * one per work unit, most of them small). The search must not be used afterwards.
   */
  release(): void {
    const W = this.engine.W;
    if (spare.length < 4) {
      const sleep = this.sl ?? this.sleepBuf;
      spare.push({ W, stack: this.stack, curTid: this.curTid, curAlt: this.curAlt, any: this.any, choice: this.choice, fpHi: this.fpHi, fpLo: this.fpLo, amp: this.amp, sleep });
    }
    this.status = { kind: 'incomplete', reason: 'interrupted' };
  }

  private growTo(depth: number): void {
    let cap = this.curTid.length;
    if (depth < cap) return;
    while (cap <= depth) cap *= 2;
    const W = this.engine.W;
    const grow = <T extends Int32Array | Uint8Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.stack = grow(this.stack, cap * W);
    this.curTid = grow(this.curTid, cap);
    this.curAlt = grow(this.curAlt, cap);
    this.any = grow(this.any, cap);
    this.choice = grow(this.choice, cap);
    this.fpHi = grow(this.fpHi, cap);
    this.fpLo = grow(this.fpLo, cap);
    this.amp = grow(this.amp, cap);
    this.sl?.ensureDepth(cap);
  }

  /**
   * discover() with the path to depth d. Kept out of the hot loop: a closure there captures `this`
   * and the depth, and the whole loop then reads them through a context object, not registers.
   */
  private discoverAt(m: number, d: number): boolean {
    return this.discover(m, () => this.path(d));
  }

  run(budget: number): boolean {
    if (this.status.kind !== 'running') return true;
    const r = this.walk(budget);
    if (r !== WALK_DONE) return r === WALK_ENDED;
    this.d = -1;
    this.finish();
    return true;
  }

  /**
   * The hot loop of run(). Its way out when the stack is empty touches no property: a worker runs
   * many units, each a long run() that V8 compiles on the fly (on-stack replacement), and code after
   * the loop that no earlier call had reached sent every unit's compiled loop back to the interpreter
   * at its end (about 600 times in a 2-worker run of retract-page-tables faults=3), recompiling it each time.
   */
  private walk(budget: number): number {
    const e = this.engine;
    const W = e.W;
    const T = e.T;
    const maxDepth = this.limits.maxDepth - this.prefix.length;
    let d = this.d;
    let n = 0;
    while (d >= 0) {
      if ((++n & 1023) === 0) {
        this.d = d;
        if (this.limitHit()) return WALK_ENDED;
        if (n >= budget) return WALK_PAUSED;
      }
      const off = d * W;
      const amp = this.amp[d]!;
      const lastTid = amp >= 0 ? amp + 1 : T;
      let tid = this.curTid[d]!;
      let alt = this.curAlt[d]!;
      let found = false;
      const phi = this.fpHi[d]!;
      const plo = this.fpLo[d]!;
      if (d + 1 >= this.curTid.length) this.growTo(d + 1);
      const stk = this.stack;
      const next = off + W;
      const sl = this.sl;
      /** the sleep-set entry of the transition taken (-1: none) */
      let via = -1;
      while (tid < lastTid) {
        if (alt < e.alts(stk, off, tid)) {
          let ok: boolean;
          const z = sl === null ? -1 : sl.asleep(d, tid, alt);
          if (z >= 0) {
            // asleep: its successor is this state with the changes it made where it was run
            e.replay(stk, off, tid, alt, sl!.fp, sl!.ref(z), sl!.k, phi ^ sl!.dHi(z), plo ^ sl!.dLo(z));
            ok = true;
            via = z;
            this.replayed++;
          } else {
            ok = e.tryInPlace(stk, off, tid, alt, phi, plo);
            if (ok && sl !== null) via = sl.record(e, d, tid, alt, stk, off, e.hi ^ phi, e.lo ^ plo);
          }
          alt++;
          if (ok) {
            found = true;
            break;
          }
        } else {
          tid++;
          alt = 0;
        }
      }
      this.curTid[d] = tid;
      this.curAlt[d] = alt;
      if (!found) {
        if (!this.any[d]) {
          const m = e.terminal(stk, off);
          if (m !== 0 && this.discoverAt(m, d)) {
            this.d = d;
            return WALK_ENDED;
          }
        }
        d--;
        continue;
      }
      this.any[d] = 1;
      this.transitions++;
      if (d >= maxDepth) {
        e.settle(stk, off, next, false);
        this.cover(stk, off, tid);
        this.truncated = true;
        d--;
        continue;
      }
      const chi = e.hi;
      const clo = e.lo;
      let amp1 = -1;
      if (this.por === undefined) {
        // the successor is still in place over its parent: look it up first, copy it up only if new
        const r = this.visitState(stk, off, chi, clo);
        e.settle(stk, off, next, r === 1);
        this.cover(stk, off, tid);
        if (r === 0) continue;
        if (r < 0) {
          this.d = d;
          return WALK_ENDED;
        }
        this.states++;
      } else {
        // stored states are those the reduction expands fully; the others are walked through (merged)
        if (this.seen(stk, off, chi, clo)) {
          e.settle(stk, off, next, false);
          this.cover(stk, off, tid);
          continue;
        }
        e.settle(stk, off, next, true);
        this.cover(stk, off, tid);
        amp1 = this.selectAt(stk, next, chi, clo);
        if (amp1 < 0) {
          const r = this.visitState(stk, next, chi, clo);
          if (r === 0) continue; // another worker stored it meanwhile
          if (r < 0) {
            this.d = d;
            return WALK_ENDED;
          }
          this.states++;
        } else {
          this.merged++;
          if (this.por.chosenShared) this.mergedShared++;
        }
      }
      this.choice[d] = encodeChoice(tid, alt - 1);
      sl?.push(d, via);
      d++;
      this.fpHi[d] = chi;
      this.fpLo[d] = clo;
      this.curTid[d] = amp1 >= 0 ? amp1 : 0;
      this.curAlt[d] = 0;
      this.any[d] = 0;
      this.amp[d] = amp1;
      if (d + this.prefix.length > this.maxDepthSeen) this.maxDepthSeen = d + this.prefix.length;
      const m = e.check(stk, this.pendingSometimes, next);
      if (m !== 0) {
        if (this.discoverAt(m, d)) {
          this.d = d;
          return WALK_ENDED;
        }
      }
      if (this.states >= this.limits.maxStates) {
        this.d = d;
        this.limitHit();
        return WALK_ENDED;
      }
    }
    return WALK_DONE;
  }
}
