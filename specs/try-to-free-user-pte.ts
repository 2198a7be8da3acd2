/*
 * Properties and expected verdicts for models/try-to-free-user-pte.ts (protocols.md §4, P-* list).
 * Expectations are for the default parameters (faults=1, walkers=1); both rows are functions of the
 * parameters for three properties (see "Parameters" at the end).
 *
 * The list did not settle whether the RFC is safe, so each verdict below comes from the model, and the
 * traces were checked by hand against the posted code (09/18 pte_tryget, 10/18 pte_tryget_map_lock,
 * 11/18 do_anonymous_page and zap_pte_range, 13/18 try_to_free_user_pte and free_user_pte, 14/18,
 * 16-17/18 track_pte_set/clear, 02/18 percpu_ref). Both variants are UNSAFE.
 *
 * Trace A (both variants): free_user_pte() called from pte_tryget's failure path frees whatever *pmd
 * holds when it gets pml, without looking at that table's pte_ref.
 *
 *   madvise                              walker                         fault              rcu
 *   zap: pte_tryget_map_lock(T1), clear
 *     page1 (track_pte_clear put),
 *     pte_unmap_unlock: T1 count 0 (percpu)
 *   try_to_free_user_pte: pte_tryget(T1)
 *     (1), pte = T1,
 *     switch_to_atomic: flag, sync get,
 *     call_rcu
 *                                        pte_tryget: rcu_read_lock,
 *                                          READ_ONCE(*pmd) = T1 (after
 *                                          the call_rcu: not waited for)
 *                                                                                          switch_to_atomic_rcu:
 *                                                                                          T1 atomic, count 2
 *   wait_event, put sync ref (1);
 *   rcu_read_lock; __pte_put(T1) (0);
 *   percpu_ref_is_zero -> free_user_pte:
 *     pmd_lock, *pmd = T1, pmd_clear, unlock
 *                                                                       pmd_none: pte_alloc_one T2,
 *                                                                       pmd_install(T2), pte_tryget(T2)
 *                                                                       (percpu: 1), pte_lockptr -> T2
 *                                        percpu_ref_tryget(T1): atomic,
 *                                          zero -> fails; rcu_read_unlock;
 *                                          free_user_pte: pmd_lock, *pmd
 *                                          = T2 (not none/leaf): pmd_clear,
 *                                          unlock, call_rcu(T2)
 *                                                                                          pte_free_rcu(T2):
 *                                                                                          nobody is in an RCU
 *                                                                                          section
 *                                                                       pte_offset_map (*pmd none),
 *                                                                       spin_lock(T2 ptl): USE AFTER FREE
 *
 *   Each step is what the RFC code does: the fault holds a pte_ref on T2, but free_user_pte never reads
 *   it, and the fault holds no RCU section after pte_tryget. The same interleaving with the fault a step
 *   further gives the other violations: set_pte_at into T2 after the walker's pmd_clear
 *   (pte-write-attached), pte_free_rcu then frees T2 with page2 in it (no-free-of-non-empty-table,
 *   mappings-survive: page2 is lost); with the fault's pte_lockptr after the clear it locks a lock
 *   computed from a none pmd (no-pmd-none-dereference). The madvise thread's own free_user_pte (after
 *   percpu_ref_is_zero on T1) does the same to a T2 installed by a fault whose own pte_tryget failed on
 *   T1 and freed it (walkers=0 suffices). pte-ref-no-underflow: a walker holding a ref on T2 runs
 *   pte_lockptr (T2); madvise's free_user_pte (after percpu_ref_is_zero on T1) clears T2 under it and
 *   the fault installs T3; the walker's pte_offset_map reads T3, and pte_unmap_unlock -> pte_put(ptep)
 *   puts pte_to_page(ptep) = T3, a reference it never took (T3's count goes below zero), so at the end
 *   T3 maps page2 with a count of 0 (pte-ref-counts-entries).
 *
 * Trace B (rfc-switch-back only): the switch-back branch acts on the `pte` derived before the switch,
 * while its second pte_tryget took a reference on whatever *pmd holds now.
 *
 *   madvise: zap; pte_tryget(T1); pte = T1; switch_to_atomic (call_rcu)
 *   walker:  pte_tryget(T1) in to-atomic (bias: succeeds, 3), map, lock, read, unlock
 *   fault:   pmd_none no; pte_tryget: READ_ONCE(*pmd) = T1
 *   rcu:     switch_to_atomic_rcu: T1 atomic, count 3
 *   madvise: wait_event, sync put (2); __pte_put (1); is_zero false; switch_back: ...
 *   walker:  pte_put (pte_unmap): T1 count 0, atomic
 *   fault:   percpu_ref_tryget(T1) fails -> free_user_pte: clears T1 (rightly), call_rcu(T1);
 *            faults again: pte_alloc_one T2, pmd_install(T2)
 *   madvise: pte_tryget: READ_ONCE(*pmd) = T2, percpu tryget succeeds (reference on T2)
 *   rcu:     pte_free_rcu(T1): the dtor frees T1's pte_ref
 *   madvise: percpu_ref_switch_to_percpu(pte->pte_ref) with pte = T1: USE AFTER FREE; then
 *            __pte_put(T1) (use after free, a put it does not own), and T2's reference is never
 *            dropped: T2 can never be reclaimed.
 *
 *   This one does not depend on trace A: with free_user_pte changed to clear *pmd only when the table
 *   it names has its pte_ref at zero (an experiment, not a variant), `rfc` holds every property (also
 *   with faults=2 or walkers=2), while `rfc-switch-back` still violates no-use-after-free,
 *   pte-ref-no-underflow and pte-ref-counts-entries.
 *
 * Holding at the defaults: no-double-free (free_user_pte clears *pmd under pml, so one caller frees a
 * given table), no-bug-on, nr-ptes-consistent, locks-balanced, deadlock-free, and
 * pte-write-under-its-ptl (only up to faults=1, see trace C).
 *
 * Trace C (both variants, faults >= 2): a fault writes a PTE of T3 holding T2's ptl. 10/18 defines
 * pte_tryget_map_lock() as pte_tryget(), then `__ptl = pte_lockptr(mm, pmd)` and `__pte =
 * pte_offset_map(pmd, address)`, each a fresh load of *pmd (pmd_page(*pmd)), then spin_lock(__ptl) with
 * no pmd_same recheck: the v5.18 pte_offset_map_lock shape (protocols.md B1.1; mainline's
 * __pte_offset_map_lock locks the table of one snapshot and rechecks *pmd under it). The two loads
 * agree only while nobody clears *pmd under a pte_ref holder, and trace A is exactly that:
 *
 *   madvise: as in trace A up to percpu_ref_is_zero(T1) -> free_user_pte: pmd_clear(T1)
 *   fault1:  pte_tryget: READ_ONCE(*pmd) = T1 (before that clear, T1 already switching to atomic)
 *   fault0:  pmd_none: pte_alloc_one T2, pmd_install(T2); pte_tryget(T2) (percpu: 1);
 *            pte_lockptr -> T2's ptl
 *   fault1:  percpu_ref_tryget(T1): atomic, zero -> fails -> free_user_pte: pmd_lock, *pmd = T2:
 *            pmd_clear, unlock, call_rcu(T2); faults again: pte_alloc_one T3, pmd_install(T3)
 *   fault0:  pte_offset_map -> T3; spin_lock(T2's ptl); track_pte_set; set_pte_at into T3 without
 *            T3's ptl, which fault1 takes for its own set_pte_at into T3: two writers of one table under
 *            two different locks, so nothing orders fault0's store against a zap or copy of T3
 *
 * T3 must be installed, between the writer's two loads, by a thread other than the writer: walkers and
 * madvise never install, so with faults=1 the second load can only see none (no-pmd-none-dereference)
 * and the property holds. It is neither a model nor a property artefact: every step is the RFC's, and
 * the property looks up the ptl of the table written (tables are never reused here; T2 is not yet
 * freed when its lock is taken). It is another face of trace A (with free_user_pte looking at the ref,
 * the experiment above, rfc holds at faults=2), so it adds no variant; the rows depend on `faults`.
 *
 * Parameters (checked at faults x walkers = 1x0, 1x1, 1x2, 2x0, 2x1; 2x2 is beyond a run of minutes):
 *   pte-write-under-its-ptl  violated iff faults >= 2 (trace C).
 *   pte-ref-no-underflow     violated iff walkers >= 1. pte_unmap_unlock's pte_put(ptep) puts the table
 *                            of the second *pmd load. A fault has just taken a reference on that very
 *                            table in track_pte_set (its own entry goes none -> present), so its put
 *                            never takes the count below where it found it; a read-only walker's only
 *                            reference is on the table of pte_tryget's load, so when the loads differ
 *                            (trace A's last case) it puts one it never took.
 *   pte-ref-counts-entries   violated iff walkers >= 1 or faults >= 2: the walker's put above, or in
 *                            trace C fault0's put on T3 cancelling the reference of the entry it just
 *                            wrote there (T3 maps page2 and page3 with a count of 1). With one fault
 *                            and no walker every get and put of a thread names the same table, and a
 *                            table cleared under a holder stays cleared (only that fault installs).
 */

