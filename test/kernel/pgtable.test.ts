import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import { bool } from '../../src/model/schema.ts';
import {
  Fault,
  PMD_NONE,
  PTE_MARKER,
  callRcu,
  formatPte,
  kernelState,
  lock,
  noFault,
  FAULT_NAMES,
  mmDecNrPtes,
  pagetableDtorFree,
  pmdEntry,
  pmdPopulate,
  ptEmpty,
  ptFree,
  ptInitInstalled,
  ptlLock,
  ptlUnlock,
  ptlockFree,
  pteNone,
  readPte,
  setPte,
  ptePresent,
  rcuReadLock,
  rcuReadUnlock,
  rcuThread,
  spinLock,
  spinUnlock,
  tableRef,
} from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';

const noUaf = noFault('no-use-after-free', Fault.UAF);

/**
 * A lockless walker (RCU, snapshot *pmd, lock the snapshot's ptl) against a remover that clears *pmd
 * under pml + ptl and frees the table through RCU. Where the separate ptlock is freed decides the verdict.
 */
function ptlockLifetime(where: 'in-table' | 'rcu-callback' | 'before-call-rcu') {
  const st = kernelState(
    { tables: 1, rcuCallbacks: ['pte_free_now'], separatePtlock: where !== 'in-table' },
    { pmd: pmdEntry(), pml: lock() },
  );
  const walker = thread(st, {
    locals: { pmdval: tableRef() },
    steps: {
      rcu_read_lock: (_s, me) => (rcuReadLock(me), 'pmdp_get_lockless'),
      pmdp_get_lockless: (s, me) => {
        me.pmdval = s.pmd.v;
        return me.pmdval > 0 ? 'spin_lock(ptl)' : 'rcu_read_unlock';
      },
      'spin_lock(ptl)': (s, me) => (ptlLock(s, me, me.pmdval) ? 'spin_unlock(ptl)' : BLOCKED),
      'spin_unlock(ptl)': (s, me) => (ptlUnlock(s, me, me.pmdval), 'rcu_read_unlock'),
      rcu_read_unlock: (s, me) => (rcuReadUnlock(s, me), DONE),
    },
  });
  const remover = thread(st, {
    steps: {
      pmd_lock: (s, me) => (spinLock(me, s.pml) ? 'spin_lock(ptl)' : BLOCKED),
      'spin_lock(ptl)': (s, me) => (ptlLock(s, me, 1) ? 'pmd_clear' : BLOCKED),
      pmd_clear: (s, me) => {
        s.pmd.v = PMD_NONE;
        ptlUnlock(s, me, 1);
        spinUnlock(s, me, s.pml);
        return where === 'before-call-rcu' ? 'pagetable_dtor' : 'pte_free_defer';
      },
      pagetable_dtor: (s) => (ptlockFree(s, 1), 'pte_free_defer'),
      pte_free_defer: (s, me) => (callRcu(s, me, 0, 1, 1), DONE),
    },
  });
  const free = where === 'rcu-callback' ? pagetableDtorFree : ptFree;
  return {
    state: st,
    init: (s: any) => ptInitInstalled(s, s.pmd, 1),
    threads: { walker, remover, rcu: rcuThread(st, ['pte_free_now'], { pte_free_now: (s, t) => free(s, t) }, 1) },
    properties: [noUaf, noFault('no-double-free', Fault.DOUBLE_FREE | Fault.FREE_GARBAGE)],
  };
}

/** A plain-object table for direct calls. */
function oneTable(ptlock?: 'live' | 'freed') {
  const v = [0, 0];
  return {
    faults: 0,
    nr_ptes: 0,
    pt: [
      {
        state: 'live' as 'unused' | 'live' | 'freed',
        ptl: { v: 0, tag: 'lock', path: 'T1.ptl', off: 0 },
        pte: { length: 2, get: (i: number) => v[i]!, set: (i: number, x: number) => void (v[i] = x) },
        ...(ptlock ? { ptlock } : {}),
      },
    ],
  };
}

