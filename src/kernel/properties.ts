// Properties read from the fault bits the kernel primitives record, so that what counts as a
// use-after-free (and so on) is decided in the primitives, once.

import { always, type Property } from '../spec/property.ts';
import { FAULT_NAMES } from './faults.ts';

/** `always` the fault(s) in `mask` never happen. */
export function noFault(name: string, mask: number, doc?: string): Property<{ faults: number }> {
  const what = Object.entries(FAULT_NAMES)
    .filter(([b]) => (Number(b) & mask) !== 0)
    .map(([, n]) => n)
    .join(', ');
  const p = always(name, doc ?? `never: ${what}`, (s: { faults: number }) => (s.faults & mask) === 0);
  return { ...p, noBits: { field: 'faults', bits: mask } };
}
