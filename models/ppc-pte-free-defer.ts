/*
 * ppc-pte-free-defer — can PTE-table fragments that share one page, one pt_frag_refcount and one
 * rcu_head be freed through RCU one fragment at a time?
 *
 * Kernel code followed (protocols.md §5, B5.1, B5.2):
 *   arch/powerpc/mm/pgtable-frag.c  pte_fragment_free(), pte_free_defer(), pte_free_now()
 *   mm/khugepaged.c                 retract_page_tables() / collapse_pte_mapped_thp(): clear *pmd
 *                                   under pml + ptl (pmdp_collapse_flush), then pte_free_defer()
 *   mm/pgtable-generic.c            ___pte_offset_map(): rcu_read_lock, lockless *pmd snapshot
 *   arch/powerpc/mm/pgtable-frag.c  pte_frag_destroy() (mainline, unchanged since before the series;
 *                                   pagetable_dtor/pagetable_free naming from v6.14 UNCONFIRMED), called from
 *   arch/powerpc/mm/book3s64/mmu_context.c  arch_exit_mmap() -> destroy_pagetable_cache(), which
 *   mm/mmap.c                       exit_mmap() calls first, before unmap_vmas() and free_pgtables()
 *
 * Threads:
 *   collapser<i>  frees fragment i: pmdp_collapse_flush clears pmd[i] (fragment i is a PTE table of
 *                 its own, mapped by its own pmd entry), then pte_free_defer() of the fragment.
 *   walker<j>     a lockless page-table walker: rcu_read_lock, one lockless snapshot of any pmd[k],
 *                 ptep_get_lockless on the fragment it names, rcu_read_unlock.
 *   rcu           invokes pte_free_now once its grace period has ended; its atomic operations are
 *                 steps of their own, so they interleave with the collapsers' (and in the v2 variant
 *                 it may call_rcu the page's rcu_head again).
 *   exit_mmap     (only when `cached` > 0) the exiting mm's arch_exit_mmap -> pte_frag_destroy():
 *                 atomic_sub_and_test(PTE_FRAG_NR - count) drops the references of the `cached`
 *                 fragments never handed out; if that was the last reference, pagetable_dtor +
 *                 pagetable_free at once, with no grace period and without looking at PageActive.
 *                 It runs at any moment: exit_mmap holds only mmap_read_lock there, and neither
 *                 retract_page_tables() (i_mmap_lock_read, no mmap_lock) nor an rmap walker
 *                 (i_mmap_lock_read, pte_offset_map under RCU) is excluded by it; free_pgtables, which
 *                 unlinks the vma from i_mmap, comes later.
 *
 * Steps and the mainline code they follow:
 *   collapser   pmdp_collapse_flush: retract_page_tables() / collapse_pte_mapped_thp() (mm/khugepaged.c,
 *               1d65b771bc08, v6.6); SetPageActive .. pte_free_now (page-active):
 *               pte_free_defer() + pte_fragment_free() (arch/powerpc/mm/pgtable-frag.c, 32cc0b7c9d50,
 *               v6.6; folio_set_active/folio_test_clear_active spelling in mainline today);
 *               call_rcu (shared-rcu-head) and atomic_add_return .. call_rcu (pte-free-deferred): the
 *               v1 and v2 patches named below, never merged
 *   walker      rcu_read_lock .. rcu_read_unlock: ___pte_offset_map() + pte_unmap() (mm/pgtable-generic.c,
 *               0d940a9b270b, v6.5, and a349d72fd9ef, v6.6) and ptep_get_lockless()
 *   rcu         rcu_do_batch and pte_free_now's steps: pte_free_now() (mainline: pagetable_dtor +
 *               pagetable_free; v1/v2: the patches' pte_free_now)
 *   exit_mmap   pte_frag_destroy, pagetable_free: pte_frag_destroy() (arch/powerpc/mm/pgtable-frag.c,
 *               mainline; pagetable_dtor/pagetable_free names from v6.14 UNCONFIRMED) called by
 *               destroy_pagetable_cache() from arch_exit_mmap() (arch/powerpc/mm/book3s64/mmu_context.c);
 *               folio_test_clear_active, call_rcu: the candidate fix only
 *
 * Variants (expected results at the default parameters; see specs/ppc-pte-free-defer.ts):
 *   page-active        mainline, Hugh Dickins "powerpc: add pte_free_defer() for pgtables sharing
 *                      page" v3 05/13 (Jul 11 2023, 32cc0b7c9d50, Suggested-by Jason Gunthorpe):
 *                      pte_free_defer = SetPageActive + pte_fragment_free; the last reference
 *                      call_rcu()s only if TestClearPageActive.                                SAFE
 *   shared-rcu-head    v1 05/12 (May 28 2023): pte_free_defer = call_rcu(&page->rcu_head,
 *                      pte_free_now) per fragment, pte_free_now = pte_fragment_free (B5.1, Matthew
 *                      Wilcox May 29 2023).                  VIOLATED (rcu_head queued twice; leak)
 *   pte-free-deferred  v2 05/12 (Jun 20 2023): a deferral adds PTE_FREE_DEFERRED - 1, only the
 *                      first queues the rcu_head; pte_free_now folds the deferrals that came in
 *                      meanwhile and re-queues the head for one more grace period (B5.2).      SAFE
 *   mm-exit            page-active (mainline) with the mm exiting meanwhile and one fragment still
 *                      cached in mm->context (cached = 1): pte_frag_destroy() drops the last
 *                      reference after the fragments were pte_free_defer()ed and frees the page at
 *                      once, PageActive still set (analysis, see the spec).              VIOLATED
 *                      (use-after-free by a walker still in its read section; page freed with
 *                      PG_active, which is in PAGE_FLAGS_CHECK_AT_FREE)
 *   mm-exit-test-clear-active  (analysis) mm-exit with pte_frag_destroy() doing what
 *                      pte_fragment_free() does at zero: folio_test_clear_active() ? call_rcu :
 *                      pte_free_now.                                                        SAFE
 *
 * Abstracted, and why that is sound here:
 *   - pt_frag_refcount is held as two small counters, `deferred` and `frag`, with value
 *     deferred * PTE_FREE_DEFERRED + frag for the kernel's PTE_FREE_DEFERRED = 0x10000. Every atomic
 *     operation changes the pair as the integer operation would (adding PTE_FREE_DEFERRED - 1 is
 *     deferred + 1, frag - 1) and returns that exact integer, which is compared with the kernel's
 *     own constants (< 2 * 0x10000, < 0x10000, >= 2 * 0x10000, == 0, <= 0): nothing is scaled, so
 *     every comparison means what it means in the kernel.
 *   - the page starts with nfrag fragments handed out (each linked from its pmd) and `cached` more
 *     cached in mm->context for later allocation (default 0: the whole page handed out, and no
 *     exit_mmap thread); pt_frag_refcount starts at nfrag + cached, as __alloc_for_ptecache sets it
 *     to PTE_FRAG_NR for a page whose fragments are all accounted for. Allocation from the cache is
 *     not modelled (a fragment handed out later is one more collapser's fragment).
 *   - exit_mmap is only pte_frag_destroy: the rest of exit_mmap (unmap_vmas, free_pgtables freeing
 *     the still-linked fragments through the RCU table batch) is left out, since every fragment here
 *     has its own collapser that unlinks and frees it.
 *   - the page is table T1; fragment i is its entry pte[i]. Freeing the page (__free_page /
 *     pagetable_free) is ptFree(T1), which frees every fragment's memory at once, as the page
 *     allocator does; powerpc never reuses a fragment once freed, so tables are never reused here.
 *   - pmd_lock, spin_lock(ptl), pmdp_collapse_flush, spin_unlock(ptl), spin_unlock(pml) are one step:
 *     the only state in that section another thread reads without those locks is *pmd (the walkers'
 *     lockless snapshot), written once; the lock operations are seen only by the other collapsers,
 *     which they serialise anyway (on powerpc every fragment of a page shares the page's split ptlock)
 *     (a lock acquire moves right, a release left: the one step has the behaviours of the five).
 *   - the TLB flush in pmdp_collapse_flush is not modelled as synchronising with the walkers:
 *     rcu_read_lock walkers keep IRQs enabled, so no flush or IPI waits for them (conservative).
 *   - one walker (default) is complete for the use-after-free properties: a second reader can only
 *     delay grace periods, and the rcu thread may delay callbacks anyway; the walker chooses its
 *     fragment and the moment it enters its section nondeterministically.
 *   - callbacks run in the one sequential rcu thread (see rcuDoBatch in src/kernel/rcu.ts: a
 *     callback runs with bottom halves disabled, which holds off any grace period, so a callback
 *     queued while another runs cannot be invoked before it returns).
 *   - no spinlock is held anywhere here (the collapse step above merges its locked section), so the RCU
 *     flavour (src/kernel/rcu.ts) changes nothing; BUG_ON records a fault and carries on.
 *   - the split ptlock has its own lifetime (kernelState separatePtlock, ALLOC_SPLIT_PTLOCKS):
 *     it is freed where mainline frees it, in the same step as its table: pte_free_now() and pte_frag_destroy() (pagetable_dtor, then pagetable_free).
 */

