// refcount_t and kref: a counter cell tagged 'refcount' with the kernel's saturation semantics (an
// increment from zero or a decrement at zero warns, REFCOUNT_ZERO, and pins the count at "saturated").
// Owns the counting rules; the object the count guards is the model's (it frees it in the release).

import { cell, int, type Cell, type CellSpec } from '../model/schema.ts';
import { Fault, raise } from './faults.ts';

/** REFCOUNT_SATURATED: once reached the count never moves again (the object is leaked, never freed). */
export const REFCOUNT_SATURATED = -1;

function formatRefcount(v: number): string {
  return v === REFCOUNT_SATURATED ? 'saturated' : String(v);
}

/** A refcount_t (or the refcount inside a struct kref) holding `init`, bounded by `max`. */
export function refcount(init = 1, max = 7): CellSpec<'refcount'> {
  return cell('refcount', int(REFCOUNT_SATURATED, max, init, formatRefcount));
}

/** refcount_warn_saturate(): the WARN (REFCOUNT_ZERO) and the count pinned. */
function saturate(s: { faults: number }, r: Cell): void {
  raise(s, Fault.REFCOUNT_ZERO);
  r.v = REFCOUNT_SATURATED;
}

/** refcount_set() / kref_init() (with n = 1). */
export function refcountSet(r: Cell, n: number): void {
  r.v = n;
}

/** refcount_read(). */
export function refcountRead(r: Cell): number {
  return r.v;
}

/**
 * refcount_inc() / kref_get(): an increment from zero is "addition on 0; use-after-free": REFCOUNT_ZERO,
 * and the count saturates.
 */
export function refcountInc(s: { faults: number }, r: Cell): void {
  if (r.v === REFCOUNT_SATURATED) return;
  if (r.v === 0) {
    saturate(s, r);
    return;
  }
  r.v = r.v + 1;
}

/** refcount_inc_not_zero() / kref_get_unless_zero(): false on zero (the object is dying); no fault. */
export function refcountIncNotZero(r: Cell): boolean {
  if (r.v === REFCOUNT_SATURATED) return true;
  if (r.v === 0) return false;
  r.v = r.v + 1;
  return true;
}

/**
 * refcount_dec_and_test(): true when this put dropped the last reference (the caller frees the object).
 * A decrement at zero is "underflow; use-after-free": REFCOUNT_ZERO, the count saturates, false.
 */
export function refcountDecAndTest(s: { faults: number }, r: Cell): boolean {
  if (r.v === REFCOUNT_SATURATED) return false;
  if (r.v === 0) {
    saturate(s, r);
    return false;
  }
  r.v = r.v - 1;
  return r.v === 0;
}

/**
 * refcount_dec(): a decrement that must not drop the last reference; reaching zero is "decrement hit 0;
 * leaking memory" and at zero "underflow": REFCOUNT_ZERO and the count saturates.
 */
export function refcountDec(s: { faults: number }, r: Cell): void {
  if (r.v === REFCOUNT_SATURATED) return;
  if (r.v <= 1) {
    saturate(s, r);
    return;
  }
  r.v = r.v - 1;
}

/** kref_init(). */
export function krefInit(r: Cell): void {
  r.v = 1;
}

/** kref_get(): refcount_inc (a get after the last put is REFCOUNT_ZERO). */
export function krefGet(s: { faults: number }, r: Cell): void {
  refcountInc(s, r);
}

/** kref_get_unless_zero(). */
export function krefGetUnlessZero(r: Cell): boolean {
  return refcountIncNotZero(r);
}

/**
 * kref_put(kref, release): drops a reference and, if it was the last, calls `release` (which frees the
 * object in the model's terms) and returns true. A put after the last put is REFCOUNT_ZERO.
 */
export function krefPut<S extends { faults: number }>(s: S, r: Cell, release: (s: S) => void): boolean {
  if (!refcountDecAndTest(s, r)) return false;
  release(s);
  return true;
}
