import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import { bool, int } from '../../src/model/schema.ts';
import {
  Fault,
  downRead,
  downReadTrylock,
  downWrite,
  downgradeWrite,
  kernelState,
  lock,
  mutex,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  noFault,
  noSleepInAtomic,
  rwsem,
  spinLock,
  spinUnlock,
  upRead,
  upWrite,
  type RwsemPolicy,
} from '../../src/kernel/index.ts';
import { always, sometimes } from '../../src/spec/property.ts';
import { run, verdicts } from './kit.ts';

const balanced = noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT);

describe('mutex', () => {
  const st = kernelState({}, { m: mutex(), l: lock(), inside: int(0, 2) });
  const worker = (underSpin: boolean) =>
    thread(st, {
      count: 2,
      steps: {
        spin_lock: (s, me) => (!underSpin || spinLock(me, s.l) ? 'mutex_lock' : BLOCKED),
        mutex_lock: (s, me) => (mutexLock(s, me, s.m) ? 'crit' : BLOCKED),
        crit: (s) => ((s.inside = s.inside + 1), 'mutex_unlock'),
        mutex_unlock: (s, me) => {
          s.inside = s.inside - 1;
          mutexUnlock(s, me, s.m);
          if (underSpin) spinUnlock(s, me, s.l);
          return DONE;
        },
      },
    });
  const props = [always('mutual-exclusion', 'one inside', (s: any) => s.inside <= 1), noSleepInAtomic(), balanced];

  it('excludes, and sleeping outside atomic context is fine', () => {
    expect(verdicts({ state: st, threads: { w: worker(false) }, properties: props })).toEqual({
      'mutual-exclusion': 'holds',
      'no-sleep-in-atomic': 'holds',
      'locks-balanced': 'holds',
      'deadlock-free': 'holds',
    });
  });

  it('mutex_lock under a spinlock is sleep-in-atomic', () => {
    expect(verdicts({ state: st, threads: { w: worker(true) }, properties: props })['no-sleep-in-atomic']).toBe('violated');
  });

  it('mutex_trylock under a spinlock does not sleep; unlock by a non-owner and exit while holding are recorded', () => {
    const t = thread(st, {
      steps: {
        spin_lock: (s, me) => (spinLock(me, s.l) ? 'mutex_trylock' : BLOCKED),
        mutex_trylock: (s, me) => (mutexTrylock(me, s.m), spinUnlock(s, me, s.l), DONE),
      },
    });
    expect(verdicts({ state: st, threads: { t }, properties: props })).toMatchObject({ 'no-sleep-in-atomic': 'holds', 'locks-balanced': 'violated' });
    const s = { faults: 0 };
    const m = { v: 2, tag: 'mutex', path: 'm', off: 0 };
    mutexUnlock(s, { tid: 0 }, m);
    expect(s.faults).toBe(Fault.UNLOCK_NOT_OWNER);
    expect(m.v).toBe(2);
  });
});

