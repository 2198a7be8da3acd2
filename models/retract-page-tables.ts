/*
 * retract-page-tables — may khugepaged's retract_page_tables() free a PTE table that is not empty, free
 * one twice, or free pmd_none garbage, while MADV_DONTNEED reclaims empty tables, a page fault
 * re-installs one, and UFFDIO_COPY, UFFDIO_WRITEPROTECT or MADV_GUARD_INSTALL put an anonymous page, a
 * uffd-wp marker or a guard marker into the range?
 *
 * Kernel code followed (protocols.md §2, §3; seed 003):
 *   mm/khugepaged.c   retract_page_tables() after 6c18ec9af86c "mm: khugepaged: recheck pmd state in
 *                     retract_page_tables()" (Qi Zheng, Dec 4 2024 v4, Suggested-by Jann Horn);
 *                     collapse_file() holds new_folio locked across it and unlocks it afterwards
 *   mm/memory.c       zap_pmd_range(), zap_pte_range() with PT_RECLAIM (6375e95f381e), pmd_install(),
 *                     do_read_fault() -> __do_fault() -> finish_fault()
 *   mm/pt_reclaim.c   try_get_and_clear_pmd(), try_to_free_pte(), free_pte()
 *   mm/khugepaged.c   file_backed_vma_is_retractable() (Lorenzo Stoakes, 2025: anon_vma, userfaultfd_wp
 *                     and VMA_MAYBE_GUARD_BIT in one helper, called before the locks and again under
 *                     ptl; the anon_vma/userfaultfd_wp recheck under ptl since 1d65b771bc08, Hugh
 *                     Dickins, v6.6)
 *   mm/userfaultfd.c  mfill_atomic() (anon_vma_prepare, __pte_alloc), mfill_atomic_install_pte();
 *                     UFFDIO_REGISTER (VM_UFFD_WP), mwriteprotect_range -> change_protection
 *   mm/mprotect.c     change_pmd_range() (pte_alloc for markers), change_pte_range() (PTE_MARKER_UFFD_WP)
 *   mm/madvise.c      madvise_guard_install() (vma_set_atomic_flag(VMA_MAYBE_GUARD_BIT), page walk
 *                     installing PTE_MARKER_GUARD under ptl)
 *   mm/pgtable-generic.c  __pte_offset_map_lock(), pte_free_defer()
 *
 * Threads:
 *   khugepaged   retract_page_tables() for the one vma mapping the collapsed range: lockless
 *                find_pmd_or_thp_or_none, the optimistic file_backed_vma_is_retractable (anon_vma,
 *                userfaultfd_wp, VMA_MAYBE_GUARD), pmd_lock, check_pmd_state, pte_lockptr + spin_lock_nested(ptl), the
 *                recheck under ptl, pmdp_collapse_flush, unlocks, mm_dec_nr_ptes, pte_free_defer; then
 *                collapse_file's folio_unlock(new_folio). It holds new_folio locked from the start
 *                (__folio_set_locked before the folio is visible).
 *   madvise      MADV_DONTNEED over the whole pmd range: zap_pmd_range skips a none pmd, zap_pte_range
 *                maps and locks the table (pte_offset_map_lock, goto again on pmd change), zaps every
 *                pte, then under ptl try_get_and_clear_pmd (spin_trylock(pml)); on success free_pte
 *                (pte_free_tlb -> RCU, mm_dec_nr_ptes), on failure, after dropping ptl, the slow path
 *                try_to_free_pte (pml, then ptl, full rescan, pmd_clear). It keeps uffd-wp and guard
 *                markers (no ZAP_FLAG_DROP_MARKER): any_skipped, so it then reclaims nothing.
 *   fault<i>     a read fault on page i of the range: __do_fault locks the folio (it blocks while
 *                khugepaged holds new_folio), finish_fault installs a table if the pmd is none
 *                (pmd_install under pml), pte_offset_map_lock, set_pte_at, pte_unmap_unlock,
 *                folio_unlock. A NULL pte_offset_map_lock returns VM_FAULT_NOPAGE: unlock, refault.
 *   uffdio_copy  UFFDIO_COPY into the last page of a private shmem vma registered MISSING:
 *                anon_vma_prepare (vma->anon_vma set before any pte), __pte_alloc if the pmd is none,
 *                mfill_atomic_install_pte: pte_offset_map_lock (NULL = -EAGAIN), set_pte_at of the
 *                new anon page, pte_unmap_unlock. It takes no folio lock, so the locked new_folio does
 *                not hold it off: this is the path Jann Horn raised against Hugh's v1 (B2.4).
 *                Parameter `anon` (default 1).
 *   uffdio_writeprotect  (parameter uffd_wp, default 0) UFFDIO_REGISTER(MODE_WP) sets VM_UFFD_WP,
 *                then UFFDIO_WRITEPROTECT: pte_alloc if none, pte_offset_map_lock, a uffd-wp marker on
 *                its none pte (shmem uses markers), unlock. No folio lock.
 *   madv_guard_install   (parameter guard, default 0) sets VMA_MAYBE_GUARD_BIT atomically, then the
 *                page walk: pte_alloc if none, pte_offset_map_lock, a guard marker on its none pte.
 *   uffdio_copy_shared   (parameter shared_copy, default 0) UFFDIO_COPY on a MAP_SHARED shmem vma:
 *                mfill_atomic populates the pmd (__pte_alloc) before shmem_mfill_atomic_pte fails with
 *                -EEXIST (the new folio is in the page cache): an empty table no recheck looks at.
 *   rcu          runs pte_free_now / tlb_remove_table_rcu once the grace period has ended.
 *
 * Emptiness of a retracted table (why nothing else writes it): the table T1 starts empty (collapse_file
 * has already unmapped the old folios), and every page-cache page of the range is the new folio, which
 * khugepaged holds locked until after retract_page_tables(): a fault takes the folio lock before
 * finish_fault ever installs a table or a pte, so the fault threads run their table/pte work only after
 * khugepaged's folio_unlock. (Fault-around, filemap_map_pages, skips locked folios before it installs a
 * table, so it adds nothing here.) The writers that do not need the folio each set a vma flag before
 * the ptl section that writes: UFFDIO_COPY sets vma->anon_vma, UFFDIO_REGISTER(WP) VM_UFFD_WP,
 * MADV_GUARD_INSTALL VMA_MAYBE_GUARD; those are what the recheck under ptl looks at. The only other
 * table installer, UFFDIO_COPY on a shared vma, leaves its table empty: retracting that table (other
 * than T1, after MADV_DONTNEED reclaimed T1) is the case of Qi's check_pmd_state comment.
 *
 * Steps and the mainline code they follow (mainline = torvalds/linux as of v6.18; releases as checked in
 * models/README.md, "Releases"; one marked UNCONFIRMED was not found there):
 *   khugepaged  find_pmd_or_thp_or_none .. pte_free_defer: retract_page_tables(), mm/khugepaged.c:
 *               lockless walk without mmap_lock and pte_free_defer from 1d65b771bc08 (Hugh Dickins,
 *               v6.6); check_pmd_state under pml from 6c18ec9af86c (Qi Zheng, v6.14);
 *               file_backed_vma_is_retractable (both calls) from Lorenzo Stoakes' 2025 guard-region
 *               fix (release UNCONFIRMED); folio_unlock: collapse_file() after retract_page_tables()
 *   madvise     pmd_none: zap_pmd_range(); rcu_read_lock .. pmd_same: __pte_offset_map_lock()
 *               (mm/pgtable-generic.c, 0d940a9b270b, v6.5, + a349d72fd9ef, v6.6); do_zap_pte_range,
 *               try_get_and_clear_pmd, pte_unmap_unlock: zap_pte_range() with PT_RECLAIM (6375e95f381e,
 *               v6.14, and "mm: pgtable: fix incorrect reclaim of non-empty PTE pages", Qi Zheng, Feb 11
 *               2025, which makes direct_reclaim false on every early exit: mainline sha UNCONFIRMED);
 *               pmd_lock .. spin_unlock(pml):
 *               try_to_free_pte() (mm/pt_reclaim.c, 6375e95f381e); pte_free_tlb, mm_dec_nr_ptes: free_pte()
 *   fault<i>    folio_lock: filemap_fault() (__do_fault); pmd_none .. pte_free: __pte_alloc() ->
 *               pmd_install() (mm/memory.c); rcu_read_lock .. pte_unmap_unlock: finish_fault() through
 *               pte_offset_map_lock (v6.5/v6.6 as above); folio_unlock: the fault's unlock of the folio
 *   uffdio_copy anon_vma_prepare, pmd_none .. pte_free: mfill_atomic() (mm/userfaultfd.c); the rest:
 *               mfill_atomic_install_pte()
 *   uffdio_writeprotect  userfaultfd_register: userfaultfd_register() (VM_UFFD_WP); pmd_none ..:
 *               mwriteprotect_range() -> change_protection() -> change_pmd_range()/change_pte_range()
 *               (mm/mprotect.c, pte markers since v6.0 UNCONFIRMED)
 *   madv_guard_install   vma_set_atomic_flag(VMA_MAYBE_GUARD): madvise_guard_install() (mm/madvise.c,
 *               2025); pmd_none ..: the install page walk (mm/pagewalk.c) and guard_install_set_pte
 *   uffdio_copy_shared   pmd_none .. pte_free: mfill_atomic()'s __pte_alloc; shmem_mfill_atomic_pte:
 *               mm/shmem.c, -EEXIST from shmem_add_to_page_cache()
 *   rcu         pte_free_now (pte_free_defer's callback, mm/pgtable-generic.c, 13cf577e6b66, v6.6) and
 *               tlb_remove_table_rcu (mm/mmu_gather.c)
 *
 * Variants (expected results at the default parameters; see specs/retract-page-tables.ts):
 *   upstream                  mainline: check_pmd_state under pml, retractable recheck under ptl,
 *                             trylock of pml under ptl in the zap path.                         SAFE
 *   pre-recheck               before 6c18ec9af86c: pte_lockptr right after pmd_lock, no
 *                             check_pmd_state (B2.7). MADV_DONTNEED frees the table between the
 *                             lockless peek and pmd_lock: pte_lockptr and pte_free_defer of a none
 *                             pmd, nr_ptes decremented twice.                               VIOLATED
 *   checks-before-locks-only  anon_vma/userfaultfd_wp tested only before the locks, as in Hugh
 *                             Dickins' v1 09/12 "retract_page_tables() without mmap or vma lock"
 *                             (May 28 2023), on top of today's code (B2.4): a table holding
 *                             UFFDIO_COPY's anon pte is freed.                               VIOLATED
 *   upstream-uffd-wp          mainline with the uffdio_writeprotect writer (faults=0, anon=0).  SAFE
 *   upstream-guard            mainline with the madv_guard_install writer (faults=0, anon=0).   SAFE
 *   upstream-shared-copy      mainline with uffdio_copy_shared (faults=0, anon=0): an empty table
 *                             installed after T1's reclaim is retracted.                        SAFE
 *   no-anon-vma-recheck       (analysis) the recheck under ptl leaves out anon_vma.      VIOLATED
 *   no-uffd-wp-recheck        (analysis) ... leaves out userfaultfd_wp (uffd_wp=1).      VIOLATED
 *   no-guard-recheck          (analysis) ... leaves out VMA_MAYBE_GUARD (guard=1).        VIOLATED
 *                             Each: the writer sets its flag after the optimistic check, installs
 *                             its pte or marker under ptl, and retract frees that table.
 *   spin-lock-pml             (analysis) try_get_and_clear_pmd with spin_lock(pml) instead of
 *                             spin_trylock: ptl -> pml against retract's pml -> ptl.   DEADLOCK
 *
 * Abstracted, and why that is sound here:
 *   - one vma, one pmd and its pml; khugepaged visits that vma once (the vma_interval_tree loop runs
 *     one iteration); i_mmap_lock, hpage_collapse_test_exit and the range/alignment checks are left out
 *     (they never change during the run);
 *   - the marker writers run only in their own variants (parameters default 0, and those rows fix
 *     faults=0, anon=0): each alone keeps a run near 6,000 states, both at once with a fault go past
 *     3 M. The writers do not interact with one another (different flags, different pte slots), so one
 *     writer per run covers each recheck. MMU notifiers and the TLB flush of pmdp_collapse_flush are
 *     left out (no secondary MMU or hardware walker here: see pt-reclaim-rcu-free for walkers of a
 *     detached table);
 *   - UFFDIO_REGISTER is merged into the writer's first step (it takes mmap_write_lock, which retract
 *     does not take, so nothing here orders against it); VM_UFFD_WP and VMA_MAYBE_GUARD stay set;
 *   - finish_fault's do_set_pmd (map the PMD-sized folio with a huge pmd) is left out: the model takes
 *     its VM_FAULT_FALLBACK branch, the one that installs a PTE table and so the one that races with
 *     table reclaim;
 *   - UFFDIO_COPY's -EEXIST check of the pmd after __pte_alloc and the pte_none check under ptl are
 *     left out: the first only ends the ioctl early (pte_offset_map_lock returns NULL in the same
 *     states), the second always passes (no other thread writes that address);
 *   - zap_pte_range's need_resched/force_break exits (direct_reclaim = false) are left out: the slow
 *     path is reached through a failed trylock, which covers the same code;
 *   - pte_free_tlb is modelled as its call_rcu (PT_RECLAIM frees both the batch and the single-table
 *     fallback by RCU; pt-reclaim-rcu-free models both): queuing it at pte_free_tlb rather than at
 *     tlb_finish_mmu starts the grace period earlier, which can only free sooner (conservative);
 *   - the remover's own rcu_read_lock inside pte_offset_map_rw_nolock is omitted: it holds pml, so
 *     *pmd and the table are stable under it;
 *   - tables are never reused after free. RCU is consolidated (mainline since v4.20,
 *     src/kernel/rcu.ts): holding pml or a ptl is a read-side section, so a table queued by
 *     pte_free_defer / pte_free_tlb is not freed while another thread still holds a spinlock it took
 *     before the call_rcu; the new_folio lock (PG_locked) is a sleeping lock and not a read section.
 *     No verdict depends on it: every violation below is at the free itself (garbage, non-empty, the
 *     pmd-none dereference) or a lock-order deadlock, and nothing here waits for a grace period.
 *   - the split ptlock has its own lifetime (kernelState separatePtlock, ALLOC_SPLIT_PTLOCKS):
 *     it is freed where mainline frees it, in the same step as its table: pte_free_now() and __tlb_remove_table() (pagetable_dtor_free).
 */

