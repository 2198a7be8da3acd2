// percpu_ref (lib/percpu-refcount.c with RFC 02/18, Apr 2022): percpu/atomic modes, tryget/get/put,
// is_zero, the switch to atomic that completes in an RCU callback (whole, or as its separate fold /
// confirm steps), the switch back, kill. It owns counting and mode rules only; callers check the memory
// the ref lives in (use-after-free) themselves.

import { bool, enumOf, int, record, type BoolSpec, type EnumSpec, type IntSpec, type RecordSpec } from '../model/schema.ts';
import { ModelError } from '../model/errors.ts';
import { Fault, raise } from './faults.ts';
import { callRcu, type ReaderView, type RcuState } from './rcu.ts';
import { addTo, storeWord, wordAbove, wordIs } from '../model/observe.ts';

/**
 * `percpu`: __PERCPU_REF_ATOMIC clear; get/put go to the per-CPU counters, whose sum is `pcpu`.
 * `to-atomic`: the flag is set and call_rcu(percpu_ref_switch_to_atomic_rcu) is pending; get/put go to
 *   the atomic counter, which still carries PERCPU_COUNT_BIAS, so it cannot reach zero.
 * `folded`: the callback has folded the per-CPU sum into the atomic counter and removed the bias, but
 *   has not yet cleared confirm_switch (a waiter in percpu_ref_switch_to_atomic_sync still waits).
 * `atomic`: folded and confirmed (confirm_switch is NULL).
 */
export type PercpuMode = 'percpu' | 'to-atomic' | 'atomic' | 'folded';

/**
 * The fields of one struct percpu_ref: mode, the true count and the sum of the per-CPU counters.
 *
 * Held as (count, pcpu), not as the kernel's (atomic, pcpu): count = ref->data->count without
 * PERCPU_COUNT_BIAS, plus pcpu. The two are one-to-one (atomic = count - pcpu), so a model has the same
 * states and steps either way, and every question the kernel or the model asks of the counters is one
 * of count alone: the model's underflow check is "is the sum below zero", and the kernel reads the atomic
 * counter only once the bias is gone (atomic and folded modes), where pcpu is 0 (the fold zeroes it, and
 * only percpu mode adds to it), so atomic == count. pcpu is then only ever written (a get or put in
 * percpu mode, the fold, the switch back), never read: the derivation of futures (src/por/derive-futures.ts)
 * learns nothing of it and branches on count's answers alone. Held as (atomic, pcpu), the sum check read
 * pcpu whole and the derivation ran every pcpu value (try-to-free-user-pte gave up after 40,000 runs).
 */
export type PercpuRefFields = {
  mode: EnumSpec<PercpuMode>;
  /** __PERCPU_REF_DEAD: percpu_ref_kill() ran */
  dead: BoolSpec;
  /** the true number of references: ref->data->count without PERCPU_COUNT_BIAS, plus pcpu */
  count: IntSpec;
  /** sum over CPUs of the per-CPU counters (each CPU's own counter may be anything); 0 unless in percpu or to-atomic mode */
  pcpu: IntSpec;
};

/** A percpu_ref as steps see it (see PercpuRefFields). */
export interface PercpuRefView {
  mode: PercpuMode;
  dead: boolean;
  count: number;
  pcpu: number;
}

/** One percpu_ref. Properties may read the true count (atomic + pcpu); the kernel sees it only in atomic mode. */
export function percpuRef(): RecordSpec<PercpuRefFields> {
  return record({
    mode: enumOf(['percpu', 'to-atomic', 'atomic', 'folded'] as const, 'percpu'),
    dead: bool(),
    count: int(-8, 15, 0),
    pcpu: int(-8, 15, 0),
  });
}

/** The bias is out of the atomic counter: the kernel reads the true count there. */
function biasGone(r: PercpuRefView): boolean {
  return r.mode === 'atomic' || r.mode === 'folded';
}

/** ref->data->confirm_switch is set: a switch to atomic is pending (to-atomic or folded). */
export function percpuRefSwitchPending(r: PercpuRefView): boolean {
  return r.mode === 'to-atomic' || r.mode === 'folded';
}

