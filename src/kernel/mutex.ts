// struct mutex: mutex_lock / mutex_trylock / mutex_unlock. A mutex is a cell tagged 'mutex' holding the
// owner's tid+1 (0 = unlocked). It sleeps, so taking it in atomic context is SLEEP_IN_ATOMIC; it never
// touches preempt_count. Owns the mutex cell only.

import { cell, int, type Cell, type CellSpec } from '../model/schema.ts';
import { cellsOf } from '../model/cells.ts';
import { Fault, raise } from './faults.ts';
import { mightSleep, type AtomicView } from './preempt.ts';
import { MAX_THREADS, formatOwner } from './spinlock.ts';

/** A struct mutex, unlocked. */
export function mutex(): CellSpec<'mutex'> {
  return cell('mutex', int(0, MAX_THREADS, 0, formatOwner, 'tid+1'));
}

/**
 * mutex_lock(): takes `m` if it is free, after might_sleep() (SLEEP_IN_ATOMIC in atomic context).
 * False means the caller must block (return BLOCKED): held by another task, or by itself (the kernel
 * deadlocks on a recursive mutex_lock, and so does the model). Waiters are not queued: whichever waiter
 * runs first after the unlock gets it, which covers the kernel's optimistic spinning and handoff. The
 * might_sleep() check is recorded when the call takes the mutex; a call that never gets it is a deadlock.
 */
export function mutexLock(s: { faults: number }, me: AtomicView, m: Cell): boolean {
  if (m.v !== 0) return false;
  mightSleep(s, me);
  m.v = me.tid + 1;
  return true;
}

/** mutex_trylock(): takes `m` if free and returns true; never sleeps, never blocks. */
export function mutexTrylock(me: { readonly tid: number }, m: Cell): boolean {
  if (m.v !== 0) return false;
  m.v = me.tid + 1;
  return true;
}

/** mutex_unlock(): UNLOCK_NOT_OWNER if `me` does not hold `m` (the mutex is then left as it was). */
export function mutexUnlock(s: { faults: number }, me: { readonly tid: number }, m: Cell): void {
  if (m.v !== me.tid + 1) {
    raise(s, Fault.UNLOCK_NOT_OWNER);
    return;
  }
  m.v = 0;
}

/** mutex_is_locked(). */
export function mutexIsLocked(m: Cell): boolean {
  return m.v !== 0;
}
/** lockdep_is_held(m) for `me`: does `me` hold the mutex? */
export function mutexHeld(me: { readonly tid: number }, m: Cell): boolean {
  return m.v === me.tid + 1;
}

/** Exit hook: a task that finishes holding a mutex is LOCK_HELD_AT_EXIT. */
export function mutexExitHook(s: { faults: number }, me: { readonly tid: number }): void {
  for (const m of cellsOf(s, 'mutex')) if (m.v === me.tid + 1) raise(s, Fault.LOCK_HELD_AT_EXIT);
}
