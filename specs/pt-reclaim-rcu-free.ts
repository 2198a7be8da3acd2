/*
 * Properties and expected verdicts for models/pt-reclaim-rcu-free.ts (protocols.md §3 B3.1, §7; the
 * seed 003 cover letter). Expectations are for the default parameters (faults=1, gups=1; the
 * semi-rcu-gup-fast-only variant fixes faults=0). The rows are functions of them where a walker is
 * absent: walker-locks-detached-table needs a fault walker, gup-fast-reads-detached-table a GUP-fast
 * walker, and semi-rcu's use-after-free needs the fault walker (B3.1: only the IRQs-on rcu_read_lock
 * walker escapes the IPI; with GUP-fast alone semi-RCU holds, as semi-rcu-gup-fast-only says).
 *
 * rcu: everything holds. Both freeing paths are call_rcu, and both walkers are RCU readers for as long as
 *   they use the table: the fault walker from rcu_read_lock to pte_unmap_unlock, GUP-fast from
 *   local_irq_save to local_irq_restore (IRQs-off is a read section, and pte_offset_map adds an
 *   rcu_read_lock inside it). A walker that took its snapshot before try_get_and_clear_pmd is in its
 *   section when madvise queues the free, so the callback waits for it; one that reads *pmd later sees
 *   none. The walkers do reach the detached table (the guards), which is what RCU is there for.
 * semi-rcu (B3.1): the fault walker takes its snapshot T1 inside rcu_read_lock with IRQs enabled;
 *   madvise clears *pmd, finds no batch page, sends tlb_remove_table_sync_one(), which the walker's CPU
 *   takes at once (IRQs on), and frees T1; the walker's spin_lock(ptl(T1)) is a use-after-free. Cover
 *   letter: "IPI cannot be synchronized with rcu_read_lock() in pte_offset_map{_lock}()". The batch path
 *   is still RCU, so the guards for both paths stay reachable; the free itself is single and of an
 *   empty, unlinked table.
 * semi-rcu-gup-fast-only: holds. GUP-fast reads T1 only with IRQs disabled; an IPI sent while its IRQs
 *   are off completes only after local_irq_restore, and one sent earlier was sent after the pmd clear,
 *   so GUP-fast then reads *pmd as none. mm/mmu_gather.c on tlb_remove_table_sync_one: not a grace
 *   period, but "sufficient for software page-table walkers that rely on IRQ disabling". The walker
 *   guard is unreachable (there is no such walker); GUP-fast still reads the detached table.
 */

import model from '../models/pt-reclaim-rcu-free.ts';
import { Fault, noFault } from '../src/kernel/index.ts';
import { defineSpec, sometimes } from '../src/spec/property.ts';

const holdsAll = {
  'no-use-after-free': 'holds',
  'no-double-free': 'holds',
  'no-free-of-non-empty-table': 'holds',
  'locks-balanced': 'holds',
  'batch-path-frees': 'reachable',
  'single-table-path-frees': 'reachable',
  'walker-locks-detached-table': 'reachable',
  'gup-fast-reads-detached-table': 'reachable',
  'deadlock-free': 'holds',
} as const;

/** The guards on a walker the parameters may leave out (header). */
const walkers = (p: { readonly faults: number; readonly gups: number }) =>
  ({
    'walker-locks-detached-table': p.faults >= 1 ? 'reachable' : 'unreachable',
    'gup-fast-reads-detached-table': p.gups >= 1 ? 'reachable' : 'unreachable',
  }) as const;

export default defineSpec(model, {
  properties: [
    noFault('no-use-after-free', Fault.UAF, 'no load, store or ptlock of a table after it is freed (P-UAF)'),
    noFault('no-double-free', Fault.DOUBLE_FREE | Fault.RCU_HEAD_REQUEUED, 'no table freed, or queued for freeing, twice (P-RCUHEAD)'),
    noFault('no-free-of-non-empty-table', Fault.FREE_NONEMPTY | Fault.FREE_ATTACHED | Fault.FREE_GARBAGE, 'only an empty, unlinked, real table is freed (P-EMPTY)'),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT | Fault.RCU_UNBALANCED, 'every lock, RCU section and IRQs-off section released exactly once, by its owner (P-LOCK)'),
    sometimes('batch-path-frees', 'the table is freed through the batch (tlb_remove_table_rcu)', (s) => s.pt[0]!.state === 'freed' && !s.ghost.fallback),
    sometimes('single-table-path-frees', 'the table is freed through the single-table fallback', (s) => s.pt[0]!.state === 'freed' && s.ghost.fallback),
    sometimes('walker-locks-detached-table', 'the rcu_read_lock walker takes the ptl of a table already unlinked from *pmd', (s) => s.ghost.walker_locked_detached),
    sometimes('gup-fast-reads-detached-table', 'GUP-fast reads a pte of a table already unlinked from *pmd', (s) => s.ghost.gup_read_detached),
  ],
  expect: {
    rcu: (p) => ({ ...holdsAll, ...walkers(p) }),
    'semi-rcu': (p) => ({ ...holdsAll, ...walkers(p), 'no-use-after-free': p.faults >= 1 ? 'violated' : 'holds' }),
    'semi-rcu-gup-fast-only': (p) => ({ ...holdsAll, ...walkers(p) }),
  },
});
