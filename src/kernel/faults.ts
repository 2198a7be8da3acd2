// Fault kinds the kernel primitives record in the state's `faults` bitmask, and their names.
// Specs read these bits; no other code decides what counts as a use-after-free.

import { int, type IntSpec } from '../model/schema.ts';
import { obsLog, orInto } from '../model/observe.ts';

/**
 * One bit per fault kind, all in one int field (bits 0..30), so that the engine checks every `noFault`
 * property with one AND (properties.ts bitsOff). Free bits: 22..30. Reuse a kind where the kernel reports
 * the same thing (any use of freed memory is UAF) rather than spending a bit.
 */
export const Fault = {
  /** load/store/lock of freed memory: a page-table page, its ptlock, a list entry, a struct page field */
  UAF: 1 << 0,
  /** a page-table page freed twice */
  DOUBLE_FREE: 1 << 1,
  /** a PTE table freed while some entry is not pte_none */
  FREE_NONEMPTY: 1 << 2,
  /** a "table" freed that came from a pmd_none (or huge) entry: garbage */
  FREE_GARBAGE: 1 << 3,
  /** a PTE written into a table no pmd links any more */
  WRITE_DETACHED: 1 << 4,
  /** a PTE written without holding that table's ptl */
  WRITE_UNLOCKED: 1 << 5,
  /** spin_unlock by a thread that does not own the lock */
  UNLOCK_NOT_OWNER: 1 << 6,
  /** a thread finished while still holding a lock */
  LOCK_HELD_AT_EXIT: 1 << 7,
  /** call_rcu on an rcu_head that is already queued */
  RCU_HEAD_REQUEUED: 1 << 8,
  /** rcu_read_unlock without rcu_read_lock, or a thread finished inside an RCU read section / IRQs off */
  RCU_UNBALANCED: 1 << 9,
  /** a table freed while a pmd still links it */
  FREE_ATTACHED: 1 << 10,
  /** a hardware walker (TLB, paging-structure cache, IOMMU) used a cached pointer to a freed table */
  STALE_WALK: 1 << 11,
  /** mm_dec_nr_ptes took nr_ptes below zero */
  NR_PTES_NEGATIVE: 1 << 12,
  /** a page (or fragment) refcount went below zero */
  REFCOUNT_UNDERFLOW: 1 << 13,
  /** pte_lockptr()/pte_offset_map() on a pmd that is none or huge: pointer computed from garbage */
  BAD_PMD_DEREF: 1 << 14,
  /** a sleeping primitive (might_sleep: mutex_lock, down_*, synchronize_rcu, wait_event's schedule) called
   *  with a spinlock held, preemption or IRQs off, or inside rcu_read_lock() */
  SLEEP_IN_ATOMIC: 1 << 15,
  /** refcount_t/kref: an increment from zero or a decrement at zero (refcount_warn_saturate:
   *  "addition on 0; use-after-free" / "underflow; use-after-free"); the count then saturates */
  REFCOUNT_ZERO: 1 << 16,
  /** list corruption as CONFIG_DEBUG_LIST reports it: a LIST_POISON pointer followed, an entry added twice,
   *  or prev/next links that do not agree */
  LIST_CORRUPT: 1 << 17,
  /** a BUG_ON() of the modelled kernel code fired (e.g. track_pte_set on a pte_ref at zero) */
  BUG: 1 << 18,
  /** pmd_populate() of a none or garbage table pointer (e.g. move_normal_pmd moving a pmd that is none) */
  PMD_POPULATE_BAD: 1 << 19,
  /** a task went to sleep in wait_event() having missed a wake_up() issued after its last condition check */
  LOST_WAKEUP: 1 << 20,
  /** spin_lock/spin_unlock through a lock pointer that is NULL, garbage or never initialised */
  BAD_LOCK_REF: 1 << 21,
} as const;

/** The name of one fault kind (a key of `Fault`). */
export type FaultName = keyof typeof Fault;

/** How reports name each fault bit (use-after-free, double-free, ...). */
export const FAULT_NAMES: Readonly<Record<number, string>> = {
  [Fault.UAF]: 'use-after-free',
  [Fault.DOUBLE_FREE]: 'double-free',
  [Fault.FREE_NONEMPTY]: 'free-of-non-empty-table',
  [Fault.FREE_GARBAGE]: 'free-of-pmd-none-garbage',
  [Fault.WRITE_DETACHED]: 'pte-write-into-detached-table',
  [Fault.WRITE_UNLOCKED]: 'pte-write-without-its-ptl',
  [Fault.UNLOCK_NOT_OWNER]: 'unlock-by-non-owner',
  [Fault.LOCK_HELD_AT_EXIT]: 'lock-held-at-exit',
  [Fault.RCU_HEAD_REQUEUED]: 'rcu-head-queued-twice',
  [Fault.RCU_UNBALANCED]: 'rcu-or-irq-section-unbalanced',
  [Fault.FREE_ATTACHED]: 'free-of-attached-table',
  [Fault.STALE_WALK]: 'stale-hardware-walk',
  [Fault.NR_PTES_NEGATIVE]: 'nr-ptes-negative',
  [Fault.REFCOUNT_UNDERFLOW]: 'refcount-underflow',
  [Fault.BAD_PMD_DEREF]: 'pmd-none-dereference',
  [Fault.SLEEP_IN_ATOMIC]: 'sleep-in-atomic',
  [Fault.REFCOUNT_ZERO]: 'refcount-use-after-last-put',
  [Fault.LIST_CORRUPT]: 'list-corruption',
  [Fault.BUG]: 'bug-on',
  [Fault.PMD_POPULATE_BAD]: 'pmd-populate-of-none-or-garbage',
  [Fault.LOST_WAKEUP]: 'lost-wakeup',
  [Fault.BAD_LOCK_REF]: 'lock-through-bad-pointer',
};

/** The set of faults in a `faults` value, by name, for traces: `{use-after-free}`. */
export function formatFaults(v: number): string {
  if (v === 0) return '{}';
  const out: string[] = [];
  for (let b = 1; b <= v && b > 0; b <<= 1) if (v & b) out.push(FAULT_NAMES[b] ?? `fault#${b}`);
  return `{${out.join(', ')}}`;
}

/** The state field holding the fault bits (kernelState declares it). */
export function faultsField(): IntSpec {
  return int(0, 0x7fffffff, 0, formatFaults);
}

/** Records a fault in the state (sticky). */
export function raise(s: { faults: number }, f: number): void {
  // the caller learns nothing of the other bits (src/model/observe.ts); by name in a search (a load
  // V8 specialises, unlike the helper's keyed one)
  if (obsLog.h === null) s.faults = s.faults | f;
  else orInto(s, 'faults', f);
}
