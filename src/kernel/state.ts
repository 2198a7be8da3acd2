// The kernel part of every model's state: the fault bitmask, page-table pages, nr_ptes, rcu heads,
// and the per-thread RCU/IRQ/preemption context, with the exit checks. Models add their own fields beside it.

import { defineState, mergeState, type StateDef } from '../model/model.ts';
import type { Fields } from '../model/schema.ts';
import { faultsField } from './faults.ts';
import { irqPerThread } from './irq.ts';
import { nrPtesField, pageTables } from './pgtable.ts';
import { rcuExitHook, rcuFlavourField, rcuHeads, rcuPerThread, type RcuFlavour } from './rcu.ts';
import { lockExitHook } from './spinlock.ts';
import { preemptExitHook, preemptPerThread } from './preempt.ts';
import { mutexExitHook } from './mutex.ts';
import { rwsemExitHook } from './rwsem.ts';

/** What kernelState() declares: page-table pages, entries per table, rcu_heads and their callbacks. */
export interface KernelOpts {
  /** page-table pages T1..Tn (default 0) */
  readonly tables?: number;
  /** entries per table (default 1) */
  readonly ptes?: number;
  /** rcu_head count (default: one per table) */
  readonly rcuHeads?: number;
  /** names of the RCU callbacks the model queues, in the order of their ids (1-based) */
  readonly rcuCallbacks?: readonly string[];
  /** each table's split ptlock has its own lifetime (ptlock_alloc/ptlock_free; see pageTables) */
  readonly separatePtlock?: boolean;
  /** what holds off a grace period (rcu.ts RcuFlavour; default 'consolidated', mainline since v4.20) */
  readonly rcu?: RcuFlavour;
}

function kernelFields(o: KernelOpts) {
  const tables = o.tables ?? 0;
  return {
    faults: faultsField(),
    nr_ptes: nrPtesField(),
    pt: pageTables(tables, o.ptes ?? 1, o.separatePtlock ? { separatePtlock: true } : {}),
    rcu_head: rcuHeads(o.rcuHeads ?? tables, o.rcuCallbacks ?? []),
    /** true: the model's weaker 'spinlock-not-reader' RCU flavour (constant over a run) */
    rcu_spinlock_not_reader: rcuFlavourField(o.rcu ?? 'consolidated'),
  };
}

const perThread = { ...rcuPerThread, ...irqPerThread, ...preemptPerThread };

/** The state definition kernelState() returns: the kernel's fields plus the model's own. */
export type KernelStateDef<F extends Fields> = StateDef<ReturnType<typeof kernelFields> & F, typeof perThread>;

/** The model's state: the kernel's fields plus `fields`. */
export function kernelState<const F extends Fields>(o: KernelOpts, fields: F): KernelStateDef<F> {
  const k = defineState(kernelFields(o), perThread, [lockExitHook, rcuExitHook, preemptExitHook, mutexExitHook, rwsemExitHook]);
  return mergeState(k, defineState(fields));
}
