/*
 * Properties and expected verdicts for models/pte-refcount.ts (protocols.md §4a, P-* list).
 * Expectations are for the default parameters (faults=2, walkers=1); the rows are functions of them
 * where a thread the verdict needs is absent: walker-reads-table needs a walker, fault-installs-new-table
 * a fault; immediate-free's use-after-free needs a lockless pte_try_get reader (a walker or a fault, both
 * call it; madvise alone only frees); walker-without-tryget's two violations are the walker's own.
 *
 * rcu-deferred: everything holds. A reference keeps the table linked: the count only reaches zero once
 *   (pte_get_unless_zero and pte_install_try_get never raise a zero count, pte_get is only called by a
 *   holder), so exactly one putter runs free_user_pte_table and no holder exists by then; pte_try_get's
 *   lockless READ_ONCE(*pmd) is followed by atomic_inc_not_zero inside one RCU section, so the table it
 *   read cannot be freed before the increment; its failure (count zero) sends the fault to
 *   pte_install_try_get, which retries under pml until the freer has cleared *pmd, then installs a new
 *   table.
 * immediate-free: no-use-after-free is violated, nothing else:
 *     madvise                                    walker
 *     zap: clear page1, pte_put_many (2 -> 1),
 *     pte_put (1 -> 0) -> free_user_pte_table:
 *     pmd_lock
 *                                                pte_try_get: rcu_read_lock, READ_ONCE(*pmd) = T1
 *     pmdp_huge_get_and_clear, spin_unlock,
 *     mm_dec_nr_ptes, pte_free(T1)
 *                                                pte_get_unless_zero: atomic_inc_not_zero on the
 *                                                pte_refcount of freed T1: USE AFTER FREE
 *   pml does not exclude the lockless reader, and rcu_read_lock only helps a free that waits for a
 *   grace period. The increment fails (the count read is zero), so the walker then gives up and the
 *   fault installs a new table: no other property is affected.
 * walker-without-tryget (the v3 Documentation/vm/pte_ref.rst scenario): no-use-after-free and
 *   no-pmd-none-dereference are violated:
 *     madvise                                    walker (mmap_lock read, no reference)
 *     pte_put (1 -> 0) -> free_user_pte_table:
 *     pmd_lock
 *                                                pmd_trans_unstable: *pmd = T1, a table
 *                                                pte_lockptr: ptl of T1
 *     pmdp_huge_get_and_clear, unlock,
 *     mm_dec_nr_ptes, call_rcu(T1)
 *                                 (rcu: pte_free_rcu(T1): the walker holds no RCU section)
 *                                                pte_offset_map (*pmd none), spin_lock(T1 ptl):
 *                                                USE AFTER FREE
 *   and with pte_lockptr after the clear, the walker locks a lock computed from a none pmd. The walker
 *   only reads, so no PTE write goes astray.
 */

import model from '../models/pte-refcount.ts';
import { Fault, noFault, noDoubleFree, pteWriteAttached, pteWriteUnderItsPtl, noFreeOfNonEmptyTable, nrPtesConsistent, mappingsSurvive } from '../src/kernel/index.ts';
import { defineSpec, final, sometimes } from '../src/spec/property.ts';

const holdsAll = {
  'no-use-after-free': 'holds',
  'no-double-free': 'holds',
  'pte-write-attached': 'holds',
  'pte-write-under-its-ptl': 'holds',
  'no-free-of-non-empty-table': 'holds',
  'no-pmd-none-dereference': 'holds',
  'locks-balanced': 'holds',
  'pte-refcount-no-underflow': 'holds',
  'mappings-survive': 'holds',
  'nr-ptes-consistent': 'holds',
  'pte-refcount-counts-entries': 'holds',
  'deadlock-free': 'holds',
  'madvise-frees-table': 'reachable',
  'walker-reads-table': 'reachable',
  'fault-installs-new-table': 'reachable',
} as const;

/** Guards on a thread that the parameters may leave out (header). */
const guards = (p: { readonly faults: number; readonly walkers: number }) =>
  ({
    'walker-reads-table': p.walkers >= 1 ? 'reachable' : 'unreachable',
    'fault-installs-new-table': p.faults >= 1 ? 'reachable' : 'unreachable',
  }) as const;

export default defineSpec(model, {
  properties: [
    noFault('no-use-after-free', Fault.UAF, 'no load, store, ptlock or pte_refcount access of a table after it is freed (P-UAF)'),
    noDoubleFree(),
    pteWriteAttached(),
    pteWriteUnderItsPtl(),
    noFreeOfNonEmptyTable(),
    noFault('no-pmd-none-dereference', Fault.BAD_PMD_DEREF | Fault.FREE_GARBAGE, 'no table pointer computed from a none pmd'),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT | Fault.RCU_UNBALANCED | Fault.RCU_HEAD_REQUEUED, 'every lock and RCU section released once by its owner; no rcu_head queued twice (P-LOCK, P-RCUHEAD)'),
    noFault('pte-refcount-no-underflow', Fault.REFCOUNT_UNDERFLOW, 'no pte_refcount below zero'),
    mappingsSurvive(1),
    nrPtesConsistent(),
    final('pte-refcount-counts-entries', 'at the end the linked table has one reference per present entry (none leaked, none missing)', (s) => {
      const t = s.pmd.v;
      if (t <= 0) return true;
      let n = 0;
      const pt = s.pt[t - 1]!;
      for (let i = 0; i < pt.pte.length; i++) if (pt.pte.get(i) !== 0) n++;
      return s.pte_refcount.get(t - 1) === n;
    }),
    // MADV_DONTNEED drops the last reference of T1 and frees it. T1 freed alone does not say it: a walker
    // or fault whose pte_put drops the last reference runs free_user_pte_table too (a mutant in
    // test/specs/guards.test.ts whose madvise never frees still reaches that).
    sometimes('madvise-frees-table', "MADV_DONTNEED's own free_user_pte_table really frees T1 at refcount zero", (s) => s.seen_madvise_frees_t1 && s.pt[0]!.state === 'freed'),
    sometimes('walker-reads-table', 'a walker really reads an entry of a mapped table', (s) => s.seen_walker_read),
    sometimes('fault-installs-new-table', 'a fault really installs a fresh table after the first was freed', (s) => s.pmd.v > 1),
  ],
  expect: {
    'rcu-deferred': (p) => ({ ...holdsAll, ...guards(p) }),
    'immediate-free': (p) => ({ ...holdsAll, ...guards(p), 'no-use-after-free': p.walkers + p.faults >= 1 ? 'violated' : 'holds' }),
    'walker-without-tryget': (p) => {
      const v = p.walkers >= 1 ? 'violated' : 'holds';
      return { ...holdsAll, ...guards(p), 'no-use-after-free': v, 'no-pmd-none-dereference': v };
    },
  },
});
