/*
 * kernel-pgtable-async-free — may an IOMMU doing SVA still walk a kernel PTE table after it is freed?
 *
 * Kernel code followed (protocols.md §6, B6.1, B6.2; seed 004):
 *   arch/x86/mm/pgtable.c   pmd_free_pte_page(): pmd_clear, flush_tlb_kernel_range (CPU only),
 *                           pagetable_dtor_free -> pagetable_free
 *   mm/pgtable-generic.c    pagetable_free_kernel(), kernel_pgtable_work_func() (v7: splice under
 *                           the lock, iommu_sva_invalidate_kva_range, __pagetable_free each)
 *   drivers/iommu/iommu-sva.c  iommu_sva_invalidate_kva_range()
 *   kernel/workqueue.c      schedule_work(), process_one_work()   (src/kernel/workqueue.ts)
 *
 * Threads:
 *   vmap<i>  pmd_free_pte_page() on the kernel pmd of range i (reached from vmap_try_huge_pmd() when a
 *            huge mapping replaces the PTE table Ti): pmd_clear, flush_tlb_kernel_range, then
 *            pagetable_free -> pagetable_free_kernel: list_add under kernel_pgtable_work.lock and
 *            schedule_work (or, before the series, __pagetable_free at once).
 *   kworker  runs kernel_pgtable_work_func each time the work item is picked up.
 *   iommu    the SVA device's page walker: walks any range; its paging-structure cache keeps the
 *            pointer to a PTE table it walked while linked until an explicit invalidation.
 *   mmu      the CPUs' page walker, speculative, with its own paging-structure cache: the control
 *            that flush_tlb_kernel_range does protect the CPUs, and only them.
 *
 * Steps and the mainline code they follow (v7 of the series, Oct 22 2025; in mainline since the v6.19
 * merge window: torvalds/linux master push of Dec 5 2025, 5ba2f0a15564 "mm: introduce deferred freeing for
 * kernel page tables" and e37d5a2d60a3 "iommu/sva: invalidate stale IOTLB entries for kernel address
 * space", with the worker's order splice, invalidate, free as in v7; models/README.md "Releases"):
 *   vmap<i>   pmd_clear, flush_tlb_kernel_range: x86 pmd_free_pte_page() (arch/x86/mm/pgtable.c);
 *             list_add, schedule_work: pagetable_free() -> pagetable_free_kernel() (mm/pgtable-generic.c,
 *             "mm: Introduce deferred freeing for kernel page tables"); __pagetable_free: the
 *             immediate-free variant (before the series)
 *   kworker   process_one_work: kernel/workqueue.c (src/kernel/workqueue.ts); list_splice_tail_init,
 *             iommu_sva_invalidate_kva_range, __pagetable_free: kernel_pgtable_work_func() (the
 *             invalidation from "iommu/sva: Invalidate stale IOTLB entries for kernel address space",
 *             drivers/iommu/iommu-sva.c)
 *   iommu, mmu  page_walk: the hardware walkers (src/kernel/walker-cache.ts), not kernel code
 *
 * Variants (expected results at the default parameters; see specs/kernel-pgtable-async-free.ts):
 *   deferred                 v7 (Lu Baolu, Oct 22 2025; "mm: Introduce deferred freeing for kernel
 *                            page tables", Dave Hansen, and "iommu/sva: Invalidate stale IOTLB
 *                            entries for kernel address space"): unlink, CPU flush, enqueue; the
 *                            worker splices, invalidates the IOMMU, frees.                    SAFE
 *   immediate-free           before the series: __pagetable_free right after the CPU flush (B6.1,
 *                            CVE-2025-71089).                     VIOLATED (IOMMU walks a freed table)
 *   invalidate-before-splice the worker invalidates, then splices (B6.2): an item enqueued in between
 *                            is freed while the IOMMU still caches it.                   VIOLATED
 *   free-before-invalidate   the worker frees, then invalidates (B6.2).                  VIOLATED
 *   drop-kick-while-running  v7 with schedule_work misread as "queued or running => drop the kick"
 *                            (B6.2): an item enqueued after the splice of a running worker is never
 *                            freed.                                               VIOLATED (leak)
 *
 * Abstracted, and why that is sound here:
 *   - spin_lock(&kernel_pgtable_work.lock); list_add; spin_unlock is one step, and so is the worker's
 *     spin_lock; list_splice_tail_init; spin_unlock: the list is only ever touched under that lock.
 *   - pmd_free_pte_page's read of *pmd and pmd_clear are one step: only this thread writes this pmd
 *     (the walkers only read it).
 *   - the huge mapping vmap_try_huge_pmd() installs afterwards (pmd_set_huge) is a leaf: a walk of it
 *     caches no PTE table, so it is left out and the pmd stays none.
 *   - iommu_sva_invalidate_kva_range runs under iommu_sva_lock and reaches every SVA mm; with one
 *     IOMMU walker it is one step that drops every cached pointer of the IOMMU (an explicit,
 *     synchronous invalidation).
 *   - the worker frees its batch in table order; every table is unlinked before it is enqueued, so no
 *     walker can cache it after it was spliced, and the order only decides which stale walk is found.
 *   - the walkers never evict a cache entry on their own (eviction only removes stale pointers) and a
 *     walk that would change nothing is not a step (it would be a self-loop).
 *   - the work item runs on one kworker at a time (workqueues are non-reentrant), as in the kernel.
 *   - every kernel PTE table here is freed through pagetable_free() with its ptdesc marked kernel, so
 *     through pagetable_free_kernel() and the deferred path. The model assumes that of every kernel
 *     page table: a table freed some other way (arch code calling free_page()/__free_pages() on it
 *     directly, memory hot-remove or vmemmap teardown not going through pagetable_free, a table never
 *     marked with ptdesc_set_kernel) skips the IOMMU invalidation, and for it the deferred variant's
 *     SAFE says nothing (it is the immediate-free variant's case). Which mainline free paths are
 *     covered is not checked here (UNCONFIRMED).
 */

