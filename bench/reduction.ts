// The reduction comparison, the benchmark's second section: for every SPIN twin, states stored and
// time to verdict with every reduction on in each tool (ptcheck by default; SPIN's partial-order
// reduction, with and without statement merging), against both with reductions off, as ratios from
// one run; then ptcheck's own cut (default reductions against --no-por) on every shipped model.
// `npm run bench` runs it after the main table; alone: node --import tsx bench/reduction.ts [--reps N]
// [--twin MODEL]... (only those twins; the cut table still covers every shipped model)
// (see bench/README.md). Appends its section to bench/results/<YYYY-MM-DD>.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CFLAGS_NOREDUCE,
  CFLAGS_POR,
  PTCHECK_REDUCTIONS_OFF,
  PTCHECK_REDUCTIONS_ON,
  ROOT,
  SPIN_FLAGS,
  SPIN_FLAGS_NO_MERGE,
  TWINS,
  appendResults,
  benchHeader,
  buildPan,
  ensureSpin,
  hashBitsLike,
  removeScratch,
  runPan,
  runPtcheck,
  scratchDir,
  timed,
  type PanRun,
  type PtcheckRun,
  type Twin,
} from './harness.ts';

const PTCHECK = join(ROOT, 'bin', 'ptcheck.js');
/** ptcheck's partial-order reduction off, every other default kept (its cut is measured against this) */
const PTCHECK_NO_POR: readonly string[] = ['--no-por', '--workers', '1'];
/** ptcheck's reductions with declared thread futures only: none derived (its default derives them, src/por/derive-futures.ts) */
const PTCHECK_DECLARED: readonly string[] = [...PTCHECK_REDUCTIONS_ON, '--no-derive-futures'];
/** models are named by path, as a user names their own model file: loading and typechecking it is part of the time */
const BY_PATH = { byPath: true } as const;

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtTime = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`);
const fmtRatio = (r: number) => (Number.isFinite(r) ? `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×` : 'n/a');
const best = <T extends { wallMs: number }>(runs: readonly T[]): T => runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));

/** One twin at one parameter value: both tools with reductions off and on. */
interface Row {
  readonly twin: Twin;
  readonly value: number;
  readonly pOff: PtcheckRun;
  readonly pOn: PtcheckRun;
  /** reductions on, no futures derived */
  readonly pDecl: PtcheckRun;
  readonly sOff: PanRun;
  readonly sPor: PanRun;
  readonly sPor3: PanRun;
  /** spin -a + gcc of each verifier */
  readonly buildOffMs: number;
  readonly buildPorMs: number;
  readonly buildPor3Ms: number;
  readonly w: number;
}

/** One (model, variant, parameters) of ptcheck's cut table. */
interface CutRow {
  readonly model: string;
  readonly variant: string;
  readonly params: string;
  readonly noPor: number;
  readonly on: number;
}

function measureTwin(t: Twin, v: number, reps: number, scratch: string): Row {
  // the first run warms the typecheck and tsx caches and sizes pan's hash table like ptcheck's table
  const warm = runPtcheck(t, v, PTCHECK_REDUCTIONS_OFF, BY_PATH);
  const w = hashBitsLike(warm.tableBytes);
  const panOff = buildPan(t, v, CFLAGS_NOREDUCE, scratch, [], SPIN_FLAGS_NO_MERGE);
  const panPor = buildPan(t, v, CFLAGS_POR, scratch, [], SPIN_FLAGS);
  const panPor3 = buildPan(t, v, CFLAGS_POR, scratch, [], SPIN_FLAGS_NO_MERGE);
  const runs = { pOff: [] as PtcheckRun[], pOn: [] as PtcheckRun[], pDecl: [] as PtcheckRun[], sOff: [] as PanRun[], sPor: [] as PanRun[], sPor3: [] as PanRun[] };
  for (let i = 0; i < reps; i++) {
    runs.pOn.push(runPtcheck(t, v, PTCHECK_REDUCTIONS_ON, BY_PATH));
    runs.pDecl.push(runPtcheck(t, v, PTCHECK_DECLARED, BY_PATH));
    runs.sPor.push(runPan(panPor, w));
    runs.sPor3.push(runPan(panPor3, w));
    runs.pOff.push(runPtcheck(t, v, PTCHECK_REDUCTIONS_OFF, BY_PATH));
    runs.sOff.push(runPan(panOff, w));
  }
  return {
    twin: t,
    value: v,
    pOff: best(runs.pOff),
    pOn: best(runs.pOn),
    pDecl: best(runs.pDecl),
    sOff: best(runs.sOff),
    sPor: best(runs.sPor),
    sPor3: best(runs.sPor3),
    buildOffMs: panOff.buildMs,
    buildPorMs: panPor.buildMs,
    buildPor3Ms: panPor3.buildMs,
    w,
  };
}

/** `ptcheck verify --all --json --workers 1 [extra]`: states per shipped model x variant at its default parameters. */
function verifyAll(extra: readonly string[]): Map<string, { model: string; variant: string; params: string; states: number }> {
  const r = timed(process.execPath, [PTCHECK, 'verify', '--all', '--json', '--workers', '1', ...extra]);
  if (r.status !== 0) throw new Error(`ptcheck verify --all ${extra.join(' ')} exited with ${r.status}\n${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout) as {
    format: string;
    results: readonly { model: string; variant: string; params: Record<string, number>; outcome: { kind: string }; stats: { states: number } }[];
  };
  if (j.format !== 'ptcheck-matrix') throw new Error(`ptcheck verify --all printed format '${j.format}', expected ptcheck-matrix`);
  const out = new Map<string, { model: string; variant: string; params: string; states: number }>();
  for (const c of j.results) {
    if (c.outcome.kind !== 'complete') throw new Error(`ptcheck verify --all: ${c.model} [${c.variant}] is ${c.outcome.kind}, not complete`);
    const params = Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(', ');
    out.set(`${c.model}\0${c.variant}`, { model: c.model, variant: c.variant, params, states: c.stats.states });
  }
  return out;
}

