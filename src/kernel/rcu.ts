// RCU: read-side sections, call_rcu with a per-rcu_head "queued" flag, grace periods, synchronize_rcu,
// and the `rcu` thread that invokes callbacks. A grace period started at time t ends once every thread
// that was a reader at t has been outside all read sections at least once: each rcu_head (and each
// synchronize_rcu caller) records the mask of readers at call time, and a reader clears its bit when it
// leaves its last read section. Which regions are read sections is the state's RCU flavour: mainline
// since v4.20 ('consolidated') counts rcu_read_lock, IRQs off and preemption off (every spinlock holder:
// preempt_count > 0, preempt.ts); a model may opt into 'spinlock-not-reader' (a weaker assumption).

import { array, bool, int, record, type ArraySpec, type BoolSpec, type IntSpec, type NameContext, type RecordSpec } from '../model/schema.ts';
import { BLOCKED, thread, type StateDef, type ThreadDef, type ThreadView } from '../model/model.ts';
import { Fault, raise } from './faults.ts';
import { mightSleep } from './preempt.ts';
import { clearIn, obsLog, storeBitsOf, storeWord, wordAbove, wordIs } from '../model/observe.ts';

const MASK_MAX = 0x3fffffff;
/** Set in gp_wait while a synchronize_rcu is in progress (the other bits are readers still to pass). */
const GP_STARTED = 0x40000000;

/** A mask of threads (bit = tid) for traces: `{fault0, remover}`. */
export function formatMask(v: number, names: NameContext): string {
  const out: string[] = [];
  for (let t = 0; t < 30; t++) if (v & (1 << t)) out.push(names.threadName(t));
  return `{${out.join(', ')}}`;
}

/**
 * What holds off a grace period. 'consolidated': mainline since v4.20 (the RCU flavours merged): an
 * rcu_read_lock section, an IRQs-off region and a preemption-off region (any spinlock held on a non-RT
 * kernel; on PREEMPT_RT rt_spin_lock takes rcu_read_lock itself) are all read sections.
 * 'spinlock-not-reader': only rcu_read_lock and IRQs off are; a spinlock holder is not a reader. It adds
 * behaviours (grace periods end sooner): conservative for use-after-free invariants, but it hides
 * deadlocks (synchronize_rcu under a spinlock) and can reach states the kernel cannot.
 */
export type RcuFlavour = 'consolidated' | 'spinlock-not-reader';

/** The global field kernelState declares for the flavour (constant over a run). */
export function rcuFlavourField(f: RcuFlavour): BoolSpec {
  return bool(f === 'spinlock-not-reader');
}

/** Per-thread RCU fields: rcu_read_lock() nesting, IRQs off, the grace period a synchronize_rcu waits for. */
export const rcuPerThread = {
  /** rcu_read_lock() nesting depth */
  rcu_nesting: int(0, 7),
  /** local_irq_disable()d: also an RCU read-side section, and holds off IPIs */
  irqs_off: bool(false) as BoolSpec,
  /** synchronize_rcu() in progress: readers still to pass a quiescent state */
  gp_wait: int(0, 0x7fffffff, 0, (v, n) => (v === 0 ? 'idle' : `waiting for ${formatMask(v & MASK_MAX, n)}`), 'tid-mask'),
} as const;

/** The fields of one struct rcu_head: queued, the readers its grace period waits for, its callback and argument. */
export type RcuHeadFields = {
  queued: BoolSpec;
  wait: IntSpec;
  cb: IntSpec;
  arg: IntSpec;
};

/** The rcu_head array of a model: `n` heads whose callbacks are named by `callbacks` (1-based ids). */
export function rcuHeads(n: number, callbacks: readonly string[]): ArraySpec<RecordSpec<RcuHeadFields>> {
  const cbFmt = (v: number): string => (v === 0 ? '-' : (callbacks[v - 1] ?? `cb#${v}`));
  return array(
    n,
    record({
      queued: bool(false),
      wait: int(0, MASK_MAX, 0, formatMask, 'tid-mask'),
      cb: int(0, Math.max(callbacks.length, 1), 0, cbFmt),
      arg: int(-1, 255, -1),
    }),
    (i) => `rcu_head[${i}]`,
  );
}