import { DONE, defineModel, thread, type SymmetryDecl, replaceThreads } from '../src/model/model.ts';
import { array, bool, cell, int, record } from '../src/model/schema.ts';
import { PMD_NONE, Fault, callRcu, kernelState, pagetableDtorFree, pmdEntry, ptInitLive, raise, rcuReadLock, rcuReadUnlock, rcuDoBatch, rcuThread, readPte } from '../src/kernel/index.ts';

/** The page holding the fragments: page-table page T1 (fragment i is its entry pte[i]). */
export const PAGE = 1;
/** arch/powerpc/mm/pgtable-frag.c (v2 only): "beyond any PTE_FRAG_NR" */
export const PTE_FREE_DEFERRED = 0x10000;
/** Tag of the walkers' `pte` local (the fragment a walker holds under RCU), for the spec's guards. */
export const WALKER_PTE = 'walker-pte';
const PTE_FREE_NOW = 1; // rcu callback ids are 1-based, in the order given to kernelState
const HEAD = 0; // the page's one rcu_head

export function state(nfrag: number, cached = 0) {
  const refs = nfrag + cached;
  return kernelState(
    { tables: 1, ptes: nfrag, rcuHeads: 1, rcuCallbacks: ['pte_free_now'], separatePtlock: true },
    {
      /** pmd[i] maps fragment i (T1 while linked) */
      pmd: array(nfrag, pmdEntry()),
      /** page->pt_frag_refcount = deferred * PTE_FREE_DEFERRED + frag */
      pt_frag_refcount: record({ deferred: int(-refs, refs, 0), frag: int(-refs, refs, 0) }),
      /** PG_active of the page (v3: some fragment was freed by pte_free_defer) */
      page_active: bool(),
      /** ghost state for the vacuity guards only: no step reads it */
      ghost: record({ folded: bool(), exit_last_ref: bool() }),
    },
  );
}
export type St = ReturnType<typeof state>;

