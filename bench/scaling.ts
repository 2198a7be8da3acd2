// The benchmark's scaling section: ptcheck with 1 and 2 workers on pte-offset-map-lock faults=4 and
// on the largest other twin, next to the calibration (a pure shared-table insert loop on 1 and 2
// threads, bench/insert-loop.ts) run in the same rounds, and where a 2-worker run's time went.
//   node --import tsx bench/scaling.ts [--reps N]   (bench/run.ts includes this section)

import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, TWINS, appendResults, runPtcheck, timed, type PtcheckRun, type Twin } from './harness.ts';
import { loadModel } from '../src/cli/registry.ts';
import { instantiate } from '../src/model/compile.ts';
import { DEFAULT_OPTIONS, Verification } from '../src/explore/verify.ts';
import { closePools, type ParallelProfile } from '../src/parallel/coordinator.ts';
import { parallelHandOff } from '../src/parallel/handoff.ts';
import type { InsertLoopRun } from './insert-loop.ts';

/** The goal: 2 workers this much faster than 1 ... */
export const GOAL_SPEEDUP = 1.6;
/** ... or, where the machine caps scaling, this share of the insert loop's own 2-thread speed-up. */
export const GOAL_OF_LOOP = 0.9;

export interface ScalingRow {
  readonly label: string;
  readonly one: PtcheckRun[];
  readonly two: PtcheckRun[];
  /** the insert loop's own measurements (each ≥ 1 s of rounds, thread start-up excluded), 1 and 2 threads */
  readonly loop1: InsertLoopRun[];
  readonly loop2: InsertLoopRun[];
  readonly loopInserts: number;
  readonly loopSlots: number;
  readonly profile: ParallelProfile | undefined;
}

const fmtTime = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtRatio = (r: number) => `${r.toFixed(2)}×`;
const fmtRate = (perS: number) => `${(perS / 1e3).toFixed(0)} k/s`;
const minOf = (xs: readonly number[]) => Math.min(...xs);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** How long one insert-loop measurement repeats its rounds at least: a round of a small search is too short to time alone. */
const LOOP_MIN_MS = 1000;

