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
    this.append(this.scratch, -1, 0, ihi, ilo);
    this.states = 1;
    const m = engine.check(this.scratch, this.pendingSometimes);
    if (m !== 0) this.discover(m, () => []);
  }

  get depth(): number {
    return this.level;
  }

  private append(a: Int32Array, parent: number, via: number, hi: number, lo: number): number {
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
    this.parent[i] = parent;
    this.via[i] = via;
    this.fps2[2 * i] = hi;
    this.fps2[2 * i + 1] = lo;
    return i;
  }

  private pathTo(i: number): number[] {
    const out: number[] = [];
    while (i > 0) {
      out.push(this.via[i]!);
      i = this.parent[i]!;
    }
    return out.reverse();
  }

  expandingPath(): number[] {
    return this.pathTo(this.head - 1);
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
      // partial-order reduction: a safe local step's thread first; everything else only if none was
      // found, or (proviso) one of its successors had been visited already
      const amp = this.por ? this.por.select(cur, 0) : -1;
      let full = amp < 0;
      for (let pass = 0; pass < 2; pass++) {
        if (pass === 1 && (amp < 0 || !full)) break;
        const from = pass === 0 && amp >= 0 ? amp : 0;
        const to = pass === 0 && amp >= 0 ? amp + 1 : T;
        for (let tid = from; tid < to; tid++) {
          if (pass === 1 && tid === amp) continue;
          const na = e.alts(cur, 0, tid);
          for (let alt = 0; alt < na; alt++) {
            if (!e.successor(cur, 0, tid, alt, scratch, phi, plo)) continue;
            any = true;
            this.transitions++;
            this.cover(cur, 0, tid);
            if (this.level >= this.limits.maxDepth) {
              this.truncated = true;
              continue;
            }
            const chi = e.hi;
            const clo = e.lo;
            const r = this.visitState(scratch, 0, chi, clo);
            if (r === 0) {
              full = true;
              continue;
            }
            if (r < 0) return true;
            this.states++;
            const j = this.append(scratch, i, encodeChoice(tid, alt), chi, clo);
            if (this.level + 1 > this.maxDepthSeen) this.maxDepthSeen = this.level + 1;
            const m = e.check(scratch, this.pendingSometimes);
            if (m !== 0 && this.discover(m, () => this.pathTo(j))) return true;
            if (this.states >= this.limits.maxStates) {
              this.limitHit();
              return true;
            }
          }
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
