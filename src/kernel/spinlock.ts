// spin_lock / spin_trylock / spin_unlock. A lock is a cell holding owner tid+1 (0 = free).
// Blocking is expressed by the caller returning BLOCKED when spinLock() says false. Taking a spinlock
// disables preemption: the holder's preempt_count (preempt.ts) goes up by one until spin_unlock, and
// with consolidated RCU (rcu.ts) the holder is an RCU reader until its last spin_unlock.

import { cell, int, type Cell, type CellSpec, type NameContext } from '../model/schema.ts';
import type { ThreadView } from '../model/model.ts';
import { Fault, raise } from './faults.ts';
import { cellsOf } from '../model/cells.ts';
import { preemptCountDec, preemptCountInc } from './preempt.ts';
import { rcuPreemptOn } from './rcu.ts';
import { obsLog, storeWord, wordIs } from '../model/observe.ts';

// The lock word through observe.ts's helpers only while the future derivation listens: in a search
// each reads or stores `l.v` by name, a load V8 specialises (the helpers' keyed `o[k]` cost retract's
// plain search ~1.4x)
const ownerIs = (l: Cell, c: number): boolean => (obsLog.h === null ? l.v === c : wordIs(l, 'v', c));
function setOwner(l: Cell, c: number): void {
  if (obsLog.h === null) l.v = c;
  else storeWord(l, 'v', c);
}

/** The most threads a lock owner (tid+1) can name. */
export const MAX_THREADS = 30;

/** A lock value for traces: `-` when free, else the owner's thread name. */
export function formatOwner(v: number, names: NameContext): string {
  return v === 0 ? '-' : names.threadName(v - 1);
}

/** A spinlock_t field: a cell holding the owner's tid+1, 0 when free. */
export function lock(): CellSpec<'lock'> {
  return cell('lock', int(0, MAX_THREADS, 0, formatOwner, 'tid+1'));
}

interface Me {
  readonly tid: number;
}

/**
 * spin_lock: takes `l` if free and disables preemption. False means the caller must block (return
 * BLOCKED): held by someone, or by itself (AA deadlock).
 */
export function spinLock(me: Me, l: Cell): boolean {
  if (!ownerIs(l, 0)) return false;
  setOwner(l, me.tid + 1);
  preemptCountInc(me);
  return true;
}

/** spin_trylock: takes `l` if free (and disables preemption); never blocks. */
export function spinTrylock(me: Me, l: Cell): boolean {
  if (!ownerIs(l, 0)) return false;
  setOwner(l, me.tid + 1);
  preemptCountInc(me);
  return true;
}

/** spin_unlock: releases `l` and re-enables preemption. Records UNLOCK_NOT_OWNER if `me` does not hold it. */
export function spinUnlock(s: { faults: number }, me: Me, l: Cell): void {
  if (!ownerIs(l, me.tid + 1)) {
    raise(s, Fault.UNLOCK_NOT_OWNER);
    return;
  }
  setOwner(l, 0);
  preemptCountDec(me);
  rcuPreemptOn(s, me); // leaving the last preemption-off region may end a read section (consolidated RCU)
}

/** Whether `me` holds `l` (lockdep_assert_held / spin_is_locked by this CPU). */
export function holds(me: Me, l: Cell): boolean {
  return ownerIs(l, me.tid + 1);
}

/** Exit hook: a thread that finishes holding any lock is a fault (P-LOCK). */
export function lockExitHook(s: { faults: number }, me: ThreadView): void {
  for (const l of cellsOf(s, 'lock')) if (ownerIs(l, me.tid + 1)) raise(s, Fault.LOCK_HELD_AT_EXIT);
}