/**
 * Collapsers are interchangeable: collapser i owns pmd[i] and fragment i (T1.pte[i]), and a walker's
 * `pte` names a fragment. Permuting them maps runs to runs and leaves every property unchanged.
 */
const COLLAPSERS: SymmetryDecl = { owns: ['pmd[{i}]', 'T1.pte[{i}]'], refs: [{ leaves: 'walker*.pte' }] };

/** atomic_read(&page->pt_frag_refcount), the exact integer. */
export function fragRefcount(s: { pt_frag_refcount: { deferred: number; frag: number } }): number {
  return s.pt_frag_refcount.deferred * PTE_FREE_DEFERRED + s.pt_frag_refcount.frag;
}

/** atomic_add_return(deferred * PTE_FREE_DEFERRED + frag, &page->pt_frag_refcount): one atomic op. */
function atomicAddReturn(s: any, deferred: number, frag: number): number {
  s.pt_frag_refcount.deferred += deferred;
  s.pt_frag_refcount.frag += frag;
  const v = fragRefcount(s);
  if (v < 0) raise(s, Fault.REFCOUNT_UNDERFLOW);
  return v;
}

/** pmd_lock; spin_lock(ptl); pmdp_collapse_flush; spin_unlock(ptl); spin_unlock(pml) (see header). */
function collapse<const L extends string>(next: L) {
  return (s: any, me: any): L => {
    s.pmd[me.index].v = PMD_NONE;
    return next;
  };
}

