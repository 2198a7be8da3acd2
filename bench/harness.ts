// What the SPIN-comparison scripts share: the list of models with a Promela twin, running ptcheck and
// a SPIN verifier as child processes timed by the wall clock, and parsing what each prints.
// Used by bench/spin-count.ts (state counts must match) and bench/run.ts (the benchmark table).

import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PTCHECK = join(ROOT, 'bin', 'ptcheck.js');

/** A ptcheck model with a Promela twin of the same atomicity (see bench/README.md). */
export interface Twin {
  readonly model: string;
  readonly variant: string;
  /** the ptcheck parameter the twin's macro mirrors */
  readonly param: string;
  /** the macro the twin reads it from (spin -D<define>=<value>) */
  readonly define: string;
  /** the Promela file, relative to the repository */
  readonly pml: string;
  /** parameter values whose state counts bench/spin-count.ts compares */
  readonly counts: readonly number[];
  /** parameter values bench/run.ts times */
  readonly bench: readonly number[];
}

export const TWINS: readonly Twin[] = [
  {
    model: 'pte-offset-map-lock',
    variant: 'upstream',
    param: 'faults',
    define: 'FAULTS',
    pml: 'bench/spin/pte-offset-map-lock.pml',
    counts: [1, 2, 3],
    bench: [2, 3, 4],
  },
  {
    // the v2 PTE_FREE_DEFERRED refcount; walkers = 1 (the default). The collapsers are a symmetric
    // group: ptcheck's "reductions on" run merges their permutations.
    model: 'ppc-pte-free-defer',
    variant: 'pte-free-deferred',
    param: 'nfrag',
    define: 'NFRAG',
    pml: 'bench/spin/ppc-pte-free-defer.pml',
    counts: [1, 2, 3],
    bench: [4, 5],
  },
  {
    // GUP-fast walkers doing local work against munmap's RCU table free: the twin where interleavings
    // commute, written with SPIN processes' own control flow and locals so that SPIN's partial-order
    // reduction and statement merging can act (its header says how it corresponds)
    model: 'gup-fast-table-free',
    variant: 'rcu-table-free',
    param: 'walkers',
    define: 'WALKERS',
    pml: 'bench/spin/gup-fast-table-free.pml',
    counts: [1, 2, 3],
    bench: [2, 3, 4],
  },
  {
    model: 'retract-page-tables',
    variant: 'upstream',
    param: 'faults',
    define: 'FAULTS',
    pml: 'bench/spin/retract-page-tables.pml',
    counts: [0, 1],
    bench: [1, 2, 3],
  },
];

export interface Timed {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

/** Runs a command to completion and measures its wall-clock time. */
export function timed(cmd: string, args: readonly string[], cwd: string = ROOT, env?: Readonly<Record<string, string>>): Timed {
  const t0 = process.hrtime.bigint();
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, wallMs };
}

function must(r: Timed, what: string): Timed {
  if (r.status !== 0) {
    throw new Error(`${what} exited with ${r.status}\n${r.stderr.trim() || r.stdout.trim().split('\n').slice(-20).join('\n')}`);
  }
  return r;
}

