import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import {
  Fault,
  condResched,
  inAtomic,
  kernelState,
  localIrqDisable,
  localIrqEnable,
  lock,
  mightSleep,
  noFault,
  noSleepInAtomic,
  preemptDisable,
  preemptEnable,
  rcuReadLock,
  rcuReadUnlock,
  spinLock,
  spinUnlock,
  synchronizeRcu,
} from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';

const st = kernelState({}, { l: lock() });

/** One thread: enter a context, call synchronize_rcu (a sleeping primitive), leave the context. */
function sleeper(ctx: 'none' | 'spin' | 'preempt' | 'irq' | 'rcu') {
  return thread(st, {
    steps: {
      enter: (s, me) => {
        if (ctx === 'spin' && !spinLock(me, s.l)) return BLOCKED;
        if (ctx === 'preempt') preemptDisable(me);
        if (ctx === 'irq') localIrqDisable(s, me);
        if (ctx === 'rcu') rcuReadLock(me);
        return ctx === 'rcu' ? 'leave' : 'synchronize_rcu';
      },
      synchronize_rcu: synchronizeRcu('synchronize_rcu', 'leave'),
      leave: (s, me) => {
        if (ctx === 'spin') spinUnlock(s, me, s.l);
        if (ctx === 'preempt') preemptEnable(s, me);
        if (ctx === 'irq') localIrqEnable(s, me);
        if (ctx === 'rcu') {
          // might_sleep() inside the read section, then leave it (synchronize_rcu here would self-deadlock)
          mightSleep(s, me);
          rcuReadUnlock(s, me);
        }
        return DONE;
      },
    },
  });
}

const props = [noSleepInAtomic(), noFault('balanced', Fault.RCU_UNBALANCED | Fault.LOCK_HELD_AT_EXIT | Fault.UNLOCK_NOT_OWNER)];

describe('might_sleep and preempt_count', () => {
  it('sleeping outside any atomic context is fine', () => {
    expect(verdicts({ state: st, threads: { t: sleeper('none') }, properties: props })).toEqual({
      'no-sleep-in-atomic': 'holds',
      balanced: 'holds',
      'deadlock-free': 'holds',
    });
  });

  for (const ctx of ['spin', 'preempt', 'irq', 'rcu'] as const) {
    it(`sleeping with ${ctx} context records SLEEP_IN_ATOMIC`, () => {
      const v = verdicts({ state: st, threads: { t: sleeper(ctx) }, properties: props });
      expect(v['no-sleep-in-atomic']).toBe('violated');
      expect(v.balanced).toBe('holds');
    });
  }

  it('spin_lock raises preempt_count by one and spin_unlock lowers it', () => {
    const me = { tid: 0, preempt_count: 0 };
    const s = { faults: 0 };
    const a = { v: 0, tag: 'lock', path: 'a', off: 0 };
    const b = { v: 0, tag: 'lock', path: 'b', off: 1 };
    expect(spinLock(me, a)).toBe(true);
    expect(spinLock(me, b)).toBe(true);
    expect(me.preempt_count).toBe(2);
    expect(inAtomic(me)).toBe(true);
    expect(spinLock(me, a)).toBe(false); // AA: must block, count unchanged
    expect(me.preempt_count).toBe(2);
    spinUnlock(s, me, b);
    spinUnlock(s, me, a);
    expect(me.preempt_count).toBe(0);
    expect(inAtomic(me)).toBe(false);
    spinUnlock(s, me, a); // not the owner: fault, count stays at zero
    expect(s.faults).toBe(Fault.UNLOCK_NOT_OWNER);
    expect(me.preempt_count).toBe(0);
  });

  it('a thread view without preempt_count is left alone', () => {
    const me = { tid: 3 };
    const a = { v: 0, tag: 'lock', path: 'a', off: 0 };
    expect(spinLock(me, a)).toBe(true);
    expect(me).toEqual({ tid: 3 });
    expect(inAtomic(me)).toBe(false);
  });

  it('cond_resched is a sleep point: fine unlocked, sleep-in-atomic under a spinlock', () => {
    const s = { faults: 0 };
    condResched(s, { tid: 0, preempt_count: 0, rcu_nesting: 0, irqs_off: false });
    expect(s.faults).toBe(0);
    condResched(s, { tid: 0, preempt_count: 1, rcu_nesting: 0, irqs_off: false });
    expect(s.faults).toBe(Fault.SLEEP_IN_ATOMIC);
  });

  it('preempt_enable without preempt_disable, and exiting with preemption off, are unbalanced', () => {
    const s = { faults: 0 };
    preemptEnable(s, { tid: 0, preempt_count: 0 });
    expect(s.faults).toBe(Fault.RCU_UNBALANCED);
    const exitOff = thread(st, { steps: { preempt_disable: (_s, me) => (preemptDisable(me), DONE) } });
    expect(verdicts({ state: st, threads: { t: exitOff }, properties: props }).balanced).toBe('violated');
  });

  it('a thread that exits holding a spinlock is LOCK_HELD_AT_EXIT only, not also unbalanced preemption', () => {
    const exitLocked = thread(st, { steps: { spin_lock: (s, me) => (spinLock(me, s.l) ? DONE : BLOCKED) } });
    const v = verdicts({
      state: st,
      threads: { t: exitLocked },
      properties: [noFault('held', Fault.LOCK_HELD_AT_EXIT), noFault('unbalanced', Fault.RCU_UNBALANCED)],
    });
    expect(v).toEqual({ held: 'violated', unbalanced: 'holds', 'deadlock-free': 'holds' });
  });
});
