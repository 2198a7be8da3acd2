/*
 * Properties and expected verdicts for models/ppc-pte-free-defer.ts (protocols.md §5, B5.1, B5.2).
 * Expectations are for the default parameters (nfrag=3, walkers=1, cached=0; the mm-exit variants fix
 * cached=1). The rows of the first three variants are functions of nfrag and cached: requeueing the
 * shared head needs two fragments deferred (B5.1: "two page tables from the same page"), a deferral
 * piggy-backs only with two fragments and folds only with three; with cached > 0 the exit_mmap thread
 * runs, so exit-drops-last-reference is reachable, and page-active is then the mm-exit case (the same
 * mainline code while the mm exits: its row).
 *
 * page-active (mainline, v3): every property holds. pte_free_defer marks the page Active before its
 *   decrement, so the reference that reaches zero always finds PageActive and call_rcu()s: the one
 *   rcu_head is queued once, by the last fragment, after every fragment was unlinked, and its grace
 *   period covers every walker that could have seen any fragment. The synchronous branch
 *   (pte_free_now without a grace period) is not taken by these collapsers.
 * shared-rcu-head (v1, B5.1): two collapsers of one page call_rcu(&page->rcu_head) while the head is
 *   queued ("you'll reuse the rcu_head", Matthew Wilcox, May 29 2023): rcu-head-never-requeued is
 *   violated. The rcu primitive models the corrupted callback list as the first callback being lost
 *   (rcu.ts, callRcu), so one pte_fragment_free never runs, pt_frag_refcount never reaches zero and
 *   the page is never freed: everything-freed is violated. (A corrupted list can also run a callback
 *   twice; the model does not claim that outcome, and nothing else is violated.) The second call_rcu
 *   records the readers of its own moment, and a walker still holding the first fragment is among
 *   them, so no use-after-free follows in the model.
 * pte-free-deferred (v2, B5.2): every property holds (protocols.md: "conserves the count and waits
 *   >= 1 GP per fragment"). Only the first deferral queues the head; a deferral arriving while it is
 *   queued leaves a second PTE_FREE_DEFERRED in the count (piggy-backs), and pte_free_now then folds
 *   the extra ones (the while loop, needing three fragments deferred at once: nfrag >= 3) and
 *   re-queues the head for one more grace period.
 * mm-exit (analysis; mainline code): pte_free_defer() decrements pt_frag_refcount at once and relies
 *   on whoever drops the last reference finding PageActive and call_rcu()ing. pte_frag_destroy()
 *   (arch/powerpc/mm/pgtable-frag.c) drops the references of the fragments still cached in
 *   mm->context with atomic_sub_and_test() and, at zero, calls pagetable_dtor() + pagetable_free()
 *   directly: no grace period, PageActive neither tested nor cleared. It runs from arch_exit_mmap()
 *   (book3s64 destroy_pagetable_cache(); nohash arch/powerpc/mm/mmu_context.c alike), which exit_mmap()
 *   (mm/mmap.c) calls first, under mmap_read_lock only, before unmap_vmas() and before free_pgtables()
 *   unlinks the vma from the file's i_mmap tree. retract_page_tables() (mm/khugepaged.c) holds only
 *   i_mmap_lock_read and rechecks hpage_collapse_test_exit() locklessly, and an rmap walker
 *   (page_vma_mapped_walk -> pte_offset_map*, under i_mmap_lock_read) is not excluded either. So:
 *     walker: rcu_read_lock; snapshot pmd[k] = fragment k
 *     collapsers: unlink and pte_free_defer every handed-out fragment (SetPageActive; the count
 *       falls to `cached`, not zero: no call_rcu)
 *     exit_mmap: pte_frag_destroy: atomic_sub_and_test(cached) hits zero -> pagetable_free at once
 *     walker: ptep_get_lockless(fragment k): USE AFTER FREE
 *   no-use-after-free is violated, and so is page-freed-not-active (the page reaches the allocator
 *   with PG_active set; PAGE_FLAGS_CHECK_AT_FREE in include/linux/page-flags.h has PG_active, so with
 *   page checks on (CONFIG_DEBUG_VM) free_pages_prepare() reports "Bad page state"). The second needs
 *   no walker at all, only a retracted fragment on the page the mm still caches when it exits. The
 *   other orders are safe: if exit_mmap runs first, the last collapser reaches zero and call_rcu()s.
 * mm-exit-test-clear-active (analysis): with pte_frag_destroy ending like pte_fragment_free
 *   (folio_test_clear_active() ? call_rcu(pte_free_now) : pte_free_now) everything holds: PageActive
 *   is set only by pte_free_defer and tested-and-cleared only by whoever drops the last reference, so
 *   the head is queued once, after every fragment was unlinked.
 * pte-free-deferred with cached > 0 (not a row; test/specs/guards.test.ts checks it) also holds: a
 *   pending deferral keeps the count >= PTE_FREE_DEFERRED, so pte_frag_destroy cannot reach zero
 *   before pte_free_now has run after its grace period.
 *
 * "A fragment's memory is never freed while a reader that could see it is inside its read section" is
 * no-use-after-free: the walker's load (ptep_get_lockless) writes nothing and no other step depends
 * on it having run, so any state where the page is freed while the walker holds a fragment under RCU
 * can be reached with that load still to come, and the load then faults.
 */

