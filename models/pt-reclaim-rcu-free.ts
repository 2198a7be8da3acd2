/*
 * pt-reclaim-rcu-free — is an empty PTE table that MADV_DONTNEED reclaims still in use by a lockless
 * walker when it is freed? RCU freeing against "semi RCU" (an IPI, then an immediate free).
 *
 * Kernel code followed (protocols.md §3 (B3.1), §7; seed 003 cover letter):
 *   mm/memory.c        zap_pte_range() with PT_RECLAIM: pte_offset_map_lock, zap, try_get_and_clear_pmd
 *                      under ptl, pte_unmap_unlock, free_pte -> pte_free_tlb
 *   mm/mmu_gather.c    tlb_remove_table(): the batch page (call_rcu(tlb_remove_table_rcu) when the
 *                      gather is flushed), or, when __get_free_page(GFP_NOWAIT) fails, the single-table
 *                      fallback tlb_remove_table_one():
 *                        PT_RECLAIM:  call_rcu(&ptdesc->pt_rcu_head, __tlb_remove_table_one_rcu)
 *                                     (718b13861d22 "x86: mm: free page table pages by RCU instead of
 *                                     semi RCU", Qi Zheng, Dec 2024; later moved to generic code)
 *                        before:      tlb_remove_table_sync_one() (smp_call_function, wait=1), then
 *                                     __tlb_remove_table() at once
 *   mm/pgtable-generic.c  __pte_offset_map_lock() (rcu_read_lock, snapshot, ptl, pmd_same)
 *   mm/gup.c           gup_fast_pmd_range() / gup_fast_pte_range() inside local_irq_save(), with the
 *                      pmd and pte rechecks after try_grab_folio_fast (70cbc3cc78a9)
 *
 * Threads:
 *   madvise     MADV_DONTNEED of the whole pmd range: maps and locks the table, zaps its one pte,
 *               clears *pmd (try_get_and_clear_pmd), unlocks, and frees the table through
 *               tlb_remove_table: the batch path or the single-table fallback, a nondeterministic
 *               choice standing for whether __get_free_page(GFP_NOWAIT) found a page.
 *   fault<i>    a pte_offset_map_lock walker with IRQs enabled (a page fault, or any pte_offset_map_lock
 *               user): rcu_read_lock, lockless snapshot of *pmd, spin_lock of the snapshot table's ptl,
 *               pmd_same (goto again), ptep_get, pte_unmap_unlock.
 *   gup_fast<i> GUP-fast: local_irq_save, *pmd read locklessly, pte_offset_map on that local copy (no
 *               recheck), ptep_get_lockless, try_grab_folio_fast, recheck pmd then pte (drop the pin on
 *               a change), pte_unmap, local_irq_restore. It takes no lock: only IRQs-off protects it.
 *   rcu         runs tlb_remove_table_rcu / __tlb_remove_table_one_rcu after their grace periods.
 *
 * Semantics that decide the verdicts (src/kernel/irq.ts, rcu.ts): IRQs-off is an RCU read section
 * (consolidated RCU); tlb_remove_table_sync_one is `ipiSync`, which completes once every CPU that had
 * IRQs disabled when it was sent has re-enabled them; a CPU with IRQs enabled takes it at once, whether
 * or not it is inside rcu_read_lock().
 *
 * Steps and the mainline code they follow:
 *   madvise   pte_offset_map_lock .. pte_unmap_unlock: zap_pte_range() with PT_RECLAIM (mm/memory.c,
 *             6375e95f381e, v6.14); try_get_and_clear_pmd: mm/pt_reclaim.c; tlb_remove_table
 *             (the batch-page choice), tlb_table_flush (tlb_finish_mmu -> tlb_remove_table_free),
 *             __tlb_remove_table_one (PT_RECLAIM's call_rcu fallback, 718b13861d22), and for semi-rcu
 *             tlb_remove_table_sync_one + __tlb_remove_table (mm/mmu_gather.c before 718b13861d22)
 *   fault<i>  rcu_read_lock .. pte_unmap_unlock: __pte_offset_map_lock() (mm/pgtable-generic.c,
 *             0d940a9b270b, v6.5, and a349d72fd9ef, v6.6) and ptep_get()
 *   gup_fast  local_irq_save .. local_irq_restore: gup_fast() -> gup_fast_pmd_range() ->
 *             gup_fast_pte_range() (mm/gup.c; the pmd and pte rechecks after try_grab_folio_fast from
 *             70cbc3cc78a9)
 *   rcu       tlb_remove_table_rcu, __tlb_remove_table_one_rcu: mm/mmu_gather.c callbacks (the table's
 *             pagetable_dtor_free)
 *
 * Variants (expected results at the default parameters; see specs/pt-reclaim-rcu-free.ts):
 *   rcu                     PT_RECLAIM: batch and single-table paths both free by RCU.          SAFE
 *   semi-rcu                the single-table fallback is IPI + immediate free (B3.1): the IPI does not
 *                           wait for the rcu_read_lock() walker, which then locks the freed table's
 *                           ptl.                                              VIOLATED (use-after-free)
 *   semi-rcu-gup-fast-only  the same freeing with only the IRQs-off walker present (faults=0): the
 *                           IPI waits for GUP-fast to re-enable IRQs.                           SAFE
 *
 * Abstracted, and why that is sound here:
 *   - one pmd, one table T1 with one pte; madvise is the only writer of *pmd, so its
 *     pte_offset_map_lock (rcu_read_lock, snapshot, spin_lock, pmd_same) is one step: its snapshot is
 *     always T1 and its pmd_same always passes, and its own RCU section holds off no grace period that
 *     matters (it queues the free only after leaving it); for the same reason no other thread takes pml,
 *     so try_get_and_clear_pmd's spin_trylock always succeeds and the slow path try_to_free_pte is never
 *     taken (retract-page-tables models both paths);
 *   - the TLB flushes (tlb_table_invalidate, tlb_flush_mmu_tlbonly) are left out. On native x86 a flush
 *     IPI would also wait for IRQs-off CPUs, which only adds protection against GUP-fast; it never waits
 *     for an IRQs-enabled rcu_read_lock() walker, and paravirt / INVLPGB flushes send no IPI at all
 *     (a37259732a7d). Leaving it out can only make a variant less safe: the SAFE verdicts hold without it;
 *   - mm_dec_nr_ptes and the batch's other tables are left out (nothing here reads them); the batch's
 *     call_rcu happens at tlb_finish_mmu, modelled as the next step of madvise;
 *   - the pinned page itself is not modelled (try_grab_folio_fast / gup_put_folio only track a local):
 *     this model asks about the table's lifetime, not the page's;
 *   - tables are never reused after free. RCU is consolidated (mainline since v4.20): holding a ptl is
 *     a read-side section too; no verdict depends on it, since every thread that holds a ptl here is
 *     inside rcu_read_lock at the same time, and the semi-RCU free waits for no grace period. A
 *     spin_lock does not disable IRQs, so it does not hold off the IPI of tlb_remove_table_sync_one.
 *   - the split ptlock has its own lifetime (kernelState separatePtlock, ALLOC_SPLIT_PTLOCKS):
 *     it is freed where mainline frees it, in the same step as its table: __tlb_remove_table() and the one-table RCU callback (pagetable_dtor_free).
 */