/** A thread as the RCU primitives see it: read-section nesting, IRQs off, the grace period it waits for. */
export interface ReaderView {
  rcu_nesting: number;
  irqs_off: boolean;
  /** preempt.ts's count (spinlocks held + preempt_disable nesting); absent outside kernelState */
  preempt_count?: number;
  gp_wait: number;
  readonly tid: number;
  readonly all: readonly ThreadView[];
}
interface HeadView {
  queued: boolean;
  wait: number;
  cb: number;
  arg: number;
}
/** The flavour as the state holds it (absent: consolidated). */
export interface RcuFlavourState {
  readonly rcu_spinlock_not_reader?: boolean;
}
/** The part of a model's state the RCU primitives use: faults, the rcu_heads and the RCU flavour. */
export interface RcuState extends RcuFlavourState {
  faults: number;
  readonly rcu_head: readonly HeadView[];
}

function isReader(t: ReaderView, preemptOffReads: boolean): boolean {
  // `in` first: a view may refuse reads of fields its model does not declare
  if (obsLog.h === null) return t.rcu_nesting > 0 || t.irqs_off || (preemptOffReads && 'preempt_count' in t && (t as { preempt_count: number }).preempt_count > 0); // by name in a search (see spinlock.ts)
  return wordAbove(t, 'rcu_nesting', 0) || t.irqs_off || (preemptOffReads && 'preempt_count' in t && wordAbove(t as { preempt_count: number }, 'preempt_count', 0));
}

/** Does a preemption-off region (a spinlock held) count as a read section in this state's flavour? */
function preemptOffReads(s: RcuFlavourState): boolean {
  return !('rcu_spinlock_not_reader' in s) || s.rcu_spinlock_not_reader !== true;
}

/** Is `me` inside a read section in this state's flavour (rcu_read_lock, IRQs off, or preemption off)? */
export function rcuReader(s: RcuFlavourState, me: ReaderView): boolean {
  return isReader(me, preemptOffReads(s));
}

/** The fields that make a thread a reader (isReader), with and without preemption-off regions. */
const READER_FIELDS = ['rcu_nesting', 'irqs_off', 'preempt_count'] as const;
const READER_FIELDS_NO_PREEMPT = ['rcu_nesting', 'irqs_off'] as const;
/** One of READER_FIELDS says "inside": a nesting or count above zero, IRQs off. */
const inSection = (v: unknown): boolean => v === true || (typeof v === 'number' && v > 0);

/** Mask of threads currently inside a read section (see rcuReader). */
export function readersMask(s: RcuFlavourState, me: { readonly all: readonly ThreadView[] }): number {
  const p = preemptOffReads(s);
  let m = 0;
  const all = me.all as unknown as readonly ReaderView[];
  for (let i = 0; i < all.length; i++) if (isReader(all[i]!, p)) m |= 1 << i;
  return m;
}

/** `me` has left every read section: it no longer holds up any grace period. */
function quiescent(s: RcuState, me: ReaderView): void {
  const bit = 1 << me.tid;
  const heads = s.rcu_head;
  const all = me.all as unknown as readonly ReaderView[];
  if (obsLog.h === null) {
    // a search: by name, storing only where the bit is set, as clearIn() does (see spinlock.ts)
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if ((h.wait & bit) !== 0) h.wait = h.wait & ~bit;
    }
    for (let i = 0; i < all.length; i++) {
      const t = all[i]!;
      if ((t.gp_wait & bit) !== 0) t.gp_wait = t.gp_wait & ~bit;
    }
    return;
  }
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!;
    clearIn(h, 'wait', bit);
  }
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!;
    clearIn(t, 'gp_wait', bit);
  }
}