import { BLOCKED, DONE, defineModel, thread } from '../src/model/model.ts';
import { bool, record } from '../src/model/schema.ts';
import {
  Fault,
  PMD_NONE,
  PTE_MARKER,
  callRcu,
  pteAlloc,
  pteOffsetMapLock,
  kernelState,
  lock,
  mmDecNrPtes,
  pmdEntry,
  ptEmpty,
  pagetableDtorFree,
  ptInitInstalled,
  ptlHeld,
  ptlLock,
  ptlUnlock,
  rcuReadUnlock,
  rcuThread,
  pteMarker,
  raise,
  readPte,
  setPte,
  spinLock,
  spinTrylock,
  spinUnlock,
  tableRef,
} from '../src/kernel/index.ts';

// rcu callback ids are 1-based, in the order given to kernelState
const PTE_FREE_NOW = 1;
const TLB_REMOVE_TABLE_RCU = 2;

export const FILE_PAGE = 1; // a subpage of the new folio, mapped by a fault
export const ANON_PAGE = 2; // the page UFFDIO_COPY allocates and maps

interface Params {
  readonly faults: number;
  readonly anon: number;
  readonly uffd_wp: number;
  readonly guard: number;
  readonly shared_copy: number;
}

/**
 * T1 (initial), one for UFFDIO_COPY's __pte_alloc, two per fault (its first install and one refault),
 * one for each marker writer's pte_alloc.
 */
