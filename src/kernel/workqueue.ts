// Work items and the kworker that runs them: schedule_work() sets PENDING and queues the item unless it
// is already pending; the worker clears PENDING when the item starts running, then runs its function,
// so a schedule_work() while the function runs queues the item again. Owns the work cell's bits.

import { cell, int, type Cell, type CellSpec } from '../model/schema.ts';
import { BLOCKED } from '../model/model.ts';

/** WORK_STRUCT_PENDING: queued on a worklist and not yet started. */
export const WORK_PENDING = 1;
/** A worker is executing the item's function (it is the worker's current_work). */
export const WORK_RUNNING = 2;

function formatWork(v: number): string {
  if (v === 0) return 'idle';
  const out: string[] = [];
  if (v & WORK_RUNNING) out.push('running');
  if (v & WORK_PENDING) out.push('pending');
  return out.join('+');
}

/** A struct work_struct: its PENDING bit and whether a worker is running it. */
export function workStruct(): CellSpec<'work'> {
  return cell('work', int(0, WORK_PENDING | WORK_RUNNING, 0, formatWork));
}

/** schedule_work(): queues the item and returns true, or returns false if it was already pending. */
export function scheduleWork(w: Cell): boolean {
  if (w.v & WORK_PENDING) return false;
  w.v = w.v | WORK_PENDING;
  return true;
}

/** work_busy(): WORK_BUSY_PENDING | WORK_BUSY_RUNNING as a boolean (the kernel calls it a hint only). */
export function workBusy(w: Cell): boolean {
  return w.v !== 0;
}

/**
 * The kworker's process_one_work() for one work item, as one label that runs twice per execution (like
 * ipiSync): when the item is pending, the first run takes it off the worklist, clears PENDING and
 * marks it running, and continues to `func`, the function's first step; the function's steps return
 * to `self` when it returns, and the second run records that the worker is no longer running it.
 * With nothing pending the worker sleeps (BLOCKED).
 */
export function processOneWork<const L extends string>(self: L, work: (s: any) => Cell, func: L) {
  return (s: any, _me: any): L | typeof BLOCKED => {
    const w = work(s);
    if (w.v & WORK_RUNNING) {
      w.v = w.v & ~WORK_RUNNING;
      return self;
    }
    if (!(w.v & WORK_PENDING)) return BLOCKED;
    w.v = WORK_RUNNING; // set_work_pool_and_clear_pending(), then worker->current_func(work)
    return func;
  };
}