import { BLOCKED, DONE, defineModel, thread, replaceThreads } from '../src/model/model.ts';
import { bool, int, record } from '../src/model/schema.ts';
import {
  PMD_NONE,
  attached,
  callRcu,
  ipiSync,
  pteOffsetMapLock,
  kernelState,
  localIrqDisable,
  localIrqEnable,
  pmdEntry,
  pagetableDtorFree,
  ptInitInstalled,
  ptlLock,
  ptlUnlock,
  rcuReadLock,
  rcuReadUnlock,
  rcuThread,
  readPte,
  setPte,
  tableRef,
} from '../src/kernel/index.ts';

// rcu callback ids are 1-based, in the order given to kernelState
const TLB_REMOVE_TABLE_RCU = 1;
const TLB_REMOVE_TABLE_ONE_RCU = 2;

const T1 = 1;
const PT_RCU_HEAD = 0; // T1's ptdesc->pt_rcu_head
const BATCH_RCU_HEAD = 1; // the mmu_table_batch page's rcu_head
const PAGE = 1; // the page T1's pte maps

export function state() {
  return kernelState(
    { tables: 1, ptes: 1, rcuHeads: 2, rcuCallbacks: ['tlb_remove_table_rcu', '__tlb_remove_table_one_rcu'], separatePtlock: true },
    {
      pmd: pmdEntry(),
      /** ghost state for the vacuity guards only: no step reads it */
      ghost: record({ fallback: bool(), walker_locked_detached: bool(), gup_read_detached: bool() }),
    },
  );
}
export type St = ReturnType<typeof state>;

