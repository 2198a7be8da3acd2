// Consolidated RCU (mainline since v4.20): a spinlock holder is a read-side section for grace periods,
// its last spin_unlock is its quiescent point, and synchronize_rcu under a spinlock deadlocks. The
// weaker 'spinlock-not-reader' flavour, which a model must opt into by name, drops exactly that.

import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import {
  Fault,
  PMD_NONE,
  callRcu,
  kernelState,
  lock,
  noFault,
  pmdEntry,
  preemptDisable,
  preemptEnable,
  ptFree,
  ptInitInstalled,
  rcuReadLock,
  rcuReadUnlock,
  rcuThread,
  readPte,
  spinLock,
  spinUnlock,
  synchronizeRcu,
  tableRef,
  type RcuFlavour,
} from '../../src/kernel/index.ts';
import { final } from '../../src/spec/property.ts';
import { verdicts } from './kit.ts';

function state(rcu: RcuFlavour) {
  return kernelState({ tables: 1, rcuCallbacks: ['pte_free_now'], rcu }, { pmd: pmdEntry(), a: lock(), b: lock() });
}

type Reader = 'spin' | 'nested-spin' | 'rcu-inside-spin' | 'preempt' | 'none';

/**
 * A reader that snapshots *pmd and later loads from the table, protected only by `how`, against a
 * remover that clears *pmd and frees the table through call_rcu.
 */
function toy(rcu: RcuFlavour, how: Reader) {
  const st = state(rcu);
  const reader = thread(st, {
    locals: { t: tableRef() },
    steps: {
      enter: (s, me) => {
        if ((how === 'spin' || how === 'rcu-inside-spin') && !spinLock(me, s.a)) return BLOCKED;
        if (how === 'nested-spin' && !(s.a.v === 0 && s.b.v === 0)) return BLOCKED;
        if (how === 'nested-spin') {
          spinLock(me, s.a);
          spinLock(me, s.b);
        }
        if (how === 'rcu-inside-spin') rcuReadLock(me);
        if (how === 'preempt') preemptDisable(me);
        return 'snapshot';
      },
      snapshot: (s, me) => {
        me.t = s.pmd.v;
        // the innermost protection ends before the load: b for nested-spin, rcu_read_lock inside spin
        if (how === 'nested-spin') spinUnlock(s, me, s.b);
        if (how === 'rcu-inside-spin') rcuReadUnlock(s, me);
        return 'load';
      },
      load: (s, me) => {
        if (me.t > 0) readPte(s, me.t, 0);
        return 'leave';
      },
      leave: (s, me) => {
        if (how === 'spin' || how === 'nested-spin' || how === 'rcu-inside-spin') spinUnlock(s, me, s.a);
        if (how === 'preempt') preemptEnable(s, me);
        return DONE;
      },
    },
  });
  const remover = thread(st, {
    steps: {
      pmd_clear: (s) => {
        s.pmd.v = PMD_NONE;
        return 'call_rcu';
      },
      call_rcu: (s, me) => {
        callRcu(s, me, 0, 1, 1);
        return DONE;
      },
    },
  });
  return {
    state: st,
    init: (s: any) => ptInitInstalled(s, s.pmd, 1),
    threads: { reader, remover, rcu: rcuThread(st, ['pte_free_now'], { pte_free_now: (s, t) => ptFree(s, t) }, 1) },
    properties: [noFault('no-use-after-free', Fault.UAF)],
  };
}

describe('consolidated RCU: preemption off (a spinlock held) is a read section', () => {
  for (const how of ['spin', 'nested-spin', 'rcu-inside-spin', 'preempt'] as const) {
    it(`a ${how} reader holds off the free: no use-after-free`, () => {
      expect(verdicts(toy('consolidated', how))['no-use-after-free']).toBe('holds');
    });
    it(`with 'spinlock-not-reader' the same ${how} reader is not waited for: use-after-free`, () => {
      expect(verdicts(toy('spinlock-not-reader', how))['no-use-after-free']).toBe('violated');
    });
  }

  it('an unprotected reader is not waited for in either flavour (the toy can fail)', () => {
    expect(verdicts(toy('consolidated', 'none'))['no-use-after-free']).toBe('violated');
  });

  it('the last spin_unlock ends the read section: the table is always freed in the end', () => {
    for (const how of ['spin', 'nested-spin', 'rcu-inside-spin', 'preempt'] as const) {
      const t = toy('consolidated', how);
      const freed = final('freed', 'the table is freed at the end', (s: any) => s.pt[0].state === 'freed');
      expect(verdicts({ ...t, properties: [freed] })).toEqual({ freed: 'holds', 'deadlock-free': 'holds' });
    }
  });
});

describe('synchronize_rcu under a spinlock', () => {
  function waiter(rcu: RcuFlavour) {
    const st = state(rcu);
    return {
      state: st,
      threads: {
        t: thread(st, {
          steps: {
            spin_lock: (s, me) => (spinLock(me, s.a) ? 'synchronize_rcu' : BLOCKED),
            synchronize_rcu: synchronizeRcu('synchronize_rcu', 'spin_unlock'),
            spin_unlock: (s, me) => (spinUnlock(s, me, s.a), DONE),
          },
        }),
      },
      properties: [noFault('no-sleep-in-atomic', Fault.SLEEP_IN_ATOMIC)],
    };
  }

  it('deadlocks with consolidated RCU: the grace period waits for the caller itself', () => {
    expect(verdicts(waiter('consolidated'))).toEqual({ 'no-sleep-in-atomic': 'violated', 'deadlock-free': 'violated' });
  });

  it("does not deadlock under 'spinlock-not-reader' (what that weaker assumption hides)", () => {
    expect(verdicts(waiter('spinlock-not-reader'))).toEqual({ 'no-sleep-in-atomic': 'violated', 'deadlock-free': 'holds' });
  });
});
