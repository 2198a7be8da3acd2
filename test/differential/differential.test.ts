// Differential tests: fast-check generates small random models (gen.ts); the engine under every
// configuration (DFS/BFS, POR on/off, symmetry on/off, 1/2 workers) must agree with a naive reference
// explorer (reference.ts) on verdicts and, with reductions off, on distinct states, transitions and the
// set of terminal states; every counterexample must replay to the same violation (check.ts).
//
// The seed changes every run and is printed; fast-check prints it again with the shrunk model on a
// failure. Reproduce with PTCHECK_DIFF_SEED=<seed> (and PTCHECK_DIFF_PATH=<path> to go straight to
// the failing case). PTCHECK_DIFF_MODELS changes the number of models (default 10,000), split among
// the generators: 60% plain models, 30% models whose threads declare exact futures (the reduction by
// declared futures, future.ts), 10% models with one broken declaration (the run-time check must catch
// it with the reduction on exactly when it does without).

import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { closePools } from '../../src/parallel/coordinator.ts';
import { HANDOFF_MIN_WORK, checkModel, checkMutant, checkWorkers, type ModelReport } from './check.ts';
import { declaredModelDesc, isSymmetric, modelDesc, mutantModelDesc } from './gen.ts';

const SEED = process.env.PTCHECK_DIFF_SEED !== undefined ? Number(process.env.PTCHECK_DIFF_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const PATH = process.env.PTCHECK_DIFF_PATH;
const TOTAL = Number(process.env.PTCHECK_DIFF_MODELS ?? 10_000);
const MODELS = Math.round(TOTAL * 0.6);
const DECLARED_MODELS = Math.round(TOTAL * 0.3);
const MUTANT_MODELS = TOTAL - MODELS - DECLARED_MODELS;
/** models handed to two workers (each a model big enough that the hand-off really happens), 30% of them declaring futures */
const WORKER_TOTAL = Number(process.env.PTCHECK_DIFF_WORKER_MODELS ?? 50);
const WORKER_MODELS = WORKER_TOTAL - Math.round(WORKER_TOTAL * 0.3);
const DECLARED_WORKER_MODELS = WORKER_TOTAL - WORKER_MODELS;
const KINDS = ['always:holds', 'always:violated', 'final:holds', 'final:violated', 'deadlock:holds', 'deadlock:violated', 'sometimes:reachable', 'sometimes:unreachable'];

afterAll(async () => {
  await closePools();
  rmSync(fileURLToPath(new URL('./.tmp/', import.meta.url)), { recursive: true, force: true });
});

describe('differential: the engine against a naive reference explorer', () => {
  it(`${MODELS} random models: every configuration agrees, every counterexample replays`, () => {
    console.log(`differential: seed ${SEED} (rerun with PTCHECK_DIFF_SEED=${SEED})`);
    const seen: ModelReport[] = [];
    let symmetric = 0;
    let skipped = 0;
    // The second value picks the models (one in four) that also run the non-core configurations
    // (BFS with reductions); it shrinks to 0, i.e. to "every configuration".
    fc.assert(
      fc.property(modelDesc(), fc.nat(3), (d, pick) => {
        const r = checkModel(d, { all: pick === 0 });
        if (!r) skipped++;
        fc.pre(r !== undefined);
        seen.push(r);
        if (isSymmetric(d)) symmetric++;
      }),
      { numRuns: MODELS, seed: SEED, includeErrorInReport: true, ...(PATH !== undefined ? { path: PATH } : {}) },
    );
    // the generator exercises what it is meant to: every verdict of every kind, reductions that reduce
    if (PATH === undefined && MODELS >= 1000) {
      const verdicts = new Set(seen.flatMap((r) => r.verdicts));
      for (const v of KINDS) expect(verdicts, v).toContain(v);
      const reduced = (config: string) => seen.filter((r) => (r.stored[config] ?? r.states) < r.states).length;
      expect(symmetric).toBeGreaterThan(MODELS / 10);
      expect(reduced('dfs+por')).toBeGreaterThan(MODELS / 20);
      expect(reduced('dfs+symmetry')).toBeGreaterThan(MODELS / 20);
      expect(skipped).toBeLessThan(MODELS / 20);
    }
    const states = seen.map((r) => r.states).sort((a, b) => a - b);
    console.log(
      `differential: ${seen.length} models (${symmetric} with a symmetric group, ${skipped} skipped as too big), ` +
        `states median ${states[states.length >> 1]} max ${states.at(-1)}, ${seen.reduce((n, r) => n + r.replays, 0)} counterexamples replayed`,
    );
  }, 600_000);

  it(`${WORKER_MODELS} random models: 1 vs 2 workers`, async () => {
    let handedOff = 0;
    await fc.assert(
      fc.asyncProperty(modelDesc(), async (d) => {
        // only models with enough work that the search is still running when the hand-off is due
        const w = await checkWorkers(d, { maxStates: 10_000, minWork: HANDOFF_MIN_WORK });
        fc.pre(w !== undefined);
        if (w.handedOff) handedOff++;
      }),
      { numRuns: WORKER_MODELS, seed: SEED + 1, maxSkipsPerRun: 1000, includeErrorInReport: true },
    );
    expect(handedOff).toBe(WORKER_MODELS);
  }, 600_000);
});

describe('differential: declared futures', () => {
  it(`${DECLARED_MODELS} random models declaring exact futures: every configuration agrees, every counterexample replays`, () => {
    const seen: ModelReport[] = [];
    let skipped = 0;
    fc.assert(
      fc.property(declaredModelDesc(), fc.nat(3), (d, pick) => {
        const r = checkModel(d, { all: pick === 0 });
        if (!r) skipped++;
        fc.pre(r !== undefined);
        seen.push(r);
      }),
      { numRuns: DECLARED_MODELS, seed: SEED + 2, includeErrorInReport: true, ...(PATH !== undefined ? { path: PATH } : {}) },
    );
    if (PATH === undefined && DECLARED_MODELS >= 1000) {
      const verdicts = new Set(seen.flatMap((r) => r.verdicts));
      for (const v of KINDS) expect(verdicts, v).toContain(v);
      expect(skipped).toBeLessThan(DECLARED_MODELS / 20);
    }
    // the traps the reduction by declared futures met: shared-safe steps taken, a word made visible
    // late (a restart), the cycle proviso (a state expanded fully for a cycle), and reductions at all
    const met = (f: (r: ModelReport) => boolean) => seen.filter(f).length;
    const reduced = met((r) => (r.stored['dfs+por'] ?? r.states) < r.states);
    const shared = met((r) => (r.por?.mergedShared ?? 0) > 0);
    // the restarts: learning the visible set by them alone (no pre-pass), and with the pre-pass
    // where it cannot see (a gate random walks seldom open, gen.ts gated())
    const restarted = met((r) => (r.porNet?.restarts ?? 0) > 0);
    const restartedSeeded = met((r) => (r.por?.restarts ?? 0) > 0);
    const cycles = met((r) => (r.por?.fullCycle ?? 0) > 0);
    if (PATH === undefined && DECLARED_MODELS >= 1000) {
      expect(reduced).toBeGreaterThan(DECLARED_MODELS / 2);
      expect(shared).toBeGreaterThan(DECLARED_MODELS / 4);
      expect(restarted).toBeGreaterThan(DECLARED_MODELS / 200);
      expect(restartedSeeded).toBeGreaterThan(DECLARED_MODELS / 2000);
      expect(cycles).toBeGreaterThan(DECLARED_MODELS / 20);
    }
    console.log(
      `differential: ${seen.length} models declaring futures (${skipped} skipped as too big): ${reduced} reduced, ` +
        `${shared} by shared-safe steps, ${restarted} restarted for a word made visible (${restartedSeeded} after the pre-pass), ${cycles} with a cycle proviso hit`,
    );
  }, 600_000);

  it(`${MUTANT_MODELS} random models with one broken declaration: reported with the reduction on exactly when without`, () => {
    let caught = 0;
    let held = 0;
    fc.assert(
      fc.property(mutantModelDesc(), (d) => {
        const r = checkMutant(d);
        fc.pre(r !== undefined);
        if (r.caught) caught++;
        else held++;
      }),
      { numRuns: MUTANT_MODELS, seed: SEED + 3, includeErrorInReport: true, ...(PATH !== undefined ? { path: PATH } : {}) },
    );
    // both sides exercised: breaches the unreduced search meets, and broken declarations it never uses
    if (PATH === undefined && MUTANT_MODELS >= 500) {
      expect(caught).toBeGreaterThan(MUTANT_MODELS / 4);
      expect(held).toBeGreaterThan(MUTANT_MODELS / 10);
    }
    console.log(`differential: ${caught + held} broken declarations, ${caught} reached (reported), ${held} never used`);
  }, 600_000);

  it(`${DECLARED_WORKER_MODELS} random models declaring futures: 1 vs 2 workers`, async () => {
    let handedOff = 0;
    await fc.assert(
      fc.asyncProperty(declaredModelDesc(), async (d) => {
        const w = await checkWorkers(d, { maxStates: 10_000, minWork: HANDOFF_MIN_WORK });
        fc.pre(w !== undefined);
        if (w.handedOff) handedOff++;
      }),
      { numRuns: DECLARED_WORKER_MODELS, seed: SEED + 4, maxSkipsPerRun: 1000, includeErrorInReport: true },
    );
    expect(handedOff).toBe(DECLARED_WORKER_MODELS);
  }, 600_000);
});
