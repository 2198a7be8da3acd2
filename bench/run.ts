// The benchmark (`npm run bench`): ptcheck against SPIN on the models that have a Promela twin of the
// same atomicity (bench/spin/*.pml). Both tools run side by side in this one script, alternating, as
// child processes timed by the wall clock; each measurement is the best of REPS. Prints one markdown
// table and appends it to bench/results/<YYYY-MM-DD>.md. See bench/README.md for how to read it.
// Usage: node --import tsx bench/run.ts   (then the reduction comparison, bench/reduction.ts, which also runs alone)

import { loadavg } from 'node:os';
import {
  CFLAGS_NOREDUCE,
  CFLAGS_POR,
  PTCHECK_REDUCTIONS_OFF,
  PTCHECK_REDUCTIONS_ON,
  SPIN_FLAGS_NO_MERGE,
  TWINS,
  buildPan,
  ensureSpin,
  hashBitsLike,
  removeScratch,
  runPan,
  runPtcheck,
  scratchDir,
  type PanRun,
  type PtcheckRun,
} from './harness.ts';
import { appendResults, benchHeader } from './harness.ts';
import { reductionSection } from './reduction.ts';
import { simulateRows, simulateTable } from './simulate.ts';
import { startupSection } from './startup.ts';
import { scalingSection } from './scaling.ts';

const REPS = 3;
/** the "1 vs 2 workers" column: ptcheck's default reductions with two worker threads */
const PTCHECK_TWO_WORKERS: readonly string[] = ['--workers', '2'];
/** the same as PTCHECK_REDUCTIONS_ON without sleep sets: what they save, on ptcheck's own clock */
const PTCHECK_NO_SLEEP: readonly string[] = [...PTCHECK_REDUCTIONS_ON, '--no-sleep-sets'];

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtRate = (perS: number) => (perS >= 1e6 ? `${(perS / 1e6).toFixed(2)} M/s` : `${(perS / 1e3).toFixed(1)} k/s`);
const fmtTime = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`);
const fmtRatio = (r: number) => `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
const best = <T extends { wallMs: number }>(runs: readonly T[]): T => runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));

interface Row {
  readonly label: string;
  readonly pOff: PtcheckRun;
  readonly sOff: PanRun;
  readonly pOn: PtcheckRun;
  readonly sOn: PanRun;
  readonly p2: PtcheckRun;
  readonly pNoSleep: PtcheckRun;
  readonly w: number;
  readonly buildMs: number;
}

ensureSpin();
const t0 = Date.now();
const load0 = loadavg()[0]!;
const scratch = scratchDir();
const rows: Row[] = [];
try {
  for (const t of TWINS) {
    for (const v of t.bench) {
      // The first ptcheck run warms tsx's transform cache and sizes SPIN's hash table: pan gets as
      // many 8-byte hash slots as ptcheck's fingerprint table has (same index size, same load).
      const warm = runPtcheck(t, v, PTCHECK_REDUCTIONS_OFF);
      const w = hashBitsLike(warm.tableBytes);
      const panOff = buildPan(t, v, CFLAGS_NOREDUCE, scratch, [], SPIN_FLAGS_NO_MERGE);
      const panOn = buildPan(t, v, CFLAGS_POR, scratch);
      const pOff: PtcheckRun[] = [];
      const sOff: PanRun[] = [];
      const pOn: PtcheckRun[] = [];
      const sOn: PanRun[] = [];
      const p2: PtcheckRun[] = [];
      const pNoSleep: PtcheckRun[] = [];
      for (let i = 0; i < REPS; i++) {
        pOff.push(runPtcheck(t, v, PTCHECK_REDUCTIONS_OFF));
        sOff.push(runPan(panOff, w));
        pOn.push(runPtcheck(t, v, PTCHECK_REDUCTIONS_ON));
        sOn.push(runPan(panOn, w));
        p2.push(runPtcheck(t, v, PTCHECK_TWO_WORKERS));
        pNoSleep.push(runPtcheck(t, v, PTCHECK_NO_SLEEP));
      }
      rows.push({
        label: `${t.model} (${t.variant}), ${t.param}=${v}`,
        pOff: best(pOff),
        sOff: best(sOff),
        pOn: best(pOn),
        sOn: best(sOn),
        p2: best(p2),
        pNoSleep: best(pNoSleep),
        w,
        buildMs: panOn.buildMs,
      });
    }
  }
} finally {
  removeScratch(scratch);
}
const totalS = (Date.now() - t0) / 1000;