import model from '../models/try-to-free-user-pte.ts';
import { Fault, noFault, noDoubleFree, pteWriteAttached, pteWriteUnderItsPtl, noFreeOfNonEmptyTable, nrPtesConsistent, mappingsSurvive } from '../src/kernel/index.ts';
import { percpuRefCount } from '../src/kernel/percpu-ref.ts';
import { defineSpec, final, sometimes } from '../src/spec/property.ts';

const holdsAll = {
  'no-use-after-free': 'holds',
  'no-double-free': 'holds',
  'pte-write-attached': 'holds',
  'pte-write-under-its-ptl': 'holds',
  'no-free-of-non-empty-table': 'holds',
  'no-pmd-none-dereference': 'holds',
  'locks-balanced': 'holds',
  'pte-ref-no-underflow': 'holds',
  'no-bug-on': 'holds',
  'mappings-survive': 'holds',
  'nr-ptes-consistent': 'holds',
  'pte-ref-counts-entries': 'holds',
  'deadlock-free': 'holds',
  'madvise-frees-table': 'reachable',
  'tryget-fails-on-atomic-zero': 'reachable',
  'fault-installs-new-table': 'reachable',
  'switch-back-runs': 'reachable',
} as const;

/** What trace A (and, for rfc-switch-back, also trace B) violates. */
const unsafe = {
  ...holdsAll,
  'no-use-after-free': 'violated',
  'pte-write-attached': 'violated',
  'no-free-of-non-empty-table': 'violated',
  'no-pmd-none-dereference': 'violated',
  'pte-ref-no-underflow': 'violated',
  'mappings-survive': 'violated',
  'pte-ref-counts-entries': 'violated',
} as const;

