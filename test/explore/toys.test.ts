import { describe, expect, it } from 'vitest';
import { instantiate } from '../../src/model/compile.ts';
import { verify } from '../../src/explore/verify.ts';
import { abba, abbaSpec, counters, countersSpec, mutex, mutexSpec } from '../helpers/toys.ts';

const verdicts = (r: ReturnType<typeof verify>) => Object.fromEntries(r.properties.map((p) => [p.name, p.status]));

describe('toy models with hand-computed state spaces', () => {
  for (const strategy of ['dfs', 'bfs'] as const) {
    it(`counters: 9 states, 12 transitions, depth 4 (${strategy})`, () => {
      const r = verify(instantiate(counters, 'base'), countersSpec, { strategy, stopAtFirst: false });
      expect(r.outcome.kind).toBe('complete');
      expect(r.stats.states).toBe(9);
      expect(r.stats.transitions).toBe(12);
      expect(r.stats.maxDepth).toBe(4);
      expect(verdicts(r)).toEqual({ 'x-le-2': 'holds', 'both-two': 'reachable', 'deadlock-free': 'holds' });
    });

    it(`mutex: 12 states, 12 transitions, depth 6 (${strategy})`, () => {
      const r = verify(instantiate(mutex, 'locked'), mutexSpec, { strategy, stopAtFirst: false });
      expect(r.stats.states).toBe(12);
      expect(r.stats.transitions).toBe(12);
      expect(r.stats.maxDepth).toBe(6);
      expect(verdicts(r)['mutual-exclusion']).toBe('holds');
    });

    it(`mutex without the lock violates mutual exclusion (${strategy})`, () => {
      const r = verify(instantiate(mutex, 'no-lock'), mutexSpec, { strategy });
      expect(r.outcome.kind).toBe('violation');
      const p = r.properties.find((q) => q.name === 'mutual-exclusion')!;
      expect(p.status).toBe('violated');
      // each thread passes its (no-op) spin_lock step and enters: 4 steps, the shortest BFS can find
      if (strategy === 'bfs') expect(p.path!.length).toBe(4);
    });

    it(`ABBA deadlocks (${strategy})`, () => {
      const r = verify(instantiate(abba, 'base'), abbaSpec, { strategy });
      expect(verdicts(r)['deadlock-free']).toBe('violated');
      if (strategy === 'bfs') expect(r.properties[0]!.path!.length).toBe(2);
    });
  }

  it('a limit-hit run never reads as holds', () => {
    const r = verify(instantiate(mutex, 'locked'), mutexSpec, {
      stopAtFirst: false,
      limits: { maxStates: 5, maxDepth: Infinity, deadline: Infinity, maxTableBytes: 2 ** 30 },
    });
    expect(r.outcome).toEqual({ kind: 'incomplete', reason: 'max-states' });
    expect(r.properties.every((p) => p.status === 'unknown')).toBe(true);
  });

  it('a depth limit that cuts paths is incomplete', () => {
    const r = verify(instantiate(counters, 'base'), countersSpec, {
      stopAtFirst: false,
      limits: { maxStates: Infinity, maxDepth: 2, deadline: Infinity, maxTableBytes: 2 ** 30 },
    });
    expect(r.outcome).toEqual({ kind: 'incomplete', reason: 'max-depth' });
    expect(r.stats.states).toBe(6); // depths 0..2: 1 + 2 + 3
  });

  it('a full fingerprint table ends the run as incomplete, not a crash', () => {
    const r = verify(instantiate(counters, 'base'), countersSpec, {
      stopAtFirst: false,
      limits: { maxStates: Infinity, maxDepth: Infinity, deadline: Infinity, maxTableBytes: 8 },
    });
    expect(r.outcome.kind === 'incomplete' || r.outcome.kind === 'complete').toBe(true);
  });
});
