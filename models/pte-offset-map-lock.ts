/*
 * pte-offset-map-lock — may a page fault write a PTE into a table that a remover is detaching?
 *
 * Kernel code followed (protocols.md §1):
 *   mm/pgtable-generic.c  ___pte_offset_map(), __pte_offset_map_lock()   (walker, S1..S5)
 *   mm/memory.c           __pte_alloc() -> pmd_install(), do_anonymous_page()
 *   mm/pt_reclaim.c       try_to_free_pte()                               (remover shape)
 *   mm/pgtable-generic.c  pte_free_defer() -> call_rcu(pte_free_now)
 *
 * Threads:
 *   fault<i>  a page fault on address i of the range: allocate and install a PTE table if the pmd is
 *             none (pmd_install under pml), then __pte_offset_map_lock: rcu_read_lock, one lockless
 *             snapshot of *pmd, lock the ptl of the SNAPSHOT's table, pmd_same recheck (goto again on
 *             change), set_pte_at under ptl, pte_unmap_unlock. A none snapshot returns NULL and the
 *             fault is retried from the start, as the hardware would refault.
 *   remover   holds pml and the table's ptl, checks the table is empty, clears *pmd, drops both locks,
 *             mm_dec_nr_ptes, and frees the table through RCU (pte_free_defer). It stands for every
 *             remover that clears *pmd under pml + ptl (retract_page_tables, pt_reclaim).
 *   rcu       invokes pte_free_now once the grace period of its call_rcu has ended.
 *
 * Steps and the mainline code they follow:
 *   fault<i>  pmd_none .. pte_free: __pte_alloc() -> pmd_install() (mm/memory.c); rcu_read_lock ..
 *             'pte_unmap_unlock; goto again': __pte_offset_map_lock() (mm/pgtable-generic.c, Hugh
 *             Dickins 0d940a9b270b, v6.5, and a349d72fd9ef, v6.6); set_pte_at: do_anonymous_page();
 *             pte_unmap_unlock. no-rcu: the same without rcu_read_lock (Hugh's 04/31); no-pmd-recheck:
 *             pmd_trans_unstable, pte_lockptr, pte_offset_map, spin_lock(ptl): the pre-v6.5 macro
 *   remover   pmd_lock .. pte_free_defer: try_to_free_pte() (mm/pt_reclaim.c, 6375e95f381e, v6.14)
 *             with pte_free_defer() (mm/pgtable-generic.c, 13cf577e6b66, v6.6) as its free; pte_free:
 *             the no-rcu ablation
 *   rcu       pte_free_now: pte_free_defer's callback (pagetable_dtor_free)
 *
 * Variants (expected results at the default parameters; see specs/pte-offset-map-lock.ts):
 *   upstream        recheck + RCU, as in mainline since Hugh Dickins "mm: allow pte_offset_map[_lock]()
 *                   to fail" (v2, Jun 8 2023) and "mm/pgtable: add rcu_read_lock() and
 *                   rcu_read_unlock()s" (a349d72fd9ef).                                         SAFE
 *   no-pmd-recheck  the pre-June-2023 pte_offset_map_lock macro (B1.1): pte_lockptr(*pmd) and
 *                   pte_offset_map(*pmd) read *pmd twice, no pmd_same recheck, no RCU.   VIOLATED
 *                   (write into the detached table, lock of one table / write of another, and a
 *                   use-after-free since no read section holds the grace period off)
 *                   An ablation that never shipped: the old macro was only correct because nobody
 *                   removed a table under mmap_lock(read), and it was gone (0d940a9b270b, v6.5)
 *                   before any such remover existed (retract_page_tables without mmap_lock,
 *                   1d65b771bc08, v6.6; PT_RECLAIM, 6375e95f381e, v6.14). It shows what the recheck
 *                   and RCU buy, not a kernel that ran.
 *   no-rcu          recheck, but neither rcu_read_lock in the walker nor RCU-deferred free in the
 *                   remover: Hugh's 04/31 "rcu_read_lock() to be added later" with a remover that
 *                   calls pte_free() at once (B1.2).                          VIOLATED (use-after-free)
 *                   Also an ablation: v6.5 shipped the walker half (0d940a9b270b's recheck without
 *                   rcu_read_lock), but no remover freed a table under such a walker; a349d72fd9ef
 *                   added the RCU section in v6.6, with the first lockless remover (1d65b771bc08).
 *
 * Abstracted, and why that is sound here:
 *   - one pmd entry and its pml; each fault writes its own PTE slot (different addresses), so two
 *     faults never race on one entry (do_anonymous_page's pte_none recheck is not needed);
 *   - the remover's own rcu_read_lock inside pte_offset_map_rw_nolock is omitted: it holds pml, so *pmd
 *     and the table are stable under it;
 *   - TLB flushing is left out: no hardware walker is modelled here (see pt-reclaim-rcu-free);
 *   - the remover runs once; tables are never reused after free (any touch of a freed table is already
 *     the fault, so reuse adds nothing for safety);
 *   - RCU is consolidated (mainline since v4.20, src/kernel/rcu.ts): a thread holding pml or a ptl is a
 *     read-side section for grace periods, like rcu_read_lock. It changes no verdict here: the upstream
 *     walker is inside rcu_read_lock whenever it holds the ptl, and the violations of no-pmd-recheck and
 *     no-rcu happen at a spin_lock (before the walker holds anything) or against a free that does not
 *     wait for a grace period at all.
 *   - the split ptlock has its own lifetime (kernelState separatePtlock, ALLOC_SPLIT_PTLOCKS):
 *     it is freed where mainline frees it, in the same step as its table: pte_free_now() / pte_free() (pagetable_dtor_free).
 */

