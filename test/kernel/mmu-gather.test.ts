import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import {
  Fault,
  PMD_NONE,
  hwWalk,
  kernelState,
  localIrqDisable,
  localIrqEnable,
  lock,
  mmuGather,
  noFault,
  pagetableDtorFree,
  pmdEntry,
  ptInitInstalled,
  pwcEntry,
  rcuReadLock,
  rcuReadUnlock,
  rcuThread,
  readPte,
  spinLock,
  spinUnlock,
  tableRef,
  tlbFlushMmu,
  tlbRemoveTable,
  tlbRemoveTableRcu,
  tlbTableFlush,
} from '../../src/kernel/index.ts';
import { final, sometimes } from '../../src/spec/property.ts';
import { verdicts } from './kit.ts';

const BATCH_RCU = { head: 0, cb: 1 };
const TABLE_RCU = { head: (t: number) => 1 + t - 1, cb: 2 };

/**
 * protocols.md §3 B3.1: a walker reads T1 through a lockless snapshot of *pmd, in an RCU read section
 * (IRQs on) or with IRQs off (GUP-fast); the reclaimer clears *pmd under pml, then tlb_remove_table(T1)
 * and tlb_flush_mmu. The batch page allocation may fail; the fallback is the IPI or (PT_RECLAIM) call_rcu.
 */
function reclaim(fallback: 'ipi' | 'rcu', walker: 'rcu' | 'irq') {
  const st = kernelState(
    { tables: 1, rcuHeads: 2, rcuCallbacks: ['tlb_remove_table_rcu', 'pte_free_rcu'] },
    { pmd: pmdEntry(), pml: lock(), tlb: mmuGather({ batches: 1, perBatch: 2 }) },
  );
  const enter = walker === 'rcu' ? (_s: any, me: any) => rcuReadLock(me) : (s: any, me: any) => localIrqDisable(s, me);
  const leave = walker === 'rcu' ? (s: any, me: any) => rcuReadUnlock(s, me) : (s: any, me: any) => localIrqEnable(s, me);
  const w = thread(st, {
    locals: { pmdval: tableRef() },
    steps: {
      enter: (s, me) => (enter(s, me), 'pmdp_get_lockless'),
      pmdp_get_lockless: (s, me) => {
        me.pmdval = s.pmd.v;
        return me.pmdval > 0 ? 'ptep_get' : 'leave';
      },
      ptep_get: (s, me) => (readPte(s, me.pmdval, 0), 'leave'),
      leave: (s, me) => (leave(s, me), DONE),
    },
  });
  const reclaimer = thread(st, {
    locals: { t: tableRef() },
    steps: {
      pmd_lock: (s, me) => (spinLock(me, s.pml) ? 'pmd_clear' : BLOCKED),
      pmd_clear: (s, me) => {
        me.t = s.pmd.v;
        s.pmd.v = PMD_NONE;
        spinUnlock(s, me, s.pml);
        return 'tlb_remove_table';
      },
      ...tlbRemoveTable({ gather: (s) => s.tlb, table: (_s, me) => me.t, batchRcu: BATCH_RCU, fallback, tableRcu: TABLE_RCU, next: 'tlb_flush_mmu' }),
      tlb_flush_mmu: (s, me) => (tlbFlushMmu(s, me, s.tlb, BATCH_RCU), DONE),
    },
  });
  const rcu = rcuThread(
    st,
    ['tlb_remove_table_rcu', 'pte_free_rcu'],
    { tlb_remove_table_rcu: tlbRemoveTableRcu((s) => s.tlb), pte_free_rcu: (s, t) => pagetableDtorFree(s, t) },
    2,
  );
  return {
    state: st,
    init: (s: any) => ptInitInstalled(s, s.pmd, 1),
    threads: { w, reclaimer, rcu },
    properties: [noFault('no-use-after-free', Fault.UAF), noFault('no-double-free', Fault.DOUBLE_FREE)],
  };
}

describe('tlb_remove_table and its allocation-failure fallback', () => {
  it('IPI fallback against an rcu_read_lock walker with IRQs on: use-after-free (B3.1)', () => {
    expect(verdicts(reclaim('ipi', 'rcu'))).toEqual({ 'no-use-after-free': 'violated', 'no-double-free': 'holds', 'deadlock-free': 'holds' });
  });

  it('IPI fallback against an IRQs-off walker (GUP-fast): safe', () => {
    expect(verdicts(reclaim('ipi', 'irq'))).toEqual({ 'no-use-after-free': 'holds', 'no-double-free': 'holds', 'deadlock-free': 'holds' });
  });

  it('PT_RECLAIM call_rcu fallback against the rcu_read_lock walker: safe', () => {
    expect(verdicts(reclaim('rcu', 'rcu'))).toEqual({ 'no-use-after-free': 'holds', 'no-double-free': 'holds', 'deadlock-free': 'holds' });
  });
});

/**
 * A CPU's paging-structure cache holds T1 for the range; the remover clears *pmd and removes T1 through
 * the batch, then frees the batch by RCU. Without tlb_table_invalidate (needs_invalidate false and no
 * tlb_flush_mmu_tlbonly first) the cached pointer survives the free: a stale walk.
 */
