/*
 * Properties and expected verdicts for models/gup-fast-table-free.ts (protocols.md §7; a37259732a7d).
 * Expectations are for the default parameters (walkers=2, ptes=1); they hold for every walker count.
 *
 * rcu-table-free: everything holds. A walker reads *pmd only after local_irq_save, and IRQs off is an
 *   RCU read section (consolidated RCU; the mmu_gather comment: "IRQ/preempt disabling holds off grace
 *   periods"); munmap calls call_rcu after pmd_clear, so a walker that saw T1 is a reader at that
 *   moment and tlb_remove_table_rcu waits for its local_irq_restore. One that reads *pmd later sees none.
 * ipi-flush: holds too. The flush IPI is sent after pmd_clear; a CPU that had IRQs off when it was sent
 *   takes it only at local_irq_restore, so the free waits for every walker that could have seen T1
 *   (a37259732a7d: bare metal relied on "blocking IRQs, which block TLB flush IPIs").
 * no-ipi-flush: the flush waits for nobody and the table page is freed at once: a walker that read *pmd
 *   before pmd_clear reads a pte of the freed table (P-UAF). Nothing else breaks: munmap zapped every
 *   pte under the ptl before unlinking, and the walkers write nothing.
 * The guards: the table really is freed, and a walker really holds a snapshot of T1 inside its
 *   IRQs-off section after *pmd was cleared (the window the freeing has to wait out).
 */

import model from '../models/gup-fast-table-free.ts';
import { Fault, PMD_NONE, noDoubleFree, noFault, noFreeOfNonEmptyTable, nrPtesConsistent, pteWriteAttached, pteWriteUnderItsPtl } from '../src/kernel/index.ts';
import { defineSpec, sometimes } from '../src/spec/property.ts';

const holdsAll = {
  'no-use-after-free': 'holds',
  'no-double-free': 'holds',
  'no-free-of-non-empty-table': 'holds',
  'pte-write-attached': 'holds',
  'pte-write-under-its-ptl': 'holds',
  'locks-balanced': 'holds',
  'nr-ptes-consistent': 'holds',
  'deadlock-free': 'holds',
  'table-freed': 'reachable',
  'walker-holds-detached-table': 'reachable',
} as const;

export default defineSpec(model, {
  properties: [
    noFault('no-use-after-free', Fault.UAF, 'no walker reads a pte of a table after it is freed (P-UAF)'),
    noDoubleFree(),
    noFreeOfNonEmptyTable(),
    pteWriteAttached(),
    pteWriteUnderItsPtl(),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT | Fault.RCU_UNBALANCED, 'every lock, RCU section and IRQs-off section released exactly once, by its owner (P-LOCK)'),
    nrPtesConsistent(),
    sometimes('table-freed', 'munmap really frees the table', (s) => s.pt[0]!.state === 'freed'),
    sometimes('walker-holds-detached-table', 'a walker with IRQs off holds a snapshot of T1 after *pmd was cleared', (s, t: any) => {
      if (s.pmd.v !== PMD_NONE) return false;
      for (const name in t) if (name.startsWith('gup_fast') && t[name].irqs_off && t[name].pmd === 1) return true;
      return false;
    }),
  ],
  expect: {
    'rcu-table-free': holdsAll,
    'ipi-flush': holdsAll,
    'no-ipi-flush': { ...holdsAll, 'no-use-after-free': 'violated' },
  },
});