/** ptcheck's cut on every shipped model x variant at its defaults, and on each twin at its largest bench value. */
function cutRows(rows: readonly Row[], twins: readonly Twin[]): CutRow[] {
  const off = verifyAll(['--no-por']);
  const on = verifyAll([]);
  const out: CutRow[] = [];
  for (const [k, o] of off) {
    const n = on.get(k);
    if (!n) throw new Error(`ptcheck verify --all: ${o.model} [${o.variant}] ran with --no-por only`);
    out.push({ model: o.model, variant: o.variant, params: `${o.params} (default)`, noPor: o.states, on: n.states });
  }
  for (const t of twins) {
    const largest = rows.filter((r) => r.twin === t).reduce<Row | undefined>((a, r) => (!a || r.value > a.value ? r : a), undefined);
    if (!largest) continue;
    // --no-por alone (symmetry on, as in the reductions-on run): the rows' reductions-off run has symmetry off too
    const noPor = runPtcheck(t, largest.value, PTCHECK_NO_POR, BY_PATH);
    out.push({ model: t.model, variant: t.variant, params: `${t.param}=${largest.value} (largest benchmarked)`, noPor: noPor.states, on: largest.pOn.states });
  }
  return out;
}

/** ptcheck by path with empty typecheck and derivation caches: the first run after editing a model file. */
function coldRun(t: Twin, v: number): PtcheckRun {
  const cache = mkdtempSync(join(tmpdir(), 'ptcheck-bench-cache-'));
  try {
    return runPtcheck(t, v, PTCHECK_REDUCTIONS_ON, { byPath: true, env: { PTCHECK_CACHE_DIR: cache } });
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** Runs the comparison; returns the markdown section and the number of rows whose reductions-off counts differ. */
export function reductionSection(o: { readonly reps: number; readonly twins?: readonly string[] }): { readonly markdown: string; readonly mismatches: number } {
  const twins = o.twins ? TWINS.filter((t) => o.twins!.includes(t.model)) : TWINS;
  const t0 = Date.now();
  const header = benchHeader();
  const scratch = scratchDir();
  const rows: Row[] = [];
  const cold: string[] = [];
  try {
    for (const t of twins) {
      for (const v of t.bench) rows.push(measureTwin(t, v, o.reps, scratch));
      const c = coldRun(t, t.bench[0]!);
      cold.push(`${t.model} ${t.param}=${t.bench[0]} ${fmtTime(c.wallMs)}`);
    }
  } finally {
    removeScratch(scratch);
  }
  const cuts = cutRows(rows, twins);
  const totalS = (Date.now() - t0) / 1000;

  let mismatches = 0;
  const table = [
    '| model / params | states, reductions off: ptcheck / SPIN | states, reductions on: ptcheck¹ / SPIN² / SPIN -o3³ | ptcheck ÷ SPIN, states on | cut (off ÷ on): ptcheck / SPIN / SPIN -o3 | time to verdict, reductions on: ptcheck⁴ / SPIN⁵ / SPIN -o3⁵ | ptcheck ÷ SPIN, time | time to verdict, reductions off: ptcheck / SPIN⁵ | no futures derived⁶: states / time / ÷ SPIN |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const details: string[] = [];
  for (const r of rows) {
    const same = r.pOff.states === r.sOff.stored;
    if (!same) mismatches++;
    const spinPor = r.sPor.wallMs + r.buildPorMs;
    const spinPor3 = r.sPor3.wallMs + r.buildPor3Ms;
    const spinOff = r.sOff.wallMs + r.buildOffMs;
    table.push(
      `| ${r.twin.model} (${r.twin.variant}), ${r.twin.param}=${r.value} ` +
        `| ${fmtInt(r.pOff.states)} / ${fmtInt(r.sOff.stored)}${same ? '' : ' **MISMATCH**'} ` +
        `| ${fmtInt(r.pOn.states)} / ${fmtInt(r.sPor.stored)} / ${fmtInt(r.sPor3.stored)} ` +
        `| ${fmtRatio(r.pOn.states / r.sPor.stored)} / ${fmtRatio(r.pOn.states / r.sPor3.stored)} ` +
        `| ${fmtRatio(r.pOff.states / r.pOn.states)} / ${fmtRatio(r.sOff.stored / r.sPor.stored)} / ${fmtRatio(r.sOff.stored / r.sPor3.stored)} ` +
        `| ${fmtTime(r.pOn.wallMs)} / ${fmtTime(spinPor)} / ${fmtTime(spinPor3)} ` +
        `| ${fmtRatio(r.pOn.wallMs / spinPor)} / ${fmtRatio(r.pOn.wallMs / spinPor3)} ` +
        `| ${fmtTime(r.pOff.wallMs)} / ${fmtTime(spinOff)} ` +
        `| ${fmtInt(r.pDecl.states)} / ${fmtTime(r.pDecl.wallMs)} / ${fmtRatio(r.pDecl.wallMs / spinPor)} |`,
    );
    details.push(
      `- ${r.twin.model} ${r.twin.param}=${r.value}: ./pan alone ${fmtTime(r.sPor.wallMs)} (POR), ${fmtTime(r.sPor3.wallMs)} (POR, -o3), ` +
        `${fmtTime(r.sOff.wallMs)} (off); spin -a + gcc ${fmtTime(r.buildPorMs)} / ${fmtTime(r.buildPor3Ms)} / ${fmtTime(r.buildOffMs)}; ` +
        `ptcheck's search alone ${fmtTime(r.pOn.elapsedMs)} (on) / ${fmtTime(r.pOff.elapsedMs)} (off), transitions ${fmtInt(r.pOn.transitions)} / ${fmtInt(r.pOff.transitions)}; ` +
        `SPIN transitions ${fmtInt(r.sPor.transitions)} / ${fmtInt(r.sPor3.transitions)} / ${fmtInt(r.sOff.transitions)}; pan -w${r.w}.`,
    );
  }

  const cutTable = ['| model | variant | parameters | states, --no-por | states, reductions on | cut |', '| --- | --- | --- | --- | --- | --- |'];
  for (const c of cuts) {
    cutTable.push(`| ${c.model} | ${c.variant} | ${c.params} | ${fmtInt(c.noPor)} | ${fmtInt(c.on)} | ${fmtRatio(c.noPor / c.on)} |`);
  }

  const markdown = [
    `## ${new Date().toISOString().slice(0, 19)}Z — reductions: ptcheck against SPIN`,
    '',
    `${header}. Best of ${o.reps} wall-clock runs per cell; this section took ${totalS.toFixed(0)} s.`,
    '',
    ...table,
    '',
    `¹ ptcheck \`verify models/<model>.ts --variant V --param k=v --json ${PTCHECK_REDUCTIONS_ON.join(' ')}\`: every reduction it applies by default ` +
      '(partial-order reduction with the thread futures it derives where the model declares none, sleep sets, and symmetry of thread groups a model declares symmetric: only ppc-pte-free-defer\'s collapsers); ' +
      `reductions off: \`${PTCHECK_REDUCTIONS_OFF.join(' ')}\`. The model is named by its file path, as a user names their own model.`,
    `² SPIN's partial-order reduction with its default statement merging: \`spin ${SPIN_FLAGS.join(' ')} -a\`, \`gcc ${CFLAGS_POR.join(' ')}\`; ` +
      `reductions off: \`spin ${SPIN_FLAGS_NO_MERGE.join(' ')} -a\` and \`-DNOREDUCE\` (the graph ptcheck explores with reductions off: the counts must be equal).`,
    `³ the same partial-order reduction without statement merging (\`spin ${SPIN_FLAGS_NO_MERGE.join(' ')} -a\`).`,
    '⁴ the whole command, as a user waits for it: Node, the tsx loader, loading and typechecking the model file (its typecheck and derived ' +
      `futures cached from an earlier run of the same file), the search and the JSON output. The first run after a model file changes also typechecks ` +
      `it and derives its futures: ${cold.join(', ')} (reductions on, empty caches).`,
    '⁵ `spin -a`, `gcc` and `./pan`, as a SPIN user waits for them; `./pan` alone is in the lines below. pan gets as many hash slots as ' +
      "ptcheck's fingerprint table has with reductions off.",
    `⁶ ptcheck \`${PTCHECK_DECLARED.join(' ')}\`: the reductions of ¹ with declared thread futures alone; ¹ also derives the future of every ` +
      'label the model declares none at from its steps (src/por/derive-futures.ts), read from the derivation cache after its first run (the whole command, as ⁴).',
    '',
    ...details,
    '',
    "ptcheck's own cut: states with its default reductions against `--no-por` (symmetry as declared in both), `--workers 1`, every " +
      'shipped model and variant at its default parameters (`verify --all`), and each twin at the largest value benchmarked above.',
    '',
    ...cutTable,
    '',
  ].join('\n');
  return { markdown, mismatches };
}

/** `[--reps N] [--twin MODEL]...`: one line on stderr and exit 2 for anything else. */
function parseArgs(argv: readonly string[]): { reps: number; twins?: string[] } {
  const bad = (why: string): never => {
    console.error(`bench/reduction.ts: ${why} (usage: [--reps N] [--twin MODEL]...)`);
    process.exit(2);
  };
  let reps = 3;
  const twins: string[] = [];
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, val] = [argv[i], argv[i + 1]];
    if (flag === '--reps') {
      reps = Number(val);
      if (!Number.isInteger(reps) || reps < 1) bad('--reps takes a positive integer');
    } else if (flag === '--twin') {
      if (!TWINS.some((t) => t.model === val)) bad(`no twin '${val}' (twins: ${TWINS.map((t) => t.model).join(', ')})`);
      twins.push(val!);
    } else bad(`unknown argument '${flag}'`);
  }
  return twins.length > 0 ? { reps, twins } : { reps };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureSpin();
  const r = reductionSection(parseArgs(process.argv.slice(2)));
  console.log(r.markdown);
  console.error(`bench: written to ${appendResults(r.markdown)}`);
  if (r.mismatches > 0) {
    console.error(`bench: ${r.mismatches} row(s) where ptcheck and SPIN disagree on the state count with reductions off (run bench/spin-count.ts)`);
    process.exitCode = 1;
  }
}
