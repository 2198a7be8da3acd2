// Atomics on fields of a page-table page's struct page / ptdesc (pt_frag_refcount, _refcount, pt_share
// count): each one first checks the page is not freed (UAF), then does the atomic op on the model's
// counter cell. The model owns the counter; this owns the freed-page check.

import type { Cell } from '../model/schema.ts';
import { Fault, raise } from './faults.ts';
import { ptState, type PtState } from './pgtable.ts';

/** A read-modify-write of a field of table t's page: UAF if t is freed, BAD_PMD_DEREF if t is garbage. */
function pageTouch(s: PtState, t: number): void {
  const st = ptState(s, t);
  if (st === 'garbage') raise(s, Fault.BAD_PMD_DEREF);
  else if (st === 'freed') raise(s, Fault.UAF);
}

/** atomic_read(&page->field) of table t's page. */
export function pageAtomicRead(s: PtState, t: number, c: Cell): number {
  pageTouch(s, t);
  return c.v;
}

/** atomic_set(&page->field, v). */
export function pageAtomicSet(s: PtState, t: number, c: Cell, v: number): void {
  pageTouch(s, t);
  c.v = v;
}

/** atomic_inc(&page->field) / atomic_add(n, ...). */
export function pageAtomicInc(s: PtState, t: number, c: Cell, n = 1): void {
  pageTouch(s, t);
  c.v = c.v + n;
}

/** atomic_dec(&page->field) / atomic_sub(n, ...); going below zero records REFCOUNT_UNDERFLOW. */
export function pageAtomicDec(s: PtState, t: number, c: Cell, n = 1): void {
  pageTouch(s, t);
  if (c.v - n < 0) raise(s, Fault.REFCOUNT_UNDERFLOW);
  c.v = c.v - n;
}

/** atomic_dec_and_test / atomic_sub_and_test: true when the field reached zero. */
export function pageAtomicDecAndTest(s: PtState, t: number, c: Cell, n = 1): boolean {
  pageAtomicDec(s, t, c, n);
  return c.v === 0;
}
