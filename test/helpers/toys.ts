// Small models with state counts that can be worked out by hand, shared by several tests.

import { BLOCKED, DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { kernelState, lock, spinLock, spinUnlock, Fault, noFault } from '../../src/kernel/index.ts';
import { always, defineSpec, sometimes } from '../../src/spec/property.ts';

/** Two threads each set their own counter to 1 then 2: 3 x 3 = 9 states, 12 transitions, depth 4. */
const counterState = defineState({ x: int(0, 2), y: int(0, 2) });
export const counters = defineModel({
  name: 'counters',
  title: 'two independent counters',
  doc: '',
  params: {},
  build: () => ({
    state: counterState,
    threads: {
      a: thread(counterState, {
        steps: {
          a1: (s) => {
            s.x = 1;
            return 'a2';
          },
          a2: (s) => ((s.x = 2), DONE),
        },
      }),
      b: thread(counterState, {
        steps: {
          b1: (s) => {
            s.y = 1;
            return 'b2';
          },
          b2: (s) => ((s.y = 2), DONE),
        },
      }),
    },
  }),
  variants: { base: { summary: 'the only variant' } },
});
export const countersSpec = defineSpec(counters, {
  properties: [
    always('x-le-2', 'x stays in range', (s) => s.x <= 2),
    sometimes('both-two', 'both counters reach 2', (s) => s.x === 2 && s.y === 2),
  ],
  expect: { base: { 'x-le-2': 'holds', 'both-two': 'reachable', 'deadlock-free': 'holds' } },
});

/**
 * Two threads: spin_lock, critical section, spin_unlock. pcs {lock, crit, unlock, done}^2 minus both
 * inside {crit, unlock}: 16 - 4 = 12 states; 12 transitions; depth 6. Variant `no-lock` skips the lock.
 */
const mutexState = kernelState({}, { m: lock(), inside: int(0, 2) });
function worker(locked: boolean) {
  return thread(mutexState, {
    count: 2,
    steps: {
      spin_lock: (s, me) => (!locked || spinLock(me, s.m) ? 'crit' : BLOCKED),
      crit: (s) => {
        s.inside = s.inside + 1;
        return 'spin_unlock';
      },
      spin_unlock: (s, me) => {
        s.inside = s.inside - 1;
        if (locked) spinUnlock(s, me, s.m);
        return DONE;
      },
    },
  });
}
export const mutex = defineModel({
  name: 'mutex',
  title: 'two threads and a spinlock',
  doc: '',
  params: {},
  build: () => ({ state: mutexState, threads: { w: worker(true) } }),
  variants: {
    locked: { summary: 'with the lock' },
    'no-lock': {
      summary: 'without it',
      apply: (d) => {
        d.threads.w = worker(false);
      },
    },
  },
});
export const mutexSpec = defineSpec(mutex, {
  properties: [
    always('mutual-exclusion', 'at most one thread inside', (s) => s.inside <= 1),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT),
  ],
  expect: {
    locked: { 'mutual-exclusion': 'holds', 'locks-balanced': 'holds', 'deadlock-free': 'holds' },
    'no-lock': { 'mutual-exclusion': 'violated', 'locks-balanced': 'holds', 'deadlock-free': 'holds' },
  },
});

/** ABBA: two threads take two locks in opposite orders: deadlock. */
const abbaState = kernelState({}, { a: lock(), b: lock() });
export const abba = defineModel({
  name: 'abba',
  title: 'lock order inversion',
  doc: '',
  params: {},
  build: () => ({
    state: abbaState,
    threads: {
      t1: thread(abbaState, {
        steps: {
          'lock(a)': (s, me) => (spinLock(me, s.a) ? 'lock(b)' : BLOCKED),
          'lock(b)': (s, me) => (spinLock(me, s.b) ? 'unlock' : BLOCKED),
          unlock: (s, me) => (spinUnlock(s, me, s.b), spinUnlock(s, me, s.a), DONE),
        },
      }),
      t2: thread(abbaState, {
        steps: {
          'lock(b)': (s, me) => (spinLock(me, s.b) ? 'lock(a)' : BLOCKED),
          'lock(a)': (s, me) => (spinLock(me, s.a) ? 'unlock' : BLOCKED),
          unlock: (s, me) => (spinUnlock(s, me, s.a), spinUnlock(s, me, s.b), DONE),
        },
      }),
    },
  }),
  variants: { base: { summary: 'ABBA' } },
});
export const abbaSpec = defineSpec(abba, {
  properties: [],
  expect: { base: { 'deadlock-free': 'violated' } },
});