const tablesFor = (p: Params) => 1 + p.anon + 2 * p.faults + p.uffd_wp + p.guard + p.shared_copy;
/** PTE slots: one per fault (0..faults-1), UFFDIO_COPY's, then each marker writer's. */
const ptesFor = (p: Params) => p.faults + 1 + p.uffd_wp + p.guard;

export function state(p: Params) {
  return kernelState(
    { tables: tablesFor(p), ptes: ptesFor(p), rcuCallbacks: ['pte_free_now', 'tlb_remove_table_rcu'], separatePtlock: true },
    {
      pmd: pmdEntry(),
      pml: lock(),
      /** vma->anon_vma (set once by anon_vma_prepare) */
      anon_vma: bool(),
      /** userfaultfd_wp(vma): VM_UFFD_WP, set by UFFDIO_REGISTER(MODE_WP) */
      uffd_wp: bool(),
      /** VMA_MAYBE_GUARD_BIT, set atomically by MADV_GUARD_INSTALL before it installs markers */
      maybe_guard: bool(),
      /** the PG_locked bit of the collapsed new_folio (a sleeping lock: a waiter blocks) */
      new_folio: lock(),
      /** ghost state for the vacuity guards only: no step reads it */
      ghost: record({ retracted: bool(), retracted_other: bool(), zap_fast: bool(), zap_slow: bool() }),
    },
  );
}
export type St = ReturnType<typeof state>;