const isTable = (v: number) => v > 0;

const tlbRemoveTableSyncOne = ipiSync('tlb_remove_table_sync_one', '__tlb_remove_table');

/** MADV_DONTNEED: zap_pte_range with PT_RECLAIM, then free_pte -> pte_free_tlb -> tlb_remove_table. */
export function madvise(st: St, semiRcu: boolean) {
  return thread(st, {
    locals: { pmdval: tableRef() },
    steps: {
      pte_offset_map_lock: (s, me) => {
        // rcu_read_lock, snapshot, spin_lock(ptl), pmd_same as one step: madvise is the only writer of *pmd
        me.pmdval = s.pmd.v;
        if (!ptlLock(s, me, me.pmdval)) return BLOCKED;
        rcuReadLock(me);
        return 'do_zap_pte_range';
      },
      do_zap_pte_range: (s, me) => {
        setPte(s, me, me.pmdval, 0, 0);
        return 'try_get_and_clear_pmd';
      },
      try_get_and_clear_pmd: (s) => {
        s.pmd.v = PMD_NONE; // spin_trylock(pml) always succeeds: nobody else takes pml here
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        rcuReadUnlock(s, me);
        return 'tlb_remove_table';
      },
      tlb_remove_table: {
        alts: 2,
        run: (s, _me, alt) => {
          if (alt === 0) return 'tlb_table_flush'; // a batch page: the table joins (*batch)->tables[]
          s.ghost.fallback = true; // __get_free_page(GFP_NOWAIT | __GFP_NOWARN) failed
          return semiRcu ? 'tlb_remove_table_sync_one' : '__tlb_remove_table_one';
        },
        show: (alt) => (alt === 0 ? 'tlb_remove_table: batch' : 'tlb_remove_table: no batch page'),
      },
      tlb_table_flush: (s, me) => {
        // tlb_finish_mmu -> tlb_flush_mmu -> tlb_table_flush -> tlb_remove_table_free
        callRcu(s, me, BATCH_RCU_HEAD, TLB_REMOVE_TABLE_RCU, me.pmdval);
        return DONE;
      },
      __tlb_remove_table_one: (s, me) => {
        callRcu(s, me, PT_RCU_HEAD, TLB_REMOVE_TABLE_ONE_RCU, me.pmdval);
        return DONE;
      },
      // smp_call_function(tlb_remove_table_smp_sync, NULL, 1)
      tlb_remove_table_sync_one: tlbRemoveTableSyncOne,
      __tlb_remove_table: (s, me) => {
        pagetableDtorFree(s, me.pmdval);
        return DONE;
      },
    },
  });
}

