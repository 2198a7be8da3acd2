/*
 * gup-fast-table-free — can GUP-fast, which takes no lock and walks the page tables with IRQs
 * disabled, read a PTE table after munmap has unlinked and freed it? Several walkers, each doing most
 * of its work on its own copies of the pmd and pte values: the shape where interleavings commute.
 *
 * Kernel code followed (protocols.md §7; a37259732a7d):
 *   mm/gup.c          gup_fast() -> gup_fast_pgd_range() .. gup_fast_pmd_range() -> gup_fast_pte_range()
 *                     inside local_irq_save()..local_irq_restore(): pmdp_get_lockless(), pte_offset_map()
 *                     on the local copy (rcu_read_lock), per pte: ptep_get_lockless(), the
 *                     pte_access_permitted() checks, try_grab_folio_fast(), the pmd and pte rechecks
 *                     (70cbc3cc78a9), pages[*nr] = page, the `addr != end` loop; pte_unmap()
 *   mm/memory.c       unmap_vmas() -> zap_pte_range(): pte_offset_map_lock, ptep_get_and_clear_full per
 *                     pte, pte_unmap_unlock; free_pgtables() -> free_pte_range(): pmd_clear(),
 *                     pte_free_tlb(), mm_dec_nr_ptes()
 *   mm/mmu_gather.c   tlb_finish_mmu() -> tlb_flush_mmu(): tlb_flush_mmu_tlbonly() (the TLB flush), then
 *                     tlb_table_flush() -> tlb_remove_table_free(): call_rcu(tlb_remove_table_rcu)
 *                     (MMU_GATHER_RCU_TABLE_FREE), or tlb_batch_pages_flush(): the table page freed at
 *                     once (x86 bare metal before a37259732a7d, where pte_free_tlb was tlb_remove_page)
 *
 * Threads:
 *   gup_fast<i>  GUP-fast over the `ptes` pages mapped by one PTE table T1 (every walker the same range)
 *   munmap       unmap_region(): zaps the range, unlinks T1 from *pmd and frees it through the mmu_gather
 *   rcu          runs tlb_remove_table_rcu after its grace period (rcu-table-free only: the other
 *                variants queue nothing)
 *
 * Steps and the mainline code they follow:
 *   gup_fast<i>  local_irq_save .. local_irq_restore: gup_fast() and gup_fast_pte_range() (mm/gup.c, the
 *                rechecks from 70cbc3cc78a9). pte_protnone, pte_access_permitted, pte_special,
 *                try_grab_folio_fast, gup_fast_folio_allowed, folio_set_referenced, gup_put_folio,
 *                pages[*nr] = page and `addr != end` touch only the walker's own copies (the pte value,
 *                the folio it holds, nr, the address): they are the walker's local work. The model's
 *                pages are never PROT_NONE, special or refused (page attributes are not modelled), so
 *                those checks pass, each as a step of its own as in the kernel's code.
 *   munmap       pte_offset_map_lock .. pte_unmap_unlock: zap_pte_range(); free_pte_range: free_pgtables();
 *                flush_tlb_mm_range: tlb_flush_mmu_tlbonly(); tlb_table_flush / tlb_batch_pages_flush:
 *                tlb_flush_mmu()'s table and page batches
 *   rcu          tlb_remove_table_rcu: mm/mmu_gather.c's callback (__tlb_remove_table: the table page freed)
 *
 * Variants (expected results at the default parameters; see specs/gup-fast-table-free.ts):
 *   rcu-table-free  MMU_GATHER_RCU_TABLE_FREE, unconditional on x86 since a37259732a7d (Rik van Riel,
 *                   Feb 2025): the table is freed by call_rcu. A walker that read *pmd before pmd_clear
 *                   has had IRQs off since before that read, so it is an RCU reader when call_rcu runs
 *                   and the callback waits for its local_irq_restore.                          SAFE
 *   ipi-flush       x86 bare metal before a37259732a7d: pte_free_tlb was tlb_remove_page and the table
 *                   page was freed right after the TLB flush, whose IPI a CPU with IRQs off takes only
 *                   at local_irq_restore ("blocking IRQs, which block TLB flush IPIs").         SAFE
 *   no-ipi-flush    the same immediate free after a TLB flush that sends no IPI (a hypervisor's flush,
 *                   INVLPGB: the reasons a37259732a7d gives for making RCU table freeing
 *                   unconditional): GUP-fast reads the freed table.        VIOLATED (use-after-free)
 *
 * Abstracted, and why that is sound here:
 *   - one pmd and one table T1 whose `ptes` entries map pages 1..ptes; every walker walks the whole
 *     table. Walkers never write the page tables, so nothing they do depends on their order;
 *   - the pinned pages themselves are not modelled: try_grab_folio_fast and gup_put_folio only set the
 *     walker's folio (its reference), pages[*nr] = page counts in nr. The model asks about the table's
 *     lifetime, not the pages';
 *   - zap_pte_range's own flushes and the zapped pages' freeing are left out, and in rcu-table-free the
 *     TLB flush waits for no CPU (as INVLPGB): the RCU free must hold without the IPI, so leaving its
 *     protection out can only add behaviours. No TLB or paging-structure cache is modelled;
 *   - munmap holds mmap_lock for writing and is the only writer of *pmd and of T1's entries: its
 *     pte_offset_map_lock (rcu_read_lock, snapshot of *pmd, spin_lock of the ptl) is one step, and
 *     free_pte_range's pmd_clear, pte_free_tlb and mm_dec_nr_ptes are one step (the gather's batch is
 *     munmap's own bookkeeping);
 *   - the mmu_gather batch page is always allocated (its fallback, tlb_remove_table_one, is
 *     pt-reclaim-rcu-free's subject); tables are never reused after free;
 *   - RCU is consolidated (mainline since v4.20): IRQs off is a read section, and so is munmap's ptl;
 *   - the walkers are not declared symmetric, so that the benchmark's reductions-on column measures
 *     partial-order reduction alone (bench/README.md; this model has a SPIN twin,
 *     bench/spin/gup-fast-table-free.pml).
 *
 * Declared futures (README, "Writing a model"): the walkers, munmap from its TLB flush on, and the rcu
 * thread say what they may still touch, so that a walker's steps on *pmd and T1 commute with the others
 * once munmap has cleared *pmd, and its IRQ and RCU steps once call_rcu has read the readers. They
 * change no state and no verdict (every step is checked against them); --no-por counts are the twin's.
 */

