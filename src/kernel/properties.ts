// Properties read from the fault bits the kernel primitives record, so that what counts as a
// use-after-free (and so on) is decided in the primitives, once.

import { always, final, type Property } from '../spec/property.ts';
import { Fault, FAULT_NAMES } from './faults.ts';
import { linkedTables } from './pgtable.ts';

/** `always` the fault(s) in `mask` never happen. */
export function noFault(name: string, mask: number, doc?: string): Property<{ faults: number }> {
  const what = Object.entries(FAULT_NAMES)
    .filter(([b]) => (Number(b) & mask) !== 0)
    .map(([, n]) => n)
    .join(', ');
  const p = always(name, doc ?? `never: ${what}`, (s: { faults: number }) => (s.faults & mask) === 0);
  return { ...p, noBits: { field: 'faults', bits: mask } };
}

// ---- page-table properties several specs share (same name, same meaning everywhere) ------------

/** `always`: no table is freed twice (DOUBLE_FREE). */
export const noDoubleFree = () => noFault('no-double-free', Fault.DOUBLE_FREE, 'no table freed twice');

/** `always`: a PTE written under its ptl lands in a table still linked from *pmd (WRITE_DETACHED, P-ATTACHED). */
export const pteWriteAttached = () =>
  noFault('pte-write-attached', Fault.WRITE_DETACHED, 'a PTE written under ptl lands in a table still linked from *pmd (P-ATTACHED)');

/** `always`: a PTE is written only under its own table's ptl (WRITE_UNLOCKED, P-LOCK). */
export const pteWriteUnderItsPtl = () =>
  noFault('pte-write-under-its-ptl', Fault.WRITE_UNLOCKED, "a PTE is written only under its own table's ptl (P-LOCK)");

/** `always`: a table is freed only when empty and unlinked (FREE_NONEMPTY, FREE_ATTACHED, P-EMPTY). */
export const noFreeOfNonEmptyTable = () =>
  noFault('no-free-of-non-empty-table', Fault.FREE_NONEMPTY | Fault.FREE_ATTACHED, 'a table is freed only when empty and unlinked (P-EMPTY)');

interface TablesView {
  nr_ptes: number;
  readonly pmd: { v: number };
  readonly pt: readonly { readonly pte: { readonly length: number; get(i: number): number } }[];
}

/** final: nr_ptes equals the number of tables linked from pmd entries. */
export const nrPtesConsistent = (): Property<any> =>
  final('nr-ptes-consistent', 'at the end nr_ptes equals the number of linked tables', (s: TablesView) => s.nr_ptes === linkedTables(s as any));

/** final: every PTE slot from `first` on (one per fault) is set in the table *pmd links: no mapping lost. */
export const mappingsSurvive = (first = 0): Property<any> =>
  final('mappings-survive', "at the end every fault's page is in a table linked from *pmd (no mapping lost)", (s: TablesView) => {
    for (let i = first; i < s.pt[0]!.pte.length; i++) {
      if (!s.pt.some((t, k) => s.pmd.v === k + 1 && t.pte.get(i) !== 0)) return false;
    }
    return true;
  });

/** `always`: no sleeping primitive runs in atomic context (might_sleep; CONFIG_DEBUG_ATOMIC_SLEEP). */
export const noSleepInAtomic = () =>
  noFault(
    'no-sleep-in-atomic',
    Fault.SLEEP_IN_ATOMIC,
    'no sleeping primitive is called with a spinlock held, preemption or IRQs off, or inside an RCU read section (might_sleep)',
  );

/** `always`: no task sleeps in wait_event() after missing the wake_up meant for it (waitqueue.ts). */
export const noLostWakeup = () =>
  noFault('no-lost-wakeup', Fault.LOST_WAKEUP, 'no task goes to sleep having missed a wake_up issued after its last condition check');
