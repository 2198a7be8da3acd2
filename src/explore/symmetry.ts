// Symmetry reduction: maps a state to a representative of its class under permutations of each
// symmetric thread group (sorting the instances by their own state), renaming every value that names
// an instance or one of its threads. Used only to fingerprint: the search continues from the real state.
// Any representative of the class is sound; sorting makes most classes map to one representative.

import type { CompiledModel, SymmetryGroup } from '../model/compile.ts';

const FLAG_BITS = ~0x3fffffff; // bits 30 and up of a thread mask are flags, not threads

export class Canonicalizer {
  private readonly W: number;
  private readonly groups: readonly SymmetryGroup[];
  /** per group: block-relative offsets to leave out of the sort key (values that name threads/instances) */
  private readonly skip: readonly Uint8Array[];
  private readonly tidLeaves: Int32Array;
  private readonly maskLeaves: Int32Array;
  private readonly tmp: Int32Array;
  private readonly ord: Int32Array;
  private readonly inv: Int32Array;
  /** tid -> index within the group being processed, or -1 */
  private readonly member: Int32Array;

  constructor(cm: CompiledModel) {
    this.W = cm.W;
    this.groups = cm.symmetry;
    this.tidLeaves = Int32Array.from(cm.leaves.filter((l) => l.ref === 'tid+1').map((l) => l.off));
    this.maskLeaves = Int32Array.from(cm.leaves.filter((l) => l.ref === 'tid-mask').map((l) => l.off));
    const named = new Set<number>([...this.tidLeaves, ...this.maskLeaves]);
    this.skip = this.groups.map((g) => {
      const m = new Uint8Array(g.blockLen);
      const refs = new Set(g.refs.map((r) => r.off));
      for (let r = 0; r < g.blockLen; r++) {
        const off = g.blockStart[0]! + r;
        if (named.has(off) || refs.has(off)) m[r] = 1;
      }
      return m;
    });
    const n = Math.max(0, ...this.groups.map((g) => g.tids.length));
    this.tmp = new Int32Array(this.W);
    this.ord = new Int32Array(n);
    this.inv = new Int32Array(n);
    this.member = new Int32Array(cm.threads.length).fill(-1);
  }

  get active(): boolean {
    return this.groups.length > 0;
  }

  /**
   * Writes a representative of the class of state a[off..off+W) to out[0..W). Returns false (and
   * leaves out untouched) when the state is its own representative.
   */
  canon(a: Int32Array, off: number, out: Int32Array): boolean {
    let src = a;
    let srcOff = off;
    let changed = false;
    for (let gi = 0; gi < this.groups.length; gi++) {
      const g = this.groups[gi]!;
      if (!this.order(g, this.skip[gi]!, src, srcOff)) continue;
      // permute into tmp, then make tmp the source of the next group
      const dst = changed ? (src === out ? this.tmp : out) : out;
      this.apply(g, src, srcOff, dst);
      src = dst;
      srcOff = 0;
      changed = true;
    }
    if (changed && src !== out) out.set(src);
    return changed;
  }

  /** Sorts the group's instances by their own state; true if the order is not the identity. */
  private order(g: SymmetryGroup, skip: Uint8Array, a: Int32Array, off: number): boolean {
    const n = g.tids.length;
    const ord = this.ord;
    for (let i = 0; i < n; i++) ord[i] = i;
    let moved = false;
    for (let i = 1; i < n; i++) {
      const x = ord[i]!;
      let j = i - 1;
      while (j >= 0 && this.compare(g, skip, a, off, ord[j]!, x) > 0) {
        ord[j + 1] = ord[j]!;
        j--;
      }
      if (j + 1 !== i) moved = true;
      ord[j + 1] = x;
    }
    return moved;
  }

  private compare(g: SymmetryGroup, skip: Uint8Array, a: Int32Array, off: number, x: number, y: number): number {
    const bx = off + g.blockStart[x]!;
    const by = off + g.blockStart[y]!;
    for (let r = 0; r < g.blockLen; r++) {
      if (skip[r]) continue;
      const d = a[bx + r]! - a[by + r]!;
      if (d !== 0) return d;
    }
    const ox = g.owns[x]!;
    const oy = g.owns[y]!;
    for (let m = 0; m < ox.length; m++) {
      const d = a[off + ox[m]!]! - a[off + oy[m]!]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /** dst = the state with instance ord[k] moved to position k, and every name of an instance renamed. */
  private apply(g: SymmetryGroup, a: Int32Array, off: number, dst: Int32Array): void {
    const W = this.W;
    const n = g.tids.length;
    const ord = this.ord;
    const inv = this.inv;
    for (let i = 0; i < W; i++) dst[i] = a[off + i]!;
    for (let k = 0; k < n; k++) inv[ord[k]!] = k;
    for (let k = 0; k < n; k++) {
      const from = ord[k]!;
      if (from === k) continue;
      const bs = off + g.blockStart[from]!;
      const bd = g.blockStart[k]!;
      for (let r = 0; r < g.blockLen; r++) dst[bd + r] = a[bs + r]!;
      const os = g.owns[from]!;
      const od = g.owns[k]!;
      for (let m = 0; m < os.length; m++) dst[od[m]!] = a[off + os[m]!]!;
    }
    const member = this.member;
    for (let j = 0; j < n; j++) member[g.tids[j]!] = j;
    for (let i = 0; i < this.tidLeaves.length; i++) {
      const o = this.tidLeaves[i]!;
      const v = dst[o]!;
      if (v <= 0) continue;
      const j = member[v - 1];
      if (j !== undefined && j >= 0) dst[o] = g.tids[inv[j]!]! + 1;
    }
    for (let i = 0; i < this.maskLeaves.length; i++) {
      const o = this.maskLeaves[i]!;
      const v = dst[o]!;
      if (v === 0) continue;
      let out = v & FLAG_BITS;
      for (let t = 0; t < 30; t++) {
        if (!(v & (1 << t))) continue;
        const j = member[t];
        out |= 1 << (j !== undefined && j >= 0 ? g.tids[inv[j]!]! : t);
      }
      dst[o] = out;
    }
    for (const r of g.refs) {
      const rel = dst[r.off]! - r.offset;
      if (rel >= 0 && rel < n) dst[r.off] = inv[rel]! + r.offset;
    }
    for (let j = 0; j < n; j++) member[g.tids[j]!] = -1;
  }
}
