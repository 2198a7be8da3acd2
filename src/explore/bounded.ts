// Preemption-bounded search (context bounding): every interleaving with at most K preemptions, a
// preemption being a switch away from a thread that could still run. Stateful; never ends as complete.

import type { Engine } from './engine.ts';
import { Search, type Limits, type SearchOptions } from './search.ts';
import { encodeChoice } from '../trace/path.ts';

const EMPTY_P = -1;

/**
 * Search nodes (state, last thread) with the fewest preemptions any path to them used: an open-addressing
 * table of (hi, lo, preemptions) triples; hi/lo already mix in the last thread.
 */
class NodeTable {
  private slots: Int32Array;
  private cap: number;
  private count = 0;

  constructor(private readonly maxBytes: number) {
    this.cap = 1 << 12;
    this.slots = new Int32Array(this.cap * 3).fill(EMPTY_P);
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /**
   * Records node (hi, lo) as reached with p preemptions. Returns 1 if it is new, 2 if it was reached
   * before but with more preemptions (explore it again), 0 if a path with at most p already explored
   * it, -1 if the table is full.
   */
  improve(hi: number, lo: number, p: number): number {
    let i = this.find(hi, lo);
    const s = this.slots;
    if (s[i * 3 + 2] !== EMPTY_P) {
      if (s[i * 3 + 2]! <= p) return 0;
      s[i * 3 + 2] = p;
      return 2;
    }
    if ((this.count + 1) * 4 > this.cap * 3) {
      if (!this.grow()) return -1;
      i = this.find(hi, lo);
    }
    const t = this.slots;
    t[i * 3] = hi;
    t[i * 3 + 1] = lo;
    t[i * 3 + 2] = p;
    this.count++;
    return 1;
  }

  private find(hi: number, lo: number): number {
    const s = this.slots;
    const mask = this.cap - 1;
    let i = (Math.imul(hi ^ (lo >>> 7), 0x9e3779b1) ^ lo) & mask;
    while (s[i * 3 + 2] !== EMPTY_P && (s[i * 3] !== hi || s[i * 3 + 1] !== lo)) i = (i + 1) & mask;
    return i;
  }

  private grow(): boolean {
    const ncap = this.cap * 2;
    if (ncap * 12 > this.maxBytes) return false;
    const old = this.slots;
    const ocap = this.cap;
    this.cap = ncap;
    this.slots = new Int32Array(ncap * 3).fill(EMPTY_P);
    for (let j = 0; j < ocap; j++) {
      if (old[j * 3 + 2] === EMPTY_P) continue;
      const i = this.find(old[j * 3]!, old[j * 3 + 1]!);
      this.slots[i * 3] = old[j * 3]!;
      this.slots[i * 3 + 1] = old[j * 3 + 1]!;
      this.slots[i * 3 + 2] = old[j * 3 + 2]!;
    }
    return true;
  }
}

/** Per-thread constants mixed into a state's fingerprint to make the node (state, last thread). */
const LAST_HI = Int32Array.from({ length: 33 }, (_, t) => Math.imul(t + 1, 0x7feb352d) ^ 0x2c1b3c6d);
const LAST_LO = Int32Array.from({ length: 33 }, (_, t) => Math.imul(t + 1, 0x846ca68b) ^ 0x297a2d39);

/**
 * Depth-first over nodes (state, last thread), each explored again whenever it is reached with fewer
 * preemptions than any earlier visit (what can follow depends on the preemptions left and on which
 * thread switching away from costs one): so every node is explored with its least preemption count,
 * at most K+1 times. The thread that ran last is tried first, so cheap paths tend to come first.
 * Symmetry and partial-order reduction are off: both would have to respect the preemption count.
 */
export class Bounded extends Search {
  /** transitions not taken because they would have exceeded the bound */
  cut = 0;
  /** node explorations beyond the first (reached again with fewer preemptions) */
  reexplored = 0;
  private readonly nodes: NodeTable;
  private stack: Int32Array;
  /** per depth: position in the thread order (0 = the last thread), alternative, last thread, preemptions */
  private curJ: Int32Array;
  private curAlt: Int32Array;
  private lastT: Int32Array;
  private pre: Int32Array;
  /** per depth: some transition was enabled / the last thread had an enabled step */
  private any: Uint8Array;
  private lastEn: Uint8Array;
  private choice: Int32Array;
  private fpHi: Int32Array;
  private fpLo: Int32Array;
  private d = 0;

  constructor(
    engine: Engine,
    limits: Limits,
    opts: SearchOptions,
    readonly maxPreemptions: number,
  ) {
    super(engine, limits, { ...opts, symmetry: false, por: false, sleep: false, exact: false });
    this.nodes = new NodeTable(limits.maxTableBytes);
    const cap = 64;
    const W = engine.W;
    this.stack = new Int32Array(cap * W);
    this.curJ = new Int32Array(cap);
    this.curAlt = new Int32Array(cap);
    this.lastT = new Int32Array(cap);
    this.pre = new Int32Array(cap);
    this.any = new Uint8Array(cap);
    this.lastEn = new Uint8Array(cap);
    this.choice = new Int32Array(cap);
    this.fpHi = new Int32Array(cap);
    this.fpLo = new Int32Array(cap);
    this.stack.set(engine.cm.init, 0);
    this.fingerprint(this.stack.subarray(0, W));
    this.fpHi[0] = this.fp.hi;
    this.fpLo[0] = this.fp.lo;
    this.lastT[0] = -1;
    this.pre[0] = 0;
    this.nodes.improve(this.fp.hi ^ LAST_HI[32]!, this.fp.lo ^ LAST_LO[32]!, 0);
    this.visit(this.fp.hi, this.fp.lo);
    this.states = 1;
    const m = engine.check(this.stack, this.pendingSometimes, 0);
    if (m !== 0) this.discover(m, () => []);
  }