import { BLOCKED, DONE, defineModel, thread, replaceThreads } from '../src/model/model.ts';
import { array, bool } from '../src/model/schema.ts';
import { PMD_NONE, kernelState, pmdEntry, ptFree, ptInitLive, tableRef } from '../src/kernel/index.ts';
import { flushTlbKernelRange, hwWalk, invalidateWalkerCaches, pwcEntry, type HwWalker } from '../src/kernel/walker-cache.ts';
import { processOneWork, scheduleWork, workBusy, workStruct } from '../src/kernel/workqueue.ts';

export function state(n: number) {
  return kernelState(
    { tables: n, ptes: 1, rcuHeads: 0 },
    {
      /** the kernel pmd entry of range i (Ti while linked) */
      pmd: array(n, pmdEntry()),
      /** kernel_pgtable_work.list: Ti's pt_list is on it */
      pgtable_list: array(n, bool(), (i) => `pgtable_list[T${i + 1}]`),
      /** kernel_pgtable_work.work */
      work: workStruct(),
      /** the IOMMU's paging-structure cache entry for range i */
      iommu_pwc: array(n, pwcEntry('iommu')),
      /** the CPUs' paging-structure cache entry for range i */
      cpu_pwc: array(n, pwcEntry('cpu')),
    },
  );
}
export type St = ReturnType<typeof state>;

// ---- pmd_free_pte_page() ------------------------------------------------------------------------

/** `deferred`: pagetable_free_kernel (v7); otherwise __pagetable_free at once (before the series). */
export function vmap(st: St, n: number, deferred: boolean) {
  const free = deferred ? ('list_add' as const) : ('__pagetable_free' as const);
  return thread(st, {
    count: n,
    locals: { pt: tableRef() },
    steps: {
      pmd_clear: (s, me) => {
        me.pt = s.pmd[me.index]!.v; // pt = page_ptdesc(pmd_page(*pmd))
        s.pmd[me.index]!.v = PMD_NONE;
        return 'flush_tlb_kernel_range';
      },
      flush_tlb_kernel_range: (s, me) => {
        flushTlbKernelRange(s, me.pt); // CPU TLBs only
        return free;
      },
      // spin_lock(&kernel_pgtable_work.lock); list_add(&pt->pt_list, &list); spin_unlock(...)
      list_add: (s, me) => {
        s.pgtable_list.set(me.pt - 1, true);
        return 'schedule_work';
      },
      schedule_work: (s) => {
        scheduleWork(s.work);
        return DONE;
      },
      __pagetable_free: (s, me) => {
        ptFree(s, me.pt);
        return DONE;
      },
    },
  });
}

// ---- kernel_pgtable_work_func() -----------------------------------------------------------------

/** The worker's three actions, in the order a variant runs them (the v7 order is SPLICE, INVALIDATE, FREE). */
type WorkStep = 'list_splice_tail_init' | 'iommu_sva_invalidate_kva_range' | '__pagetable_free';
const V7_ORDER = ['list_splice_tail_init', 'iommu_sva_invalidate_kva_range', '__pagetable_free'] as const;

function anySet(a: { readonly length: number; get(i: number): boolean }): boolean {
  for (let i = 0; i < a.length; i++) if (a.get(i)) return true;
  return false;
}