function staleWalk(invalidate: boolean) {
  const st = kernelState(
    { tables: 1, rcuHeads: 1, rcuCallbacks: ['tlb_remove_table_rcu'] },
    { pmd: pmdEntry(), pml: lock(), pwc: pwcEntry('cpu'), tlb: mmuGather({ batches: 1, perBatch: 2, invalidate }) },
  );
  const cpu = thread(st, { daemon: true, steps: { walk: (s) => (hwWalk(s, s.pmd, s.pwc) ? 'walk' : BLOCKED) } });
  const remover = thread(st, {
    locals: { t: tableRef() },
    steps: {
      pmd_lock: (s, me) => (spinLock(me, s.pml) ? 'pmd_clear' : BLOCKED),
      pmd_clear: (s, me) => {
        me.t = s.pmd.v;
        s.pmd.v = PMD_NONE;
        spinUnlock(s, me, s.pml);
        return 'tlb_remove_table';
      },
      // only the batch path: this test is about the flush before the batch's call_rcu
      tlb_remove_table: (s, me) => {
        const g = s.tlb;
        g.range = g.range | (1 << me.t);
        g.batch = 1;
        g.pool[0]!.state = 'filling';
        g.pool[0]!.tables.set(0, me.t);
        g.pool[0]!.nr = 1;
        return 'tlb_table_flush';
      },
      tlb_table_flush: (s, me) => (tlbTableFlush(s, me, s.tlb, BATCH_RCU), DONE),
    },
  });
  const rcu = rcuThread(st, ['tlb_remove_table_rcu'], { tlb_remove_table_rcu: tlbRemoveTableRcu((s) => s.tlb) }, 1);
  return {
    state: st,
    init: (s: any) => ptInitInstalled(s, s.pmd, 1),
    threads: { cpu, remover, rcu },
    properties: [noFault('no-stale-walk', Fault.STALE_WALK), noFault('no-use-after-free', Fault.UAF)],
  };
}

describe('tlb_table_invalidate and the user-range paging-structure-cache flush', () => {
  it('with tlb_needs_table_invalidate(): the cached pointer is flushed before the batch is queued', () => {
    expect(verdicts(staleWalk(true))).toMatchObject({ 'no-stale-walk': 'holds', 'no-use-after-free': 'holds' });
  });

  it('without it: the CPU walks the freed table through its cache', () => {
    expect(verdicts(staleWalk(false))).toMatchObject({ 'no-stale-walk': 'violated' });
  });
});

describe('batch filling', () => {
  /** Two tables removed through one gather: a full batch (perBatch) is flushed by tlb_remove_table itself. */
  function twoTables(perBatch: number) {
    const st = kernelState(
      { tables: 2, rcuHeads: 4, rcuCallbacks: ['tlb_remove_table_rcu', 'pte_free_rcu'] },
      { tlb: mmuGather({ batches: 2, perBatch }) },
    );
    const remover = thread(st, {
      locals: { t: tableRef(1) },
      steps: {
        ...tlbRemoveTable({ gather: (s) => s.tlb, table: (_s, me) => me.t, batchRcu: BATCH_RCU, fallback: 'rcu', tableRcu: { head: (t) => 1 + t, cb: 2 }, next: 'next_table' }),
        next_table: (_s, me) => {
          if (me.t === 2) return 'tlb_flush_mmu';
          me.t = 2;
          return 'tlb_remove_table';
        },
        tlb_flush_mmu: (s, me) => (tlbFlushMmu(s, me, s.tlb, BATCH_RCU), DONE),
      },
    });
    const rcu = rcuThread(
      st,
      ['tlb_remove_table_rcu', 'pte_free_rcu'],
      { tlb_remove_table_rcu: tlbRemoveTableRcu((s) => s.tlb), pte_free_rcu: (s, t) => pagetableDtorFree(s, t) },
      4,
    );
    return {
      state: st,
      init: (s: any) => {
        s.pt[0].state = 'live';
        s.pt[1].state = 'live';
      },
      threads: { remover, rcu },
      properties: [
        noFault('no-double-free', Fault.DOUBLE_FREE | Fault.FREE_GARBAGE | Fault.RCU_HEAD_REQUEUED),
        final('both-freed', 'every removed table is freed in the end', (s: any) => s.pt.every((t: any) => t.state === 'freed')),
        sometimes('one-batch-holds-both', 'both tables share one batch', (s: any) => s.tlb.pool.some((b: any) => b.nr === 2)),
      ],
    };
  }

  it('one table per batch: each tlb_remove_table queues its own batch', () => {
    expect(verdicts(twoTables(1))).toEqual({ 'no-double-free': 'holds', 'both-freed': 'holds', 'one-batch-holds-both': 'unreachable', 'deadlock-free': 'holds' });
  });

  it('two per batch: both ride one batch, queued by tlb_flush_mmu', () => {
    expect(verdicts(twoTables(2))).toEqual({ 'no-double-free': 'holds', 'both-freed': 'holds', 'one-batch-holds-both': 'reachable', 'deadlock-free': 'holds' });
  });
});
