// Atomic context: the per-thread preempt_count that spin_lock/spin_unlock and preempt_disable/enable
// maintain, the in-atomic test (preemption off, IRQs off, or inside rcu_read_lock), and might_sleep().
// It owns that count only; what counts as an RCU reader for grace periods is rcu.ts's business.

import { int } from '../model/schema.ts';
import { cellsOf } from '../model/cells.ts';
import { Fault, raise } from './faults.ts';
import { rcuPreemptOn } from './rcu.ts';
import { obsLog, wordIs } from '../model/observe.ts';

/** Deepest preemption-disable nesting a model may reach (a deeper one is a model error). */
export const PREEMPT_COUNT_MAX = 15;

/**
 * The per-thread field: the preemption-disable depth (one per spinlock held, plus preempt_disable()
 * nesting), as the kernel's preempt_count() without its softirq/hardirq bits. A model that declares its
 * state with kernelState() has it; a primitive reads it only after checking it is there.
 */
export const preemptPerThread = {
  preempt_count: int(0, PREEMPT_COUNT_MAX),
} as const;

/** The thread view as the atomic-context primitives see it (every field optional: checked before use). */
export interface AtomicView {
  readonly tid: number;
  preempt_count?: number;
  rcu_nesting?: number;
  irqs_off?: boolean;
}

/** Does this thread view carry a preempt_count (declared through kernelState or preemptPerThread)? */
export function hasPreemptCount(me: object): me is { preempt_count: number } {
  return 'preempt_count' in me;
}

/** preempt_count_inc(), for spin_lock and preempt_disable. No-op for a thread without the field. */
export function preemptCountInc(me: object): void {
  if (hasPreemptCount(me)) me.preempt_count = me.preempt_count + 1;
}

/** preempt_count_dec(), for spin_unlock and preempt_enable. False if the count was already zero. */
export function preemptCountDec(me: object): boolean {
  if (!hasPreemptCount(me)) return true;
  if (me.preempt_count === 0) return false;
  me.preempt_count = me.preempt_count - 1;
  return true;
}

/** preempt_disable(). */
export function preemptDisable(me: object): void {
  preemptCountInc(me);
}

/** preempt_enable(): an enable without a matching disable records RCU_UNBALANCED (rcu-or-irq-section-unbalanced). */
export function preemptEnable(s: { faults: number }, me: object): void {
  if (!preemptCountDec(me)) raise(s, Fault.RCU_UNBALANCED);
  else rcuPreemptOn(s, me); // may end a consolidated-RCU read section
}

/**
 * in_atomic() || irqs_disabled() || rcu_preempt_depth(): the contexts might_sleep() complains about.
 * A field the thread does not declare counts as "not in that context".
 */
export function inAtomic(me: AtomicView): boolean {
  // `in` first: a view may refuse reads of fields its model does not declare
  return (
    ('preempt_count' in me && (me.preempt_count as number) > 0) ||
    ('rcu_nesting' in me && (me.rcu_nesting as number) > 0) ||
    ('irqs_off' in me && me.irqs_off === true)
  );
}

/**
 * might_sleep() (__might_resched with CONFIG_DEBUG_ATOMIC_SLEEP): a sleeping primitive called with a
 * spinlock held, preemption or IRQs off, or inside an RCU read section records SLEEP_IN_ATOMIC. The
 * caller goes on as the kernel does (the warning does not stop it).
 */
export function mightSleep(s: { faults: number }, me: AtomicView): void {
  if (inAtomic(me)) raise(s, Fault.SLEEP_IN_ATOMIC);
}

/**
 * cond_resched() (and a bare schedule() or msleep()): a voluntary sleep point, so might_sleep() applies
 * (SLEEP_IN_ATOMIC in atomic context). Being preempted there needs no modelling: the explorer already
 * interleaves other threads at every step.
 */
export function condResched(s: { faults: number }, me: AtomicView): void {
  mightSleep(s, me);
}

/**
 * Exit hook: a thread may not finish with preemption disabled by preempt_disable() (RCU_UNBALANCED).
 * The part of the count that spinlocks still held account for is LOCK_HELD_AT_EXIT's (spinlock.ts).
 */
export function preemptExitHook(s: { faults: number }, me: { readonly tid: number }): void {
  if (!hasPreemptCount(me) || me.preempt_count === 0) return;
  let held = 0;
  for (const l of cellsOf(s, 'lock')) if (obsLog.h === null ? l.v === me.tid + 1 : wordIs(l, 'v', me.tid + 1)) held++; // by name in a search (see spinlock.ts)
  if (me.preempt_count > held) raise(s, Fault.RCU_UNBALANCED);
}