describe('rwsem', () => {
  function recursiveRead(policy: RwsemPolicy) {
    const st = kernelState({}, { sem: rwsem(2, policy) });
    const reader = thread(st, {
      steps: {
        down_read: downRead('down_read', 'down_read(again)', (s) => s.sem),
        'down_read(again)': downRead('down_read(again)', 'up_read', (s) => s.sem),
        up_read: (s, me) => (upRead(s, me, s.sem), upRead(s, me, s.sem), DONE),
      },
    });
    const writer = thread(st, {
      steps: {
        down_write: downWrite('down_write', 'up_write', (s) => s.sem),
        up_write: (s, me) => (upWrite(s, me, s.sem), DONE),
      },
    });
    return { state: st, threads: { reader, writer }, properties: [balanced, noSleepInAtomic()] };
  }

  it('fair (default): a recursive down_read deadlocks behind a queued writer', () => {
    expect(verdicts(recursiveRead('fair'))).toEqual({ 'locks-balanced': 'holds', 'no-sleep-in-atomic': 'holds', 'deadlock-free': 'violated' });
  });

  it('reader-preferring: the same recursion gets in', () => {
    expect(verdicts(recursiveRead('reader-preferring'))).toEqual({ 'locks-balanced': 'holds', 'no-sleep-in-atomic': 'holds', 'deadlock-free': 'holds' });
  });

  /** r1 reads, w writes, r2 reads; ghosts: who is inside, and whether r2 got in while w was queued. */
  function threeTasks(policy: RwsemPolicy) {
    const st = kernelState({}, { sem: rwsem(3, policy), readers: int(0, 2), writers: int(0, 1), passed: bool() });
    const writerQueued = (s: any) => {
      for (let i = 0; i < s.sem.queue.length; i++) if (s.sem.queue.get(i) !== 0 && s.sem.qwrite.get(i)) return true;
      return false;
    };
    const reader = (watch: boolean) =>
      thread(st, {
        steps: {
          down_read: (s, me) => {
            // ghost: did this call take the lock itself while a writer sat in the queue?
            const waiting = writerQueued(s);
            const held = (s.sem.readers.v >> me.tid) & 1;
            const next = downRead('down_read', 'read', (x: any) => x.sem)(s, me);
            if (watch && waiting && !held && (s.sem.readers.v >> me.tid) & 1 && writerQueued(s)) s.passed = true;
            return next;
          },
          read: (s) => {
            s.readers = s.readers + 1;
            return 'up_read';
          },
          up_read: (s, me) => ((s.readers = s.readers - 1), upRead(s, me, s.sem), DONE),
        },
      });
    const writer = thread(st, {
      steps: {
        down_write: downWrite('down_write', 'write', (s) => s.sem),
        write: (s) => ((s.writers = 1), 'up_write'),
        up_write: (s, me) => ((s.writers = 0), upWrite(s, me, s.sem), DONE),
      },
    });
    return {
      state: st,
      threads: { r1: reader(false), w: writer, r2: reader(true) },
      properties: [
        always('exclusive', 'a writer is alone', (s: any) => s.writers === 0 || s.readers === 0),
        sometimes('reader-passes-queued-writer', 'a reader gets in while a writer waits', (s: any) => s.passed),
        sometimes('two-readers', 'both readers inside at once', (s: any) => s.readers === 2),
        balanced,
      ],
    };
  }

  it('fair: exclusion holds and a queued writer blocks new readers', () => {
    expect(verdicts(threeTasks('fair'))).toEqual({
      exclusive: 'holds',
      'reader-passes-queued-writer': 'unreachable',
      'two-readers': 'reachable',
      'locks-balanced': 'holds',
      'deadlock-free': 'holds',
    });
  });

  it('reader-preferring: exclusion holds and readers pass a queued writer', () => {
    expect(verdicts(threeTasks('reader-preferring'))).toMatchObject({ exclusive: 'holds', 'reader-passes-queued-writer': 'reachable' });
  });

  it('one writer and one reader: 12 states, counted by hand', () => {
    // (w, r) with w in {not called, queued, granted, holding, done} and r alike: both idle; either holds
    // with the other idle, queued behind it, or done; either granted (the other done); both done.
    const st = kernelState({}, { sem: rwsem(1) });
    const writer = thread(st, {
      steps: {
        down_write: downWrite('down_write', 'up_write', (s) => s.sem),
        up_write: (s, me) => (upWrite(s, me, s.sem), DONE),
      },
    });
    const reader = thread(st, {
      steps: {
        down_read: downRead('down_read', 'up_read', (s) => s.sem),
        up_read: (s, me) => (upRead(s, me, s.sem), DONE),
      },
    });
    const r = run({ state: st, threads: { writer, reader }, properties: [balanced] }, 'bfs', false);
    expect(r.outcome.kind).toBe('complete');
    expect(r.stats.states).toBe(12);
  });

  it('downgrade_write lets a queued reader in while keeping a queued writer out', () => {
    const st = kernelState({}, { sem: rwsem(2), both: bool(), wrote: bool() });
    const downgrader = thread(st, {
      steps: {
        down_write: downWrite('down_write', 'downgrade_write', (s) => s.sem),
        downgrade_write: (s, me) => (downgradeWrite(s, me, s.sem), 'up_read'),
        up_read: (s, me) => (upRead(s, me, s.sem), DONE),
      },
    });
    const reader = thread(st, {
      steps: {
        down_read: downRead('down_read', 'read', (s) => s.sem),
        read: (s) => {
          if (s.sem.readers.v !== (1 << 1)) s.both = true;
          return 'up_read';
        },
        up_read: (s, me) => (upRead(s, me, s.sem), DONE),
      },
    });
    const v = verdicts({
      state: st,
      threads: { downgrader, reader },
      properties: [sometimes('read-with-downgraded-writer', 'reader inside beside the downgraded writer', (s: any) => s.both), balanced],
    });
    expect(v).toEqual({ 'read-with-downgraded-writer': 'reachable', 'locks-balanced': 'holds', 'deadlock-free': 'holds' });
  });

  it('down_write under a spinlock is sleep-in-atomic; down_read_trylock is not; unbalanced ups are recorded', () => {
    const st = kernelState({}, { sem: rwsem(1), l: lock() });
    const t = thread(st, {
      steps: {
        spin_lock: (s, me) => (spinLock(me, s.l) ? 'down_write' : BLOCKED),
        down_write: downWrite('down_write', 'up_write', (s) => s.sem),
        up_write: (s, me) => (upWrite(s, me, s.sem), spinUnlock(s, me, s.l), DONE),
      },
    });
    expect(verdicts({ state: st, threads: { t }, properties: [noSleepInAtomic(), balanced] })).toMatchObject({
      'no-sleep-in-atomic': 'violated',
      'locks-balanced': 'holds',
    });
    const u = thread(st, {
      steps: {
        spin_lock: (s, me) => (spinLock(me, s.l) ? 'down_read_trylock' : BLOCKED),
        down_read_trylock: (s, me) => (downReadTrylock(me, s.sem), spinUnlock(s, me, s.l), DONE), // exits holding it
      },
    });
    expect(verdicts({ state: st, threads: { u }, properties: [noSleepInAtomic(), balanced] })).toMatchObject({
      'no-sleep-in-atomic': 'holds',
      'locks-balanced': 'violated',
    });
    const x = thread(st, { steps: { up_read: (s, me) => (upRead(s, me, s.sem), DONE) } });
    expect(verdicts({ state: st, threads: { x }, properties: [balanced] })['locks-balanced']).toBe('violated');
  });
});
