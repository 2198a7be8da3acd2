/*
 * Properties and expected verdicts for models/pte-offset-map-lock.ts (protocols.md §1, P-* list).
 * Expectations are for the default parameters (faults=2); the no-pmd-recheck row is a function of
 * `faults` (pte-write-under-its-ptl needs faults >= 2, below).
 *
 * upstream: everything holds (§1a: "a page table can be safely removed or replaced by THP while
 *   holding its lock"; RCU keeps a racily removed table "valid though empty and disconnected").
 * no-pmd-recheck (B1.1): the write lands in the detached table (P-ATTACHED) and the mapping is lost
 *   when that table is freed non-empty; "(1) and (2) may name different tables -> lock T1, write T2"
 *   needs a second fault installing T2 (faults >= 2: the remover only clears *pmd, and a lone fault
 *   cannot install between its own two loads, so at faults=1 pte-write-under-its-ptl holds); the old
 *   macro reads *pmd after it was cleared
 *   (pte_offset_map of a none pmd); and with no read section the grace period of pte_free_defer may end
 *   before spin_lock(T.ptl): use-after-free.
 * no-rcu (B1.2): spin_lock on the ptlock of a table the remover already freed (P-UAF); the recheck
 *   still keeps every write in an attached table, so only the use-after-free is violated.
 */

import model from '../models/pte-offset-map-lock.ts';
import { Fault, noFault, noDoubleFree, pteWriteAttached, pteWriteUnderItsPtl, noFreeOfNonEmptyTable, nrPtesConsistent, mappingsSurvive } from '../src/kernel/index.ts';
import { defineSpec, sometimes } from '../src/spec/property.ts';

const holdsAll = {
  'no-use-after-free': 'holds',
  'no-double-free': 'holds',
  'pte-write-attached': 'holds',
  'pte-write-under-its-ptl': 'holds',
  'no-free-of-non-empty-table': 'holds',
  'no-pmd-none-dereference': 'holds',
  'locks-balanced': 'holds',
  'mappings-survive': 'holds',
  'nr-ptes-consistent': 'holds',
  'deadlock-free': 'holds',
  'fault-writes-pte': 'reachable',
  'remover-frees-table': 'reachable',
} as const;

export default defineSpec(model, {
  properties: [
    noFault('no-use-after-free', Fault.UAF, 'no load, store or ptlock of a table after it is freed (P-UAF)'),
    noDoubleFree(),
    pteWriteAttached(),
    pteWriteUnderItsPtl(),
    noFreeOfNonEmptyTable(),
    noFault('no-pmd-none-dereference', Fault.BAD_PMD_DEREF | Fault.FREE_GARBAGE, 'no table pointer computed from a none or huge pmd'),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT | Fault.RCU_UNBALANCED, 'every lock and RCU section released exactly once, by its owner (P-LOCK)'),
    mappingsSurvive(),
    nrPtesConsistent(),
    sometimes('fault-writes-pte', 'a fault really maps its page', (s) => s.pt.some((t) => t.pte.get(0) !== 0)),
    // the remover's own table (a fault that loses the pmd_install race also frees one: not this)
    sometimes('remover-frees-table', 'the remover really frees the table it cleared', (s, t: any) => t.remover.cleared && t.remover.pmdval > 0 && s.pt[t.remover.pmdval - 1]!.state === 'freed'),
  ],
  expect: {
    upstream: holdsAll,
    'no-pmd-recheck': (p) => ({
      ...holdsAll,
      'no-use-after-free': 'violated',
      'pte-write-attached': 'violated',
      'pte-write-under-its-ptl': p.faults >= 2 ? 'violated' : 'holds',
      'no-free-of-non-empty-table': 'violated',
      'no-pmd-none-dereference': 'violated',
      'mappings-survive': 'violated',
    }),
    'no-rcu': { ...holdsAll, 'no-use-after-free': 'violated' },
  },
});