/** The true number of references: meaningful to the model at any time, to the kernel only in atomic mode. */
export function percpuRefCount(r: PercpuRefView): number {
  return r.count;
}

function checkUnderflow(s: { faults: number }, r: PercpuRefView): void {
  // the sum below zero, asked of count as "above -1?" alone (src/model/observe.ts): the derivation of
  // futures tells count's values apart by that answer only, and learns nothing of pcpu
  if (!wordAbove(r, 'count', -1)) raise(s, Fault.REFCOUNT_UNDERFLOW);
}

/** percpu_ref_init(ref, release, 0, gfp): percpu mode holding one reference (the initial one). */
export function percpuRefInit(r: PercpuRefView): void {
  r.mode = 'percpu';
  storeWord(r, 'count', 1);
  storeWord(r, 'pcpu', 0);
}

/** percpu_ref_get: cannot fail. */
export function percpuRefGet(r: PercpuRefView): void {
  // percpu mode: this CPU's counter; otherwise the atomic one (the sum grows either way)
  if (r.mode === 'percpu') addTo(r, 'pcpu', 1);
  addTo(r, 'count', 1);
}

/**
 * percpu_ref_tryget: in percpu mode it never fails (this_cpu_inc); during the switch the atomic counter
 * still holds the bias, so it succeeds too; in atomic mode it is atomic_long_inc_not_zero. One atomic
 * step: the kernel reads the mode and increments inside rcu_read_lock(), and the switch folds the per-CPU
 * counters only after a grace period, so an increment that saw percpu mode is always folded in.
 */
export function percpuRefTryget(r: PercpuRefView): boolean {
  if (biasGone(r)) {
    // atomic_long_inc_not_zero: with the bias gone pcpu is 0, so the atomic counter is count
    if (wordIs(r, 'count', 0)) return false;
    addTo(r, 'count', 1);
    return true;
  }
  percpuRefGet(r);
  return true;
}

/** percpu_ref_put. The release callback is not modelled (the RFC's is a no-op). */
export function percpuRefPut(s: { faults: number }, r: PercpuRefView): void {
  if (r.mode === 'percpu') addTo(r, 'pcpu', -1);
  addTo(r, 'count', -1);
  checkUnderflow(s, r);
}

/** percpu_ref_is_zero: false in percpu mode and while the switch is pending (the bias is still in). */
export function percpuRefIsZero(r: PercpuRefView): boolean {
  return biasGone(r) && wordIs(r, 'count', 0); // bias gone: pcpu is 0, the atomic counter is count
}

/**
 * percpu_ref_switch_to_atomic(ref, NULL, sync=true), the first half of percpu_ref_switch_to_atomic_sync
 * as patched by Qi Zheng's RFC 02/18 "make ref stable after percpu_ref_switch_to_atomic_sync() returns".
 * Returns false (the caller blocks) while another switch is pending: __percpu_ref_switch_mode first waits
 * for confirm_switch to clear. From percpu mode: set the atomic flag, take the "put after confirmation"
 * reference, and call_rcu(&ref->data->rcu, percpu_ref_switch_to_atomic_rcu) on rcu head `head` with
 * callback id `cb` and argument `arg` (the caller's name for this ref). Already atomic: only the sync get.
 */
export function percpuRefSwitchToAtomic(s: RcuState, me: ReaderView, r: PercpuRefView, head: number, cb: number, arg: number): boolean {
  if (percpuRefSwitchPending(r)) return false;
  if (r.mode === 'percpu') {
    r.mode = 'to-atomic';
    percpuRefGet(r);
    callRcu(s, me, head, cb, arg);
    return true;
  }
  percpuRefGet(r);
  return true;
}

/**
 * The rest of percpu_ref_switch_to_atomic_sync: wait_event(!ref->data->confirm_switch), then (RFC 02/18)
 * percpu_ref_switch_to_atomic_post() drops the sync reference. False = still waiting (block). Waking up
 * has no effect of its own on shared state, so it is merged with the put.
 */
