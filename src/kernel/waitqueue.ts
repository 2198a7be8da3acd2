// wait_event()/wake_up()/wake_up_all() on a wait_queue_head, with the macro's steps spelled out (check
// the condition, prepare_to_wait, recheck, schedule until woken, finish_wait) and a ghost that records
// a lost wakeup (LOST_WAKEUP): a task going to sleep after missing a wake_up issued since its last
// condition check while it was not on the queue. Owns the queue record.

import { int, record } from '../model/schema.ts';
import { BLOCKED } from '../model/model.ts';
import { Fault, raise } from './faults.ts';
import { mightSleep, type AtomicView } from './preempt.ts';
import { formatMask } from './rcu.ts';

const mask = () => int(0, 0x3fffffff, 0, (v, n) => formatMask(v, n), 'tid-mask');

/** A wait_queue_head_t (non-exclusive waiters only). */
export function waitQueue() {
  return record({
    /** on the queue with a sleeping task state, not yet woken (prepare_to_wait .. wake_up/finish_wait) */
    queued: mask(),
    /** inside schedule(), asleep */
    asleep: mask(),
    /** ghost: the task's last condition check saw false */
    checked: mask(),
    /** ghost: a wake_up ran after that check while the task was off the queue */
    missed: mask(),
  });
}

/** A wait_queue_head_t as steps see it: masks of the tasks queued, asleep, that checked the condition, and that missed a wake_up. */
export interface WaitQueueView {
  queued: number;
  asleep: number;
  checked: number;
  missed: number;
}

interface Me extends AtomicView {
  readonly tid: number;
}

/** Records one evaluation of the wait condition by `me` (the ghost that decides what a wake_up misses). */
export function waitConditionChecked(wq: WaitQueueView, me: Me, cond: boolean): void {
  const bit = 1 << me.tid;
  wq.missed = wq.missed & ~bit;
  wq.checked = cond ? wq.checked & ~bit : wq.checked | bit;
}

/** prepare_to_wait[_event](): put `me` on the queue with TASK_UNINTERRUPTIBLE. */
export function prepareToWait(wq: WaitQueueView, me: Me): void {
  wq.queued = wq.queued | (1 << me.tid);
}

/** finish_wait(): TASK_RUNNING and off the queue (if a wake_up has not already taken it off). */
export function finishWait(wq: WaitQueueView, me: Me): void {
  const bit = 1 << me.tid;
  wq.queued = wq.queued & ~bit;
  wq.checked = wq.checked & ~bit;
  wq.missed = wq.missed & ~bit;
}

/**
 * wake_up() / wake_up_all() for non-exclusive waiters (which is what wait_event() queues): every queued
 * task is set running and taken off the queue (autoremove_wake_function). A task that has checked the
 * condition but is not on the queue misses it (ghost; a wake_up is taken to announce a condition change).
 */
export function wakeUp(wq: WaitQueueView): void {
  wq.missed = wq.missed | (wq.checked & ~wq.queued);
  wq.queued = 0;
}
/** wake_up_all(): the same as wakeUp for the non-exclusive waiters wait_event() queues. */
export const wakeUpAll = wakeUp;

/** waitqueue_active(): is anyone on the queue? (the lockless check wakers use; needs a barrier in the kernel) */
export function waitqueueActive(wq: WaitQueueView): boolean {
  return wq.queued !== 0;
}

/**
 * schedule() after prepare_to_wait, as one label run twice: the first run goes to sleep unless a wake_up
 * already set the task running (then it continues to `next` at once); going to sleep having missed a
 * wake_up since the last condition check records LOST_WAKEUP. Asleep, it is blocked until a wake_up, then
 * continues to `next`.
 */
export function scheduleStep<L extends string>(self: L, next: L, wq: (s: any) => WaitQueueView) {
  return (s: any, me: Me): L | typeof BLOCKED => {
    const q = wq(s);
    const bit = 1 << me.tid;
    if (q.asleep & bit) {
      if (q.queued & bit) return BLOCKED;
      q.asleep = q.asleep & ~bit;
      return next;
    }
    if (!(q.queued & bit)) return next; // woken between prepare_to_wait and schedule: no sleep
    if (q.missed & bit) raise(s, Fault.LOST_WAKEUP);
    q.asleep = q.asleep | bit;
    return self;
  };
}

/**
 * wait_event(wq, cond) as the macro is written, as steps named after it:
 *   wait_event:      might_sleep(); if (cond) -> `next`
 *   prepare_to_wait: prepare_to_wait_event() (on the queue, sleeping task state)
 *   'if (condition)': the recheck; true -> finish_wait
 *   schedule:        sleep until woken, then loop to prepare_to_wait
 *   finish_wait:     off the queue, running -> `next`
 * Labels are fixed: one wait_event per thread.
 */
export function waitEvent<const L extends string>(o: { readonly wq: (s: any) => WaitQueueView; readonly cond: (s: any, me: any) => boolean; readonly next: L }) {
  type N = L | 'prepare_to_wait' | 'if (condition)' | 'schedule' | 'finish_wait';
  return {
    wait_event: (s: any, me: any): N => {
      mightSleep(s, me);
      const c = o.cond(s, me);
      waitConditionChecked(o.wq(s), me, c);
      return c ? o.next : 'prepare_to_wait';
    },
    prepare_to_wait: (s: any, me: any): N => {
      prepareToWait(o.wq(s), me);
      return 'if (condition)';
    },
    'if (condition)': (s: any, me: any): N => {
      const c = o.cond(s, me);
      waitConditionChecked(o.wq(s), me, c);
      return c ? 'finish_wait' : 'schedule';
    },
    schedule: scheduleStep<N>('schedule', 'prepare_to_wait', o.wq),
    finish_wait: (s: any, me: any): N => {
      finishWait(o.wq(s), me);
      return o.next;
    },
  };
}