describe('ptlock with its own lifetime (ALLOC_SPLIT_PTLOCKS)', () => {
  it('by default the ptlock dies with its table: RCU-deferred free keeps the walker safe', () => {
    expect(verdicts(ptlockLifetime('in-table'))).toMatchObject({ 'no-use-after-free': 'holds', 'no-double-free': 'holds', 'deadlock-free': 'holds' });
  });

  it('freed in the RCU callback with the table (pagetable_dtor in pte_free_now, as mainline): safe', () => {
    expect(verdicts(ptlockLifetime('rcu-callback'))).toMatchObject({ 'no-use-after-free': 'holds', 'no-double-free': 'holds' });
  });

  it('freed before call_rcu (pagetable_dtor ahead of the deferred free): the RCU walker locks a freed ptlock', () => {
    expect(verdicts(ptlockLifetime('before-call-rcu'))).toMatchObject({ 'no-use-after-free': 'violated', 'no-double-free': 'holds' });
  });

  it('lock, unlock and a second free of a freed ptlock are recorded', () => {
    const me = { tid: 0 };
    const s = oneTable('live');
    expect(ptlLock(s, me, 1)).toBe(true);
    ptlockFree(s, 1);
    expect(s.faults).toBe(0);
    ptlUnlock(s, me, 1);
    expect(s.faults).toBe(Fault.UAF);
    const s2 = oneTable('freed');
    ptlLock(s2, me, 1);
    expect(s2.faults).toBe(Fault.UAF);
    ptlockFree(s2, 1);
    expect(s2.faults).toBe(Fault.UAF | Fault.DOUBLE_FREE);
  });

  it('ptlock_free on tables without a separate ptlock is a model error, not a silent no-op', () => {
    expect(() => ptlockFree(oneTable(), 1)).toThrow(/separate ptlock/);
  });

  it('the default state has no ptlock field, so shipped models keep their state vector', () => {
    const st = kernelState({ tables: 1 }, {});
    expect(Object.keys((st.fields.pt.of as any).fields)).toEqual(['state', 'ptl', 'pte']);
  });
});

describe('pte markers', () => {
  it('a marker is not none and not present, keeps the table non-empty, and prints by name', () => {
    const s = oneTable();
    s.pt[0]!.pte.set(1, PTE_MARKER.GUARD);
    expect(ptEmpty(s, 1)).toBe(false);
    expect(pteNone(PTE_MARKER.UFFD_WP)).toBe(false);
    expect(ptePresent(PTE_MARKER.SWAP)).toBe(false);
    expect([PTE_MARKER.GUARD, PTE_MARKER.UFFD_WP, PTE_MARKER.SWAP, 0, 2].map(formatPte)).toEqual([
      'guard-marker',
      'uffd-wp-marker',
      'swap-entry',
      'none',
      'page2',
    ]);
  });

  it('freeing a table that holds only a marker is a free of a non-empty table', () => {
    const s = oneTable();
    s.pt[0]!.pte.set(0, PTE_MARKER.UFFD_WP);
    ptFree(s, 1);
    expect(s.faults).toBe(Fault.FREE_NONEMPTY);
  });
});

describe('pmd_populate', () => {
  /**
   * mremap's move_normal_pmd: under old pml, pmd = *old_pmd; pmd_clear(old_pmd); pmd_populate(new_pmd,
   * pmd_pgtable(pmd)). A reclaimer clears *old_pmd under pml (and frees the table) first; without a
   * pmd_none check the move installs a pointer derived from a none pmd.
   */
  function move(check: boolean) {
    const st = kernelState({ tables: 1 }, { old_pmd: pmdEntry(), new_pmd: pmdEntry(), pml: lock() });
    const mover = thread(st, {
      locals: { pmd: tableRef(), done: bool() },
      steps: {
        pmd_lock: (s, me) => (spinLock(me, s.pml) ? 'move_normal_pmd' : BLOCKED),
        move_normal_pmd: (s, me) => {
          me.pmd = s.old_pmd.v;
          if (check && me.pmd === PMD_NONE) return 'spin_unlock';
          s.old_pmd.v = PMD_NONE;
          pmdPopulate(s, s.new_pmd, me.pmd);
          return 'spin_unlock';
        },
        spin_unlock: (s, me) => (spinUnlock(s, me, s.pml), DONE),
      },
    });
    const reclaimer = thread(st, {
      steps: {
        pmd_lock: (s, me) => (spinLock(me, s.pml) ? 'pmd_clear' : BLOCKED),
        pmd_clear: (s, me) => {
          const t = s.old_pmd.v;
          s.old_pmd.v = PMD_NONE;
          spinUnlock(s, me, s.pml);
          if (t > 0) ptFree(s, t);
          return DONE;
        },
      },
    });
    return {
      state: st,
      init: (s: any) => ptInitInstalled(s, s.old_pmd, 1),
      threads: { mover, reclaimer },
      properties: [noFault('pmd-populate-ok', Fault.PMD_POPULATE_BAD), noUaf],
    };
  }

  it('moving a pmd that became none installs garbage', () => {
    expect(verdicts(move(false))).toMatchObject({ 'pmd-populate-ok': 'violated', 'no-use-after-free': 'holds' });
  });

  it('with the pmd_none check under pml the move is safe', () => {
    expect(verdicts(move(true))).toMatchObject({ 'pmd-populate-ok': 'holds', 'no-use-after-free': 'holds' });
  });

  it('populating with a freed table is a use-after-free', () => {
    const s = oneTable();
    s.pt[0]!.state = 'freed';
    const pmd = { v: 0, tag: 'pmd', path: 'pmd', off: 0 };
    pmdPopulate(s, pmd, 1);
    expect(s.faults).toBe(Fault.UAF);
    pmdPopulate(s, pmd, PMD_NONE);
    expect(s.faults).toBe(Fault.UAF | Fault.PMD_POPULATE_BAD);
  });
});

