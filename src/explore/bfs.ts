// Breadth-first search: finds a shortest path to each discovery. Keeps every state vector (chunked)
// with its parent and the choice that reached it, so memory grows with the state space: use it for
// shortest counterexamples, DFS for size.

import type { Engine } from './engine.ts';
import { Search, type Limits, type SearchOptions } from './search.ts';
import { encodeChoice } from '../trace/path.ts';

const CHUNK = 1 << 14; // states per chunk

export class Bfs extends Search {
  private chunks: Int32Array[] = [];
  private parent: Int32Array = new Int32Array(CHUNK);
  private via: Int32Array = new Int32Array(CHUNK);
  /** per stored state: its depth in steps (merged steps count) */
  private sdepth: Int32Array = new Int32Array(CHUNK);
  private fps2: Int32Array = new Int32Array(2 * CHUNK);
  private count = 0;
  private head = 0;
  private levelEnd = 1;
  private level = 0;
  private readonly scratch: Int32Array;
  private readonly cur: Int32Array;

  constructor(engine: Engine, limits: Limits, opts: SearchOptions) {
    super(engine, limits, opts);
    this.scratch = new Int32Array(engine.W);
    this.cur = new Int32Array(engine.W);
    const init = engine.cm.init;
    this.scratch.set(init);
    this.fingerprint(this.scratch);
    const ihi = this.fp.hi;
    const ilo = this.fp.lo;
    this.visitState(this.scratch, 0, ihi, ilo);
    this.append(this.scratch, -1, 0, ihi, ilo, 0);
    this.states = 1;
    const m = engine.check(this.scratch, this.pendingSometimes);
    if (m !== 0) this.discover(m, () => []);
  }

  get depth(): number {
    return this.level;
  }

  private append(a: Int32Array, parent: number, via: number, hi: number, lo: number, depth: number): number {
    const W = this.engine.W;
    const i = this.count++;
    const c = Math.floor(i / CHUNK);
    if (c === this.chunks.length) this.chunks.push(new Int32Array(CHUNK * W));
    this.chunks[c]!.set(a, (i % CHUNK) * W);
    if (i >= this.parent.length) {
      const p = new Int32Array(this.parent.length * 2);
      p.set(this.parent);
      this.parent = p;
      const v = new Int32Array(this.via.length * 2);
      v.set(this.via);
      this.via = v;
    }
    if (2 * i + 1 >= this.fps2.length) {
      const f = new Int32Array(this.fps2.length * 2);
      f.set(this.fps2);
      this.fps2 = f;
    }
    if (i >= this.sdepth.length) {
      const d = new Int32Array(this.sdepth.length * 2);
      d.set(this.sdepth);
      this.sdepth = d;
    }
    this.parent[i] = parent;
    this.via[i] = via;
    this.sdepth[i] = depth;
    this.fps2[2 * i] = hi;
    this.fps2[2 * i + 1] = lo;
    return i;
  }

  private pathTo(i: number): number[] {
    const out: number[] = [];
    while (i > 0) {
      const v = this.via[i]!;
      if (v >= 0) out.push(v);
      else for (let k = this.chains[-v - 1]!; k > 0; k--) out.push(this.chains[-v - 1 + k]!);
      i = this.parent[i]!;
    }
    return out.reverse();
  }

  expandingPath(): number[] {
    return this.pathTo(this.head - 1);
  }

  /** the steps from the stored state being expanded to the state arrive() is looking at */
  private chain = new Int32Array(64);
  private chainLen = 0;
  /** chains of merged steps that reached stored states: length, then the choices */
  private chains = new Int32Array(1024);
  private chainsTop = 0;
  /** per recursion depth of arrive(): a scratch state */
  private walkBufs: Int32Array[] = [];

  private pathVia(parent: number): number[] {
    return [...this.pathTo(parent), ...this.chain.subarray(0, this.chainLen)];
  }