/** scripts/ensure-spin.sh: installs SPIN if it is missing; exits the process if it cannot. */
export function ensureSpin(): void {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-spin.sh')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// ---- ptcheck ---------------------------------------------------------------------------------------

/** ptcheck with every reduction off, in one thread: the graph a twin reproduces, in ptcheck's DFS order. */
export const PTCHECK_REDUCTIONS_OFF: readonly string[] = ['--no-symmetry', '--no-por', '--workers', '1'];
/**
 * ptcheck's default reductions, in one thread: symmetry of declared thread groups (e.g. ppc-pte-free-defer's
 * collapsers), partial-order reduction by safe local steps, and sleep sets.
 */
export const PTCHECK_REDUCTIONS_ON: readonly string[] = ['--workers', '1'];

export interface PtcheckRun {
  readonly states: number;
  readonly transitions: number;
  /** transitions taken by sleep sets without running their step */
  readonly replayed: number;
  readonly maxDepth: number;
  /** the search alone, as ptcheck measures it */
  readonly elapsedMs: number;
  readonly tableBytes: number;
  /** threads the search really ran on (a parallel run hands off only once it is large enough) */
  readonly workers: number;
  /** the whole child process: Node start, tsx, model compile, search, JSON */
  readonly wallMs: number;
  /**
   * `sometimes` properties the spec expects reachable (at the default parameters) that are
   * unreachable at this parameter value: ptcheck then exits 1, but the search was complete.
   */
  readonly unreachableHere: readonly string[];
}

interface PtcheckProperty {
  readonly name: string;
  readonly kind: string;
  readonly status: string;
  readonly expected: string | null;
}

/**
 * `ptcheck verify <model> --variant V --param k=v --json`. The run must be complete (so the state
 * count is the whole reachable graph) with every verdict as the spec expects (exit 0) — except that a
 * spec's expectations are for its model's default parameters, and at a smaller value a `sometimes`
 * property may be unreachable (e.g. ppc-pte-free-defer's "deferrals-fold" needs nfrag >= 3): ptcheck
 * exits 1 for that, and it is accepted when it is the only difference, nothing is violated and the
 * search is complete (an unreachable verdict is only given after the whole graph was explored).
 */
/** How runPtcheck starts ptcheck. */
export interface PtcheckHow {
  /** name the model by its file path (models/<model>.ts), as a user does with their own model file */
  readonly byPath?: boolean;
  /** extra environment, e.g. PTCHECK_CACHE_DIR pointing at an empty folder for a first, uncached run */
  readonly env?: Readonly<Record<string, string>>;
}

export function runPtcheck(t: Twin, value: number, extra: readonly string[] = [], how: PtcheckHow = {}): PtcheckRun {
  const model = how.byPath ? join('models', `${t.model}.ts`) : t.model;
  const args = [PTCHECK, 'verify', model, '--variant', t.variant, '--param', `${t.param}=${value}`, '--json', ...extra];
  const what = `ptcheck ${args.slice(1).join(' ')}`;
  const r = timed(process.execPath, args, ROOT, how.env);
  if (r.status !== 1) must(r, what);
  let j: {
    format: string;
    outcome: { kind: string };
    stats: { states: number; transitions: number; replayed?: number; maxDepth: number; elapsedMs: number; tableBytes: number; workers?: number };
    properties: readonly PtcheckProperty[];
  };
  try {
    j = JSON.parse(r.stdout);
  } catch {
    must(r, what);
    throw new Error(`${what} printed no JSON`);
  }
  if (j.format !== 'ptcheck-result') throw new Error(`ptcheck printed format '${j.format}', expected ptcheck-result`);
  if (j.outcome.kind !== 'complete') throw new Error(`ptcheck run is ${j.outcome.kind}, not complete`);
  const differs = j.properties.filter((p) => p.expected !== null && p.status !== p.expected);
  const tolerated = differs.filter((p) => p.kind === 'sometimes' && p.status === 'unreachable');
  const violated = j.properties.filter((p) => p.status === 'violated');
  if (r.status === 1 && (tolerated.length !== differs.length || tolerated.length === 0 || violated.length > 0)) {
    const shown = differs.map((p) => `${p.name}: ${p.status}, expected ${p.expected}`).join('; ');
    throw new Error(`${what} exited with 1 (${shown || 'no expectation mismatch reported'})`);
  }
  const s = j.stats;
  return {
    states: s.states,
    transitions: s.transitions,
    replayed: s.replayed ?? 0,
    maxDepth: s.maxDepth,
    elapsedMs: s.elapsedMs,
    tableBytes: s.tableBytes,
    workers: s.workers ?? 1,
    wallMs: r.wallMs,
    unreachableHere: tolerated.map((p) => p.name),
  };
}

// ---- SPIN -----------------------------------------------------------------------------------------

/**
 * `spin -a` options: -o2 keeps write-only variables in the state vector. By default SPIN hides a
 * global that no statement reads (ptcheck's ghost flags, a walker's local that only a property
 * reads, a constant field) and so may merge states ptcheck keeps apart; a twin mirrors every ptcheck
 * field, so it must keep them all.
 */
export const SPIN_FLAGS: readonly string[] = ['-o2'];
/**
 * The same without statement merging (-o3): SPIN then takes every statement as its own transition, as
 * ptcheck takes every step. The reductions-off builds use it (a twin written with processes' own control
 * flow, gup-fast-table-free.pml, only matches ptcheck's graph so; the d_step twins are the same either
 * way), and the reduction comparison shows SPIN's partial-order reduction with and without merging.
 */
export const SPIN_FLAGS_NO_MERGE: readonly string[] = ['-o2', '-o3'];
/** Verifier options: no partial-order reduction (the same graph as ptcheck today), safety only. */
export const CFLAGS_NOREDUCE = ['-O2', '-DNOREDUCE', '-DSAFETY', '-DNOCLAIM', '-DNOFAIR'];
/** SPIN's default partial-order reduction, safety only. */
export const CFLAGS_POR = ['-O2', '-DSAFETY', '-DNOCLAIM', '-DNOFAIR'];

export interface Pan {
  readonly dir: string;
  readonly exe: string;
  /** spin -a + gcc */
  readonly buildMs: number;
}

/** A scratch directory for SPIN's generated pan.* files and binaries (never inside the repository). */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'ptcheck-spin-'));
}