export function percpuRefSwitchToAtomicWait(s: { faults: number }, r: PercpuRefView): boolean {
  if (percpuRefSwitchPending(r)) return false;
  percpuRefPut(s, r);
  return true;
}

/**
 * percpu_ref_switch_to_atomic_rcu, run by the rcu thread once the grace period has ended: every CPU that
 * could still be inside a percpu-mode tryget/get/put has left it, so the per-CPU sum is final; fold it
 * into the atomic counter and drop the bias.
 */
export function percpuRefSwitchToAtomicRcu(s: { faults: number }, r: PercpuRefView): void {
  percpuRefSwitchFold(s, r);
  percpuRefSwitchConfirm(r);
}

/**
 * The first half of percpu_ref_switch_to_atomic_rcu alone: fold the per-CPU sum into the atomic counter
 * and drop PERCPU_COUNT_BIAS; confirm_switch stays set (mode `folded`) until percpuRefSwitchConfirm.
 * With percpuRefSwitchConfirm, wakeUpAll (waitqueue.ts) and percpuRefPut a model writes
 * percpu_ref_call_confirm_rcu's steps in any order it wants to check.
 */
export function percpuRefSwitchFold(s: { faults: number }, r: PercpuRefView): void {
  if (r.mode !== 'to-atomic') throw new ModelError(`percpu_ref_switch_to_atomic_rcu on a ref in ${r.mode} mode`);
  // atomic += pcpu: the sum stays what it is, and now lives in the atomic counter alone
  storeWord(r, 'pcpu', 0);
  r.mode = 'folded';
  checkUnderflow(s, r);
}

/** percpu_ref_call_confirm_rcu's `ref->data->confirm_switch = NULL`: the switch is complete. */
export function percpuRefSwitchConfirm(r: PercpuRefView): void {
  if (r.mode !== 'folded') throw new ModelError(`percpu_ref confirm on a ref in ${r.mode} mode (fold it first)`);
  r.mode = 'atomic';
}

/**
 * percpu_ref_kill_and_confirm(ref, NULL), the start: marks the ref dead, starts the switch to atomic
 * (as percpuRefSwitchToAtomic, without its sync reference: the caller then puts the initial reference
 * with percpuRefPut, as a step of its own). False (block) while another switch is pending. Killing twice
 * is the kernel's "called more than once" WARN: recorded as BUG.
 */
export function percpuRefKill(s: RcuState, me: ReaderView, r: PercpuRefView, head: number, cb: number, arg: number): boolean {
  if (percpuRefSwitchPending(r)) return false;
  if (r.dead) raise(s, Fault.BUG);
  r.dead = true;
  if (r.mode === 'percpu') {
    r.mode = 'to-atomic';
    percpuRefGet(r); // put after confirmation
    callRcu(s, me, head, cb, arg);
  }
  return true;
}

/** percpu_ref_tryget_live(): fails once the ref is dead (else as percpuRefTryget). */
export function percpuRefTrygetLive(r: PercpuRefView): boolean {
  if (r.mode === 'percpu') {
    percpuRefGet(r);
    return true;
  }
  if (r.dead) return false;
  return percpuRefTryget(r);
}

/** percpu_ref_is_dying(). */
export function percpuRefIsDying(r: PercpuRefView): boolean {
  return r.dead;
}

/**
 * percpu_ref_switch_to_percpu: waits for a pending switch (false = block), then adds the bias back,
 * zeroes every per-CPU counter and clears the atomic flag (a dead ref stays atomic).
 */
export function percpuRefSwitchToPercpu(r: PercpuRefView): boolean {
  if (percpuRefSwitchPending(r)) return false;
  if (r.mode === 'atomic' && !r.dead) {
    // the atomic counter (count: pcpu is 0 in atomic mode) keeps the references; the per-CPU ones start at 0
    storeWord(r, 'pcpu', 0);
    r.mode = 'percpu';
  }
  return true;
}