/** A __pte_offset_map_lock() user with IRQs enabled. */
export function fault(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: { pmdval: tableRef() },
    steps: {
      // __pte_offset_map_lock; nomap: NULL returned
      ...pteOffsetMapLock({
        locked: 'ptep_get',
        nomap: () => DONE,
        onLock: (s, me) => {
          if (!attached(s, me.pmdval)) s.ghost.walker_locked_detached = true;
        },
      }),
      ptep_get: (s, me) => {
        readPte(s, me.pmdval, 0);
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

/** GUP-fast over the range: everything between local_irq_save and local_irq_restore. */
export function gupFast(st: St, n: number) {
  const readTable = (s: any, t: number): number => {
    if (!attached(s, t)) s.ghost.gup_read_detached = true;
    return readPte(s, t, 0);
  };
  return thread(st, {
    count: n,
    locals: { pmd: tableRef(), pte: int(0, 15), pinned: bool() },
    steps: {
      local_irq_save: (s, me) => {
        localIrqDisable(s, me);
        return 'pmdp_get_lockless';
      },
      pmdp_get_lockless: (s, me) => {
        me.pmd = s.pmd.v; // gup_fast_pmd_range: pmd_t pmd = pmdp_get_lockless(pmdp)
        return isTable(me.pmd) ? 'pte_offset_map' : 'local_irq_restore';
      },
      pte_offset_map: (_s, me) => {
        rcuReadLock(me); // pte_offset_map(&pmd): on the local copy, *pmd is not read again
        return 'ptep_get_lockless';
      },
      ptep_get_lockless: (s, me) => {
        me.pte = readTable(s, me.pmd);
        return me.pte !== 0 ? 'try_grab_folio_fast' : 'pte_unmap';
      },
      try_grab_folio_fast: (_s, me) => {
        me.pinned = true;
        return 'pmd_val != pmdp_get_lockless(pmdp)';
      },
      'pmd_val != pmdp_get_lockless(pmdp)': (s, me) => (s.pmd.v !== me.pmd ? 'gup_put_folio' : 'pte_val != ptep_get_lockless(ptep)'),
      'pte_val != ptep_get_lockless(ptep)': (s, me) => (readTable(s, me.pmd) !== me.pte ? 'gup_put_folio' : 'pte_unmap'),
      gup_put_folio: (_s, me) => {
        me.pinned = false;
        return 'pte_unmap';
      },
      pte_unmap: (s, me) => {
        rcuReadUnlock(s, me);
        return 'local_irq_restore';
      },
      local_irq_restore: (s, me) => {
        localIrqEnable(s, me);
        return DONE;
      },
    },
  });
}

export default defineModel({
  name: 'pt-reclaim-rcu-free',
  title: 'MADV_DONTNEED empty-table reclaim: RCU freeing against semi-RCU (IPI + immediate free)',
  doc: 'protocols.md §3 (B3.1) and §7: a reclaimed table freed by call_rcu, or by tlb_remove_table_sync_one() and an immediate free, while an rcu_read_lock() walker and GUP-fast (IRQs off) still read it.',
  params: {
    faults: { min: 0, max: 2, default: 1, doc: 'pte_offset_map_lock walkers with IRQs enabled' },
    gups: { min: 0, max: 2, default: 1, doc: 'GUP-fast walkers (IRQs disabled)' },
  },
  build: (p) => {
    const st = state();
    return {
      state: st,
      init: (s: any) => {
        ptInitInstalled(s, s.pmd, T1);
        s.pt[T1 - 1].pte.set(0, PAGE);
      },
      threads: {
        madvise: madvise(st, false),
        fault: fault(st, p.faults),
        gup_fast: gupFast(st, p.gups),
        rcu: rcuThread(
          st,
          ['tlb_remove_table_rcu', '__tlb_remove_table_one_rcu'],
          { tlb_remove_table_rcu: (s, t) => pagetableDtorFree(s, t), __tlb_remove_table_one_rcu: (s, t) => pagetableDtorFree(s, t) },
          2,
        ),
      },
    };
  },
  variants: {
    rcu: {
      summary: 'PT_RECLAIM: the batch and the single-table fallback both free by call_rcu',
      patch: '718b13861d22 "x86: mm: free page table pages by RCU instead of semi RCU" (Qi Zheng, Dec 2024)',
    },
    'semi-rcu': {
      summary: 'single-table fallback: tlb_remove_table_sync_one() IPI, then __tlb_remove_table() at once (B3.1)',
      patch: 'mm/mmu_gather.c tlb_remove_table_one() before 718b13861d22, under MADV_DONTNEED reclaim',
      apply: (d) => replaceThreads(d, { madvise: madvise(state(), true) }),
    },
    'semi-rcu-gup-fast-only': {
      summary: 'semi-RCU freeing with only the IRQs-off walker (GUP-fast) present',
      patch: 'mm/mmu_gather.c tlb_remove_table_one() before 718b13861d22: "sufficient for software page-table walkers that rely on IRQ disabling"',
      params: { faults: 0 },
      apply: (d) => replaceThreads(d, { madvise: madvise(state(), true) }),
    },
  },
});
