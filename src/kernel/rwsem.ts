// struct rw_semaphore: down_read/down_write (sleeping, with a FIFO wait queue), the trylocks, up_read,
// up_write, downgrade_write. Owns the semaphore record: holders, wait queue, and which waiters a release
// has granted the lock to. Fairness is a field of the record (constant), so every operation sees it.

import { array, bool, cell, enumOf, int, record, type Cell, type ScalarArray } from '../model/schema.ts';
import { cellsOf } from '../model/cells.ts';
import { ModelError } from '../model/errors.ts';
import { BLOCKED } from '../model/model.ts';
import { Fault, raise } from './faults.ts';
import { mightSleep, type AtomicView } from './preempt.ts';
import { formatMask } from './rcu.ts';
import { MAX_THREADS, formatOwner } from './spinlock.ts';

/**
 * `fair` (default): what mainline's rwsem does once a waiter is queued (RWSEM_FLAG_WAITERS makes the
 *   down_read fast path fail, and RWSEM_FLAG_HANDOFF stops the slow path's reader lock stealing): a new
 *   reader queues behind any waiter, so a queued writer blocks new readers. A release wakes the head of
 *   the queue: a writer alone, or (rwsem_mark_wake) every queued reader, skipping writers.
 * `reader-preferring`: a reader gets the lock whenever no writer holds it (the slow path's optimistic
 *   reader stealing before a handoff, and the pre-queued-rwsem behaviour). Mainline allows both, by
 *   timing; run a model under each to cover it.
 */
export type RwsemPolicy = 'fair' | 'reader-preferring';

const fmtMask = (v: number, n: Parameters<typeof formatMask>[1]) => formatMask(v, n);

/** A struct rw_semaphore with room for `waiters` queued tasks. */
export function rwsem(waiters: number, policy: RwsemPolicy = 'fair') {
  if (!Number.isInteger(waiters) || waiters < 1) throw new Error(`rwsem(${waiters}): needs at least one wait-queue slot`);
  return record({
    policy: enumOf(['fair', 'reader-preferring'] as const, policy),
    /** write owner, tid+1 (tagged 'rwsem' so the exit check finds it) */
    writer: cell('rwsem', int(0, MAX_THREADS, 0, formatOwner, 'tid+1')),
    /** read holders (tagged 'rwsem-readers') */
    readers: cell('rwsem-readers', int(0, 0x3fffffff, 0, fmtMask, 'tid-mask')),
    /** readers holding it twice (a recursive down_read) */
    nested: int(0, 0x3fffffff, 0, fmtMask, 'tid-mask'),
    /** wait queue, head first: tid+1 of each waiter (0 = empty slot) */
    queue: array(waiters, int(0, MAX_THREADS, 0, formatOwner, 'tid+1')),
    /** the waiter in the same slot wants to write */
    qwrite: array(waiters, bool()),
    /** waiters a release has handed the lock to, not yet returned from down_* */
    granted: int(0, 0x3fffffff, 0, fmtMask, 'tid-mask'),
  });
}

/** A struct rw_semaphore as steps see it: its fairness policy, the writer and the readers. */
export interface RwsemView {
  readonly policy: RwsemPolicy;
  readonly writer: Cell;
  readonly readers: Cell;
  nested: number;
  readonly queue: ScalarArray<number>;
  readonly qwrite: ScalarArray<boolean>;
  granted: number;
}

interface Me extends AtomicView {
  readonly tid: number;
}

function queued(sem: RwsemView, tid: number): boolean {
  for (let i = 0; i < sem.queue.length; i++) if (sem.queue.get(i) === tid + 1) return true;
  return false;
}

function queueEmpty(sem: RwsemView): boolean {
  return sem.queue.get(0) === 0;
}

function enqueue(sem: RwsemView, tid: number, write: boolean): void {
  for (let i = 0; i < sem.queue.length; i++) {
    if (sem.queue.get(i) === 0) {
      sem.queue.set(i, tid + 1);
      sem.qwrite.set(i, write);
      return;
    }
  }
  throw new ModelError(`rwsem wait queue full (${sem.queue.length} slots): declare more waiters in rwsem()`);
}

/** Removes queue slot i, keeping the order of the rest. */
function dequeue(sem: RwsemView, i: number): void {
  const n = sem.queue.length;
  for (let j = i; j + 1 < n; j++) {
    sem.queue.set(j, sem.queue.get(j + 1));
    sem.qwrite.set(j, sem.qwrite.get(j + 1));
  }
  sem.queue.set(n - 1, 0);
  sem.qwrite.set(n - 1, false);
}

/** Hands the lock to every queued reader (rwsem_mark_wake wakes readers past queued writers). */
function grantReaders(sem: RwsemView): void {
  let i = 0;
  while (i < sem.queue.length && sem.queue.get(i) !== 0) {
    if (sem.qwrite.get(i)) {
      i++;
      continue;
    }
    const bit = 1 << (sem.queue.get(i) - 1);
    sem.readers.v = sem.readers.v | bit;
    sem.granted = sem.granted | bit;
    dequeue(sem, i);
  }
}

/** rwsem_wake(): after a release, hand the lock to the waiters the policy lets in. */
function wake(sem: RwsemView): void {
  if (queueEmpty(sem) || sem.writer.v !== 0) return;
  if (sem.policy === 'reader-preferring') grantReaders(sem);
  else if (!sem.qwrite.get(0)) {
    grantReaders(sem);
    return;
  }
  if (!queueEmpty(sem) && sem.qwrite.get(0) && sem.readers.v === 0) {
    const tid = sem.queue.get(0) - 1;
    sem.writer.v = tid + 1;
    sem.granted = sem.granted | (1 << tid);
    dequeue(sem, 0);
  }
}

