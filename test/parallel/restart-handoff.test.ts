// A conflict restart after a hand-off: the partial-order reduction finds, once the search handed to the
// worker threads is complete, that a shared-safe step changed a word a property read, and starts again
// with that word visible. The new search here ends before its own hand-off is due (one slice): the run's
// result must be that search's, never the one thrown away (whose reduction rested on a visible set
// found too small). Found by the differential suite (1 vs 2 workers on models declaring futures).

import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, Verification } from '../../src/explore/verify.ts';
import { closePools } from '../../src/parallel/coordinator.ts';
import { parallelHandOff } from '../../src/parallel/handoff.ts';
import type { ModelDesc } from '../differential/gen.ts';
import { modelFiles, reference, runEngine } from '../differential/check.ts';

afterAll(async () => {
  await closePools();
});

/** two counters' incrementers beside a chooser that sets a flag; the property reads the flag and both counters */
const DESC: ModelDesc = {"ints": [1, 2, 1, 1], "locks": 1, "linked": false, "groups": [{"count": 2, "symmetric": false, "daemon": false, "code": [{"op": "inc", "v": 0}]}, {"count": 2, "symmetric": false, "daemon": false, "code": [{"op": "inc", "v": 0}, {"op": "jump", "cond": {"reg": false, "v": 0, "cmp": "!=", "c": 0}, "to": 0}]}, {"count": 1, "symmetric": false, "daemon": false, "code": [{"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "choose", "v": 3, "n": 2}, {"op": "jump", "cond": {"reg": false, "v": 3, "cmp": "==", "c": 0}, "to": 17}, {"op": "set", "v": 2, "c": 1}]}], "props": [{"kind": "never", "conds": [{"reg": false, "v": 2, "cmp": "==", "c": 1}, {"reg": false, "v": 0, "cmp": "!=", "c": 0}, {"reg": false, "v": 1, "cmp": "==", "c": 0}]}], "future": [true, true, false]};

describe('a restart after a hand-off', () => {
  it('reports the search after the restart, as one thread does', async () => {
    const { inst, spec } = reference(DESC)!;
    const one = runEngine(inst, spec, { strategy: 'dfs', symmetry: false, por: true }).result;
    expect(one.stats.reduction?.restarts).toBe(1);
    const v = new Verification(inst, spec, { ...DEFAULT_OPTIONS, stopAtFirst: false, symmetry: false, por: true });
    const two = await v.run(() => {}, parallelHandOff(2, modelFiles(DESC), 50, true));
    expect(two.outcome.kind).toBe('complete');
    expect(two.stats.reduction?.restarts).toBe(1);
    expect(two.stats.states).toBe(one.stats.states);
    expect(two.stats.transitions).toBe(one.stats.transitions);
    expect(two.stats.reduction).toEqual(one.stats.reduction);
    const verdicts = (r: typeof one) => r.properties.map((p) => `${p.name}=${p.status}`);
    expect(verdicts(two)).toEqual(verdicts(one));
    expect(verdicts(one).length).toBeGreaterThan(1);
  }, 60_000);
});