export function kworker(st: St, n: number, order: readonly [WorkStep, WorkStep, WorkStep]) {
  /** The action after `step`; the free loop is skipped when the batch is empty; then the function returns. */
  const after = (step: WorkStep, me: { page_list: { readonly length: number; get(i: number): boolean } }): WorkStep | 'process_one_work' => {
    for (let k = order.indexOf(step) + 1; k < order.length; k++) {
      if (order[k] !== '__pagetable_free' || anySet(me.page_list)) return order[k]!;
    }
    return 'process_one_work';
  };
  return thread(st, {
    daemon: true,
    locals: { page_list: array(n, bool(), (i) => `page_list[T${i + 1}]`) },
    steps: {
      process_one_work: processOneWork('process_one_work', (s) => s.work, order[0]),
      // spin_lock(&kernel_pgtable_work.lock); list_splice_tail_init(&list, &page_list); spin_unlock(...)
      list_splice_tail_init: (s, me) => {
        for (let i = 0; i < n; i++) {
          if (s.pgtable_list.get(i)) {
            s.pgtable_list.set(i, false);
            me.page_list.set(i, true);
          }
        }
        return after('list_splice_tail_init', me);
      },
      iommu_sva_invalidate_kva_range: (s, me) => {
        invalidateWalkerCaches(s, 'iommu');
        return after('iommu_sva_invalidate_kva_range', me);
      },
      // list_for_each_entry_safe(pt, next, &page_list, pt_list) __pagetable_free(pt);
      __pagetable_free: (s, me) => {
        for (let i = 0; i < n; i++) {
          if (me.page_list.get(i)) {
            me.page_list.set(i, false);
            ptFree(s, i + 1);
            break;
          }
        }
        return anySet(me.page_list) ? '__pagetable_free' : after('__pagetable_free', me);
      },
    },
  });
}

// ---- hardware walkers ---------------------------------------------------------------------------

export function hwWalker(st: St, n: number, walker: HwWalker) {
  return thread(st, {
    daemon: true,
    steps: {
      page_walk: {
        alts: n,
        run: (s, me, alt) => (hwWalk(s, s.pmd[alt]!, (walker === 'iommu' ? s.iommu_pwc : s.cpu_pwc)[alt]!) ? 'page_walk' : BLOCKED),
        show: (alt) => `page_walk(pmd[${alt}])`,
      },
    },
  });
}

export default defineModel({
  name: 'kernel-pgtable-async-free',
  title: 'Deferred freeing of kernel page tables against an IOMMU paging-structure cache (SVA)',
  doc: 'protocols.md §6: unmappers enqueue kernel PTE tables, a work item invalidates the IOMMU and frees them, while the IOMMU walks through cached pointers.',
  params: {
    unmappers: { min: 1, max: 3, default: 2, doc: 'pmd_free_pte_page() callers, each on its own range and PTE table' },
  },
  build: (p) => {
    const st = state(p.unmappers);
    return {
      state: st,
      init: (s: any) => {
        for (let i = 0; i < p.unmappers; i++) {
          ptInitLive(s, i + 1);
          s.pmd[i].v = i + 1;
        }
      },
      threads: {
        vmap: vmap(st, p.unmappers, true),
        kworker: kworker(st, p.unmappers, V7_ORDER),
        iommu: hwWalker(st, p.unmappers, 'iommu'),
        mmu: hwWalker(st, p.unmappers, 'cpu'),
      },
    };
  },
  variants: {
    deferred: {
      summary: 'v7: pagetable_free_kernel enqueues and kicks; the worker splices, invalidates the IOMMU, then frees',
      patch: '"mm: Introduce deferred freeing for kernel page tables" (Dave Hansen) + "iommu/sva: Invalidate stale IOTLB entries for kernel address space", v7, Lu Baolu, Oct 22 2025',
    },
    'immediate-free': {
      summary: 'before the series: __pagetable_free right after the CPU-only TLB flush (B6.1, CVE-2025-71089)',
      patch: 'x86 pmd_free_pte_page() before the series (the bug since 26b25a2b98e4 "iommu: Bind process address spaces to devices")',
      apply: (d, p) => replaceThreads(d, { vmap: vmap(state(p.unmappers), p.unmappers, false) }),
    },
    'invalidate-before-splice': {
      summary: 'the worker invalidates the IOMMU before it splices the list (B6.2, W2 before W1)',
      patch: 'analysis (protocols.md B6.2)',
      apply: (d, p) => replaceThreads(d, { kworker: kworker(state(p.unmappers), p.unmappers, ['iommu_sva_invalidate_kva_range', 'list_splice_tail_init', '__pagetable_free']) }),
    },
    'free-before-invalidate': {
      summary: 'the worker frees the batch before it invalidates the IOMMU (B6.2, W3 before W2)',
      patch: 'analysis (protocols.md B6.2)',
      apply: (d, p) => replaceThreads(d, { kworker: kworker(state(p.unmappers), p.unmappers, ['list_splice_tail_init', '__pagetable_free', 'iommu_sva_invalidate_kva_range']) }),
    },
    'drop-kick-while-running': {
      summary: 'schedule_work misread as "queued or running => drop the kick" (B6.2): a late item is lost',
      patch: 'analysis (protocols.md B6.2)',
      apply: (d) => {
        d.threads.vmap.steps.schedule_work = (s) => {
          if (!workBusy(s.work)) scheduleWork(s.work);
          return DONE;
        };
      },
    },
  },
});