/** The insert loop in a child process: its rounds of `inserts` fingerprints on `threads` threads, each into a fresh table. */
function insertLoop(threads: number, inserts: number, slots: number): InsertLoopRun {
  const args = ['--import', 'tsx', join(ROOT, 'bench', 'insert-loop.ts'), '--threads', String(threads), '--inserts', String(inserts), '--slots', String(slots), '--min-ms', String(LOOP_MIN_MS)];
  const r = timed(process.execPath, args);
  if (r.status !== 0) throw new Error(`insert loop exited with ${r.status}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as InsertLoopRun;
}

/** Every round of a cell's loop measurements, pooled. */
const roundsOf = (runs: readonly InsertLoopRun[]) => runs.flatMap((x) => x.rounds);
/** A cell's rounds as "min (median, max; n rounds)". */
const fmtRounds = (runs: readonly InsertLoopRun[]) => {
  const rs = roundsOf(runs);
  return `${fmtTime(minOf(rs))} (median ${fmtTime(median(rs))}, max ${fmtTime(Math.max(...rs))}; ${rs.length} rounds)`;
};

/** One 2-worker run in this process, for its ParallelProfile (the timed runs are child processes). */
async function profileRun(t: Twin, value: number): Promise<ParallelProfile | undefined> {
  const lm = await loadModel(t.model);
  const inst = instantiate(lm.module, t.variant, { [t.param]: value });
  const ref = { modelPath: lm.path, specPath: lm.specPath, variant: t.variant, params: inst.params };
  let profile: ParallelProfile | undefined;
  const v = new Verification(inst, lm.spec, { ...DEFAULT_OPTIONS, stopAtFirst: false });
  await v.run(() => {}, parallelHandOff(2, ref, undefined, false, (p) => (profile = p)));
  await closePools();
  return profile;
}

/**
 * Where a 2-worker run's parallel phase went, per worker thread: time inside tasks (busy) and out of
 * them (idle), of busy the CPU time and the run-queue wait (Linux: other work on the machine), and
 * the tail: from the last moment every thread was inside a task to the end.
 */
export function perThread(p: ParallelProfile): string {
  const threads = [...new Set(p.timeline.map((t) => t.thread))];
  const parts = threads.map((th, k) => {
    const ts = p.timeline.filter((t) => t.thread === th);
    const busy = ts.reduce((a, t) => a + t.ms, 0);
    const cpu = ts.every((t) => t.cpuMs !== undefined) ? ts.reduce((a, t) => a + t.cpuMs!, 0) : undefined;
    const wait = ts.every((t) => t.waitMs !== undefined) ? ts.reduce((a, t) => a + t.waitMs!, 0) : undefined;
    const states = ts.reduce((a, t) => a + t.states, 0);
    return (
      `worker ${k + 1}: busy ${fmtTime(busy)}` + (cpu !== undefined ? ` (CPU ${fmtTime(cpu)}, waiting for a CPU ${fmtTime(wait ?? 0)})` : '') +
      `, idle ${fmtTime(Math.max(0, p.wallMs - busy))}, ${states.toLocaleString('en-US')} states` + (cpu ? ` (${fmtRate(states / (cpu / 1000))} per CPU second)` : '')
    );
  });
  const edges = p.timeline.flatMap((t) => [[t.startMs, 1], [t.startMs + t.ms, -1]] as const).sort((a, b) => a[0] - b[0]);
  let inside = 0;
  let lastFull = 0;
  for (const [t, d] of edges) {
    if (inside === threads.length && d < 0) lastFull = t;
    inside += d;
  }
  const main = p.mainBefore ? `; this thread, from its start to the hand-off: CPU ${fmtTime(p.mainBefore.cpuMs)}, waiting for a CPU ${fmtTime(p.mainBefore.waitMs)}` : '';
  return `${parts.join('; ')}; tail (not every worker busy) ${fmtTime(Math.max(0, p.wallMs - lastFull))}${main}`;
}

/** pte-offset-map-lock at faults=4, and the other twin whose largest benchmarked size has the most states. */
export function scalingCases(): { twin: Twin; value: number; warm: PtcheckRun }[] {
  const pte = TWINS.find((t) => t.model === 'pte-offset-map-lock')!;
  const cases = [{ twin: pte, value: 4, warm: runPtcheck(pte, 4, ['--workers', '1']) }];
  let largest: (typeof cases)[number] | undefined;
  for (const t of TWINS) {
    if (t === pte) continue;
    const value = Math.max(...t.bench);
    const warm = runPtcheck(t, value, ['--workers', '1']);
    if (!largest || warm.states > largest.warm.states) largest = { twin: t, value, warm };
  }
  if (largest) cases.push(largest);
  return cases;
}

export async function scalingRows(reps: number): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  for (const { twin: t, value, warm } of scalingCases()) {
    // the loop inserts as many fingerprints as the search stores, into a table of its final size
    const loopInserts = warm.states;
    const loopSlots = Math.max(1 << 16, Math.round(warm.tableBytes / 8));
    const row: ScalingRow = { label: `${t.model} (${t.variant}), ${t.param}=${value}`, one: [], two: [], loop1: [], loop2: [], loopInserts, loopSlots, profile: undefined };
    // a round runs the four measurements in turn, each loop run right after the ptcheck run it
    // calibrates, so that both see about the same machine
    for (let i = 0; i < reps; i++) {
      row.one.push(runPtcheck(t, value, ['--workers', '1']));
      row.loop1.push(insertLoop(1, loopInserts, loopSlots));
      row.two.push(runPtcheck(t, value, ['--workers', '2']));
      row.loop2.push(insertLoop(2, loopInserts, loopSlots));
    }
    rows.push({ ...row, profile: await profileRun(t, value) });
  }
  return rows;
}

/** The section's markdown lines (a table, its notes, one line per row on where the time went). */
export function scalingTable(rows: readonly ScalingRow[]): string[] {
  const out = [
    '### 1 vs 2 workers, against the machine\'s own 2-thread scaling',
    '',
    '| model / params | states | 1 worker / 2 workers, whole process | speed-up | search alone¹ | speed-up | insert loop², fastest round, 1 / 2 threads | its speed-up | share of it³ | goal⁴ |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const notes: string[] = [];
  for (const r of rows) {
    const w1 = minOf(r.one.map((x) => x.wallMs));
    const w2 = minOf(r.two.map((x) => x.wallMs));
    const s1 = minOf(r.one.map((x) => x.elapsedMs));
    const s2 = minOf(r.two.map((x) => x.elapsedMs));
    const l1 = minOf(roundsOf(r.loop1));
    const l2 = minOf(roundsOf(r.loop2));
    const up = w1 / w2;
    const loopUp = l1 / l2;
    const share = up / loopUp;
    const met = up >= GOAL_SPEEDUP || share >= GOAL_OF_LOOP;
    const ranOn1 = r.two.some((x) => x.workers < 2) ? ' (some ran on 1)' : '';
    const same = r.two.every((x) => x.states === r.one[0]!.states) && r.one.every((x) => x.states === r.one[0]!.states);
    out.push(
      `| ${r.label} | ${r.one[0]!.states.toLocaleString('en-US')}${same ? '' : ' **states differ**'} | ${fmtTime(w1)} / ${fmtTime(w2)}${ranOn1} | ${fmtRatio(up)} ` +
        `| ${fmtTime(s1)} / ${fmtTime(s2)} | ${fmtRatio(s1 / s2)} | ${fmtTime(l1)} / ${fmtTime(l2)} | ${fmtRatio(loopUp)} | ${fmtRatio(share)} | ${met ? 'met' : '**not met**'} |`,
    );
    const pairs = r.one.map((x, i) => x.wallMs / r.two[i]!.wallMs);
    const loopPairs = r.loop1.map((x, i) => x.ms / r.loop2[i]!.ms);
    const shares = pairs.map((x, i) => x / loopPairs[i]!);
    const p = r.profile;
    notes.push(
      `- ${r.label}: per round, ptcheck speed-up ${pairs.map(fmtRatio).join(', ')} (median ${fmtRatio(median(pairs))}), ` +
        `insert loop (median rounds) ${loopPairs.map(fmtRatio).join(', ')} (median ${fmtRatio(median(loopPairs))}), share ${shares.map(fmtRatio).join(', ')} (median ${fmtRatio(median(shares))}); ` +
        `the loop inserted ${r.loopInserts.toLocaleString('en-US')} fingerprints into ${r.loopSlots.toLocaleString('en-US')} slots per round, ` +
        `1 thread ${fmtRounds(r.loop1)}, 2 threads ${fmtRounds(r.loop2)}.` +
        (p
          ? ` A 2-worker run in the bench's own process: ${p.handOffStates.toLocaleString('en-US')} states before the hand-off, copied to the shared table in ${fmtTime(p.handOffMs)}; ` +
            `then ${fmtTime(p.wallMs)} on the workers, busy ${((p.busyMs / (2 * p.wallMs)) * 100).toFixed(0)}% of it; ` +
            `states/s: ${fmtRate(p.handOffStates / (p.beforeMs / 1000))} in the one thread before the hand-off (${fmtTime(p.beforeMs)}), ` +
            `${fmtRate((r.one[0]!.states - p.handOffStates) / (p.busyMs / 1000))} per worker per busy second after it; ${p.tasks} tasks ` +
            `(${p.unitsSent.toLocaleString('en-US')} units sent, ${p.unitsReturned.toLocaleString('en-US')} handed back; ${p.splits} ended to feed an idle worker, ${p.budgetStops} at their budget); ` +
            `${p.grows} table growths took ${fmtTime(p.growMs)} (copying ${fmtTime(p.growCopyMs)}); building and posting tasks ${fmtTime(p.dispatchMs)}. ` +
            `Per thread: ${perThread(p)}.`
          : ' (the profiling run did not hand off)'),
    );
  }
  return [
    ...out,
    '',
    "¹ ptcheck's `stats.elapsedMs`: the search, from its start (one thread) through the hand-off to the workers' last result; no process start or model compilation.",
    '² bench/insert-loop.ts: worker threads inserting distinct fingerprints into one shared fingerprint table (the same code as the search\'s), as many as the search ' +
      'stores, into a fresh table of its final size, and nothing else; a round is timed from a common start (thread start-up excluded), and each measurement repeats ' +
      `rounds until they add up to ${LOOP_MIN_MS / 1000} s (at least 3). The cell is the fastest round of all the section's rounds: the machine's ceiling for a ` +
      'memory-bound loop on two threads, the least disturbed by other work (the notes give the median and slowest). On a 2-core machine shared with other work it is often near 1.',
    `³ ptcheck's whole-process speed-up (best run of each) / the insert loop's speed-up (fastest round of each).`,
    `⁴ the goal: 2 workers at least ${GOAL_SPEEDUP}× one, or at least ${GOAL_OF_LOOP} of the insert loop's own speed-up measured in the same rounds. ` +
      'ptcheck runs with its default reductions; a run hands its search to the workers once it is large enough (the README says when).',
    '',
    ...notes,
  ];
}

/** The whole section: heading, machine and load, table, notes (bench/run.ts appends it too). */
export async function scalingSection(reps: number): Promise<string> {
  const t0 = Date.now();
  const load0 = loadavg()[0]!;
  const rows = await scalingRows(reps);
  return [
    `## ${new Date().toISOString().slice(0, 19)}Z, scaling (bench/scaling.ts)`,
    '',
    `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, load ${load0.toFixed(2)} at start and ${loadavg()[0]!.toFixed(2)} at the end; ` +
      `Node ${process.version}. Best of ${reps} rounds per cell, each round running the four measurements in turn; the section took ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    '',
    ...scalingTable(rows),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const k = process.argv.indexOf('--reps');
  const section = await scalingSection(k > 0 ? Number(process.argv[k + 1]) : 3);
  console.log(section);
  console.error(`bench: written to ${appendResults(section)}`);
}