import model, { PAGE, WALKER_PTE, fragRefcount } from '../models/ppc-pte-free-defer.ts';
import { Fault, PMD_NONE, noFault } from '../src/kernel/index.ts';
import { cellsOf } from '../src/model/cells.ts';
import { always, defineSpec, final, sometimes } from '../src/spec/property.ts';

const holdsAll = {
  'rcu-head-never-requeued': 'holds',
  'page-freed-at-most-once': 'holds',
  'page-freed-after-every-fragment': 'holds',
  'no-use-after-free': 'holds',
  'refcount-never-negative': 'holds',
  'rcu-sections-balanced': 'holds',
  'everything-freed': 'holds',
  'deadlock-free': 'holds',
  'page-freed': 'reachable',
  'walker-holds-detached-fragment': 'reachable',
  'grace-period-waits-for-walker': 'reachable',
  'page-freed-not-active': 'holds',
  'deferral-piggy-backs': 'unreachable',
  'deferrals-fold': 'unreachable',
  'page-marked-active': 'unreachable',
  'exit-drops-last-reference': 'unreachable',
} as const;

const mmExit = {
  ...holdsAll,
  'no-use-after-free': 'violated',
  'page-freed-not-active': 'violated',
  'page-marked-active': 'reachable',
  'exit-drops-last-reference': 'reachable',
} as const;

/** With cached fragments the exit_mmap thread runs and can drop the last reference. */
const exitDrops = (p: { readonly cached: number }) => ({ 'exit-drops-last-reference': p.cached >= 1 ? 'reachable' : 'unreachable' }) as const;

export default defineSpec(model, {
  properties: [
    noFault('rcu-head-never-requeued', Fault.RCU_HEAD_REQUEUED, "the page's one rcu_head is never call_rcu()-queued while it is queued (P-RCUHEAD)"),
    noFault('page-freed-at-most-once', Fault.DOUBLE_FREE, 'the page is freed at most once'),
    always(
      'page-freed-after-every-fragment',
      'the page is freed only once no pmd maps any of its fragments and no fragment reference is left in pt_frag_refcount (none dropped or added after the free)',
      (s) => (s.faults & Fault.FREE_ATTACHED) === 0 && (s.pt[PAGE - 1]!.state !== 'freed' || fragRefcount(s) === 0),
    ),
    noFault('no-use-after-free', Fault.UAF, 'no walker reads a fragment of a freed page (P-UAF)'),
    noFault('refcount-never-negative', Fault.REFCOUNT_UNDERFLOW, 'pt_frag_refcount never goes below zero, and BUG_ON(atomic_read(...) <= 0) never fires'),
    noFault('rcu-sections-balanced', Fault.RCU_UNBALANCED, 'every rcu_read_lock is matched by one rcu_read_unlock'),
    always(
      'page-freed-not-active',
      'the page never reaches the page allocator with PG_active set (PAGE_FLAGS_CHECK_AT_FREE: "Bad page state")',
      (s) => !(s.pt[PAGE - 1]!.state === 'freed' && s.page_active),
    ),
    final(
      'everything-freed',
      'at the end the page is freed, its rcu_head is idle and pt_frag_refcount is zero (nothing leaked)',
      (s) => s.pt[PAGE - 1]!.state === 'freed' && !s.rcu_head[0]!.queued && fragRefcount(s) === 0,
    ),
    sometimes('page-freed', 'the page really is freed', (s) => s.pt[PAGE - 1]!.state === 'freed'),
    sometimes(
      'walker-holds-detached-fragment',
      'a walker holds, under RCU, a fragment whose pmd has been cleared while the page is still live',
      (s) => cellsOf(s, WALKER_PTE).some((c) => c.v >= 0 && s.pmd[c.v]!.v === PMD_NONE && s.pt[PAGE - 1]!.state === 'live'),
    ),
    sometimes('grace-period-waits-for-walker', 'the queued rcu_head really waits for a walker', (s) => s.rcu_head[0]!.queued && s.rcu_head[0]!.wait !== 0),
    sometimes('deferral-piggy-backs', 'v2: a pte_free_defer finds the rcu_head in use (two PTE_FREE_DEFERRED in the count)', (s) => s.pt_frag_refcount.deferred >= 2),
    sometimes('deferrals-fold', "v2: pte_free_now's while loop runs (atomic_sub_return(PTE_FREE_DEFERRED) folds a deferral)", (s) => s.ghost.folded),
    sometimes('page-marked-active', 'v3: the page is marked Active while fragments remain', (s) => s.page_active && fragRefcount(s) > 0),
    sometimes('exit-drops-last-reference', "pte_frag_destroy's atomic_sub_and_test at mm exit drops the page's last reference", (s) => s.ghost.exit_last_ref),
  ],
  expect: {
    'page-active': (p) => (p.cached >= 1 ? mmExit : { ...holdsAll, 'page-marked-active': 'reachable' }),
    'shared-rcu-head': (p) => {
      const v = p.nfrag >= 2 ? 'violated' : 'holds';
      return { ...holdsAll, ...exitDrops(p), 'rcu-head-never-requeued': v, 'everything-freed': v };
    },
    'pte-free-deferred': (p) => ({
      ...holdsAll,
      ...exitDrops(p),
      'deferral-piggy-backs': p.nfrag >= 2 ? 'reachable' : 'unreachable',
      'deferrals-fold': p.nfrag >= 3 ? 'reachable' : 'unreachable',
    }),
    'mm-exit': mmExit,
    'mm-exit-test-clear-active': { ...holdsAll, 'page-marked-active': 'reachable', 'exit-drops-last-reference': 'reachable' },
  },
});
