import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import { bool } from '../../src/model/schema.ts';
import {
  kernelState,
  lock,
  noLostWakeup,
  noSleepInAtomic,
  prepareToWait,
  scheduleStep,
  spinLock,
  spinUnlock,
  waitConditionChecked,
  waitEvent,
  waitQueue,
  wakeUp,
  wakeUpAll,
} from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';

const st = kernelState({}, { wq: waitQueue(), cond: bool(), l: lock() });
const props = [noLostWakeup(), noSleepInAtomic()];

/** cond = true; wake_up(wq) — or the other way round. */
const waker = (wakeFirst: boolean) =>
  thread(st, {
    steps: wakeFirst
      ? { wake_up: (s) => (wakeUp(s.wq), 'set'), set: (s) => ((s.cond = true), DONE) }
      : { set: (s) => ((s.cond = true), 'wake_up'), wake_up: (s) => (wakeUpAll(s.wq), DONE) },
  });

describe('wait_event / wake_up', () => {
  it('the macro (check, prepare_to_wait, recheck, schedule) never loses the wakeup', () => {
    const waiter = thread(st, { steps: { ...waitEvent({ wq: (s) => s.wq, cond: (s) => s.cond, next: 'out' }), out: () => DONE } });
    expect(verdicts({ state: st, threads: { waiter, waker: waker(false) }, properties: props })).toEqual({
      'no-lost-wakeup': 'holds',
      'no-sleep-in-atomic': 'holds',
      'deadlock-free': 'holds',
    });
  });

  it('check, then prepare_to_wait and schedule without the recheck: lost wakeup and a hang', () => {
    const waiter = thread(st, {
      steps: {
        check: (s, me) => {
          waitConditionChecked(s.wq, me, s.cond);
          return s.cond ? DONE : 'prepare_to_wait';
        },
        prepare_to_wait: (s, me) => (prepareToWait(s.wq, me), 'schedule'),
        schedule: scheduleStep('schedule', 'check', (s) => s.wq),
      },
    });
    expect(verdicts({ state: st, threads: { waiter, waker: waker(false) }, properties: props })).toEqual({
      'no-lost-wakeup': 'violated',
      'no-sleep-in-atomic': 'holds',
      'deadlock-free': 'violated',
    });
  });

  it('a waker that wakes before it sets the condition hangs the waiter (a deadlock, not a missed-check ghost)', () => {
    const waiter = thread(st, { steps: { ...waitEvent({ wq: (s) => s.wq, cond: (s) => s.cond, next: 'out' }), out: () => DONE } });
    expect(verdicts({ state: st, threads: { waiter, waker: waker(true) }, properties: props })).toMatchObject({
      'no-lost-wakeup': 'holds',
      'deadlock-free': 'violated',
    });
  });

  it('wait_event under a spinlock is sleep-in-atomic', () => {
    const waiter = thread(st, {
      steps: {
        spin_lock: (s, me) => (spinLock(me, s.l) ? 'wait_event' : BLOCKED),
        ...waitEvent({ wq: (s) => s.wq, cond: (s) => s.cond, next: 'spin_unlock' }),
        spin_unlock: (s, me) => (spinUnlock(s, me, s.l), DONE),
      },
    });
    expect(verdicts({ state: st, threads: { waiter, waker: waker(false) }, properties: props })['no-sleep-in-atomic']).toBe('violated');
  });
});
