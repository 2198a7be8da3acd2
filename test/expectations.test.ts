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
        it(`${variant}: every verdict as expected, DFS and BFS agreeing`, () => {
          const inst = instantiate(lm.module, variant, {});
          const dfs = verify(inst, lm.spec, { stopAtFirst: false, strategy: 'dfs' });
          expect(dfs.outcome.kind).toBe('complete');
          const got = Object.fromEntries(dfs.properties.map((p) => [p.name, p.status]));
          expect(got).toEqual(lm.spec.expect[variant]);
          const bfs = verify(instantiate(lm.module, variant, {}), lm.spec, { stopAtFirst: false, strategy: 'bfs' });
          expect(Object.fromEntries(bfs.properties.map((p) => [p.name, p.status]))).toEqual(got);
          expect(bfs.stats.states).toBe(dfs.stats.states);
          expect(bfs.stats.transitions).toBe(dfs.stats.transitions);
        });
      }
    });
  }
});