const KHUGEPAGED_TID = 0; // declared first in build(): it owns new_folio from the start

const isTable = (v: number) => v > 0;

/**
 * folio_lock / folio_unlock of new_folio. PG_locked is a sleeping lock: a waiter sleeps, and holding it
 * neither disables preemption nor makes the holder an RCU reader, so it is a lock cell written directly
 * (not spinLock, which raises preempt_count). Unlock by a non-owner is still a fault, and the lock exit
 * hook still sees it held.
 */
function folioLock(s: any, me: any): boolean {
  if (s.new_folio.v !== 0) return false;
  s.new_folio.v = me.tid + 1;
  return true;
}
function folioUnlock(s: any, me: any): void {
  if (s.new_folio.v !== me.tid + 1) raise(s, Fault.UNLOCK_NOT_OWNER);
  else s.new_folio.v = 0;
}

/** pte_free_defer(mm, pmd_pgtable(pgt_pmd)): call_rcu(pte_free_now) on the table's own rcu_head. */
function pteFreeDefer(s: any, me: any, t: number): void {
  // pmd_pgtable() of a none pmd names no table: queuing it is already the fault, which the free records
  if (t <= 0) pagetableDtorFree(s, t);
  else callRcu(s, me, t - 1, PTE_FREE_NOW, t);
}

/** ptl = pte_lockptr(mm, pmd); spin_lock_nested(ptl): *pmd is stable under pml (every writer holds it). */
function pteLockptrAndLock<const L extends string>(next: L) {
  return (s: any, me: any) => {
    me.ptl = s.pmd.v;
    return ptlLock(s, me, me.ptl) ? next : BLOCKED;
  };
}