let mismatches = 0;
const table: string[] = [
  '| model / params | distinct states, reductions off: ptcheck / SPIN | states/s per core, search alone⁵: ptcheck / SPIN | ratio | states/s per core, whole process: ptcheck / SPIN | ratio | time to verdict, reductions on: ptcheck¹ / SPIN² | ratio | SPIN with spin -a + gcc² | ratio | bytes/state: ptcheck / SPIN³ | 1 vs 2 workers⁴ |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
const details: string[] = [];
for (const r of rows) {
  const same = r.pOff.states === r.sOff.stored;
  if (!same) mismatches++;
  const pRate = r.pOff.states / (r.pOff.wallMs / 1000);
  const sRate = r.sOff.stored / (r.sOff.wallMs / 1000);
  const spinBytes = (r.sOff.mem.total - r.sOff.mem.dfsStack) / r.sOff.stored;
  // search alone: each tool's own clock (pan's has 10 ms granularity: shorter searches get no ratio)
  const pSearch = r.pOff.elapsedMs > 0 ? r.pOff.states / (r.pOff.elapsedMs / 1000) : NaN;
  const sSearch = r.sOff.elapsedMs >= 10 ? r.sOff.stored / (r.sOff.elapsedMs / 1000) : NaN;
  const spinWithBuild = r.sOn.wallMs + r.buildMs;
  table.push(
    `| ${r.label} | ${fmtInt(r.pOff.states)} / ${fmtInt(r.sOff.stored)}${same ? '' : ' **MISMATCH**'} ` +
      `| ${Number.isNaN(pSearch) ? 'n/a' : fmtRate(pSearch)} / ${Number.isNaN(sSearch) ? 'under 10 ms' : fmtRate(sSearch)} ` +
      `| ${Number.isNaN(pSearch / sSearch) ? 'n/a' : fmtRatio(pSearch / sSearch)} ` +
      `| ${fmtRate(pRate)} / ${fmtRate(sRate)} | ${fmtRatio(pRate / sRate)} ` +
      `| ${fmtTime(r.pOn.wallMs)} / ${fmtTime(r.sOn.wallMs)} | ${fmtRatio(r.pOn.wallMs / r.sOn.wallMs)} ` +
      `| ${fmtTime(spinWithBuild)} | ${fmtRatio(r.pOn.wallMs / spinWithBuild)} ` +
      `| ${(r.pOff.tableBytes / r.pOff.states).toFixed(1)} / ${spinBytes.toFixed(1)} ` +
      `| ${fmtTime(r.pOn.wallMs)} / ${fmtTime(r.p2.wallMs)}, ${fmtRatio(r.pOn.wallMs / r.p2.wallMs)}${r.p2.workers < 2 ? ' (ran on 1)' : ''} |`,
  );
  const searchOnly = (states: number, ms: number) => (ms > 0 ? fmtRate(states / (ms / 1000)) : '(under 10 ms)');
  details.push(
    `- ${r.label}: search alone (each tool's own clock, no process start): ptcheck ${searchOnly(r.pOff.states, r.pOff.elapsedMs)} ` +
      `in ${fmtTime(r.pOff.elapsedMs)}, pan ${searchOnly(r.sOff.stored, r.sOff.elapsedMs)}; ` +
      `with reductions on ptcheck stored ${fmtInt(r.pOn.states)} states, SPIN ${fmtInt(r.sOn.stored)} (reductions off: ${fmtInt(r.pOff.states)}); ` +
      `sleep sets took ${fmtInt(r.pOn.replayed)} of ${fmtInt(r.pOn.transitions)} transitions without running the step, ` +
      `search alone ${fmtTime(r.pOn.elapsedMs)} against ${fmtTime(r.pNoSleep.elapsedMs)} with \`--no-sleep-sets\` ` +
      `(${fmtRatio(r.pOn.elapsedMs / r.pNoSleep.elapsedMs)}; same states and transitions: ` +
      `${r.pNoSleep.states === r.pOn.states && r.pNoSleep.transitions === r.pOn.transitions ? 'yes' : '**NO**'}); ` +
      `spin -a + gcc took ${fmtTime(r.buildMs)}; ` +
      `pan -w${r.w} (${fmtInt(2 ** r.w)} hash slots), state vector ${r.sOff.stateVectorBytes} B, ` +
      `memory: states ${fmtInt(r.sOff.mem.states)} B + hash table ${fmtInt(r.sOff.mem.hashTable)} B, total ${fmtInt(r.sOff.mem.total)} B ` +
      `of which DFS stack ${fmtInt(r.sOff.mem.dfsStack)} B; ptcheck fingerprint table ${fmtInt(r.pOff.tableBytes)} B.`,
  );
}

const now = new Date();
const machine = benchHeader(load0);
const section = [
  `## ${now.toISOString().slice(0, 19)}Z`,
  '',
  `${machine}. Best of ${REPS} wall-clock runs per cell; the whole bench took ${totalS.toFixed(0)} s.`,
  '',
  ...table,
  '',
  `¹ ptcheck \`verify <model> --variant V --param k=v --json\` (a complete run with the spec's verdicts required) with its default reductions ` +
    '(symmetry of declared thread groups, such as ppc-pte-free-defer\'s collapsers, partial-order reduction by safe ' +
    `local steps, and sleep sets, which skip running steps and change no count) in one thread: \`${PTCHECK_REDUCTIONS_ON.join(' ')}\`; reductions off: \`${PTCHECK_REDUCTIONS_OFF.join(' ')}\`. Its times ` +
    'are the whole process: Node start-up, the tsx loader, model compilation, the search and the JSON output.',
  '² SPIN with its default partial-order reduction (`spin -o2 -a`, `gcc -O2 -DSAFETY -DNOCLAIM -DNOFAIR`, no `-DNOREDUCE`; ' +
    '`-o2` keeps variables no statement reads in the state vector, as ptcheck does), ' +
    'timing `./pan` alone; the reductions-off column uses the same flags plus `-o3` (no statement merging) and `-DNOREDUCE`. "SPIN with spin -a + gcc" adds ' +
    "the time to generate and compile that verifier, which a SPIN user waits for before every verdict as a ptcheck user " +
    "waits for Node, tsx and the model's compilation; both columns are given, and the ratio against `./pan` alone is the bar.",
  "³ ptcheck: `stats.tableBytes / stats.states` (its 64-bit-fingerprint table, which is its whole visited set). SPIN: " +
    '("total actual memory usage" − "memory used for DFS stack") / "states, stored" from pan\'s report of the ' +
    'reductions-off run, i.e. the hash table plus the full state vectors pan stores (it keeps exact states; ' +
    "ptcheck keeps fingerprints) plus pan's small fixed allocations; MB there are 1048576 bytes. pan's hash table " +
    "has the power-of-two slot count nearest to ptcheck's table's.",
  `⁴ ptcheck with its default reductions: wall time with \`--workers 1\` / with \`${PTCHECK_TWO_WORKERS.join(' ')}\`, ` +
    'and their ratio (above 1: two workers are faster). A run hands its DFS to the workers only once it has ' +
    'passed 200,000 states and the workers have loaded the model (they start at 100,000); "(ran on 1)" means it ' +
    'finished before that (`stats.workers` was 1), so the second time only shows the cost of starting the workers. ' +
    'The machine is shared: two independent single-threaded runs side by side have each been measured from 6% to 40% ' +
    'slower than one alone, which bounds what two workers can gain here.',
  "⁵ ptcheck's `stats.elapsedMs` (the search: no process start, module loading or model compilation) and pan's " +
    '"elapsed time" (10 ms granularity; "under 10 ms" gets no ratio), both with reductions off on the same graph. ' +
    'The whole-process columns divide the same state count by the wall time of the child process.',
  '',
  ...details,
  '',
].join('\n');

console.log(section);
const file = appendResults(section);
console.error(`bench: written to ${file}`);
if (mismatches > 0) {
  console.error(`bench: ${mismatches} row(s) where ptcheck and SPIN disagree on the state count (run bench/spin-count.ts)`);
  process.exitCode = 1;
}

// the second section, the reduction comparison (alone: node --import tsx bench/reduction.ts)
const reduction = reductionSection({ reps: REPS });
console.log(`\n${reduction.markdown}`);
appendResults(reduction.markdown);
if (reduction.mismatches > 0) {
  console.error(`bench: ${reduction.mismatches} reduction row(s) where ptcheck and SPIN disagree on the state count with reductions off`);
  process.exitCode = 1;
}

// the third section, simulation (alone: node --import tsx bench/simulate.ts): walks/s and the time and
// walks to the first violation of every shipped buggy variant at its largest parameters
{
  const seeds = 3;
  const capMs = 20_000;
  const t0 = Date.now();
  const rows = await simulateRows(seeds, capMs);
  const sim =
    `## Simulation (bench/simulate.ts): seeds 1..${seeds}, at most ${capMs / 1000} s per seed, walks of at most 10,000 steps\n\n` +
    `load ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end; ${((Date.now() - t0) / 1000).toFixed(0)} s in all. ` +
    `walks/s and steps/s are over all walks of the row's seeds (a walk ends at the first violation, a terminal state or 10,000 steps).\n\n` +
    `${simulateTable(rows, capMs)}\n`;
  console.log(`\n${sim}`);
  appendResults(sim);
}

// the fourth, start-up (alone: node --import tsx bench/startup.ts): a tiny verify against a bare Node,
// and a model loaded by path against a shipped one
const startup = startupSection();
console.log(`\n${startup}`);
appendResults(startup);

// the fifth, scaling (alone: node --import tsx bench/scaling.ts): 1 vs 2 workers next to a pure
// shared-table insert loop on 1 and 2 threads in the same rounds, and where a 2-worker run's time went
const scaling = await scalingSection(REPS);
console.log(`\n${scaling}`);
appendResults(scaling);