  override get tableBytes(): number {
    return this.fps.bytes + this.nodes.bytes;
  }

  get depth(): number {
    return this.d;
  }

  private path(n: number): number[] {
    return Array.from(this.choice.subarray(0, n));
  }

  expandingPath(): number[] {
    return this.path(Math.floor(this.engine.runOff / this.engine.W));
  }

  private growTo(depth: number): void {
    let cap = this.curJ.length;
    if (depth < cap) return;
    while (cap <= depth) cap *= 2;
    const grow = <T extends Int32Array | Uint8Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.stack = grow(this.stack, cap * this.engine.W);
    this.curJ = grow(this.curJ, cap);
    this.curAlt = grow(this.curAlt, cap);
    this.lastT = grow(this.lastT, cap);
    this.pre = grow(this.pre, cap);
    this.any = grow(this.any, cap);
    this.lastEn = grow(this.lastEn, cap);
    this.choice = grow(this.choice, cap);
    this.fpHi = grow(this.fpHi, cap);
    this.fpLo = grow(this.fpLo, cap);
  }

  run(budget: number): boolean {
    if (this.status.kind !== 'running') return true;
    const e = this.engine;
    const W = e.W;
    const T = e.T;
    const K = this.maxPreemptions;
    const maxDepth = this.limits.maxDepth;
    let d = this.d;
    let n = 0;
    while (d >= 0) {
      if ((++n & 1023) === 0) {
        this.d = d;
        if (this.limitHit()) return true;
        if (n >= budget) return false;
      }
      if (d + 1 >= this.curJ.length) this.growTo(d + 1);
      const stk = this.stack;
      const off = d * W;
      const L = this.lastT[d]!;
      const p = this.pre[d]!;
      const phi = this.fpHi[d]!;
      const plo = this.fpLo[d]!;
      // threads in the order L, L+1, ..., L-1 (0.. from the initial state)
      const start = L < 0 ? 0 : L;
      let j = this.curJ[d]!;
      let alt = this.curAlt[d]!;
      let tid = -1;
      let cost = 0;
      let found = false;
      while (j < T) {
        tid = (start + j) % T;
        if (alt >= e.alts(stk, off, tid)) {
          j++;
          alt = 0;
          continue;
        }
        // switching away from a thread that could still run is a preemption
        cost = L >= 0 && tid !== L && this.lastEn[d] ? 1 : 0;
        if (p + cost > K) {
          // a thread other than L is only reached after all of L's alternatives, so lastEn is
          // settled, and `any` too (L was enabled): skipping cannot turn this state terminal
          this.cut += e.alts(stk, off, tid) - alt;
          j++;
          alt = 0;
          continue;
        }
        const ok = e.tryInPlace(stk, off, tid, alt, phi, plo);
        alt++;
        if (ok) {
          found = true;
          break;
        }
      }
      this.curJ[d] = j;
      this.curAlt[d] = alt;
      if (!found) {
        if (!this.any[d]) {
          const m = e.terminal(stk, off);
          if (m !== 0 && this.discover(m, () => this.path(d))) {
            this.d = d;
            return true;
          }
        }
        d--;
        continue;
      }
      this.any[d] = 1;
      if (tid === L) this.lastEn[d] = 1;
      this.transitions++;
      const next = off + W;
      if (d >= maxDepth) {
        e.settle(stk, off, next, false);
        this.truncated = true;
        continue;
      }
      const chi = e.hi;
      const clo = e.lo;
      const np = p + cost;
      const r = this.nodes.improve(chi ^ LAST_HI[tid]!, clo ^ LAST_LO[tid]!, np);
      e.settle(stk, off, next, r > 0);
      if (r === 0) continue;
      if (r < 0) {
        this.status = { kind: 'incomplete', reason: 'memory' };
        this.d = d;
        return true;
      }
      const fresh = this.visit(chi, clo);
      if (fresh < 0) {
        this.d = d;
        return true;
      }
      if (r === 2) this.reexplored++;
      this.choice[d] = encodeChoice(tid, alt - 1);
      d++;
      this.fpHi[d] = chi;
      this.fpLo[d] = clo;
      this.curJ[d] = 0;
      this.curAlt[d] = 0;
      this.lastT[d] = tid;
      this.pre[d] = np;
      this.any[d] = 0;
      this.lastEn[d] = 0;
      if (d > this.maxDepthSeen) this.maxDepthSeen = d;
      if (fresh === 1) {
        this.states++;
        // a state's properties do not depend on how it was reached: check it once
        const m = e.check(stk, this.pendingSometimes, next);
        if (m !== 0) {
          const dd = d;
          if (this.discover(m, () => this.path(dd))) {
            this.d = d;
            return true;
          }
        }
        if (this.states >= this.limits.maxStates) {
          this.d = d;
          this.limitHit();
          return true;
        }
      }
    }
    this.d = d;
    this.status = this.truncated ? { kind: 'incomplete', reason: 'max-depth' } : { kind: 'incomplete', reason: 'preemption-bound' };
    return true;
  }
}