/** The three vma conditions file_backed_vma_is_retractable() tests (mm/khugepaged.c, mainline). */
type Recheck = 'anon_vma' | 'uffd_wp' | 'maybe_guard';

/**
 * file_backed_vma_is_retractable(vma): no anon_vma (MAP_PRIVATE with anon pages), !userfaultfd_wp
 * (uffd-wp markers), !VMA_MAYBE_GUARD_BIT (guard markers). `skip` leaves one condition out (the
 * drop-one-recheck variants apply it to the recheck under ptl only).
 */
function retractable(s: any, skip?: Recheck): boolean {
  return !((skip !== 'anon_vma' && s.anon_vma) || (skip !== 'uffd_wp' && s.uffd_wp) || (skip !== 'maybe_guard' && s.maybe_guard));
}

/** The recheck under ptl ("likely(file_backed_vma_is_retractable(vma))"), optionally without one condition. */
function recheckUnderPtl(skip?: Recheck) {
  return (s: any) => (retractable(s, skip) ? ('pmdp_collapse_flush' as const) : ('spin_unlock(ptl)' as const));
}

export function khugepaged(st: St) {
  return thread(st, {
    locals: { ptl: tableRef(), pgt: tableRef(), success: bool() },
    steps: {
      find_pmd_or_thp_or_none: (s) => (isTable(s.pmd.v) ? 'file_backed_vma_is_retractable' : 'folio_unlock'),
      file_backed_vma_is_retractable: (s) => (retractable(s) ? 'pmd_lock' : 'folio_unlock'),
      pmd_lock: (s, me) => (spinLock(me, s.pml) ? 'check_pmd_state' : BLOCKED),
      check_pmd_state: (s) => (isTable(s.pmd.v) ? 'spin_lock_nested(ptl)' : 'drop_pml'),
      'spin_lock_nested(ptl)': pteLockptrAndLock('likely(file_backed_vma_is_retractable)'),
      'likely(file_backed_vma_is_retractable)': recheckUnderPtl(),
      pmdp_collapse_flush: (s, me) => {
        me.pgt = s.pmd.v;
        s.pmd.v = PMD_NONE;
        me.success = true;
        if (isTable(me.pgt)) s.ghost.retracted = true;
        if (me.pgt > 1) s.ghost.retracted_other = true; // a table installed after T1 was reclaimed
        return 'spin_unlock(ptl)';
      },
      'spin_unlock(ptl)': (s, me) => {
        ptlUnlock(s, me, me.ptl);
        return 'drop_pml';
      },
      drop_pml: (s, me) => {
        spinUnlock(s, me, s.pml);
        return me.success ? 'mm_dec_nr_ptes' : 'folio_unlock';
      },
      mm_dec_nr_ptes: (s) => {
        mmDecNrPtes(s);
        return 'pte_free_defer';
      },
      pte_free_defer: (s, me) => {
        pteFreeDefer(s, me, me.pgt);
        return 'folio_unlock';
      },
      folio_unlock: (s, me) => {
        folioUnlock(s, me); // collapse_file: folio_unlock(new_folio) after retract_page_tables
        return DONE;
      },
    },
  });
}

