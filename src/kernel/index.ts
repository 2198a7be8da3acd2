// The kernel primitives models are written in, under one namespace.
export * from './faults.ts';
export * from './spinlock.ts';
export * from './rcu.ts';
export * from './irq.ts';
export * from './pgtable.ts';
export * from './state.ts';
export * from './properties.ts';
export * from './pte-paths.ts';
export * from './preempt.ts';
export * from './mutex.ts';
export * from './rwsem.ts';
export * from './refcount.ts';
export * from './page-atomic.ts';
export * from './list.ts';
export * from './walker-cache.ts';
export * from './mmu-gather.ts';