/** The verdicts that depend on the parameters (header, "Parameters"). */
const byParams = (p: { readonly faults: number; readonly walkers: number }) =>
  ({
    'pte-write-under-its-ptl': p.faults >= 2 ? 'violated' : 'holds',
    'pte-ref-no-underflow': p.walkers >= 1 ? 'violated' : 'holds',
    'pte-ref-counts-entries': p.walkers >= 1 || p.faults >= 2 ? 'violated' : 'holds',
  }) as const;

export default defineSpec(model, {
  properties: [
    noFault('no-use-after-free', Fault.UAF, 'no load, store, ptlock or pte_ref access of a table after it is freed (P-UAF)'),
    noDoubleFree(),
    pteWriteAttached(),
    pteWriteUnderItsPtl(),
    noFreeOfNonEmptyTable(),
    noFault('no-pmd-none-dereference', Fault.BAD_PMD_DEREF | Fault.FREE_GARBAGE, 'no table pointer computed from a none pmd'),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT | Fault.RCU_UNBALANCED | Fault.RCU_HEAD_REQUEUED, 'every lock and RCU section released once by its owner; no rcu_head queued twice (P-LOCK, P-RCUHEAD)'),
    noFault('pte-ref-no-underflow', Fault.REFCOUNT_UNDERFLOW, 'no pte_ref count below zero: nobody puts a reference it does not hold'),
    noFault('no-bug-on', Fault.BUG, 'track_pte_set/track_pte_clear never find their pte_ref at zero'),
    mappingsSurvive(1),
    nrPtesConsistent(),
    final('pte-ref-counts-entries', 'at the end the linked table has one reference per present entry (none leaked, none missing)', (s) => {
      const t = s.pmd.v;
      if (t <= 0) return true;
      let n = 0;
      const pt = s.pt[t - 1]!;
      for (let i = 0; i < pt.pte.length; i++) if (pt.pte.get(i) !== 0) n++;
      return percpuRefCount(s.pte_ref[t - 1]!) === n;
    }),
    // MADV_DONTNEED's own free_user_pte frees T1. T1 freed alone does not say it: a walker or fault
    // whose pte_tryget fails on the atomic-zero ref calls free_user_pte too and frees T1 (a mutant in
    // test/specs/guards.test.ts whose madvise never frees still reaches that).
    sometimes('madvise-frees-table', "MADV_DONTNEED's free_user_pte really frees T1", (s) => s.seen_madvise_frees_t1 && s.pt[0]!.state === 'freed'),
    sometimes('tryget-fails-on-atomic-zero', 'a percpu_ref_tryget really fails (ref in atomic mode at zero)', (s) => s.seen_tryget_fail),
    sometimes('fault-installs-new-table', 'a fault really installs a fresh table after the first was cleared', (s) => s.pmd.v > 1),
    sometimes('switch-back-runs', 'try_to_free_user_pte really switches a ref back to percpu mode', (s) => s.seen_switch_back),
  ],
  expect: {
    rfc: (p) => ({ ...unsafe, ...byParams(p), 'switch-back-runs': 'unreachable' }),
    'rfc-switch-back': (p) => ({ ...unsafe, ...byParams(p) }),
  },
});
