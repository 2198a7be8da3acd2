// The generic mmu_gather's page-table freeing (mm/mmu_gather.c, protocols.md §7): tlb_remove_table with
// its batch page and the allocation-failure fallback, tlb_table_invalidate, tlb_flush_mmu[_tlbonly],
// tlb_table_flush (call_rcu of the batch) and the batch's RCU callback. Owns the gather record and its
// batch pool; freeing goes through pgtable.ts, the IPI through irq.ts, call_rcu through rcu.ts.

import { array, bool, enumOf, int, record, type ScalarArray } from '../model/schema.ts';
import { ModelError } from '../model/errors.ts';
import { BLOCKED } from '../model/model.ts';
import { ipiSync } from './irq.ts';
import { MAX_TABLES, formatPmd, pagetableDtorFree, type PtState } from './pgtable.ts';
import { callRcu, type RcuState, type ReaderView } from './rcu.ts';
import { flushTlbUserRange } from './walker-cache.ts';

/** Sizes of a model's mmu_gather: batch pages in flight, tables per batch, and whether it tracks needs_invalidate. */
export interface MmuGatherOpts {
  /** batch pages the model may have in flight at once (filling + queued for RCU) */
  readonly batches: number;
  /** MAX_TABLE_BATCH: tables per batch page (the kernel's is hundreds; a model needs 1-3) */
  readonly perBatch: number;
  /** tlb_needs_table_invalidate(): false with CONFIG_MMU_GATHER_NO_TABLE_INVALIDATE (default true) */
  readonly invalidate?: boolean;
}

function formatTableMask(v: number): string {
  const out: string[] = [];
  for (let t = 1; t <= 30; t++) if (v & (1 << t)) out.push(`T${t}`);
  return `{${out.join(', ')}}`;
}

/** A struct mmu_gather with its pool of batch pages (struct mmu_table_batch). */
export function mmuGather(o: MmuGatherOpts) {
  if (o.batches < 1 || o.perBatch < 1) throw new Error('mmuGather: needs at least one batch of at least one table');
  return record({
    needs_invalidate: bool(o.invalidate ?? true),
    /** tlb->batch: the batch being filled (pool index + 1), 0 = NULL */
    batch: int(0, o.batches, 0, (v) => (v === 0 ? 'NULL' : `batch${v - 1}`)),
    /** the user ranges whose tables were removed and not yet TLB-flushed (bit t = table Tt's range) */
    range: int(0, 0x7ffffffe, 0, formatTableMask),
    pool: array(
      o.batches,
      record({
        state: enumOf(['free', 'filling', 'queued'] as const, 'free'),
        nr: int(0, o.perBatch),
        tables: array(o.perBatch, int(0, MAX_TABLES, 0, formatPmd)),
      }),
      (i) => `batch${i}`,
    ),
  });
}

/** One mmu_table_batch page: free, being filled, or queued for RCU, with the tables it holds. */
export interface MmuBatchView {
  state: 'free' | 'filling' | 'queued';
  nr: number;
  readonly tables: ScalarArray<number>;
}
/** struct mmu_gather as steps see it: the batch being filled, the range to flush, needs_invalidate and the batch pool. */
export interface MmuGatherView {
  readonly needs_invalidate: boolean;
  batch: number;
  range: number;
  readonly pool: readonly MmuBatchView[];
}

type St = PtState & RcuState;

/** The gather's range bit for table t (none for a garbage t, whose free records the fault). */
function rangeBit(t: number): number {
  if (t > 30) throw new ModelError(`mmu_gather tracks the ranges of T1..T30 only (got T${t})`);
  return t > 0 ? 1 << t : 0;
}

/**
 * tlb_flush_mmu_tlbonly(): flushes the TLB (and, the gather having freed tables, the CPUs' paging-structure
 * caches) for the gathered user ranges.
 */
export function tlbFlushMmuTlbonly(s: object, g: MmuGatherView): void {
  if (g.range === 0) return;
  flushTlbUserRange(s, g.range);
  g.range = 0;
}

/** tlb_table_invalidate(): tlb_flush_mmu_tlbonly() if tlb_needs_table_invalidate(). */
export function tlbTableInvalidate(s: object, g: MmuGatherView): void {
  if (g.needs_invalidate) tlbFlushMmuTlbonly(s, g);
}

/** Where a gather's batches go through RCU: batch b uses rcu_head[head + b] with callback id `cb`. */
export interface BatchRcu {
  readonly head: number;
  readonly cb: number;
}

/**
 * tlb_table_flush(): if a batch is being filled, tlb_table_invalidate() then tlb_remove_table_free():
 * call_rcu(&batch->rcu, tlb_remove_table_rcu) (the callback gets the batch's pool index), and *batch = NULL.
 */
export function tlbTableFlush(s: St, me: ReaderView, g: MmuGatherView, rcu: BatchRcu): void {
  if (g.batch === 0) return;
  tlbTableInvalidate(s, g);
  const b = g.batch - 1;
  g.pool[b]!.state = 'queued';
  callRcu(s, me, rcu.head + b, rcu.cb, b);
  g.batch = 0;
}

