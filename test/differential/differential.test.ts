// Differential tests: fast-check generates small random models (gen.ts); the engine under every
// configuration (DFS/BFS, POR on/off, symmetry on/off, 1/2 workers) must agree with a naive reference
// explorer (reference.ts) on verdicts and, with reductions off, on distinct states, transitions and the
// set of terminal states; every counterexample must replay to the same violation (check.ts).
//
// The seed changes every run and is printed; fast-check prints it again with the shrunk model on a
// failure. Reproduce with PTCHECK_DIFF_SEED=<seed> (and PTCHECK_DIFF_PATH=<path> to go straight to
// the failing case). PTCHECK_DIFF_MODELS changes the number of models (default 10,000).

import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { closePools } from '../../src/parallel/coordinator.ts';
import { HANDOFF_MIN_WORK, checkModel, checkWorkers, type ModelReport } from './check.ts';
import { isSymmetric, modelDesc } from './gen.ts';

const SEED = process.env.PTCHECK_DIFF_SEED !== undefined ? Number(process.env.PTCHECK_DIFF_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const PATH = process.env.PTCHECK_DIFF_PATH;
const MODELS = Number(process.env.PTCHECK_DIFF_MODELS ?? 10_000);
/** models handed to two workers (each a model big enough that the hand-off really happens) */
const WORKER_MODELS = Number(process.env.PTCHECK_DIFF_WORKER_MODELS ?? 50);
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