export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** `spin <spinFlags> -D<define>=<value> -a twin.pml` and `gcc <cflags> -o pan pan.c` in a fresh subdirectory of `scratch`. */
export function buildPan(
  t: Twin,
  value: number,
  cflags: readonly string[],
  scratch: string,
  extraCflags: readonly string[] = [],
  spinFlags: readonly string[] = SPIN_FLAGS,
): Pan {
  const dir = mkdtempSync(join(scratch, `${t.model}-${value}-`));
  const spin = must(timed('spin', [...spinFlags, `-D${t.define}=${value}`, '-a', join(ROOT, t.pml)], dir), `spin -a ${t.pml}`);
  const gcc = must(timed('gcc', [...cflags, ...extraCflags, '-o', 'pan', 'pan.c', '-w'], dir), 'gcc pan.c');
  return { dir, exe: join(dir, 'pan'), buildMs: spin.wallMs + gcc.wallMs };
}

export interface PanRun {
  readonly stored: number;
  readonly matched: number;
  readonly transitions: number;
  readonly depth: number;
  readonly errors: number;
  readonly stateVectorBytes: number;
  /** "Stats on memory usage" lines, in bytes (pan prints MiB: bytes / 1048576) */
  readonly mem: {
    readonly states: number;
    readonly hashTable: number;
    readonly dfsStack: number;
    readonly total: number;
  };
  /** pan's own "elapsed time" (it prints 10 ms granularity, 0 for short runs) */
  readonly elapsedMs: number;
  readonly wallMs: number;
  readonly output: string;
}

function num(out: string, re: RegExp, what: string): number {
  const m = re.exec(out);
  if (!m) throw new Error(`pan output has no ${what}:\n${out}`);
  return parseFloat(m[1]!);
}

const MIB = 1048576;

/** Parses a pan run's report. */
export function parsePan(out: string, wallMs: number): PanRun {
  const opt = (re: RegExp) => {
    const m = re.exec(out);
    return m ? parseFloat(m[1]!) : 0;
  };
  const optMib = (re: RegExp) => opt(re) * MIB;
  return {
    stored: num(out, /^\s*([\d.e+]+) states, stored/m, "'states, stored'"),
    matched: num(out, /^\s*([\d.e+]+) states, matched/m, "'states, matched'"),
    transitions: num(out, /^\s*([\d.e+]+) transitions \(= stored\+matched\)/m, "'transitions'"),
    depth: num(out, /depth reached (\d+)/, "'depth reached'"),
    errors: num(out, /errors: (\d+)/, "'errors'"),
    stateVectorBytes: num(out, /State-vector (\d+) byte/, "'State-vector'"),
    mem: {
      states: optMib(/^\s*([\d.]+)\s+actual memory usage for states/m),
      hashTable: optMib(/^\s*([\d.]+)\s+memory used for hash table/m),
      dfsStack: optMib(/^\s*([\d.]+)\s+memory used for DFS stack/m),
      total: num(out, /^\s*([\d.]+)\s+total actual memory usage/m, "'total actual memory usage'") * MIB,
    },
    elapsedMs: opt(/pan: elapsed time ([\d.e+]+) seconds/) * 1000,
    wallMs,
    output: out,
  };
}

/**
 * Runs a verifier: `./pan -m<depth> -w<log2 hash slots>`. A complete run with no error is required
 * (an error, a too-small depth bound or a truncated search would make the count meaningless).
 */
export function runPan(pan: Pan, w: number, maxDepth = 100000): PanRun {
  const r = must(timed(pan.exe, [`-m${maxDepth}`, `-w${w}`], pan.dir), 'pan');
  const run = parsePan(r.stdout, r.wallMs);
  if (run.errors !== 0) throw new Error(`pan reports ${run.errors} error(s):\n${r.stdout}`);
  if (/max search depth too small|Search not completed|out of memory/i.test(r.stdout)) {
    throw new Error(`pan did not complete its search:\n${r.stdout}`);
  }
  return run;
}

/** log2 of the slot count of ptcheck's fingerprint table (8-byte slots), rounded: SPIN's -w. */
export function hashBitsLike(tableBytes: number): number {
  return Math.max(10, Math.round(Math.log2(tableBytes / 8)));
}

// ---- results ---------------------------------------------------------------------------------------

function toolVersion(cmd: string, args: string[], re: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return re.exec(out)?.[1] ?? out.trim().split('\n')[0]!;
  } catch {
    return '?';
  }
}

/** The machine, its load now, and the tool versions, for the head of a results section. */
export function benchHeader(load = loadavg()[0]!): string {
  return (
    `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, load ${load.toFixed(2)} at start; ` +
    `Node ${process.version}, ${toolVersion('spin', ['-V'], /(Spin Version [\d.]+)/)}, gcc ${toolVersion('gcc', ['-dumpversion'], /^(\S+)/)}`
  );
}

/** Appends a markdown section to bench/results/<YYYY-MM-DD>.md (creating it with its title); returns the file. */
export function appendResults(section: string): string {
  const day = new Date().toISOString().slice(0, 10);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${day}.md`);
  if (existsSync(file)) appendFileSync(file, `\n${section}`);
  else writeFileSync(file, `# ptcheck vs SPIN, ${day}\n\nWritten by \`npm run bench\` (bench/run.ts); see bench/README.md.\n\n${section}`);
  return file;
}
