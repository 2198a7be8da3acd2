// The differential soak: the checks of differential.test.ts on many more models (default 1,000,000,
// split as there: 60% plain, 30% declaring exact futures, 10% with a broken declaration), every
// configuration on every model and models up to 10,000 states, then 1 vs 2 workers on one model in a
// thousand (30% of them declaring futures). Not a vitest file; run it with
//   node --import tsx test/differential/soak.ts [models] [seed]
// (or PTCHECK_DIFF_SEED=<seed>). It prints the seed first and progress as it goes; on a failure
// fast-check prints the seed, the path and the shrunk model, and the exit code is 1.

import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { closePools } from '../../src/parallel/coordinator.ts';
import { HANDOFF_MIN_WORK, checkModel, checkMutant, checkWorkers } from './check.ts';
import { declaredModelDesc, isSymmetric, modelDesc, mutantModelDesc, type ModelDesc } from './gen.ts';

const MODELS = Number(process.argv[2] ?? 1_000_000);
const SEED = Number(process.argv[3] ?? process.env.PTCHECK_DIFF_SEED ?? ((Date.now() ^ (Math.random() * 0x7fffffff)) | 0));
const MAX_STATES = 10_000;
const WORKER_MODELS = Math.max(25, Math.floor(MODELS / 1000));
const PROGRESS_MS = 10_000;

if (!Number.isInteger(MODELS) || MODELS < 1 || !Number.isInteger(SEED)) {
  console.error('usage: node --import tsx test/differential/soak.ts [models] [seed]');
  process.exit(2);
}

async function main(): Promise<void> {
  console.log(`soak: ${MODELS} models, seed ${SEED} (rerun: node --import tsx test/differential/soak.ts ${MODELS} ${SEED})`);
  const t0 = Date.now();
  let last = t0;
  let done = 0;
  let skipped = 0;
  let symmetric = 0;
  let states = 0;
  let replays = 0;
  const progress = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - last < PROGRESS_MS) return;
    last = now;
    const s = (now - t0) / 1000;
    console.log(
      `soak: ${done}/${MODELS} models (${((100 * done) / MODELS).toFixed(1)}%), ${(done / s).toFixed(0)} models/s, ` +
        `${symmetric} symmetric, ${skipped} skipped as too big, ${states} states, ${replays} counterexamples replayed, ${s.toFixed(0)} s`,
    );
  };

  const declared = Math.round(MODELS * 0.3);
  const mutants = Math.round(MODELS * 0.1);
  const plain = MODELS - declared - mutants;
  const checked = (arb: fc.Arbitrary<ModelDesc>, runs: number, seed: number): void =>
    fc.assert(
      fc.property(arb, (d) => {
        const r = checkModel(d, { all: true, maxStates: MAX_STATES });
        if (!r) skipped++;
        fc.pre(r !== undefined);
        done++;
        states += r.states;
        replays += r.replays;
        if (isSymmetric(d)) symmetric++;
        progress(false);
      }),
      { numRuns: runs, seed, includeErrorInReport: true },
    );
  checked(modelDesc(), plain, SEED);
  console.log(`soak: models declaring exact futures`);
  checked(declaredModelDesc(), declared, SEED + 2);
  progress(true);
  console.log(`soak: ${mutants} models with a broken declaration`);
  let caught = 0;
  fc.assert(
    fc.property(mutantModelDesc(), (d) => {
      const r = checkMutant(d, { maxStates: MAX_STATES });
      fc.pre(r !== undefined);
      if (r.caught) caught++;
    }),
    { numRuns: mutants, seed: SEED + 3, includeErrorInReport: true },
  );
  console.log(`soak: ${caught} of ${mutants} broken declarations reached and reported`);

  const workers = async (arb: fc.Arbitrary<ModelDesc>, runs: number, seed: number): Promise<void> => {
    console.log(`soak: 1 vs 2 workers on ${runs} models`);
    let handedOff = 0;
    await fc.assert(
      fc.asyncProperty(arb, async (d) => {
        const w = await checkWorkers(d, { maxStates: MAX_STATES, minWork: HANDOFF_MIN_WORK });
        fc.pre(w !== undefined);
        if (w.handedOff) handedOff++;
      }),
      { numRuns: runs, seed, maxSkipsPerRun: 1000, includeErrorInReport: true },
    );
    if (handedOff !== runs) throw new Error(`only ${handedOff} of ${runs} runs were handed to the workers`);
  };
  const declaredWorkers = Math.round(WORKER_MODELS * 0.3);
  await workers(modelDesc(), WORKER_MODELS - declaredWorkers, SEED + 1);
  await workers(declaredModelDesc(), declaredWorkers, SEED + 4);
  console.log(`soak: passed, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

try {
  await main();
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  console.error(`soak: FAILED (seed ${SEED})`);
  process.exitCode = 1;
} finally {
  await closePools();
  rmSync(fileURLToPath(new URL('./.tmp/', import.meta.url)), { recursive: true, force: true });
}