import { BLOCKED, DONE, defineModel, thread, replaceThreads } from '../src/model/model.ts';
import { bool } from '../src/model/schema.ts';
import {
  PMD_NONE,
  callRcu,
  kernelState,
  lock,
  mmDecNrPtes,
  pmdEntry,
  pteAlloc,
  pteOffsetMapLock,
  ptEmpty,
  pagetableDtorFree,
  ptInitInstalled,
  ptlLock,
  ptlUnlock,
  rcuReadUnlock,
  rcuThread,
  setPte,
  spinLock,
  spinUnlock,
  tableRef,
} from '../src/kernel/index.ts';

const PTE_FREE_NOW = 1; // rcu callback ids are 1-based, in the order given to kernelState

export function state(faults: number) {
  return kernelState(
    { tables: faults + 1, ptes: faults, rcuCallbacks: ['pte_free_now'], separatePtlock: true },
    { pmd: pmdEntry(), pml: lock() },
  );
}
export type St = ReturnType<typeof state>;

const isTable = (v: number) => v > 0;

const faultLocals = { new: tableRef(), pmdval: tableRef() };

/** Mainline: __pte_offset_map_lock with RCU and the pmd_same recheck. */
export function faultUpstream(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: faultLocals,
    steps: {
      ...pteAlloc('rcu_read_lock'),
      // __pte_offset_map_lock; a none snapshot returns NULL and the fault is retried
      ...pteOffsetMapLock({ locked: 'set_pte_at', nomap: () => 'pmd_none' }),
      set_pte_at: (s, me) => {
        setPte(s, me, me.pmdval, me.index, 1);
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        rcuReadUnlock(s, me);
        return DONE;
      },
    },
  });
}

/** Hugh's 04/31 (May 2023): recheck, but "rcu_read_lock() to be added later". */
export function faultNoRcu(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: faultLocals,
    steps: {
      ...pteAlloc('pmdp_get_lockless'),
      pmdp_get_lockless: (s, me) => {
        me.pmdval = s.pmd.v;
        return isTable(me.pmdval) ? 'spin_lock(ptl)' : 'pmd_none';
      },
      'spin_lock(ptl)': (s, me) => (ptlLock(s, me, me.pmdval) ? 'pmd_same' : BLOCKED),
      pmd_same: (s, me) => (s.pmd.v === me.pmdval ? 'set_pte_at' : 'pte_unmap_unlock; goto again'),
      'pte_unmap_unlock; goto again': (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        return 'pmdp_get_lockless';
      },
      set_pte_at: (s, me) => {
        setPte(s, me, me.pmdval, me.index, 1);
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        return DONE;
      },
    },
  });
}

/**
 * Before June 2023: the caller checks pmd_trans_unstable(), then the macro
 *   __ptl = pte_lockptr(mm, pmd);  __pte = pte_offset_map(pmd, address);  spin_lock(__ptl);
 * reads *pmd twice and never rechecks; there is no RCU read section.
 */
