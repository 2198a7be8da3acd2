// Hardware walkers' paging-structure caches (a CPU's TLB/PWC, an IOMMU's IOTLB/PWC): an entry keeps the
// PTE table a walk found through a pmd entry until an invalidation reaches that cache, and the CPU's
// flush_tlb_kernel_range() never reaches an IOMMU's. A walk through a cached pointer to a freed table
// is a stale walk (P-TLB). Owns the cache entries, the walk and both invalidations.

import { cell, int, type Cell, type CellSpec } from '../model/schema.ts';
import { cellsOf } from '../model/cells.ts';
import { Fault, raise } from './faults.ts';
import { MAX_TABLES, PMD_HUGE, PMD_NONE, formatPmd, ptState, ptTouch, type PtState } from './pgtable.ts';

/** Which hardware walker a paging-structure cache belongs to: the CPU's or the IOMMU's. */
export type HwWalker = 'cpu' | 'iommu';

/** The cell tag of `walker`'s paging-structure-cache entries. */
export function pwcTag(walker: HwWalker): `pwc-${HwWalker}` {
  return `pwc-${walker}`;
}

/** One paging-structure-cache entry of `walker` for one pmd entry: the PTE table cached (none = nothing). */
export function pwcEntry(walker: HwWalker): CellSpec<`pwc-${HwWalker}`> {
  return cell(pwcTag(walker), int(PMD_HUGE, MAX_TABLES, PMD_NONE, formatPmd));
}

/**
 * One hardware walk, by the walker owning cache entry `pwc`, of the range mapped by `pmd`. With a
 * cached pointer the walker does not re-read *pmd: it reads (and may set Accessed/Dirty bits in) the
 * cached table, a stale walk if that table is freed. Otherwise it walks memory: a PTE table linked
 * from *pmd is read and its pointer cached. Returns false when the walk changes nothing (no fault, no
 * new entry), so that a walker thread can block instead of looping in place.
 */
export function hwWalk(s: PtState, pmd: Cell, pwc: Cell): boolean {
  const faults = s.faults;
  if (pwc.v > 0) {
    if (ptState(s, pwc.v) === 'freed') raise(s, Fault.STALE_WALK);
    return s.faults !== faults;
  }
  const t = pmd.v;
  if (t <= 0) return false; // pmd_none or a huge leaf: no PTE table on the way
  ptTouch(s, t); // a linked table that is freed: use-after-free
  pwc.v = t;
  return true;
}

/**
 * flush_tlb_kernel_range() over the range table `t` mapped: drops the CPUs' cached pointers to t
 * (every range has its own table and tables are never reused, so "the range" and "t" name the same
 * entries). It never reaches an IOMMU's paging-structure cache.
 */
export function flushTlbKernelRange(s: object, t: number): void {
  for (const c of cellsOf(s, pwcTag('cpu'))) if (c.v === t) c.v = PMD_NONE;
}

/** An explicit invalidation of every range in `walker`'s caches (for an IOMMU: the SVA invalidation). */
export function invalidateWalkerCaches(s: object, walker: HwWalker): void {
  for (const c of cellsOf(s, pwcTag(walker))) if (c.v !== PMD_NONE) c.v = PMD_NONE;
}

/** Does some cache entry of `walker` still point to a freed table? (what P-TLB forbids) */
export function cachesFreedTable(s: PtState, walker: HwWalker): boolean {
  for (const c of cellsOf(s, pwcTag(walker))) if (c.v > 0 && ptState(s, c.v) === 'freed') return true;
  return false;
}

/**
 * flush_tlb_range() / flush_tlb_mm_range(..., freed_tables=true) over the user ranges tables in `mask`
 * (bit t = table Tt) mapped: drops the CPUs' paging-structure-cache entries to those tables. Like the
 * kernel-range flush it never reaches an IOMMU's caches (those need the mmu_notifier's secondary-TLB
 * invalidation: invalidateWalkerCaches(s, 'iommu')).
 */
export function flushTlbUserRange(s: object, mask: number): void {
  for (const c of cellsOf(s, pwcTag('cpu'))) if (c.v > 0 && mask & (1 << c.v)) c.v = PMD_NONE;
}