/** pte_fragment_free(table, 0) as before the series: BUG_ON, atomic_dec_and_test, free the page. */
const fragmentFreeSteps = {
  atomic_read: (s: any) => {
    if (fragRefcount(s) <= 0) raise(s, Fault.REFCOUNT_UNDERFLOW); // BUG_ON(atomic_read(...) <= 0)
    return 'atomic_dec_and_test' as const;
  },
  atomic_dec_and_test: (s: any) => (atomicAddReturn(s, 0, -1) === 0 ? ('__free_page' as const) : ('rcu_do_batch' as const)),
  __free_page: (s: any) => {
    pagetableDtorFree(s, PAGE); // pgtable_pte_page_dtor + __free_page
    return 'rcu_do_batch' as const;
  },
};

// ---- v3 (mainline): SetPageActive + pte_fragment_free -------------------------------------------

export function collapserPageActive(st: St, n: number) {
  return thread(st, {
    count: n,
    symmetric: COLLAPSERS,
    steps: {
      pmdp_collapse_flush: collapse('SetPageActive'),
      SetPageActive: (s) => {
        s.page_active = true;
        return 'atomic_read';
      },
      atomic_read: (s) => {
        if (fragRefcount(s) <= 0) raise(s, Fault.REFCOUNT_UNDERFLOW); // BUG_ON(atomic_read(...) <= 0)
        return 'atomic_dec_and_test';
      },
      atomic_dec_and_test: (s) => (atomicAddReturn(s, 0, -1) === 0 ? 'TestClearPageActive' : DONE),
      TestClearPageActive: (s) => {
        const active = s.page_active;
        s.page_active = false;
        return active ? 'call_rcu' : 'pte_free_now';
      },
      call_rcu: (s, me) => {
        callRcu(s, me, HEAD, PTE_FREE_NOW, PAGE);
        return DONE;
      },
      pte_free_now: (s) => {
        pagetableDtorFree(s, PAGE); // pgtable_pte_page_dtor + __free_page, without a grace period
        return DONE;
      },
    },
  });
}

export function rcuPageActive(st: St) {
  return rcuThread(st, ['pte_free_now'], { pte_free_now: (s) => pagetableDtorFree(s, PAGE) }, 1);
}

// ---- v1: one call_rcu per fragment on the shared rcu_head ---------------------------------------

export function collapserSharedHead(st: St, n: number) {
  return thread(st, {
    count: n,
    symmetric: COLLAPSERS,
    steps: {
      pmdp_collapse_flush: collapse('call_rcu'),
      call_rcu: (s, me) => {
        callRcu(s, me, HEAD, PTE_FREE_NOW, PAGE);
        return DONE;
      },
    },
  });
}

/** v1 pte_free_now: pte_fragment_free(page_to_virt(page), 0). */
export function rcuSharedHead(st: St) {
  return thread(st, {
    daemon: true,
    steps: {
      rcu_do_batch: rcuDoBatch(['pte_free_now'], { pte_free_now: () => 'atomic_read' }, 1),
      ...fragmentFreeSteps,
    },
  });
}

// ---- v2: PTE_FREE_DEFERRED refcount, re-deferral ------------------------------------------------

export function collapserDeferred(st: St, n: number) {
  return thread(st, {
    count: n,
    symmetric: COLLAPSERS,
    steps: {
      pmdp_collapse_flush: collapse('atomic_add_return'),
      // atomic_add_return(PTE_FREE_DEFERRED - 1, ...) < PTE_FREE_DEFERRED + PTE_FREE_DEFERRED
      atomic_add_return: (s) => (atomicAddReturn(s, 1, -1) < PTE_FREE_DEFERRED + PTE_FREE_DEFERRED ? 'call_rcu' : DONE),
      call_rcu: (s, me) => {
        callRcu(s, me, HEAD, PTE_FREE_NOW, PAGE);
        return DONE;
      },
    },
  });
}