/** madvise(MADV_DONTNEED) over the whole pmd range, with PT_RECLAIM. */
export function madvise(st: St) {
  return thread(st, {
    locals: { pmdval: tableRef(), cleared: bool(), slow: bool(), any_skipped: bool() },
    steps: {
      // zap_pmd_range: a none pmd is skipped
      pmd_none: (s) => (isTable(s.pmd.v) ? 'rcu_read_lock' : DONE),
      // pte_offset_map_lock; nomap: zap_pte_range returns early and zap_pmd_range looks at the pmd again
      ...pteOffsetMapLock({ locked: 'do_zap_pte_range', nomap: () => 'pmd_none' }),
      do_zap_pte_range: (s, me) => {
        // every pte of the range, one step: all pte writers hold this ptl. MADV_DONTNEED (no
        // ZAP_FLAG_DROP_MARKER) keeps uffd-wp and guard markers: any_skipped, so no table reclaim.
        const n = s.pt[0]!.pte.length;
        for (let i = 0; i < n; i++) {
          const v = readPte(s, me.pmdval, i);
          if (v === 0) continue;
          if (pteMarker(v) !== undefined) me.any_skipped = true;
          else setPte(s, me, me.pmdval, i, 0);
        }
        return me.any_skipped ? 'pte_unmap_unlock' : 'try_get_and_clear_pmd'; // can_reclaim_pt = false
      },
      try_get_and_clear_pmd: (s, me) => {
        // spin_trylock(pml); pmdval = *pmd; pmd_clear; spin_unlock(pml) as one step: every writer of *pmd
        // holds pml and every pte writer holds our ptl, so the lockless readers of *pmd see one store.
        if (!spinTrylock(me, s.pml)) return 'pte_unmap_unlock'; // direct_reclaim = false
        me.pmdval = s.pmd.v;
        s.pmd.v = PMD_NONE;
        spinUnlock(s, me, s.pml);
        me.cleared = true;
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        rcuReadUnlock(s, me);
        if (me.any_skipped) return DONE;
        return me.cleared ? 'pte_free_tlb' : 'pmd_lock';
      },
      // try_to_free_pte (slow path)
      pmd_lock: (s, me) => {
        me.slow = true;
        return spinLock(me, s.pml) ? 'pte_offset_map_rw_nolock' : BLOCKED;
      },
      pte_offset_map_rw_nolock: (s, me) => {
        me.pmdval = s.pmd.v; // under pml: stable
        return isTable(me.pmdval) ? 'spin_lock_nested(ptl)' : 'out_ptl';
      },
      'spin_lock_nested(ptl)': (s, me) => (ptlLock(s, me, me.pmdval) ? 'ptep_get' : BLOCKED),
      ptep_get: (s, me) => (ptEmpty(s, me.pmdval) ? 'pmd_clear' : 'out_ptl'),
      pmd_clear: (s, me) => {
        s.pmd.v = PMD_NONE;
        me.cleared = true;
        return 'spin_unlock(ptl)';
      },
      'spin_unlock(ptl)': (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        return 'spin_unlock(pml)';
      },
      out_ptl: (s, me) => {
        if (isTable(me.pmdval) && ptlHeld(s, me, me.pmdval)) ptlUnlock(s, me, me.pmdval); // pte_unmap_unlock
        return 'spin_unlock(pml)';
      },
      'spin_unlock(pml)': (s, me) => {
        spinUnlock(s, me, s.pml);
        return me.cleared ? 'pte_free_tlb' : DONE;
      },
      // free_pte
      pte_free_tlb: (s, me) => {
        callRcu(s, me, me.pmdval - 1, TLB_REMOVE_TABLE_RCU, me.pmdval);
        if (me.slow) s.ghost.zap_slow = true;
        else s.ghost.zap_fast = true;
        return 'mm_dec_nr_ptes';
      },
      mm_dec_nr_ptes: (s) => {
        mmDecNrPtes(s);
        return DONE;
      },
    },
  });
}

/** A read fault on page `index` of the range (do_read_fault -> __do_fault -> finish_fault). */
export function fault(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: { new: tableRef(), pmdval: tableRef(), refault: bool() },
    steps: {
      folio_lock: (s, me) => (folioLock(s, me) ? 'pmd_none' : BLOCKED), // filemap_fault
      ...pteAlloc('rcu_read_lock'),
      // pte_offset_map_lock; NULL: VM_FAULT_NOPAGE, the CPU refaults
      ...pteOffsetMapLock({
        locked: 'set_pte_at',
        nomap: (_s, me) => {
          me.refault = true;
          return 'folio_unlock';
        },
      }),
      set_pte_at: (s, me) => {
        setPte(s, me, me.pmdval, me.index, FILE_PAGE);
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        rcuReadUnlock(s, me);
        return 'folio_unlock';
      },
      folio_unlock: (s, me) => {
        folioUnlock(s, me);
        if (!me.refault) return DONE;
        me.refault = false;
        return 'folio_lock';
      },
    },
  });
}

/** UFFDIO_COPY of one page into the last address of the range (mfill_atomic, private shmem vma). */
export function uffdioCopy(st: St, addr: number, count: number) {
  return thread(st, {
    count,
    locals: { new: tableRef(), pmdval: tableRef() },
    steps: {
      anon_vma_prepare: (s) => {
        s.anon_vma = true;
        return 'pmd_none';
      },
      ...pteAlloc('rcu_read_lock'),
      // pte_offset_map_lock; NULL: -EAGAIN to userspace
      ...pteOffsetMapLock({ locked: 'set_pte_at', nomap: () => DONE }),
      set_pte_at: (s, me) => {
        setPte(s, me, me.pmdval, addr, ANON_PAGE);
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        rcuReadUnlock(s, me);
        return DONE;
      },
    },
  });
}

/**
 * A writer of pte markers that sets its vma flag first, then installs the marker under ptl:
 *   uffdio_writeprotect  UFFDIO_REGISTER(MODE_WP) sets VM_UFFD_WP (userfaultfd_wp), then
 *                        UFFDIO_WRITEPROTECT -> change_protection(MM_CP_UFFD_WP) -> change_pmd_range
 *                        (pte_alloc for markers) -> change_pte_range: pte_offset_map_lock, a none pte
 *                        gets PTE_MARKER_UFFD_WP (userfaultfd_wp_use_markers: shmem)
 *   madv_guard_install   madvise_guard_install(): vma_set_atomic_flag(VMA_MAYBE_GUARD_BIT) under
 *                        mmap_read_lock, then the page walk (installing a table if none) sets
 *                        PTE_MARKER_GUARD under the walk's ptl (Lorenzo Stoakes, 2025: the flag is
 *                        set before the ptl that installs, which is what retract's recheck relies on)
 */
