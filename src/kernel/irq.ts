// IRQ-disabled sections and synchronous IPIs (smp_call_function(..., wait=1), as used by
// tlb_remove_table_sync_one). A CPU takes an IPI only while its IRQs are enabled: the sender waits for
// every CPU that had IRQs off when it sent to re-enable them. IRQs-off also counts as an RCU read
// section (see rcu.ts).

import { int } from '../model/schema.ts';
import { BLOCKED } from '../model/model.ts';
import { Fault, raise } from './faults.ts';
import { formatMask, rcuMaybeQuiescent, type ReaderView, type RcuState } from './rcu.ts';

const IPI_STARTED = 0x40000000;
const MASK_MAX = 0x3fffffff;

/** Per-thread fields for IRQ state: local_irq_disable() and the IPI a CPU still waits for. */
export const irqPerThread = {
  /** a synchronous IPI broadcast in progress: CPUs that still have to take it */
  ipi_wait: int(0, 0x7fffffff, 0, (v, n) => (v === 0 ? 'idle' : `waiting for ${formatMask(v & MASK_MAX, n)}`), 'tid-mask'),
} as const;

interface IrqView extends ReaderView {
  ipi_wait: number;
}

/** local_irq_disable(): IRQs off, which is also an RCU read section and holds off IPIs. Disabling twice records RCU_UNBALANCED. */
export function localIrqDisable(s: RcuState, me: ReaderView): void {
  if (me.irqs_off) raise(s, Fault.RCU_UNBALANCED);
  me.irqs_off = true;
}

/** local_irq_enable: takes any IPI pending for this CPU, and may end its RCU read section. */
export function localIrqEnable(s: RcuState, me: ReaderView): void {
  if (!me.irqs_off) {
    raise(s, Fault.RCU_UNBALANCED);
    return;
  }
  me.irqs_off = false;
  const bit = 1 << me.tid;
  const all = me.all as unknown as readonly IrqView[];
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!;
    if (t.ipi_wait & bit) t.ipi_wait = t.ipi_wait & ~bit;
  }
  rcuMaybeQuiescent(s, me);
}

/**
 * A synchronous IPI to every other CPU (smp_call_function with wait=1), as one label that runs twice:
 * the first run sends (CPUs with IRQs enabled take it at once) and stays on `self`; it then blocks
 * until every CPU that had IRQs disabled has re-enabled them, and continues to `next`.
 */
export function ipiSync<L extends string>(self: L, next: L) {
  return (_s: unknown, me: ReaderView): L | typeof BLOCKED => {
    const m = me as IrqView;
    if (m.ipi_wait === 0) {
      let wait = 0;
      const all = m.all as unknown as readonly IrqView[];
      for (let i = 0; i < all.length; i++) if (i !== m.tid && all[i]!.irqs_off) wait |= 1 << i;
      if (wait === 0) return next;
      m.ipi_wait = IPI_STARTED | wait;
      return self;
    }
    if (m.ipi_wait === IPI_STARTED) {
      m.ipi_wait = 0;
      return next;
    }
    return BLOCKED;
  };
}