export function rcuDeferred(st: St) {
  return thread(st, {
    daemon: true,
    steps: {
      rcu_do_batch: rcuDoBatch(['pte_free_now'], { pte_free_now: () => 'atomic_sub_return(PTE_FREE_DEFERRED - 1)' }, 1),
      'atomic_sub_return(PTE_FREE_DEFERRED - 1)': (s) => {
        const refcount = atomicAddReturn(s, -1, 1);
        if (refcount < PTE_FREE_DEFERRED) return 'atomic_read'; // pte_fragment_free(page_address(page), 0)
        return refcount >= PTE_FREE_DEFERRED + PTE_FREE_DEFERRED ? 'atomic_sub_return(PTE_FREE_DEFERRED)' : 'atomic_dec';
      },
      // while (refcount >= PTE_FREE_DEFERRED + PTE_FREE_DEFERRED) refcount = atomic_sub_return(PTE_FREE_DEFERRED, ...)
      'atomic_sub_return(PTE_FREE_DEFERRED)': (s) => {
        s.ghost.folded = true;
        return atomicAddReturn(s, -1, 0) >= PTE_FREE_DEFERRED + PTE_FREE_DEFERRED ? 'atomic_sub_return(PTE_FREE_DEFERRED)' : 'atomic_dec';
      },
      atomic_dec: (s) => {
        atomicAddReturn(s, 0, -1); // "Remove that refcount of 1 left for fragment freeing above"
        return 'call_rcu';
      },
      call_rcu: (s, me) => {
        callRcu(s, me, HEAD, PTE_FREE_NOW, PAGE);
        return 'rcu_do_batch';
      },
      ...fragmentFreeSteps,
    },
  });
}

// ---- mm exit: arch_exit_mmap -> destroy_pagetable_cache -> pte_frag_destroy ------------------------

/**
 * pte_frag_destroy(mm->context.pte_frag): drop the references of the `cached` fragments never handed
 * out. `testClearActive` is the candidate fix: at zero, do what pte_fragment_free does.
 */
export function exitMmap(st: St, cached: number, count: number, testClearActive: boolean) {
  const atZero = testClearActive ? ('folio_test_clear_active' as const) : ('pagetable_free' as const);
  return thread(st, {
    count,
    steps: {
      // atomic_sub_and_test(PTE_FRAG_NR - count, &ptdesc->pt_frag_refcount)
      pte_frag_destroy: (s) => {
        if (atomicAddReturn(s, 0, -cached) !== 0) return DONE;
        s.ghost.exit_last_ref = true;
        return atZero;
      },
      pagetable_free: (s) => {
        pagetableDtorFree(s, PAGE); // pagetable_dtor(ptdesc); pagetable_free(ptdesc): at once, PG_active or not
        return DONE;
      },
      folio_test_clear_active: (s) => {
        const active = s.page_active;
        s.page_active = false;
        return active ? 'call_rcu' : 'pagetable_free';
      },
      call_rcu: (s, me) => {
        callRcu(s, me, HEAD, PTE_FREE_NOW, PAGE);
        return DONE;
      },
    },
  });
}

// ---- the lockless walker ------------------------------------------------------------------------

export function walker(st: St, n: number, count: number) {
  return thread(st, {
    count,
    symmetric: {},
    locals: { pte: cell(WALKER_PTE, int(-1, n - 1, -1, (v) => (v < 0 ? '-' : `fragment ${v}`))) },
    steps: {
      rcu_read_lock: (s, me) => {
        rcuReadLock(me);
        return 'pmdp_get_lockless';
      },
      pmdp_get_lockless: {
        alts: n,
        run: (s, me, alt) => {
          if (s.pmd[alt]!.v !== PAGE) return 'rcu_read_unlock'; // pmd_none: pte_offset_map fails
          me.pte.v = alt;
          return 'ptep_get_lockless';
        },
        show: (alt) => `pmdp_get_lockless(pmd[${alt}])`,
      },
      ptep_get_lockless: (s, me) => {
        readPte(s, PAGE, me.pte.v); // a load from the fragment: use-after-free if the page is freed
        return 'rcu_read_unlock';
      },
      rcu_read_unlock: (s, me) => {
        rcuReadUnlock(s, me);
        me.pte.v = -1;
        return DONE;
      },
    },
  });
}