export function markerWriter<const F extends string>(st: St, count: number, addr: number, setFlag: F, flag: 'uffd_wp' | 'maybe_guard', marker: number) {
  return thread(st, {
    count,
    locals: { new: tableRef(), pmdval: tableRef() },
    steps: {
      ...({
        [setFlag]: (s: any) => {
          s[flag] = true;
          return 'pmd_none' as const;
        },
      } as { [K in F]: (s: any) => 'pmd_none' }),
      ...pteAlloc('rcu_read_lock'),
      // pte_offset_map_lock; NULL: the range is retried by the caller or -EAGAIN (nothing installed)
      ...pteOffsetMapLock({ locked: 'set_pte_at', nomap: () => DONE }),
      set_pte_at: (s: any, me: any) => {
        if (readPte(s, me.pmdval, addr) === 0) setPte(s, me, me.pmdval, addr, marker); // only on a none pte
        return 'pte_unmap_unlock' as const;
      },
      pte_unmap_unlock: (s: any, me: any) => {
        ptlUnlock(s, me, me.pmdval);
        rcuReadUnlock(s, me);
        return DONE;
      },
    },
  });
}

/**
 * UFFDIO_COPY into a MAP_SHARED shmem vma registered MISSING (mfill_atomic, mm/userfaultfd.c): the
 * pmd is populated first (__pte_alloc when pmd_none), then shmem_mfill_atomic_pte() finds the index
 * already in the page cache (the new folio) and fails with -EEXIST. A shared vma has no anon_vma, and
 * MISSING mode sets no userfaultfd_wp: it installs an empty table that no recheck looks at.
 */
export function uffdioCopyShared(st: St, count: number) {
  return thread(st, {
    count,
    locals: { new: tableRef() },
    steps: {
      ...pteAlloc('shmem_mfill_atomic_pte'),
      shmem_mfill_atomic_pte: () => DONE, // shmem_add_to_page_cache: -EEXIST
    },
  });
}

