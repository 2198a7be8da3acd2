// compareReduction: agreement only between two complete runs; a known verdict against a different known
// one is a difference even when a run is incomplete (a violation found is found); unknown never differs.

import { describe, expect, it } from 'vitest';
import { compareReduction, reductionCheckText } from '../../src/report/reduction-check.ts';
import type { PropertyStatus, RunResult } from '../../src/explore/verify.ts';

type Outcome = RunResult['outcome'];
const COMPLETE: Outcome = { kind: 'complete' };
const MAX_STATES: Outcome = { kind: 'incomplete', reason: 'max-states' };

function run(outcome: Outcome, states: number, statuses: [PropertyStatus, PropertyStatus]): RunResult {
  return {
    model: 'm', variant: 'v', params: {}, strategy: 'dfs', outcome,
    stats: { states, transitions: states * 2, replayed: 0, maxDepth: 1, elapsedMs: 1, stateInts: 1, tableBytes: 0, bytesPerState: 0, collisionProbability: 0, workers: 1, exact: false },
    properties: [
      { name: 'safe', kind: 'always', doc: '', status: statuses[0] },
      { name: 'guard', kind: 'sometimes', doc: '', status: statuses[1] },
    ],
  };
}

describe('compareReduction', () => {
  it('two complete runs with the same verdicts agree, with the cut off / on', () => {
    const c = compareReduction(run(COMPLETE, 10, ['holds', 'reachable']), run(COMPLETE, 40, ['holds', 'reachable']), ['partial-order']);
    expect(c.result).toBe('agrees');
    expect(c.cut).toEqual({ states: 4, transitions: 4 });
    expect(c.differences).toEqual([]);
  });

  it('a different sometimes verdict between complete runs differs', () => {
    const c = compareReduction(run(COMPLETE, 10, ['holds', 'unreachable']), run(COMPLETE, 40, ['holds', 'reachable']), ['partial-order']);
    expect(c.result).toBe('differs');
    expect(c.differences).toEqual([{ name: 'guard', kind: 'sometimes', reduced: 'unreachable', unreduced: 'reachable' }]);
    expect(reductionCheckText(c).join('\n')).toMatch(/verdicts DIFFER: guard \(reduced: unreachable, unreduced: reachable\)/);
  });

  it('a violation an incomplete unreduced run found against a complete "holds" differs', () => {
    const c = compareReduction(run(COMPLETE, 10, ['holds', 'reachable']), run(MAX_STATES, 40, ['violated', 'unknown']), ['partial-order']);
    expect(c.result).toBe('differs');
    expect(c.differences.map((d) => d.name)).toEqual(['safe']);
    expect(c.cut).toBeNull();
  });

  it('an incomplete run with nothing different is incomplete, never agreement', () => {
    for (const [a, b] of [[COMPLETE, MAX_STATES], [MAX_STATES, COMPLETE], [MAX_STATES, MAX_STATES]] as const) {
      const c = compareReduction(run(a, 10, ['unknown', 'reachable']), run(b, 40, ['unknown', 'reachable']), ['partial-order']);
      expect(c.result).toBe('incomplete');
      expect(c.cut).toBeNull();
      const text = reductionCheckText(c).join('\n');
      expect(text).not.toMatch(/verdicts agree/);
      expect(text).toMatch(/the comparison is INCOMPLETE: .*agreement is not established$/m);
    }
    // the unreduced run did not take place (stopped by a signal)
    const c = compareReduction(run(COMPLETE, 10, ['holds', 'reachable']), undefined, ['partial-order']);
    expect(c.result).toBe('incomplete');
    expect(c.unreduced).toBeNull();
  });
});