export default defineModel({
  name: 'ppc-pte-free-defer',
  title: 'powerpc pte_free_defer(): PTE-table fragments sharing one page, refcount and rcu_head',
  doc: 'protocols.md §5: per-fragment collapsers free fragments of one page through RCU while lockless walkers read them.',
  params: {
    nfrag: { min: 1, max: 16, default: 3, doc: 'fragments of the page (one collapser each); PTE_FRAG_NR is 16' },
    walkers: { min: 1, max: 2, default: 1, doc: 'lockless RCU walkers (each reads one fragment of its choice)' },
    cached: { min: 0, max: 15, default: 0, doc: 'fragments still cached in mm->context, never handed out; > 0 adds the exit_mmap thread (pte_frag_destroy)' },
  },
  build: (p) => {
    const st = state(p.nfrag, p.cached);
    return {
      state: st,
      init: (s: any) => {
        ptInitLive(s, PAGE);
        for (let i = 0; i < p.nfrag; i++) s.pmd[i].v = PAGE;
        s.pt_frag_refcount.frag = p.nfrag + p.cached;
      },
      threads: {
        collapser: collapserPageActive(st, p.nfrag),
        walker: walker(st, p.nfrag, p.walkers),
        rcu: rcuPageActive(st),
        exit_mmap: exitMmap(st, p.cached, p.cached > 0 ? 1 : 0, false),
      },
    };
  },
  variants: {
    'page-active': {
      summary: 'mainline: SetPageActive + pte_fragment_free; call_rcu only from the last reference, if PageActive',
      patch: '"powerpc: add pte_free_defer() for pgtables sharing page" v3 05/13, Hugh Dickins, Jul 11 2023 (32cc0b7c9d50)',
    },
    'shared-rcu-head': {
      summary: 'v1: call_rcu(&page->rcu_head, pte_free_now) for every fragment (B5.1)',
      patch: '"powerpc: add pte_free_defer() for pgtables sharing page" 05/12, Hugh Dickins, May 28 2023',
      apply: (d, p) => {
        const st = state(p.nfrag, p.cached);
        return replaceThreads(d, { collapser: collapserSharedHead(st, p.nfrag), rcu: rcuSharedHead(st) });
      },
    },
    'pte-free-deferred': {
      summary: 'v2: PTE_FREE_DEFERRED heightened refcount, first deferral queues, pte_free_now re-defers (B5.2)',
      patch: '"powerpc: add pte_free_defer() for pgtables sharing page" v2 05/12, Hugh Dickins, Jun 20 2023',
      apply: (d, p) => {
        const st = state(p.nfrag, p.cached);
        return replaceThreads(d, { collapser: collapserDeferred(st, p.nfrag), rcu: rcuDeferred(st) });
      },
    },
    'mm-exit': {
      summary: 'mainline (page-active) while the mm exits: pte_frag_destroy drops the cached references and may free the page at once',
      patch: 'mainline arch/powerpc/mm/pgtable-frag.c pte_frag_destroy() from arch_exit_mmap(), with 32cc0b7c9d50 pte_free_defer() (analysis)',
      params: { cached: 1 },
    },
    'mm-exit-test-clear-active': {
      summary: 'candidate fix: pte_frag_destroy at zero does folio_test_clear_active() ? call_rcu(pte_free_now) : pte_free_now',
      patch: 'analysis: pte_frag_destroy() ending like pte_fragment_free()',
      params: { cached: 1 },
      apply: (d, p) => replaceThreads(d, { exit_mmap: exitMmap(state(p.nfrag, p.cached), p.cached, 1, true) }),
    },
  },
});