describe('page-table misuse: each records its own fault and no other', () => {
  // T1 installed in *pmd (nr_ptes 1), its first entry mapped; one thread misuses it in one way
  const st = kernelState({ tables: 1, ptes: 2 }, { pmd: pmdEntry() });
  const bits = Object.keys(FAULT_NAMES).map(Number);
  function faultsOf(steps: Record<string, (s: any, me: any) => any>): string[] {
    const t = thread(st, { steps: steps as any });
    const v = verdicts({
      state: st,
      init: (s: any) => (ptInitInstalled(s, s.pmd, 1), s.pt[0].pte.set(0, 1)),
      threads: { t },
      properties: bits.map((b) => noFault(FAULT_NAMES[b]!, b)),
    });
    return Object.entries(v).filter(([, r]) => r === 'violated').map(([n]) => n);
  }
  const unlink = (s: any) => void (s.pmd.v = PMD_NONE);
  const empty = (s: any) => void s.pt[0].pte.set(0, 0);

  it('set_pte_at without the table\'s ptl', () => {
    expect(faultsOf({ set_pte_at: (s, me) => (setPte(s, me, 1, 1, 1), DONE) })).toEqual([FAULT_NAMES[Fault.WRITE_UNLOCKED]]);
  });
  it('set_pte_at under the ptl into a table no longer linked from *pmd', () => {
    expect(
      faultsOf({
        pmd_clear: (s) => (unlink(s), 'spin_lock(ptl)'),
        'spin_lock(ptl)': (s, me) => (ptlLock(s, me, 1) ? 'set_pte_at' : BLOCKED),
        set_pte_at: (s, me) => (setPte(s, me, 1, 1, 1), ptlUnlock(s, me, 1), DONE),
      }),
    ).toEqual([FAULT_NAMES[Fault.WRITE_DETACHED]]);
  });
  it('freeing a table still linked from *pmd', () => {
    expect(faultsOf({ pte_free: (s) => (empty(s), ptFree(s, 1), DONE) })).toEqual([FAULT_NAMES[Fault.FREE_ATTACHED]]);
  });
  it('freeing an unlinked table with a present entry', () => {
    expect(faultsOf({ pte_free: (s) => (unlink(s), ptFree(s, 1), DONE) })).toEqual([FAULT_NAMES[Fault.FREE_NONEMPTY]]);
  });
  it('freeing it twice', () => {
    expect(faultsOf({ pte_free: (s) => (unlink(s), empty(s), ptFree(s, 1), ptFree(s, 1), DONE) })).toEqual([FAULT_NAMES[Fault.DOUBLE_FREE]]);
  });
  it('freeing the "table" of a none pmd', () => {
    expect(faultsOf({ pte_free: (s) => (ptFree(s, PMD_NONE), DONE) })).toEqual([FAULT_NAMES[Fault.FREE_GARBAGE]]);
  });
  it('pte_lockptr of a none pmd', () => {
    expect(faultsOf({ 'spin_lock(ptl)': (s, me) => (ptlLock(s, me, PMD_NONE), DONE) })).toEqual([FAULT_NAMES[Fault.BAD_PMD_DEREF]]);
  });
  it('a load from a freed table', () => {
    expect(faultsOf({ pte_free: (s) => (unlink(s), empty(s), ptFree(s, 1), 'ptep_get'), ptep_get: (s) => (readPte(s, 1, 0), DONE) })).toEqual([
      FAULT_NAMES[Fault.UAF],
    ]);
  });
  it('mm_dec_nr_ptes once more than tables were installed', () => {
    expect(faultsOf({ mm_dec_nr_ptes: (s) => (mmDecNrPtes(s), mmDecNrPtes(s), DONE) })).toEqual([FAULT_NAMES[Fault.NR_PTES_NEGATIVE]]);
  });
  it('a mapped, linked table used under its ptl records nothing', () => {
    expect(
      faultsOf({
        'spin_lock(ptl)': (s, me) => (ptlLock(s, me, 1) ? 'set_pte_at' : BLOCKED),
        set_pte_at: (s, me) => (setPte(s, me, 1, 1, 2), readPte(s, 1, 0), ptlUnlock(s, me, 1), DONE),
      }),
    ).toEqual([]);
  });
});
