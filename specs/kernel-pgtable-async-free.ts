/*
 * Properties and expected verdicts for models/kernel-pgtable-async-free.ts (protocols.md §6, B6.1,
 * B6.2). Expectations are for the default parameters (unmappers=2); the rows are functions of
 * `unmappers`: with one unmapper there is one enqueue and one kick, made before the work runs, so
 * nothing is enqueued or kicked while the function runs. Then kick-while-running is unreachable,
 * invalidate-before-splice holds (its one item is on the list, unlinked, before the invalidation) and
 * drop-kick-while-running loses no kick (B6.2: both hazards need an item enqueued while the worker
 * runs, from a second unmapper). free-before-invalidate needs only one item.
 *
 * deferred (v7): everything holds. Each table is unlinked before it is enqueued, the worker splices
 *   the batch before it invalidates the IOMMU, so every table it frees was unlinked before the
 *   invalidation and cannot be cached again after it. schedule_work clears PENDING when the function
 *   starts, so an item enqueued after the splice re-queues the work and is freed by the next run.
 * immediate-free (B6.1, CVE-2025-71089): the IOMMU walks T while linked and caches it; the unmapper
 *   clears the pmd, flushes the CPU TLBs only and frees T; the IOMMU walks through its cached
 *   pointer into the freed table.
 * invalidate-before-splice (B6.2, W2 before W1): needs two unmappers: the worker, kicked by one,
 *   invalidates; the other unlinks a table the IOMMU had cached after that invalidation and
 *   enqueues it; the worker splices and frees it with the pointer still cached.
 * free-before-invalidate (B6.2, W3 before W2): the worker frees a batch the IOMMU still caches.
 * drop-kick-while-running (B6.2): the worker has spliced and is running; an unmapper enqueues and its
 *   kick is dropped because the work is running; nothing runs the work again, so the table is never
 *   freed (a leak: nothing is freed early, so no stale walk).
 * In every variant the CPUs' caches never keep a freed table: flush_tlb_kernel_range comes before any
 *   free, and the CPU walker cannot cache a table once its pmd is cleared.
 */

import model from '../models/kernel-pgtable-async-free.ts';
import { Fault, PMD_NONE, noFault } from '../src/kernel/index.ts';
import { cachesFreedTable, pwcTag } from '../src/kernel/walker-cache.ts';
import { WORK_PENDING, WORK_RUNNING } from '../src/kernel/workqueue.ts';
import { cellsOf } from '../src/model/cells.ts';
import { always, defineSpec, final, sometimes } from '../src/spec/property.ts';

const holdsAll = {
  'no-stale-walk': 'holds',
  'iommu-never-caches-freed-table': 'holds',
  'cpu-never-caches-freed-table': 'holds',
  'no-use-after-free': 'holds',
  'tables-freed-once-and-unlinked': 'holds',
  'every-table-freed': 'holds',
  'deadlock-free': 'holds',
  'table-freed': 'reachable',
  'iommu-caches-unlinked-table': 'reachable',
  'kick-while-running': 'reachable',
} as const;

/** A kick while the function runs needs a second unmapper (header). */
const kickWhileRunning = (p: { readonly unmappers: number }) => ({ 'kick-while-running': p.unmappers >= 2 ? 'reachable' : 'unreachable' }) as const;

const staleIommu = { ...holdsAll, 'no-stale-walk': 'violated', 'iommu-never-caches-freed-table': 'violated' } as const;

export default defineSpec(model, {
  properties: [
    noFault('no-stale-walk', Fault.STALE_WALK, 'no hardware walk through a cached pointer to a freed table (P-TLB: use/write after free by the IOMMU)'),
    always('iommu-never-caches-freed-table', "no entry of the IOMMU's paging-structure cache points to a freed table (P-TLB)", (s) => !cachesFreedTable(s, 'iommu')),
    always('cpu-never-caches-freed-table', "no entry of the CPUs' paging-structure cache points to a freed table (P-TLB)", (s) => !cachesFreedTable(s, 'cpu')),
    noFault('no-use-after-free', Fault.UAF, 'no walk through memory reaches a freed table (P-UAF)'),
    noFault('tables-freed-once-and-unlinked', Fault.DOUBLE_FREE | Fault.FREE_ATTACHED | Fault.FREE_GARBAGE, 'a table is freed once, and only after its pmd was cleared'),
    final(
      'every-table-freed',
      'at the end every unmapped table is freed and kernel_pgtable_work.list is empty (no kick lost)',
      (s) => s.pt.every((t) => t.state === 'freed') && s.pgtable_list.length === countFalse(s.pgtable_list),
    ),
    sometimes('table-freed', 'a table really is freed', (s) => s.pt.some((t) => t.state === 'freed')),
    sometimes(
      'iommu-caches-unlinked-table',
      'the IOMMU caches a table that is already unlinked but not yet freed (the window the invalidation closes)',
      (s) => cellsOf(s, pwcTag('iommu')).some((c) => c.v > 0 && s.pt[c.v - 1]!.state === 'live' && s.pmd[c.v - 1]!.v === PMD_NONE),
    ),
    sometimes('kick-while-running', 'schedule_work while the function runs queues the work again', (s) => s.work.v === (WORK_PENDING | WORK_RUNNING)),
  ],
  expect: {
    deferred: (p) => ({ ...holdsAll, ...kickWhileRunning(p) }),
    'immediate-free': { ...staleIommu, 'kick-while-running': 'unreachable' },
    'invalidate-before-splice': (p) => (p.unmappers >= 2 ? staleIommu : { ...holdsAll, ...kickWhileRunning(p) }),
    'free-before-invalidate': (p) => ({ ...staleIommu, ...kickWhileRunning(p) }),
    'drop-kick-while-running': (p) => ({
      ...holdsAll,
      'every-table-freed': p.unmappers >= 2 ? 'violated' : 'holds',
      'kick-while-running': 'unreachable',
    }),
  },
});

function countFalse(a: { readonly length: number; get(i: number): boolean }): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!a.get(i)) n++;
  return n;
}