/** rcu_read_lock(): enters (or nests) a read section. */
export function rcuReadLock(me: ReaderView): void {
  me.rcu_nesting = me.rcu_nesting + 1;
}

/** rcu_read_unlock(): leaves a read section; may end grace periods waiting for this reader. Without a matching rcu_read_lock records RCU_UNBALANCED. */
export function rcuReadUnlock(s: RcuState, me: ReaderView): void {
  if (me.rcu_nesting === 0) {
    raise(s, Fault.RCU_UNBALANCED);
    return;
  }
  me.rcu_nesting = me.rcu_nesting - 1;
  rcuMaybeQuiescent(s, me);
}

/**
 * Called when `me` may have left its last read section (rcu_read_unlock, local_irq_enable, and the
 * spin_unlock / preempt_enable that brings preempt_count to zero).
 */
export function rcuMaybeQuiescent(s: RcuState, me: ReaderView): void {
  if (!isReader(me, preemptOffReads(s))) quiescent(s, me);
}

/**
 * For spin_unlock and preempt_enable, after preempt_count went down: if it is now zero, `me` may have
 * left its last read section. A state without RCU heads (no kernelState) has no grace periods to end.
 */
export function rcuPreemptOn(s: object, me: object): void {
  if (!('preempt_count' in me) || !('rcu_head' in s)) return; // no count, or no grace periods to end
  const m = me as ReaderView;
  if (m.preempt_count !== 0) return;
  rcuMaybeQuiescent(s as RcuState, m);
}

/**
 * call_rcu(&rcu_head[h], cb) with an argument for the callback. Queuing a head that is already queued
 * records RCU_HEAD_REQUEUED at the call itself (P-RCUHEAD), as CONFIG_DEBUG_OBJECTS_RCU_HEAD reports it:
 * debug_rcu_head_queue() finds the head active and __call_rcu() warns "Leaked duplicate callback". What
 * follows is not defined by the kernel (without debug objects the callback list is corrupted; with them
 * head->func becomes rcu_leak_callback and neither callback runs); the model overwrites the head, so the
 * first callback is lost and the second runs after a grace period counted from the second call.
 */
export function callRcu(s: RcuState, me: ReaderView, h: number, cb: number, arg: number): void {
  // an index past the end would throw as a model error too; this message says which call it was
  const head = h >= 0 && h < s.rcu_head.length ? s.rcu_head[h] : undefined;
  if (!head) throw new Error(`call_rcu: no rcu_head ${h}`);
  if (head.queued) raise(s, Fault.RCU_HEAD_REQUEUED);
  head.queued = true;
  storeWord(head, 'cb', cb);
  storeWord(head, 'arg', arg);
  // readersMask(), with every reader field read and nothing learnt (src/model/observe.ts)
  storeBitsOf(head, 'wait', me.all, preemptOffReads(s) ? READER_FIELDS : READER_FIELDS_NO_PREEMPT, inSection);
}

/**
 * synchronize_rcu() as one label that runs twice: the first run starts the grace period (records every
 * thread now inside a read section, the caller included) and stays on `self`; it then blocks until they
 * have all passed a quiescent state and continues to `next`. Called inside a read section (with
 * consolidated RCU that includes holding a spinlock) it waits for itself: the kernel deadlocks, and so
 * does the model. Called in atomic context it records SLEEP_IN_ATOMIC (might_sleep) first.
 */
export function synchronizeRcu<L extends string>(self: L, next: L) {
  return (s: RcuState, me: ReaderView): L | typeof BLOCKED => {
    if (me.gp_wait === 0) {
      mightSleep(s, me); // SLEEP_IN_ATOMIC: synchronize_rcu() may sleep
      const wait = readersMask(s, me);
      if (wait === 0) return next;
      me.gp_wait = GP_STARTED | wait;
      return self;
    }
    if (me.gp_wait === GP_STARTED) {
      me.gp_wait = 0;
      return next;
    }
    return BLOCKED;
  };
}