  /**
   * A successor of stored state `parent`, reached by this.chain, is at a[off..] with fingerprint
   * (hi, lo). Without reduction it is stored if new. With it, a state the reduction does not expand
   * fully is not stored: its reduced expansion is walked through at once (src/por/reduction.ts).
   * True if the search must stop.
   */
  private arrive(a: Int32Array, off: number, parent: number, hi: number, lo: number): boolean {
    const e = this.engine;
    const W = e.W;
    const depth = this.sdepth[parent]! + this.chainLen;
    let amp = -1;
    if (this.por) {
      if (this.seen(a, off, hi, lo)) return false;
      amp = this.selectAt(a, off, hi, lo);
    }
    if (amp < 0) {
      const r = this.visitState(a, off, hi, lo);
      if (r === 0) return false;
      if (r < 0) return true;
      this.states++;
    } else {
      this.merged++;
      if (this.por!.chosenShared) this.mergedShared++;
    }
    if (depth > this.maxDepthSeen) this.maxDepthSeen = depth;
    const m = e.check(a, this.pendingSometimes, off);
    let j = -1;
    if (amp < 0) {
      const state = off === 0 ? a : a.subarray(off, off + W);
      j = this.append(state, parent, this.chainVia(), hi, lo, depth);
    }
    if (m !== 0 && this.discover(m, () => (j >= 0 ? this.pathTo(j) : this.pathVia(parent)))) return true;
    if (this.states >= this.limits.maxStates) {
      this.limitHit();
      return true;
    }
    if (amp < 0) return false;
    // walk through: the reduced expansion of a state that is not stored
    const level = this.chainLen;
    const buf = (this.walkBufs[level] ??= new Int32Array(W));
    if (this.chainLen + 1 > this.chain.length) {
      const c = new Int32Array(this.chain.length * 2);
      c.set(this.chain);
      this.chain = c;
    }
    let any = false;
    for (let alt = 0, na = e.alts(a, off, amp); alt < na; alt++) {
      if (!e.successor(a, off, amp, alt, buf, hi, lo)) continue;
      any = true;
      this.transitions++;
      this.cover(a, off, amp);
      if (depth >= this.limits.maxDepth) {
        this.truncated = true;
        continue;
      }
      this.chain[level] = encodeChoice(amp, alt);
      this.chainLen = level + 1;
      if (this.arrive(buf, 0, parent, e.hi, e.lo)) return true;
    }
    this.chainLen = level;
    if (!any) throw new Error('reduction chose a thread with nothing enabled');
    return false;
  }

  /** The `via` of a state reached by this.chain: the choice itself, or a reference to a stored chain. */
  private chainVia(): number {
    if (this.chainLen === 1) return this.chain[0]!;
    const need = this.chainsTop + 1 + this.chainLen;
    if (need > this.chains.length) {
      const c = new Int32Array(Math.max(need, 2 * this.chains.length));
      c.set(this.chains);
      this.chains = c;
    }
    const at = this.chainsTop;
    this.chains[at] = this.chainLen;
    for (let k = 0; k < this.chainLen; k++) this.chains[at + 1 + k] = this.chain[k]!;
    this.chainsTop = need;
    return -at - 1;
  }

  run(budget: number): boolean {
    if (this.status.kind !== 'running') return true;
    const e = this.engine;
    const W = e.W;
    const T = e.T;
    const scratch = this.scratch;
    const cur = this.cur;
    let n = 0;
    while (this.head < this.count) {
      if ((++n & 255) === 0) {
        if (this.limitHit()) return true;
        if (n >= budget) return false;
      }
      const i = this.head++;
      if (i >= this.levelEnd) {
        this.level++;
        this.levelEnd = this.count;
      }
      const src = this.chunks[Math.floor(i / CHUNK)]!;
      const off = (i % CHUNK) * W;
      for (let k = 0; k < W; k++) cur[k] = src[off + k]!;
      const phi = this.fps2[2 * i]!;
      const plo = this.fps2[2 * i + 1]!;
      let any = false;
      // partial-order reduction: stored states are expanded fully, but for the initial one
      const amp = i === 0 && this.por ? this.por.select(cur, 0, phi, plo) : -1;
      const sd = this.sdepth[i]!;
      for (let tid = amp >= 0 ? amp : 0, to = amp >= 0 ? amp + 1 : T; tid < to; tid++) {
        const na = e.alts(cur, 0, tid);
        for (let alt = 0; alt < na; alt++) {
          if (!e.successor(cur, 0, tid, alt, scratch, phi, plo)) continue;
          any = true;
          this.transitions++;
          this.cover(cur, 0, tid);
          if (sd >= this.limits.maxDepth) {
            this.truncated = true;
            continue;
          }
          this.chainLen = 0;
          this.chain[this.chainLen++] = encodeChoice(tid, alt);
          if (this.arrive(scratch, 0, i, e.hi, e.lo)) return true;
        }
      }
      if (!any) {
        const m = e.terminal(cur);
        if (m !== 0 && this.discover(m, () => this.pathTo(i))) return true;
      }
    }
    this.finish();
    return true;
  }
}