export default defineModel({
  name: 'retract-page-tables',
  title: "khugepaged's retract_page_tables() against MADV_DONTNEED table reclaim, faults and UFFDIO_COPY",
  doc: 'protocols.md §2 (B2.4, B2.7) and §3: retract_page_tables() frees a PTE table under pml+ptl without checking it is empty, while zap_pte_range() reclaims empty tables, a fault re-installs one and UFFDIO_COPY maps an anon page.',
  params: {
    faults: { min: 0, max: 3, default: 1, doc: 'read-fault threads (each maps its own page of the collapsed range)' },
    anon: { min: 0, max: 1, default: 1, doc: '1: the uffdio_copy thread (anon_vma_prepare, then an anon pte under ptl)' },
    uffd_wp: { min: 0, max: 1, default: 0, doc: '1: a uffdio_writeprotect thread (UFFDIO_REGISTER(WP) sets userfaultfd_wp, then a uffd-wp marker under ptl)' },
    shared_copy: { min: 0, max: 1, default: 0, doc: '1: a uffdio_copy_shared thread (UFFDIO_COPY on a shared vma: installs an empty table, then -EEXIST)' },
    guard: { min: 0, max: 1, default: 0, doc: '1: a madv_guard_install thread (sets VMA_MAYBE_GUARD, then a guard marker under ptl)' },
  },
  build: (p) => {
    const st = state(p);
    return {
      state: st,
      init: (s: any) => {
        ptInitInstalled(s, s.pmd, 1);
        s.new_folio.v = KHUGEPAGED_TID + 1; // new_folio is created locked by khugepaged (collapse_file)
      },
      threads: {
        khugepaged: khugepaged(st),
        madvise: madvise(st),
        fault: fault(st, p.faults),
        uffdio_copy: uffdioCopy(st, p.faults, p.anon),
        rcu: rcuThread(
          st,
          ['pte_free_now', 'tlb_remove_table_rcu'],
          { pte_free_now: (s, t) => pagetableDtorFree(s, t), tlb_remove_table_rcu: (s, t) => pagetableDtorFree(s, t) },
          tablesFor(p),
        ),
        uffdio_writeprotect: markerWriter(st, p.uffd_wp, p.faults + 1, 'userfaultfd_register', 'uffd_wp', PTE_MARKER.UFFD_WP),
        uffdio_copy_shared: uffdioCopyShared(st, p.shared_copy),
        madv_guard_install: markerWriter(st, p.guard, p.faults + 1 + p.uffd_wp, 'vma_set_atomic_flag(VMA_MAYBE_GUARD)', 'maybe_guard', PTE_MARKER.GUARD),
      },
    };
  },
  variants: {
    upstream: {
      summary: 'mainline: check_pmd_state under pml, retractable recheck under ptl, spin_trylock(pml) under ptl in zap',
      patch: '6c18ec9af86c "mm: khugepaged: recheck pmd state in retract_page_tables()" (Qi Zheng, Dec 2024) + PT_RECLAIM 6375e95f381e',
    },
    'pre-recheck': {
      summary: 'no check_pmd_state after pmd_lock: pte_lockptr straight after taking pml (B2.7)',
      patch: 'retract_page_tables() as before 6c18ec9af86c (Hugh Dickins 1d65b771bc08), racing with PT_RECLAIM',
      apply: (d) => {
        d.threads.khugepaged.steps.pmd_lock = (s: any, me: any) => (spinLock(me, s.pml) ? 'spin_lock_nested(ptl)' : BLOCKED);
      },
    },
    'checks-before-locks-only': {
      summary: 'anon_vma/userfaultfd_wp checked only before the locks, no recheck under ptl (B2.4)',
      patch: 'Hugh Dickins v1 09/12 "mm/khugepaged: retract_page_tables() without mmap or vma lock" (May 28 2023); Jann Horn May 31 2023',
      apply: (d) => {
        d.threads.khugepaged.steps['spin_lock_nested(ptl)'] = pteLockptrAndLock('pmdp_collapse_flush');
      },
    },
    'upstream-uffd-wp': {
      summary: 'mainline with the uffdio_writeprotect writer: userfaultfd_wp is rechecked under ptl',
      patch: '1d65b771bc08 "mm/khugepaged: retract_page_tables() without mmap or vma lock" (Hugh Dickins, v6.6): anon_vma and userfaultfd_wp rechecked under ptl',
      params: { faults: 0, anon: 0, uffd_wp: 1 },
    },
    'upstream-guard': {
      summary: 'mainline with the madv_guard_install writer: VMA_MAYBE_GUARD is rechecked under ptl',
      patch: 'Lorenzo Stoakes, 2025: VM_MAYBE_GUARD set atomically by madvise_guard_install() and tested in file_backed_vma_is_retractable() under ptl',
      params: { faults: 0, anon: 0, guard: 1 },
    },
    'upstream-shared-copy': {
      summary: 'mainline with UFFDIO_COPY on a shared vma: an empty table installed after T1 is reclaimed is retracted',
      patch: '6c18ec9af86c: check_pmd_state asks only that *pmd still hold a table ("a new PTE page ... is still empty and can be removed")',
      params: { faults: 0, anon: 0, shared_copy: 1 },
    },
    'no-anon-vma-recheck': {
      summary: 'the recheck under ptl leaves out anon_vma (uffd-wp and guard still rechecked)',
      patch: 'analysis: one condition of file_backed_vma_is_retractable() dropped from the recheck',
      apply: (d) => {
        d.threads.khugepaged.steps['likely(file_backed_vma_is_retractable)'] = recheckUnderPtl('anon_vma');
      },
    },
    'no-uffd-wp-recheck': {
      summary: 'the recheck under ptl leaves out userfaultfd_wp, with the uffdio_writeprotect writer',
      patch: 'analysis: one condition of file_backed_vma_is_retractable() dropped from the recheck',
      params: { faults: 0, anon: 0, uffd_wp: 1 },
      apply: (d) => {
        d.threads.khugepaged.steps['likely(file_backed_vma_is_retractable)'] = recheckUnderPtl('uffd_wp');
      },
    },
    'no-guard-recheck': {
      summary: 'the recheck under ptl leaves out VMA_MAYBE_GUARD, with the madv_guard_install writer',
      patch: 'analysis: one condition of file_backed_vma_is_retractable() dropped from the recheck (the optimistic check keeps it)',
      params: { faults: 0, anon: 0, guard: 1 },
      apply: (d) => {
        d.threads.khugepaged.steps['likely(file_backed_vma_is_retractable)'] = recheckUnderPtl('maybe_guard');
      },
    },
    'spin-lock-pml': {
      summary: 'try_get_and_clear_pmd takes pml with spin_lock under ptl instead of spin_trylock (analysis)',
      patch: 'analysis: the pml -> ptl lock order that makes try_get_and_clear_pmd() use spin_trylock (protocols.md §3a)',
      apply: (d) => {
        // blocks until pml is free, then clears and unlocks; still under ptl: ptl -> pml
        d.threads.madvise.steps.try_get_and_clear_pmd = (s: any, me: any) => {
          if (!spinLock(me, s.pml)) return BLOCKED;
          me.pmdval = s.pmd.v;
          s.pmd.v = PMD_NONE;
          spinUnlock(s, me, s.pml);
          me.cleared = true;
          return 'pte_unmap_unlock';
        };
      },
    },
  },
});
