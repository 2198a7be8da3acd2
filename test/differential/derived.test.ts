// Differential tests of derived futures (src/por/derive-futures.ts): generated models with no future
// declared, every one derived, against the naive reference explorer (derived.ts): the derived future
// holds the exact one, every reachable step keeps within it, and the reduction by it gives the
// reference's verdicts; and a mistake injected in the derivation is caught, never turned into a verdict.
//
// The seed changes every run and is printed. Reproduce with PTCHECK_DIFF_SEED=<seed> (and
// PTCHECK_DIFF_PATH=<path>). PTCHECK_DIFF_DERIVED_MODELS changes the number of models (default 3,000),
// 10% of them (as many again) run with each injected mistake.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDerived, checkDerivedMistake, type DerivedReport } from './derived.ts';
import { declaredModelDesc, rcuModelDesc } from './gen.ts';

const SEED = process.env.PTCHECK_DIFF_SEED !== undefined ? Number(process.env.PTCHECK_DIFF_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const PATH = process.env.PTCHECK_DIFF_PATH;
const MODELS = Number(process.env.PTCHECK_DIFF_DERIVED_MODELS ?? 3_000);
const MISTAKE_MODELS = Math.round(MODELS / 10);

describe('differential: derived futures', () => {
  it(`${MODELS} random models, futures derived: they hold the exact ones and every reachable step, verdicts are the reference's`, () => {
    console.log(`differential (derived): seed ${SEED} (rerun with PTCHECK_DIFF_SEED=${SEED})`);
    const seen: DerivedReport[] = [];
    let skipped = 0;
    fc.assert(
      // one in four also runs BFS and symmetry (the value shrinks to 0: every check, as verify runs);
      // in one in two the groups that declare futures in the description keep them (declared and
      // derived labels side by side); in one in two the search has no pre-pass (the restarts alone)
      // one in ten RCU-heavy (readers beside call_rcu's gathered mask)
      fc.property(fc.oneof({ weight: 9, arbitrary: declaredModelDesc() }, { weight: 1, arbitrary: rcuModelDesc() }), fc.nat(15), (d, pick) => {
        const r = checkDerived(d, { all: pick < 4, keepDeclared: (pick & 1) === 1, netOnly: (pick & 2) === 2 });
        if (!r) skipped++;
        fc.pre(r !== undefined);
        seen.push(r);
      }),
      { numRuns: MODELS, seed: SEED + 5, includeErrorInReport: true, ...(PATH !== undefined ? { path: PATH } : {}) },
    );
    const gaveUp = seen.filter((r) => r.gaveUp).length;
    const reduced = seen.filter((r) => !r.gaveUp && r.stored < r.states).length;
    const shared = seen.filter((r) => (r.por?.mergedShared ?? 0) > 0).length;
    if (PATH === undefined && MODELS >= 1000) {
      // the derivation derives (it gives up on few), and its futures cut states beyond local steps
      expect(gaveUp).toBeLessThan(MODELS / 20);
      expect(reduced).toBeGreaterThan(MODELS / 5);
      expect(shared).toBeGreaterThan(MODELS / 5);
      expect(skipped).toBeLessThan(MODELS / 20);
    }
    const sum = (f: (r: DerivedReport) => number) => seen.reduce((n, r) => n + f(r), 0);
    console.log(
      `differential (derived): ${seen.length} models (${skipped} skipped as too big, ${gaveUp} where the derivation gave up): ${reduced} stored fewer states than are reachable, ` +
        `${shared} took shared-safe steps; ${sum((r) => r.tighter ?? 0)} labels derived tighter than the description's futures, ${sum((r) => r.wider ?? 0)} wider`,
    );
  }, 600_000);

  for (const mistake of ['drop-value', 'no-fixpoint', 'one-class', 'one-mask'] as const) {
    it(`${MISTAKE_MODELS} random models, derived with a mistake (${mistake}): caught by the checks, never another verdict`, () => {
      let caught = 0;
      let held = 0;
      fc.assert(
        // a gathered mask matters where readers meet call_rcu: those models for its mistake
        fc.property(mistake === 'one-mask' ? rcuModelDesc() : declaredModelDesc(), (d) => {
          const r = checkDerivedMistake(d, mistake);
          fc.pre(r !== undefined);
          if (r.caught) caught++;
          else held++;
        }),
        { numRuns: MISTAKE_MODELS, seed: SEED + ['drop-value', 'no-fixpoint', 'one-class', 'one-mask'].indexOf(mistake) + 6, includeErrorInReport: true, maxSkipsPerRun: 1000 },
      );
      if (PATH === undefined && MISTAKE_MODELS >= 100) expect(caught).toBeGreaterThan(MISTAKE_MODELS / 20);
      console.log(`differential (derived, ${mistake}): ${caught + held} models, ${caught} caught (a reachable step outside the futures), ${held} where the mistake changed nothing reachable`);
    }, 600_000);
  }
});