import { BLOCKED, DONE, defineModel, removeThread, replaceThreads, thread, type MeView, type StateView } from '../src/model/model.ts';
import { int } from '../src/model/schema.ts';
import {
  PMD_NONE,
  callRcu,
  ipiSync,
  kernelState,
  localIrqDisable,
  localIrqEnable,
  mmDecNrPtes,
  pmdEntry,
  ptFree,
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

const T1 = 1;
/** the mmu_table_batch page's rcu_head (tlb_remove_table_free) */
const BATCH_RCU_HEAD = 0;
/** callback ids are 1-based, in the order given to kernelState */
const TLB_REMOVE_TABLE_RCU = 1;
/** the most entries a walk covers (the `ptes` parameter's bound) */
const MAX_PTES = 3;

export function state(ptes: number) {
  return kernelState({ tables: 1, ptes, rcuHeads: 1, rcuCallbacks: ['tlb_remove_table_rcu'] }, { pmd: pmdEntry() });
}
export type St = ReturnType<typeof state>;

/**
 * What a walker may still touch (declared futures, README "Declared futures"): until its last pte
 * recheck, *pmd and T1; then only its IRQ and RCU state, the rcu_head's reader mask it clears on
 * leaving its read section, the other CPUs' grace-period and IPI waits it reads (and, `ipi`: the
 * flush's IPI wait it clears), and T1's ptl, which the exit check reads. `faults` throughout (a read of
 * a freed table records P-UAF). Checked on every step; they change no state, only what the reduction
 * may take as independent.
 */
function walkerFutures(ipi: boolean) {
  const quiet = ['rcu_head[0].wait', '*.gp_wait', '*.ipi_wait', 'rcu_spinlock_not_reader', 'faults', 'me.*', 'T1.ptl'];
  const writes = ['me.irqs_off', 'me.rcu_nesting', 'rcu_head[0].wait', 'faults', ...(ipi ? ['munmap.ipi_wait'] : [])];
  const walk = { reads: ['pmd', 'T1.*', ...quiet], writes };
  const after = { reads: quiet, writes };
  return {
    local_irq_save: walk,
    pmdp_get_lockless: walk,
    pte_offset_map: walk,
    ptep_get_lockless: walk,
    pte_protnone: walk,
    pte_access_permitted: walk,
    pte_special: walk,
    try_grab_folio_fast: walk,
    'pmd_val != pmdp_get_lockless(pmdp)': walk,
    'pte_val != ptep_get_lockless(ptep)': walk,
    gup_fast_folio_allowed: walk,
    folio_set_referenced: walk,
    'pages[*nr] = page': walk,
    'addr != end': walk,
    gup_put_folio: after,
    pte_unmap: after,
    local_irq_restore: { reads: quiet, writes: writes.filter((w) => w !== 'me.rcu_nesting') },
  };
}

/** GUP-fast over the pages T1 maps, from local_irq_save to local_irq_restore. */
export function gupFast(st: St, n: number, ptes: number, ipi = false) {
  return thread(st, {
    future: walkerFutures(ipi),
    count: n,
    locals: {
      /** gup_fast_pmd_range's `pmd`: the lockless snapshot of *pmd */
      pmd: tableRef(),
      /** which pte of the table `ptep` (and `addr`) points at */
      idx: int(0, MAX_PTES),
      /** gup_fast_pte_range's `pte`: the lockless snapshot of *ptep */
      pte: int(0, 15),
      /** the folio try_grab_folio_fast took a reference on (0: none held) */
      folio: int(0, 15),
      /** *nr: pages handed back in pages[] */
      nr: int(0, MAX_PTES),
    },
    steps: {
      local_irq_save: (s, me) => {
        localIrqDisable(s, me);
        return 'pmdp_get_lockless';
      },
      pmdp_get_lockless: (s, me) => {
        me.pmd = s.pmd.v; // gup_fast_pmd_range: pmd_t pmd = pmdp_get_lockless(pmdp); pmd_none: return
        return me.pmd > 0 ? 'pte_offset_map' : 'local_irq_restore';
      },
      pte_offset_map: (_s, me) => {
        rcuReadLock(me); // ptem = ptep = pte_offset_map(&pmd, addr): on the local copy, *pmd not read again
        return 'ptep_get_lockless';
      },
      ptep_get_lockless: (s, me) => {
        me.pte = readPte(s, me.pmd, me.idx);
        return 'pte_protnone';
      },
      // the checks on the copy: a none pte is not accessible; the model's pages are never PROT_NONE,
      // special or refused by gup_fast_folio_allowed (page attributes are not modelled)
      pte_protnone: () => 'pte_access_permitted',
      pte_access_permitted: (_s, me) => (me.pte > 0 ? 'pte_special' : 'pte_unmap'),
      pte_special: () => 'try_grab_folio_fast',
      try_grab_folio_fast: (_s, me) => {
        me.folio = me.pte; // folio = try_grab_folio_fast(pte_page(pte), 1, flags)
        return 'pmd_val != pmdp_get_lockless(pmdp)';
      },
      'pmd_val != pmdp_get_lockless(pmdp)': (s, me) => (s.pmd.v !== me.pmd ? 'gup_put_folio' : 'pte_val != ptep_get_lockless(ptep)'),
      'pte_val != ptep_get_lockless(ptep)': (s, me) => (readPte(s, me.pmd, me.idx) !== me.pte ? 'gup_put_folio' : 'gup_fast_folio_allowed'),
      gup_fast_folio_allowed: () => 'folio_set_referenced',
      folio_set_referenced: () => 'pages[*nr] = page',
      gup_put_folio: (_s, me) => {
        me.folio = 0;
        return 'pte_unmap';
      },
      'pages[*nr] = page': (_s, me) => {
        me.nr = me.nr + 1;
        return 'addr != end';
      },
      'addr != end': (_s, me) => {
        // } while (ptep++, addr += PAGE_SIZE, addr != end);
        me.idx = me.idx + 1;
        return me.idx < ptes ? 'ptep_get_lockless' : 'pte_unmap';
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

const munmapLocals = { pmdval: tableRef(), idx: int(0, MAX_PTES) };
type MunmapMe = MeView<St, typeof munmapLocals>;

/** unmap_vmas -> zap_pte_range, then free_pgtables -> free_pte_range; `next` is tlb_finish_mmu's flush. */
function zapAndUnlink(ptes: number) {
  return {
    pte_offset_map_lock: (s: StateView<St>, me: MunmapMe) => {
      // rcu_read_lock, snapshot, spin_lock(ptl) as one step: munmap is the only writer of *pmd
      me.pmdval = s.pmd.v;
      if (!ptlLock(s, me, me.pmdval)) return BLOCKED;
      rcuReadLock(me);
      return 'ptep_get_and_clear_full' as const;
    },
    ptep_get_and_clear_full: (s: StateView<St>, me: MunmapMe) => {
      setPte(s, me, me.pmdval, me.idx, 0); // zap_present_ptes, one pte per step
      me.idx = me.idx + 1;
      return me.idx < ptes ? ('ptep_get_and_clear_full' as const) : ('pte_unmap_unlock' as const);
    },
    pte_unmap_unlock: (s: StateView<St>, me: MunmapMe) => {
      ptlUnlock(s, me, me.pmdval);
      rcuReadUnlock(s, me);
      return 'free_pte_range' as const;
    },
    free_pte_range: (s: StateView<St>) => {
      s.pmd.v = PMD_NONE; // pmd_clear(pmd); pte_free_tlb(tlb, token, addr): the table joins the gather
      mmDecNrPtes(s);
      return 'flush_tlb_mm_range' as const;
    },
  };
}

/**
 * munmap's declared future once *pmd is cleared: call_rcu reads every CPU's read-section state and
 * writes the rcu_head; the exit check reads T1's ptl and munmap's own IRQ and RCU state. Before that
 * (the zap, pmd_clear) it declares none: it may touch anything.
 */
const munmapRcuFuture = (() => {
  const f = { reads: ['rcu_spinlock_not_reader', '*.rcu_nesting', '*.irqs_off', '*.preempt_count', 'T1.ptl', 'me.*', 'faults'], writes: ['rcu_head[0].*', 'faults'] };
  return { flush_tlb_mm_range: f, tlb_table_flush: f };
})();

/** unmap_region() with MMU_GATHER_RCU_TABLE_FREE: the table is freed by call_rcu at tlb_finish_mmu. */
export function munmapRcu(st: St, ptes: number) {
  return thread(st, {
    locals: munmapLocals,
    future: munmapRcuFuture,
    steps: {
      ...zapAndUnlink(ptes),
      // tlb_finish_mmu -> tlb_flush_mmu -> tlb_flush_mmu_tlbonly: a flush that waits for no CPU (as INVLPGB)
      flush_tlb_mm_range: () => 'tlb_table_flush',
      tlb_table_flush: (s, me) => {
        callRcu(s, me, BATCH_RCU_HEAD, TLB_REMOVE_TABLE_RCU, me.pmdval); // tlb_remove_table_free
        return DONE;
      },
    },
  });
}

/**
 * unmap_region() as x86 bare metal ran it before a37259732a7d: pte_free_tlb is tlb_remove_page, and the
 * table page is freed with the gathered pages right after the TLB flush; `ipi`: the flush is an IPI that
 * a CPU with IRQs off takes only when it re-enables them (flush_tlb_mm_range waits for it).
 */
export function munmapImmediate(st: St, ptes: number, ipi: boolean) {
  return thread(st, {
    locals: munmapLocals,
    steps: {
      ...zapAndUnlink(ptes),
      flush_tlb_mm_range: ipi ? ipiSync('flush_tlb_mm_range', 'tlb_batch_pages_flush') : () => 'tlb_batch_pages_flush',
      tlb_batch_pages_flush: (s, me) => {
        ptFree(s, me.pmdval); // the table page, gathered by tlb_remove_page, freed now
        return DONE;
      },
    },
  });
}

export default defineModel({
  name: 'gup-fast-table-free',
  title: 'GUP-fast walkers (IRQs off, no lock) against munmap freeing their PTE table',
  doc: 'protocols.md §7 and a37259732a7d: lockless GUP-fast walkers, each mostly working on its own copies, against munmap unlinking and freeing the table by RCU, after an IPI flush, or after a flush that sends no IPI.',
  params: {
    walkers: { min: 1, max: 6, default: 2, doc: 'GUP-fast walkers (threads)' },
    ptes: { min: 1, max: MAX_PTES, default: 1, doc: 'pages each walk covers (entries of T1)' },
  },
  build: (p) => {
    const st = state(p.ptes);
    return {
      state: st,
      init: (s: any) => {
        ptInitInstalled(s, s.pmd, T1);
        for (let i = 0; i < p.ptes; i++) s.pt[T1 - 1].pte.set(i, i + 1);
      },
      threads: {
        gup_fast: gupFast(st, p.walkers, p.ptes),
        munmap: munmapRcu(st, p.ptes),
        rcu: {
          ...rcuThread(st, ['tlb_remove_table_rcu'], { tlb_remove_table_rcu: (s, t) => ptFree(s, t) }, 1),
          // tlb_remove_table_rcu frees T1 once the rcu_head's grace period has ended
          future: { rcu_do_batch: { reads: ['pmd'], writes: ['rcu_head[0].*', 'T1.*', 'faults'] } },
        },
      },
    };
  },
  variants: {
    'rcu-table-free': {
      summary: 'MMU_GATHER_RCU_TABLE_FREE: the table is freed by call_rcu after tlb_finish_mmu',
      patch: 'a37259732a7d "x86/mm: Make MMU_GATHER_RCU_TABLE_FREE unconditional" (Rik van Riel, Feb 2025)',
    },
    'ipi-flush': {
      summary: 'x86 bare metal before a37259732a7d: the table page is freed right after the flush IPI, which waits for CPUs with IRQs off',
      patch: 'arch/x86 before a37259732a7d: pte_free_tlb -> tlb_remove_page, freed in tlb_batch_pages_flush',
      apply: (d, p) => {
        removeThread(d, 'rcu'); // nothing is queued for it
        // the walkers' local_irq_restore answers the flush's IPI: their futures change munmap's IPI wait
        return replaceThreads(d, { munmap: munmapImmediate(state(p.ptes), p.ptes, true), gup_fast: gupFast(state(p.ptes), p.walkers, p.ptes, true) });
      },
    },
    'no-ipi-flush': {
      summary: 'the same immediate free after a TLB flush that sends no IPI (hypervisor flush, INVLPGB)',
      patch: 'analysis: the case a37259732a7d names as its reason (paravirt flushes, INVLPGB) without RCU table freeing',
      apply: (d, p) => {
        removeThread(d, 'rcu');
        return replaceThreads(d, { munmap: munmapImmediate(state(p.ptes), p.ptes, false) });
      },
    },
  },
});