export function faultOldMacro(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: { ...faultLocals, ptl: tableRef() },
    steps: {
      ...pteAlloc('pmd_trans_unstable'),
      pmd_trans_unstable: (s, me) => (isTable(s.pmd.v) ? 'pte_lockptr' : 'pmd_none'),
      pte_lockptr: (s, me) => {
        me.ptl = s.pmd.v; // reads *pmd (1)
        return 'pte_offset_map';
      },
      pte_offset_map: (s, me) => {
        me.pmdval = s.pmd.v; // reads *pmd (2)
        return 'spin_lock(ptl)';
      },
      'spin_lock(ptl)': (s, me) => (ptlLock(s, me, me.ptl) ? 'set_pte_at' : BLOCKED),
      set_pte_at: (s, me) => {
        setPte(s, me, me.pmdval, me.index, 1);
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.ptl);
        return DONE;
      },
    },
  });
}

/** try_to_free_pte() shape; `deferred` frees through RCU (pte_free_defer), else at once (pte_free). */
export function remover(st: St, deferred: boolean) {
  const free = deferred ? ('pte_free_defer' as const) : ('pte_free' as const);
  return thread(st, {
    locals: { pmdval: tableRef(), cleared: bool() },
    steps: {
      pmd_lock: (s, me) => (spinLock(me, s.pml) ? 'pte_offset_map_rw_nolock' : BLOCKED),
      pte_offset_map_rw_nolock: (s, me) => {
        me.pmdval = s.pmd.v; // stable: pml is held
        return isTable(me.pmdval) ? 'spin_lock(ptl)' : 'spin_unlock(pml)';
      },
      'spin_lock(ptl)': (s, me) => (ptlLock(s, me, me.pmdval) ? 'pte_none' : BLOCKED),
      pte_none: (s, me) => (ptEmpty(s, me.pmdval) ? 'pmd_clear' : 'spin_unlock(ptl)'),
      pmd_clear: (s, me) => {
        s.pmd.v = PMD_NONE;
        me.cleared = true;
        return 'spin_unlock(ptl)';
      },
      'spin_unlock(ptl)': (s, me) => {
        ptlUnlock(s, me, me.pmdval);
        return 'spin_unlock(pml)';
      },
      'spin_unlock(pml)': (s, me) => {
        spinUnlock(s, me, s.pml);
        return me.cleared ? 'mm_dec_nr_ptes' : DONE;
      },
      mm_dec_nr_ptes: (s, me) => {
        mmDecNrPtes(s);
        return free;
      },
      pte_free_defer: (s, me) => {
        callRcu(s, me, me.pmdval - 1, PTE_FREE_NOW, me.pmdval);
        return DONE;
      },
      pte_free: (s, me) => {
        pagetableDtorFree(s, me.pmdval);
        return DONE;
      },
    },
  });
}

export default defineModel({
  name: 'pte-offset-map-lock',
  title: '__pte_offset_map_lock() against a table remover (pmd recheck + RCU)',
  doc: 'protocols.md §1: a fault path maps and locks a PTE table while a remover clears *pmd under pml+ptl and frees the table.',
  params: {
    faults: { min: 1, max: 4, default: 2, doc: 'page-fault threads (each maps its own address in the table)' },
  },
  build: (p) => {
    const st = state(p.faults);
    return {
      state: st,
      init: (s: any) => {
        ptInitInstalled(s, s.pmd, 1);
      },
      threads: {
        fault: faultUpstream(st, p.faults),
        remover: remover(st, true),
        rcu: rcuThread(st, ['pte_free_now'], { pte_free_now: (s, t) => pagetableDtorFree(s, t) }, p.faults + 1),
      },
    };
  },
  variants: {
    upstream: {
      summary: 'mainline: lockless snapshot, lock the snapshot table, pmd_same recheck, RCU-deferred free',
      patch: '"mm: allow pte_offset_map[_lock]() to fail", Hugh Dickins, Jun 8 2023 (v2) + a349d72fd9ef',
    },
    'no-pmd-recheck': {
      summary: 'the old pte_offset_map_lock macro: *pmd read twice, no recheck, no RCU section (B1.1)',
      patch: 'pre-June-2023 include/linux/mm.h pte_offset_map_lock() macro, as removed in Hugh Dickins 04/31 (May 21 2023)',
      apply: (d, p) => replaceThreads(d, { fault: faultOldMacro(state(p.faults), p.faults) }),
    },
    'no-rcu': {
      summary: 'recheck without RCU: the walker has no read section and the remover frees at once (B1.2)',
      patch: 'Hugh Dickins 04/31 "rcu_read_lock() to be added later" (May 21 2023), remover using pte_free()',
      apply: (d, p) => {
        const st = state(p.faults);
        return replaceThreads(d, { fault: faultNoRcu(st, p.faults), remover: remover(st, false) });
      },
    },
  },
});
