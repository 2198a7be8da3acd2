// Kernel paths that several models take, as step builders (labels are the kernel identifiers):
// __pte_alloc() (install a table if the pmd is none) and __pte_offset_map_lock() (RCU, lockless
// snapshot, lock the snapshot table's ptl, pmd_same recheck, goto again). A model spreads the steps
// into a thread and names where each exit continues.

import { BLOCKED, type DONE } from '../model/model.ts';
import { PMD_NONE, pagetableDtorFree, ptAlloc, ptlLock, ptlUnlock, mmIncNrPtes } from './pgtable.ts';
import { rcuReadLock, rcuReadUnlock } from './rcu.ts';
import { spinLock, spinUnlock } from './spinlock.ts';

const isTable = (v: number) => v > 0;

/**
 * __pte_alloc(): if *pmd is none, allocate a table (locals: `new`) and pmd_install() it under pml;
 * a table that lost the race is freed. Continues to `next`.
 */
export function pteAlloc<const L extends string>(next: L) {
  return {
    pmd_none: (s: any, _me: any) => (s.pmd.v === PMD_NONE ? ('pte_alloc_one' as const) : next),
    pte_alloc_one: (s: any, me: any) => {
      me.new = ptAlloc(s);
      return 'pmd_lock' as const;
    },
    pmd_lock: (s: any, me: any) => (spinLock(me, s.pml) ? ('pmd_install' as const) : BLOCKED),
    pmd_install: (s: any, me: any) => {
      if (s.pmd.v === PMD_NONE) {
        mmIncNrPtes(s);
        s.pmd.v = me.new;
        me.new = PMD_NONE;
      }
      return 'spin_unlock(pml)' as const;
    },
    'spin_unlock(pml)': (s: any, me: any) => {
      spinUnlock(s, me, s.pml);
      return me.new !== PMD_NONE ? ('pte_free' as const) : next;
    },
    pte_free: (s: any, me: any) => {
      pagetableDtorFree(s, me.new);
      me.new = PMD_NONE;
      return next;
    },
  };
}

/** Where pteOffsetMapLock() goes on each outcome of __pte_offset_map_lock(): locked, or no table mapped. */
export interface PteOffsetMapLockExits<L extends string, N extends string | typeof DONE> {
  /** the ptl is held and *pmd still names the snapshot table (locals: `pmdval`) */
  readonly locked: L;
  /** the snapshot was none or huge: NULL returned (after rcu_read_unlock); may record why */
  readonly nomap: (s: any, me: any) => N;
  /** runs when the ptl of the snapshot table has just been taken (ghost bookkeeping) */
  readonly onLock?: (s: any, me: any) => void;
}

/**
 * __pte_offset_map_lock(): rcu_read_lock, one lockless snapshot of *pmd, lock the ptl of the
 * SNAPSHOT's table, pmd_same recheck; on a change unlock, leave the read section and goto again.
 */
export function pteOffsetMapLock<const L extends string, const N extends string | typeof DONE>(exits: PteOffsetMapLockExits<L, N>) {
  return {
    rcu_read_lock: (_s: any, me: any) => {
      rcuReadLock(me);
      return 'pmdp_get_lockless' as const;
    },
    pmdp_get_lockless: (s: any, me: any) => {
      me.pmdval = s.pmd.v;
      return isTable(me.pmdval) ? ('spin_lock(ptl)' as const) : ('rcu_read_unlock' as const);
    },
    rcu_read_unlock: (s: any, me: any) => {
      rcuReadUnlock(s, me);
      return exits.nomap(s, me);
    },
    'spin_lock(ptl)': (s: any, me: any) => {
      if (!ptlLock(s, me, me.pmdval)) return BLOCKED;
      exits.onLock?.(s, me);
      return 'pmd_same' as const;
    },
    pmd_same: (s: any, me: any) => (s.pmd.v === me.pmdval ? exits.locked : ('pte_unmap_unlock; goto again' as const)),
    'pte_unmap_unlock; goto again': (s: any, me: any) => {
      ptlUnlock(s, me, me.pmdval);
      rcuReadUnlock(s, me);
      return 'rcu_read_lock' as const;
    },
  };
}