function canRead(sem: RwsemView): boolean {
  return sem.writer.v === 0 && (sem.policy === 'reader-preferring' || queueEmpty(sem));
}

function canWrite(sem: RwsemView): boolean {
  return sem.writer.v === 0 && sem.readers.v === 0 && queueEmpty(sem);
}

function takeRead(sem: RwsemView, tid: number): void {
  const bit = 1 << tid;
  if (sem.readers.v & bit) {
    if (sem.nested & bit) throw new ModelError('down_read nested more than twice by one task: not modelled');
    sem.nested = sem.nested | bit;
  } else sem.readers.v = sem.readers.v | bit;
}

/**
 * The waiting half shared by down_read/down_write: one label that runs until the lock is ours. First
 * run: might_sleep(), then take it or queue up and stay on `self`; queued: blocked; granted by a
 * release: continue to `next`.
 */
function downStep<L extends string>(self: L, next: L, sem: (s: any, me: any) => RwsemView, write: boolean) {
  return (s: any, me: Me): L | typeof BLOCKED => {
    const r = sem(s, me);
    const bit = 1 << me.tid;
    if (r.granted & bit) {
      r.granted = r.granted & ~bit;
      return next;
    }
    if (queued(r, me.tid)) return BLOCKED;
    mightSleep(s, me);
    if (write ? canWrite(r) : canRead(r)) {
      if (write) r.writer.v = me.tid + 1;
      else takeRead(r, me.tid);
      return next;
    }
    enqueue(r, me.tid, write);
    return self;
  };
}

/**
 * down_read(sem) as a step (label `self`, continuing to `next`). SLEEP_IN_ATOMIC when called in atomic
 * context. Under `fair` a reader queues behind any waiter, so a reader that already holds the lock and
 * calls down_read again while a writer waits deadlocks, as in the kernel.
 */
export function downRead<L extends string>(self: L, next: L, sem: (s: any, me: any) => RwsemView) {
  return downStep(self, next, sem, false);
}

/** down_write(sem) as a step (label `self`, continuing to `next`); SLEEP_IN_ATOMIC in atomic context. */
export function downWrite<L extends string>(self: L, next: L, sem: (s: any, me: any) => RwsemView) {
  return downStep(self, next, sem, true);
}

/** down_read_trylock(): fails when a writer holds it or (fair) any task is queued; never sleeps. */
export function downReadTrylock(me: { readonly tid: number }, sem: RwsemView): boolean {
  if (!canRead(sem)) return false;
  takeRead(sem, me.tid);
  return true;
}

/** down_write_trylock(): succeeds only on a free semaphore with nobody queued; never sleeps. */
export function downWriteTrylock(me: { readonly tid: number }, sem: RwsemView): boolean {
  if (!canWrite(sem)) return false;
  sem.writer.v = me.tid + 1;
  return true;
}

/** up_read(): UNLOCK_NOT_OWNER if `me` holds no read lock; the last reader out wakes the queue. */
export function upRead(s: { faults: number }, me: { readonly tid: number }, sem: RwsemView): void {
  const bit = 1 << me.tid;
  if (!(sem.readers.v & bit)) {
    raise(s, Fault.UNLOCK_NOT_OWNER);
    return;
  }
  if (sem.nested & bit) sem.nested = sem.nested & ~bit;
  else sem.readers.v = sem.readers.v & ~bit;
  wake(sem);
}

/** up_write(): UNLOCK_NOT_OWNER unless `me` holds it for write; wakes the queue. */
export function upWrite(s: { faults: number }, me: { readonly tid: number }, sem: RwsemView): void {
  if (sem.writer.v !== me.tid + 1) {
    raise(s, Fault.UNLOCK_NOT_OWNER);
    return;
  }
  sem.writer.v = 0;
  wake(sem);
}

/**
 * downgrade_write(): the writer becomes a reader without letting a writer in between, and queued readers
 * at the head (fair; every queued reader when reader-preferring) get in with it.
 */
export function downgradeWrite(s: { faults: number }, me: { readonly tid: number }, sem: RwsemView): void {
  if (sem.writer.v !== me.tid + 1) {
    raise(s, Fault.UNLOCK_NOT_OWNER);
    return;
  }
  sem.writer.v = 0;
  sem.readers.v = sem.readers.v | (1 << me.tid);
  if (!queueEmpty(sem) && (sem.policy === 'reader-preferring' || !sem.qwrite.get(0))) grantReaders(sem);
}

/** rwsem_is_locked(). */
export function rwsemIsLocked(sem: RwsemView): boolean {
  return sem.writer.v !== 0 || sem.readers.v !== 0;
}
/** lockdep_is_held_type(sem, 1) for `me`: does `me` hold it for read? */
export function rwsemHeldRead(me: { readonly tid: number }, sem: RwsemView): boolean {
  return (sem.readers.v & (1 << me.tid)) !== 0;
}
/** lockdep_is_held_type(sem, 0) for `me`: does `me` hold it for write? */
export function rwsemHeldWrite(me: { readonly tid: number }, sem: RwsemView): boolean {
  return sem.writer.v === me.tid + 1;
}

/** Exit hook: a task that finishes holding an rwsem (read or write) is LOCK_HELD_AT_EXIT. */
export function rwsemExitHook(s: { faults: number }, me: { readonly tid: number }): void {
  for (const w of cellsOf(s, 'rwsem')) if (w.v === me.tid + 1) raise(s, Fault.LOCK_HELD_AT_EXIT);
  for (const r of cellsOf(s, 'rwsem-readers')) if (r.v & (1 << me.tid)) raise(s, Fault.LOCK_HELD_AT_EXIT);
}