/** An RCU callback (pte_free_rcu, ...): runs with the argument given to call_rcu once the grace period ends. */
export type RcuCallback = (s: any, arg: number, me: ThreadView) => void;

/**
 * A callback entry for rcuDoBatch: runs when the callback is invoked (its rcu_head just dequeued) and
 * returns the rcu thread's next label: 'rcu_do_batch' when the callback has returned, or the label of
 * the callback's next atomic step (for callbacks that race with other CPUs half-way).
 */
export type RcuCallbackEntry<L extends string> = (s: any, arg: number, me: ThreadView) => L;

/** A MultiStep spelled out, so that a thread's labels are inferred from its step keys, not from here. */
export interface RcuDoBatchStep<L extends string> {
  readonly alts: number;
  readonly run: (s: any, me: any, alt: number) => L | typeof BLOCKED;
  readonly show: (alt: number, s: any, me: any) => string;
}

/**
 * The rcu thread's `rcu_do_batch` step: invokes any queued callback whose grace period has ended
 * (alternative h = head h). Callbacks of different heads may run in any order, which over-approximates
 * the kernel (sound for safety). The rcu thread is one sequential context, as in the kernel, where
 * callbacks run with bottom halves disabled.
 */
export function rcuDoBatch<const CB extends string, const L extends string>(
  callbackNames: readonly CB[],
  entries: { readonly [K in CB]: RcuCallbackEntry<L> },
  nHeads: number,
): RcuDoBatchStep<L> {
  const table: RcuCallbackEntry<L>[] = callbackNames.map((n) => entries[n]);
  return {
    alts: Math.max(nHeads, 1),
    run: (s: any, me: any, alt: number) => {
      // a model with no heads still has the one alternative: nothing to run (the array is sealed)
      const heads = (s as RcuState).rcu_head;
      const head = alt < heads.length ? heads[alt] : undefined;
      if (!head || !head.queued || !wordIs(head, 'wait', 0)) return BLOCKED;
      head.queued = false;
      const cb = head.cb;
      const arg = head.arg;
      storeWord(head, 'cb', 0);
      storeWord(head, 'arg', -1);
      const fn = table[cb - 1];
      if (!fn) throw new Error(`rcu_head[${alt}] queued with unknown callback #${cb}`);
      return fn(s, arg, me);
    },
    show: (alt: number, s: any) => {
      const heads = (s as RcuState).rcu_head;
      const head = alt < heads.length ? heads[alt] : undefined;
      const name = head ? callbackNames[head.cb - 1] : undefined;
      return name ?? 'rcu_do_batch';
    },
  };
}

/** The `rcu` thread for callbacks that run as one atomic step. */
export function rcuThread<SD extends StateDef<any, any>, const CB extends string>(
  st: SD,
  callbackNames: readonly CB[],
  callbacks: { readonly [K in CB]: RcuCallback },
  nHeads: number,
): ThreadDef<'rcu_do_batch'> {
  const entries = {} as { [K in CB]: RcuCallbackEntry<'rcu_do_batch'> };
  for (const n of callbackNames) {
    const f = callbacks[n];
    entries[n] = (s, arg, me) => {
      f(s, arg, me);
      return 'rcu_do_batch';
    };
  }
  return thread(st, { daemon: true, steps: { rcu_do_batch: rcuDoBatch(callbackNames, entries, nHeads) } }) as ThreadDef<'rcu_do_batch'>;
}

/** Exit hook: a thread may not finish inside a read section or with IRQs off (spinlocks: spinlock.ts). */
export function rcuExitHook(s: RcuState, me: ThreadView): void {
  const r = me as unknown as ReaderView;
  if (!wordIs(r, 'rcu_nesting', 0) || r.irqs_off) raise(s, Fault.RCU_UNBALANCED);
}
