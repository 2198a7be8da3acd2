// Every shipped model x variant against its spec's expect matrix, with DFS and BFS agreeing. Known
// kernel bugs double as regression tests: their variants must stay violated.

import { describe, expect, it } from 'vitest';
import { loadModel, shippedModelNames } from '../src/cli/registry.ts';
import { instantiate } from '../src/model/compile.ts';
import { verify } from '../src/explore/verify.ts';
import { expectProblems } from '../src/spec/property.ts';

const names = shippedModelNames();

describe('shipped models', () => {
  it('there is at least the first protocol', () => {
    expect(names).toContain('pte-offset-map-lock');
  });

  for (const name of names) {
    describe(name, async () => {
      const lm = await loadModel(name);
      const variants = Object.keys(lm.module.variants);

      it('has a complete, well-formed expect matrix', () => {
        expect(expectProblems(lm.spec, variants)).toEqual([]);
      });

      it('every variant has at least one sometimes guard expected reachable', () => {
        for (const v of variants) {
          const row = lm.spec.expect[v]!;
          expect(Object.values(row)).toContain('reachable');
        }
      });

      for (const variant of variants) {
        it(`${variant}: every verdict as expected; DFS, BFS, symmetry, POR and sleep sets on/off agreeing`, () => {
          const run = (strategy: 'dfs' | 'bfs', symmetry: boolean, por = symmetry, sleep = por) =>
            verify(instantiate(lm.module, variant, {}), lm.spec, { stopAtFirst: false, strategy, symmetry, por, sleep });
          const verdicts = (r: ReturnType<typeof run>) => Object.fromEntries(r.properties.map((p) => [p.name, p.status]));
          const dfs = run('dfs', true);
          expect(dfs.outcome.kind).toBe('complete');
          expect(verdicts(dfs)).toEqual(lm.spec.expect[variant]);
          // reductions off: DFS and BFS see exactly the same graph
          const dfsFull = run('dfs', false);
          const bfsFull = run('bfs', false);
          expect(verdicts(dfsFull)).toEqual(verdicts(dfs));
          expect(verdicts(bfsFull)).toEqual(verdicts(dfs));
          expect(bfsFull.stats.states).toBe(dfsFull.stats.states);
          expect(bfsFull.stats.transitions).toBe(dfsFull.stats.transitions);
          // reductions only drop states, never verdicts
          expect(dfs.stats.states).toBeLessThanOrEqual(dfsFull.stats.states);
          expect(verdicts(run('dfs', false, true))).toEqual(verdicts(dfs));
          expect(verdicts(run('bfs', false, true))).toEqual(verdicts(dfs));
          expect(verdicts(run('bfs', true))).toEqual(verdicts(dfs));
          // sleep sets change which steps run, never what is explored
          const counts = (r: ReturnType<typeof run>) => [r.stats.states, r.stats.transitions];
          expect(counts(run('dfs', true, true, false))).toEqual(counts(dfs));
          expect(counts(run('dfs', false, false, true))).toEqual(counts(dfsFull));
          expect(dfsFull.stats.replayed).toBe(0);
        });
      }
    });
  }
});