/** tlb_flush_mmu(): tlb_flush_mmu_tlbonly() then tlb_table_flush() (the page batches are not modelled). */
export function tlbFlushMmu(s: St, me: ReaderView, g: MmuGatherView, rcu: BatchRcu): void {
  tlbFlushMmuTlbonly(s, g);
  tlbTableFlush(s, me, g, rcu);
}

/**
 * tlb_remove_table_rcu(), the batch's RCU callback: __tlb_remove_table() (pagetable_dtor + free) on every
 * table of batch `b`, then the batch page is freed. Pass it to rcuThread with the gather's accessor.
 */
export function tlbRemoveTableRcu(gather: (s: any) => MmuGatherView) {
  return (s: any, b: number): void => {
    const batch = gather(s).pool[b];
    if (!batch || batch.state !== 'queued') throw new ModelError(`tlb_remove_table_rcu on batch ${b}, which is not queued`);
    for (let i = 0; i < batch.nr; i++) {
      pagetableDtorFree(s, batch.tables.get(i));
      batch.tables.set(i, 0);
    }
    batch.nr = 0;
    batch.state = 'free';
  };
}

/** tlb_remove_table()'s inputs: the mmu_gather and the table, how batches and (on batch-allocation failure) single tables are freed, and the next label. */
export interface TlbRemoveTableOpts<L extends string> {
  readonly gather: (s: any) => MmuGatherView;
  /** the table to remove (a local of the calling thread, say) */
  readonly table: (s: any, me: any) => number;
  readonly batchRcu: BatchRcu;
  /**
   * the allocation-failure fallback, __tlb_remove_table_one(): 'ipi' = tlb_remove_table_sync_one() (a
   * synchronous IPI) then an immediate free; 'rcu' = with PT_RECLAIM, call_rcu(&ptdesc->pt_rcu_head) on
   * rcu_head `tableRcu.head(t)` with callback `tableRcu.cb` (argument t), whose callback frees t
   */
  readonly fallback: 'ipi' | 'rcu';
  readonly tableRcu?: { readonly head: (t: number) => number; readonly cb: number };
  readonly next: L;
}

/**
 * tlb_remove_table(tlb, table) as a thread's steps (labels: 'tlb_remove_table' and the fallback's
 * 'tlb_remove_table_sync_one' / '__tlb_remove_table' / 'call_rcu(pt_rcu_head)'), continuing to `next`.
 * The table's user range joins the gather (for the later TLB flush). With no batch page, the allocation
 * (__get_free_page(GFP_NOWAIT)) is a nondeterministic choice: alternative 0 gets a page, alternative 1
 * fails and takes the fallback after tlb_table_invalidate(). A full batch is flushed (tlb_table_flush).
 * One call site per thread: the labels are fixed.
 */
export function tlbRemoveTable<const L extends string>(o: TlbRemoveTableOpts<L>) {
  if (o.fallback === 'rcu' && !o.tableRcu) throw new Error("tlbRemoveTable: the 'rcu' fallback needs tableRcu");
  type Next = L | 'tlb_remove_table_sync_one' | '__tlb_remove_table' | 'call_rcu(pt_rcu_head)';
  const fallbackLabel = o.fallback === 'ipi' ? ('tlb_remove_table_sync_one' as const) : ('call_rcu(pt_rcu_head)' as const);
  return {
    tlb_remove_table: {
      alts: 2,
      run: (s: any, me: any, alt: number): Next | typeof BLOCKED => {
        const g = o.gather(s);
        const t = o.table(s, me);
        if (alt === 1 && g.batch !== 0) return BLOCKED; // a batch is there: no allocation to fail
        g.range = g.range | rangeBit(t);
        if (alt === 1) {
          tlbTableInvalidate(s, g);
          return fallbackLabel;
        }
        if (g.batch === 0) {
          let b = 0;
          while (b < g.pool.length && g.pool[b]!.state !== 'free') b++;
          if (b === g.pool.length) b = -1;
          if (b < 0) throw new ModelError(`mmu_gather: no free batch page (${g.pool.length} declared): declare more batches`);
          g.pool[b]!.state = 'filling';
          g.pool[b]!.nr = 0;
          g.batch = b + 1;
        }
        const batch = g.pool[g.batch - 1]!;
        batch.tables.set(batch.nr, t);
        batch.nr = batch.nr + 1;
        if (batch.nr === batch.tables.length) tlbTableFlush(s, me, g, o.batchRcu);
        return o.next;
      },
      show: (alt: number, s: any) => (alt === 1 ? 'tlb_remove_table: batch alloc fails' : o.gather(s).batch === 0 ? 'tlb_remove_table: new batch' : 'tlb_remove_table'),
    },
    tlb_remove_table_sync_one: ipiSync<Next>('tlb_remove_table_sync_one', '__tlb_remove_table'),
    __tlb_remove_table: (s: any, me: any): Next => {
      pagetableDtorFree(s, o.table(s, me));
      return o.next;
    },
    'call_rcu(pt_rcu_head)': (s: any, me: any): Next => {
      const t = o.table(s, me);
      callRcu(s, me, o.tableRcu!.head(t), o.tableRcu!.cb, t);
      return o.next;
    },
  };
}
