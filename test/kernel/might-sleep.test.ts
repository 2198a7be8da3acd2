// might_sleep() for every sleeping primitive in every atomic context, one case per pair (issue #16,
// item 2). Kernel facts: mutex_lock(), down_read(), down_write(), wait_event() and cond_resched() start
// with might_sleep() (__might_sleep/__might_resched under CONFIG_DEBUG_ATOMIC_SLEEP), and
// synchronize_rcu() reaches it in rcu_blocking_is_gp() (kernel/rcu/tree.c: "might_sleep(); /* Check
// for RCU read-side critical section. */", besides its RCU_LOCKDEP_WARN inside a read section).
// might_sleep() warns when preempt_count() is raised (a spinlock held, or
// preempt_disable()), when IRQs are off, or inside rcu_read_lock() (rcu_preempt_depth(), or the
// raised preempt_count of a non-preemptible RCU reader). wait_event() calls might_sleep() before it
// tests the condition, so the warning comes even when the condition is already true and it would not
// sleep. The trylocks never sleep and have no might_sleep(): they are the controls.

import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import { bool } from '../../src/model/schema.ts';
import {
  condResched,
  downRead,
  downReadTrylock,
  downWrite,
  kernelState,
  localIrqDisable,
  localIrqEnable,
  lock,
  mutex,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  noSleepInAtomic,
  preemptDisable,
  preemptEnable,
  rcuReadLock,
  rcuReadUnlock,
  rwsem,
  spinLock,
  spinUnlock,
  synchronizeRcu,
  upRead,
  upWrite,
  waitEvent,
  waitQueue,
} from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';

const st = kernelState({}, { l: lock(), m: mutex(), sem: rwsem(1), wq: waitQueue(), cond: bool() });

type Ctx = 'none' | 'spin_lock' | 'preempt_disable' | 'local_irq_disable' | 'rcu_read_lock';
const ATOMIC: readonly Ctx[] = ['spin_lock', 'preempt_disable', 'local_irq_disable', 'rcu_read_lock'];

/** The primitive's steps, entered at `op` and continuing to `leave`. */
const PRIMITIVES = {
  synchronize_rcu: () => ({ op: synchronizeRcu('op', 'leave') }),
  mutex_lock: () => ({
    op: (s: any, me: any) => (mutexLock(s, me, s.m) ? 'mutex_unlock' : BLOCKED),
    mutex_unlock: (s: any, me: any) => (mutexUnlock(s, me, s.m), 'leave'),
  }),
  down_read: () => ({ op: downRead('op', 'up_read', (s) => s.sem), up_read: (s: any, me: any) => (upRead(s, me, s.sem), 'leave') }),
  down_write: () => ({ op: downWrite('op', 'up_write', (s) => s.sem), up_write: (s: any, me: any) => (upWrite(s, me, s.sem), 'leave') }),
  // the condition is already true: wait_event() does not sleep, but might_sleep() has already run
  wait_event: () => ({ op: (_s: any) => 'wait_event', ...waitEvent({ wq: (s) => s.wq, cond: (s) => s.cond, next: 'leave' }) }),
  cond_resched: () => ({ op: (s: any, me: any) => (condResched(s, me), 'leave') }),
} as const;

/** Never sleep, never call might_sleep(): no warning in any context. */
const TRYLOCKS = {
  mutex_trylock: () => ({ op: (s: any, me: any) => (mutexTrylock(me, s.m) && mutexUnlock(s, me, s.m), 'leave') }),
  down_read_trylock: () => ({ op: (s: any, me: any) => (downReadTrylock(me, s.sem) && upRead(s, me, s.sem), 'leave') }),
} as const;

function caller(ctx: Ctx, steps: Record<string, unknown>) {
  return thread(st, {
    steps: {
      enter: (s: any, me: any) => {
        if (ctx === 'spin_lock' && !spinLock(me, s.l)) return BLOCKED;
        if (ctx === 'preempt_disable') preemptDisable(me);
        if (ctx === 'local_irq_disable') localIrqDisable(s, me);
        if (ctx === 'rcu_read_lock') rcuReadLock(me);
        return 'op';
      },
      ...(steps as {}),
      leave: (s: any, me: any) => {
        if (ctx === 'spin_lock') spinUnlock(s, me, s.l);
        if (ctx === 'preempt_disable') preemptEnable(s, me);
        if (ctx === 'local_irq_disable') localIrqEnable(s, me);
        if (ctx === 'rcu_read_lock') rcuReadUnlock(s, me);
        return DONE;
      },
    } as any,
  });
}

function sleepVerdict(ctx: Ctx, steps: Record<string, unknown>): string {
  const v = verdicts({ state: st, init: (s: any) => (s.cond = true), threads: { t: caller(ctx, steps) }, properties: [noSleepInAtomic()] });
  return v['no-sleep-in-atomic']!;
}

describe('might_sleep: every sleeping primitive in every atomic context', () => {
  for (const [name, steps] of Object.entries(PRIMITIVES)) {
    it(`${name} outside atomic context does not warn`, () => {
      expect(sleepVerdict('none', steps())).toBe('holds');
    });
    for (const ctx of ATOMIC) {
      it(`${name} under ${ctx} is sleep-in-atomic`, () => {
        expect(sleepVerdict(ctx, steps())).toBe('violated');
      });
    }
  }
  for (const [name, steps] of Object.entries(TRYLOCKS)) {
    it(`${name} never sleeps: no warning in any context`, () => {
      for (const ctx of ['none', ...ATOMIC] as const) expect(sleepVerdict(ctx, steps()), ctx).toBe('holds');
    });
  }
});
