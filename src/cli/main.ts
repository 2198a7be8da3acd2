// The ptcheck command line: argv and exit codes live here and nowhere else. Commands: list, verify,
// replay. Every error the user can cause is one line on stderr with exit code 2.

import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { instantiate, instantiateUserVariant, type CompileOptions, type Instance } from '../model/compile.ts';
import { cachedDerivation, DERIVE_BY_DEFAULT, derivedEntryOf, gaveUpDerivation, seedsVisible } from './derive-cache.ts';
import { baseOf, userExpect } from '../model/variant-file.ts';
import { InputError, ModelError } from '../model/errors.ts';
import { expectProblems, expectRow, type Property, type SpecModule, type Verdict } from '../spec/property.ts';
import { Engine } from '../explore/engine.ts';
import { NO_LIMITS, type Limits } from '../explore/search.ts';
import { StuckStepError, Verification, isMismatch, type HandOff, type RunResult, type Strategy } from '../explore/verify.ts';
import { resetReplaying, SliceInterrupted, stuckOnPath, underStepBound } from '../explore/step-bound.ts';
import { DEFAULT_STEP_TIMEOUT_S, startWatcher } from '../explore/watchdog.ts';
import { buildTrace, snapshots, stuckTrace, type Trace } from '../trace/trace.ts';
import { readablePath } from '../trace/readable.ts';
import { diffText } from '../report/diff.ts';
import { compactPath, parsePath, pathToString } from '../trace/path.ts';
import { ReplayError, replay } from '../trace/replay.ts';
import { resultJson } from '../report/json.ts';
import { matrixText } from '../report/matrix.ts';
import { ProgressLine } from '../report/progress.ts';
import { raceDiagram } from '../report/race-diagram.ts';
import { coverageText, resultText } from '../report/result-text.ts';
import { compareReduction, disagreementLine, reductionCheckText, type ReductionCheck, type ReductionName } from '../report/reduction-check.ts';
import { Canonicalizer } from '../explore/symmetry.ts';
import { installSignals, onStop, SIGNAL_EXIT, stopSignal } from './signals.ts';
import { loadModel, loadVariantFile, ROOT, shippedModelNames, typecheckShipped, unnamedModelFiles, type LoadedModel } from './registry.ts';
import { readTraceFile, traceSource } from './trace-file.ts';
import { deferTypechecks, SetupError, shown, typecheckFailure, typechecksSettled } from './typecheck.ts';
import { availableParallelism } from 'node:os';
import { closeHandOffPools, parallelHandOff } from '../parallel/handoff.ts';
import type { ModelRef } from '../parallel/protocol.ts';
import { Simulation, type SimulateOptions } from '../explore/simulate.ts';
import { simulationJson, simulationText, type SimulationReport } from '../report/simulation-text.ts';
import { randomInt } from 'node:crypto';
import {
  CELL_RESULT_VERSION,
  cellModel,
  matrixCells,
  matrixOutput,
  matrixSummary,
  parseSweep,
  seedRange,
  simulationMatrixOutput,
  type CellResult,
  type MatrixCell,
  type SimJob,
  type SimSeedResult,
} from './matrix.ts';
import type { JobOptions, JobResult } from './queue.ts';

export const EXIT = {
  OK: 0,
  /** a property violated, or a verdict differs from the spec's expectation */
  VIOLATION: 1,
  /** bad input: arguments, model or trace file, model error */
  BAD_INPUT: 2,
  /** a limit ended the run before it was complete */
  INCOMPLETE: 3,
  /** ptcheck itself failed */
  INTERNAL: 4,
  /** ended by a signal: SIGINT 130, SIGHUP 129, SIGTERM 143 (see signals.ts) */
  INTERRUPTED: SIGNAL_EXIT.SIGINT,
} as const;

const USAGE_LINES: Readonly<Record<string, string>> = {
  list: `  ptcheck list`,
  verify: `  ptcheck verify <model|file.ts> [--variant V] [--param k=v]... [options]
  ptcheck verify <model> --variant-file my-variants.ts [--variant NAME] [options]
  ptcheck verify --all [options]`,
  diff: `  ptcheck diff <model> <variantA> <variantB> [--variant-file F]   (A, B: shipped or in F)
  ptcheck diff <model> <variantA> --variant-file F                 (B: F's one variant)`,
  replay: `  ptcheck replay <trace.json> [--model-file F | --variant-file F]
  ptcheck replay <model|file.ts> --variant V [--param k=v]... --path P [--property NAME]
  ptcheck replay <model> --variant V|--variant-file F [--variant V] --from-trace <trace.json>`,
  simulate: `  ptcheck simulate <model|file.ts> --variant V|--variant-file F [--param k=v]... [--seed S] [--walks N]
                   [--depth D] [--time T] [--swarm] [--json] [--trace-out FILE]`,
  matrix: `  ptcheck matrix [<model>] [--variant V] [--param k=v]... [--sweep k=A..B]... [--queue redis://HOST:PORT] [options]`,
  worker: `  ptcheck worker --queue redis://HOST:PORT [--workers N]`,
};

const VERIFY_OPTIONS = `verify options:
  --variant V          check one variant (default: every variant of the model, as a matrix)
  --variant-file F     check the patch variants written in F, as a matrix when it holds several
                       (--variant NAME picks one; see README: check your own patch)
  --param k=v          set a model parameter (repeatable)
  --all                every shipped model x variant against its expect matrix
  --first              stop at the first violation (default: determine every property)
  --all-violations     determine every property, one trace per violated property (the default)
  --witness GUARD      print the path that reaches the sometimes property GUARD, as a diagram
  --coverage           per thread, how often each label's step was taken
  --shortest, --bfs    breadth-first: shortest counterexamples
  --max-states N       stop after N distinct states (incomplete, exit 3)
  --max-depth N        do not explore beyond N steps (incomplete if anything was cut)
  --timeout S          stop after S seconds (incomplete, exit 3)
  --step-timeout S     a step running longer than S seconds is a model error, exit 2 (default 5)
  --memory MIB         fingerprint table budget in MiB (default 8192)
  --json               print the result as versioned JSON
  --trace-out FILE     write the first counterexample trace as JSON
  --html FILE          write the first counterexample as a self-contained HTML viewer
  --traces             with --all / no --variant: print the race diagram of every violation
  --wide               race diagrams in the roomier 100-column form (default: 75, for commit messages)
  --verbose, -v        also the engine's figures: fingerprint table, sleep sets, P(collision)
  --progress           progress lines on stderr even when not a terminal
  --no-symmetry        do not merge states that differ only by a permutation of symmetric threads
  --no-por             no partial-order reduction (explore every interleaving of safe local steps;
                       also turns sleep sets off)
  --no-sleep-sets      run every step, even one whose successor sleep sets already know (A/B timing)
  --exact              store whole states instead of 64-bit fingerprints (small models: a collision cross-check)
  --check-determinism  run every step twice on the same state and fail if the results differ (debug)
  --check-reduction    then run the same search with every reduction off (--no-por --no-symmetry) and
                       report both sizes, the cut, and whether every verdict agrees (exit 4 if not)
  --derive-futures     (on by default) derive each thread's future (what it may still touch from each label
                       on) from its steps, where the model declares none, for the partial-order reduction,
                       cached per model; it gives up, deriving nothing, past its budgets (-v says how many
                       labels got one; every step is still checked against them)
  --no-derive-futures  do not derive futures (only declared ones serve the reduction); implied by --no-por,
                       and by --check-determinism unless --derive-futures is given
  --workers N, -j N    threads for a large DFS, this one included (default: the machine's cores; 1 = this thread)
  --max-preemptions K  only interleavings with at most K preemptions (switches away from a thread that
                       could still run): finds bugs of few preemptions in large models; exit 3 at best`;

const SIMULATE_OPTIONS = `simulate options (seeded random walks; never claims that anything holds):
  --seed S             the walks' seed (default: one drawn now, and printed); the same seed, the same walks
  --walks N            number of walks (default 10000, or unlimited with --time)
  --depth D            steps per walk at most (default 10000)
  --time T             stop after T seconds
  --swarm              swarm: each walk draws its own thread priorities and step biases
  --step-timeout S     a step running longer than S seconds is a model error, exit 2 (default 5)`;

const MATRIX_OPTIONS = `matrix options (verify's selection and search options, plus):
  --sweep k=A..B       one cell per value of parameter k from A to B (repeatable: every combination)
  --queue URL          enqueue one job per cell on Redis (BullMQ) and gather what \`ptcheck worker\`
                       processes on any machines return; without it the cells run here
  --seeds A..B         simulate every cell instead, once per seed (with simulate's --walks, --depth,
                       --time, --swarm): exit 1 if any seed finds a violation, else 3`;

const DIFF_OPTIONS = `diff options: those of verify that set up a search (--param, limits, --json, --no-por, ...),
  --variant-file F, --wide, --verbose`;

const REPLAY_OPTIONS = `replay options:
  --variant V, --variant-file F, --model-file F   what to replay the path on
  --param k=v          set a model parameter (repeatable)
  --path P             the path, as printed (THREAD or THREAD/ALT, runs as THREAD*COUNT, dot-separated)
  --property NAME      the property to look for along it (default: the trace's, or any violated)
  --from-trace FILE    the path of a saved trace, replayed on the model given
  --html FILE          also write the replayed path as a self-contained HTML viewer
  --wide               the roomier 100-column diagram
  --step-timeout S     a step running longer than S seconds is a model error, exit 2 (default 5)`;

const EXIT_TEXT = `exit codes: 0 holds as expected, 1 violation or expectation mismatch, 2 bad input,
            3 incomplete (a limit was hit, or the heap nearly full), 4 internal error,
            130 / 143 / 129 stopped by SIGINT / SIGTERM / SIGHUP (partial results printed)`;

const USAGE = `usage:
${Object.values(USAGE_LINES).join('\n')}

${VERIFY_OPTIONS}

${SIMULATE_OPTIONS}

${MATRIX_OPTIONS}
${DIFF_OPTIONS}
${REPLAY_OPTIONS}
${EXIT_TEXT}
ptcheck --version prints the version; ptcheck <command> --help the help of one command`;

/** `ptcheck <command> --help`: that command's usage and options. */
function helpOf(cmd: string): string {
  const options: Record<string, string> = {
    verify: VERIFY_OPTIONS,
    simulate: SIMULATE_OPTIONS,
    matrix: MATRIX_OPTIONS,
    worker: 'worker options: --queue URL (the Redis queue to serve), --workers N',
    diff: DIFF_OPTIONS,
    replay: REPLAY_OPTIONS,
    list: 'list takes no options',
  };
  const replayExit = 'exit codes: 1 the violation is reproduced, 0 the path replays without it, 2 the path does not fit the model (or a step never returns)';
  return `usage:\n${USAGE_LINES[cmd]}\n\n${options[cmd]}\n${cmd === 'replay' ? replayExit : EXIT_TEXT}`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return `ptcheck ${pkg.version}`;
}

interface Opts {
  variant?: string;
  variantFile?: string;
  html?: string;
  fromTrace?: string;
  params: Record<string, number>;
  all: boolean;
  /** stop at the first violation (default: determine every property) */
  first: boolean;
  /** verify: per-label transition counts */
  coverage: boolean;
  /** verify: the sometimes property whose witness path to draw */
  witness?: string;
  /** the 100-column race diagram */
  wide: boolean;
  /** the engine's figures too */
  verbose: boolean;
  strategy: Strategy;
  limits: Limits;
  /** --timeout in ms, counted from the start of the first search */
  timeoutMs?: number;
  json: boolean;
  traceOut?: string;
  traces: boolean;
  progress: boolean;
  symmetry: boolean;
  por: boolean;
  sleep: boolean;
  exact: boolean;
  checkDeterminism: boolean;
  /** verify: run again with every reduction off and compare (--check-reduction) */
  checkReduction: boolean;
  /** verify: derive the futures of every label a model declares none at (on by default; --no-derive-futures: not) */
  deriveFutures: boolean;
  /** seconds a step may run (--step-timeout) */
  stepTimeout?: number;
  workers: number;
  path?: string;
  property?: string;
  /** verify: preemption-bounded search */
  maxPreemptions?: number;
  /** simulate */
  seed?: number;
  walks?: number;
  depth?: number;
  time?: number;
  swarm: boolean;
  /** matrix / worker */
  queue?: string;
  sweep: string[];
  /** matrix --simulate --seeds A..B */
  seeds?: string;
  /** replay: the model file a trace of a model loaded by path was made from */
  modelFile?: string;
}

function posInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InputError(`${name} takes a positive whole number, not '${v}'`);
  return Number(v);
}

/** Every option any command takes; COMMANDS says which command takes which. */
const OPTIONS = {
  variant: { type: 'string' },
  'variant-file': { type: 'string' },
  'model-file': { type: 'string' },
  html: { type: 'string' },
  'from-trace': { type: 'string' },
  param: { type: 'string', short: 'p', multiple: true },
  all: { type: 'boolean' },
  'all-violations': { type: 'boolean' },
  shortest: { type: 'boolean' },
  bfs: { type: 'boolean' },
  dfs: { type: 'boolean' },
  'max-states': { type: 'string' },
  'max-depth': { type: 'string' },
  timeout: { type: 'string' },
  'step-timeout': { type: 'string' },
  memory: { type: 'string' },
  json: { type: 'boolean' },
  'trace-out': { type: 'string' },
  traces: { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-symmetry': { type: 'boolean' },
  'no-por': { type: 'boolean' },
  'no-sleep-sets': { type: 'boolean' },
  exact: { type: 'boolean' },
  'check-determinism': { type: 'boolean' },
  'check-reduction': { type: 'boolean' },
  'derive-futures': { type: 'boolean' },
  'no-derive-futures': { type: 'boolean' },
  workers: { type: 'string', short: 'j' },
  path: { type: 'string' },
  property: { type: 'string' },
  'max-preemptions': { type: 'string' },
  seed: { type: 'string' },
  walks: { type: 'string' },
  depth: { type: 'string' },
  time: { type: 'string' },
  swarm: { type: 'boolean' },
  queue: { type: 'string' },
  sweep: { type: 'string', multiple: true },
  seeds: { type: 'string' },
  first: { type: 'boolean' },
  witness: { type: 'string' },
  coverage: { type: 'boolean' },
  wide: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  version: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flag = keyof typeof OPTIONS;


/** Options of every command that runs a search. */
const SEARCH_FLAGS: readonly Flag[] = [
  'param', 'shortest', 'bfs', 'dfs', 'max-states', 'max-depth', 'timeout', 'memory', 'json', 'progress',
  'no-symmetry', 'no-por', 'no-sleep-sets', 'exact', 'check-determinism', 'workers', 'step-timeout',
];

/**
 * The commands and the options each accepts (--help goes with all): an option another command takes is
 * an error here, never silently ignored. A new command is one row.
 */
const COMMANDS: Readonly<Record<string, { readonly flags: readonly Flag[]; run(pos: string[], o: Opts): Promise<number> }>> = {
  list: { flags: [], run: () => cmdList() },
  verify: {
    flags: [...SEARCH_FLAGS, 'variant', 'variant-file', 'all', 'all-violations', 'first', 'witness', 'coverage', 'trace-out', 'html', 'traces', 'max-preemptions', 'wide', 'verbose', 'check-reduction', 'derive-futures', 'no-derive-futures'],
    run: (p, o) => cmdVerify(p, o),
  },
  diff: { flags: [...SEARCH_FLAGS, 'variant-file', 'wide', 'verbose'], run: (p, o) => cmdDiff(p, o) },
  replay: { flags: ['variant', 'variant-file', 'model-file', 'param', 'path', 'property', 'from-trace', 'html', 'wide', 'step-timeout'], run: (p, o) => cmdReplay(p, o) },
  matrix: {
    flags: [...SEARCH_FLAGS, 'variant', 'traces', 'max-preemptions', 'sweep', 'queue', 'seeds', 'walks', 'depth', 'time', 'swarm'],
    run: (p, o) => cmdMatrix(p, o),
  },
  worker: { flags: ['queue', 'workers'], run: (p, o) => cmdWorker(p, o) },
  simulate: { flags: ['variant', 'variant-file', 'param', 'seed', 'walks', 'depth', 'time', 'swarm', 'json', 'trace-out', 'progress', 'step-timeout'], run: (p, o) => cmdSimulate(p, o) },
};

function parse(argv: string[]): { cmd: string; pos: string[]; o: Opts; given: ReadonlySet<Flag> } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, tokens: true, options: OPTIONS });
  } catch (e) {
    throw new InputError(`${(e as Error).message.split('\n')[0]} (see ptcheck --help)`);
  }
  const v = parsed.values;
  const [cmd = 'help', ...pos] = parsed.positionals;
  // a single-valued option given twice: which one was meant is a guess, so neither is taken
  const seen = new Map<string, string[]>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const vals = seen.get(t.name) ?? [];
    vals.push(t.value ?? '');
    seen.set(t.name, vals);
  }
  for (const [name, vals] of seen) {
    const def = OPTIONS[name as Flag] as { multiple?: boolean; type: string };
    if (vals.length > 1 && !def.multiple) {
      const what = def.type === 'string' ? ` (${vals.map((x) => `'${x}'`).join(', ')})` : '';
      throw new InputError(`--${name} is given ${vals.length} times${what}; give it once`);
    }
  }
  const given = new Set([...seen.keys()] as Flag[]);
  if (v.version) return { cmd: 'version', pos, o: undefined as never, given };
  if (v.help) return { cmd: 'help', pos: cmd in COMMANDS ? [cmd] : [], o: undefined as never, given };
  const command = COMMANDS[cmd];
  if (!command) throw new InputError(`unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')}; see ptcheck --help)`);
  for (const f of given) {
    if (f !== 'help' && f !== 'version' && !command.flags.includes(f)) {
      const takers = Object.entries(COMMANDS).filter(([, c]) => c.flags.includes(f)).map(([n]) => n);
      throw new InputError(`--${f} does not apply to '${cmd}' (it is an option of ${takers.join(' and ')})`);
    }
  }
  conflicts(given, v);
  const params: Record<string, number> = {};
  for (const p of v.param ?? []) {
    const m = /^([A-Za-z_][\w-]*)=(-?\d+)$/.exec(p);
    if (!m) throw new InputError(`--param takes name=integer, not '${p}'`);
    if (m[1]! in params) throw new InputError(`--param ${m[1]} is given twice; give it once`);
    params[m[1]!] = Number(m[2]);
  }
  const timeout = v.timeout === undefined ? undefined : Number(v.timeout);
  if (v.timeout !== undefined && !(Number.isFinite(timeout) && timeout! > 0)) {
    throw new InputError(`--timeout takes a positive number of seconds, not '${v.timeout}'`);
  }
  const stepTimeout = v['step-timeout'] === undefined ? undefined : Number(v['step-timeout']);
  if (v['step-timeout'] !== undefined && !(Number.isFinite(stepTimeout) && stepTimeout! > 0)) {
    throw new InputError(`--step-timeout takes a positive number of seconds, not '${v['step-timeout']}'`);
  }
  const mem = posInt('--memory', v.memory);
  const time = v.time === undefined ? undefined : Number(v.time);
  if (v.time !== undefined && !(Number.isFinite(time) && time! > 0)) throw new InputError(`--time takes a positive number of seconds, not '${v.time}'`);
  if (v.seed !== undefined && !(/^\d+$/.test(v.seed) && Number.isSafeInteger(Number(v.seed)))) {
    throw new InputError(`--seed takes a whole number from 0 to 2^53-1, not '${v.seed}'`);
  }
  if (v['max-preemptions'] !== undefined && !/^\d+$/.test(v['max-preemptions'])) {
    throw new InputError(`--max-preemptions takes a whole number (0 or more), not '${v['max-preemptions']}'`);
  }
  const limits: Limits = {
    maxStates: posInt('--max-states', v['max-states']) ?? NO_LIMITS.maxStates,
    maxDepth: posInt('--max-depth', v['max-depth']) ?? NO_LIMITS.maxDepth,
    deadline: Infinity, // set when the first search starts: loading and typechecking do not count
    maxTableBytes: mem !== undefined ? mem * 2 ** 20 : NO_LIMITS.maxTableBytes,
  };
  return {
    cmd,
    pos,
    given,
    o: {
      ...(v.variant !== undefined ? { variant: v.variant } : {}),
      ...(v['variant-file'] !== undefined ? { variantFile: v['variant-file'] } : {}),
      ...(v['model-file'] !== undefined ? { modelFile: v['model-file'] } : {}),
      ...(v.html !== undefined ? { html: v.html } : {}),
      ...(v['from-trace'] !== undefined ? { fromTrace: v['from-trace'] } : {}),
      params,
      all: !!v.all,
      first: !!v.first,
      coverage: !!v.coverage,
      ...(v.witness !== undefined ? { witness: v.witness } : {}),
      wide: !!v.wide,
      verbose: !!v.verbose,
      strategy: v.shortest || v.bfs ? 'bfs' : 'dfs',
      limits,
      ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
      json: !!v.json,
      ...(v['trace-out'] !== undefined ? { traceOut: v['trace-out'] } : {}),
      traces: !!v.traces,
      progress: !!v.progress,
      symmetry: !v['no-symmetry'],
      por: !v['no-por'],
      sleep: !v['no-por'] && !v['no-sleep-sets'],
      exact: !!v.exact,
      checkDeterminism: !!v['check-determinism'],
      checkReduction: !!v['check-reduction'],
      // verify only, and never with --no-por (the futures serve the partial-order reduction alone)
      // not by default under --check-determinism: a derivation holds only for steps that depend on the
      // state alone, and a step that does not must be named by that check, not by a derived future it leaves
      deriveFutures: cmd === 'verify' && !v['no-por'] && (v['derive-futures'] === true || (DERIVE_BY_DEFAULT && !v['no-derive-futures'] && !v['check-determinism'])),
      ...(stepTimeout !== undefined ? { stepTimeout } : {}),
      workers: posInt('--workers', v.workers) ?? availableParallelism(),
      ...(v.path !== undefined ? { path: v.path } : {}),
      ...(v.property !== undefined ? { property: v.property } : {}),
      ...(v['max-preemptions'] !== undefined ? { maxPreemptions: Number(v['max-preemptions']) } : {}),
      ...(v.seed !== undefined ? { seed: Number(v.seed) } : {}),
      ...(v.walks !== undefined ? { walks: posInt('--walks', v.walks)! } : {}),
      ...(v.depth !== undefined ? { depth: posInt('--depth', v.depth)! } : {}),
      ...(time !== undefined ? { time } : {}),
      swarm: !!v.swarm,
      ...(v.queue !== undefined ? { queue: v.queue } : {}),
      sweep: v.sweep ?? [],
      ...(v.seeds !== undefined ? { seeds: v.seeds } : {}),
    },
  };
}

/** Options that cannot be honoured together: an error, never one silently ignored. */
function conflicts(given: ReadonlySet<Flag>, v: { workers?: string | undefined }): void {
  const bfs = given.has('shortest') ? '--shortest' : given.has('bfs') ? '--bfs' : undefined;
  const threads = given.has('workers') && v.workers !== '1';
  if (bfs && given.has('dfs')) throw new InputError(`${bfs} and --dfs are two different searches; give one`);
  if (bfs && threads) throw new InputError(`${bfs} (breadth-first) runs in one thread; --workers applies to the depth-first search`);
  if (bfs && given.has('no-sleep-sets')) throw new InputError(`${bfs} (breadth-first) has no sleep sets; --no-sleep-sets applies to the depth-first search`);
  if (given.has('exact') && threads) throw new InputError('--exact keeps whole states in this thread; it cannot run with --workers');
  if (given.has('check-determinism') && threads) throw new InputError('--check-determinism runs in this thread; it cannot run with --workers');
  if (given.has('path') && given.has('from-trace')) throw new InputError('give either --path or --from-trace, not both');
  if (given.has('seeds')) {
    for (const f of ['max-preemptions', 'shortest', 'bfs', 'max-states', 'exact', 'memory'] as const) {
      if (given.has(f)) throw new InputError(`matrix --seeds runs simulations; --${f} applies to verification`);
    }
  }
  if (given.has('max-preemptions')) {
    // the bounded search is its own strategy, in this thread, over whole interleavings
    for (const f of ['shortest', 'bfs', 'dfs', 'exact', 'no-sleep-sets'] as const) {
      if (given.has(f)) throw new InputError(`--max-preemptions is its own search; --${f} does not apply to it`);
    }
    if (threads) throw new InputError('--max-preemptions runs in one thread; it cannot run with --workers');
  }
  if (given.has('derive-futures') && given.has('no-derive-futures')) throw new InputError('--derive-futures and --no-derive-futures contradict each other; give one');
  if (given.has('first') && given.has('all-violations')) throw new InputError('--first stops at the first violation, --all-violations determines every property; give one');
  if (given.has('check-reduction')) {
    // the comparison needs every property determined by a search that a reduction can change
    if (given.has('first')) throw new InputError('--check-reduction compares every property\'s verdict; --first leaves some undetermined');
    if (given.has('max-preemptions')) throw new InputError('--check-reduction compares whole searches; a --max-preemptions run is bounded and decides nothing to compare');
    if (given.has('no-por') && given.has('no-symmetry')) throw new InputError('--check-reduction compares a reduced run with an unreduced one; --no-por and --no-symmetry leave no reduction to check');
  }
}

// ---- running verifications ------------------------------------------------------------------

let current: Verification | undefined;

/**
 * Whether to stop a search for the heap: V8 ends a process whose heap runs out, results and all. Its
 * limit includes the young generation's reserve (3 x 16 MiB); the old space, what fills, is the rest.
 * Stop with room left to build the report: 15% of it, at least 16 MiB.
 */
function heapNearlyFull(): boolean {
  const h = getHeapStatistics();
  const old = Math.max(h.heap_size_limit - 48 * 2 ** 20, h.heap_size_limit / 2);
  return h.used_heap_size > old - Math.max(16 * 2 ** 20, old * 0.15);
}

async function drive(v: Verification, label: string, progress: ProgressLine, handOff?: HandOff): Promise<RunResult> {
  current = v;
  let heapFull = false;
  try {
    const typeError = typecheckFailure();
    if (typeError) throw typeError;
    if (stopSignal()) v.abort();
    const r = await v.run((states, depth, tableBytes) => {
      if (!heapFull && heapNearlyFull()) {
        heapFull = true;
        v.abort();
      }
      progress.tick({ label, states, depth, tableBytes, elapsedMs: v.elapsedMs });
    }, handOff);
    if (v.stopNote) process.stderr.write(`ptcheck: ${v.stopNote}\n`);
    // stopped for the heap, not by a signal: say so (an INCOMPLETE, exit 3)
    if (heapFull && !stopSignal() && r.outcome.kind === 'incomplete' && r.outcome.reason === 'interrupted') {
      return { ...r, outcome: { kind: 'incomplete', reason: 'heap' } };
    }
    return r;
  } finally {
    progress.clear();
    current = undefined;
  }
}

/** What a command runs: a shipped variant, or a variant file on top of one. */
interface Target {
  readonly lm: LoadedModel;
  readonly variant: string;
  readonly summary: string;
  /** command-line words that name this target again */
  readonly args: string;
  /**
   * expected verdicts at the resolved parameters; undefined: the spec's row. A variant file's are its
   * base variant's row with the file's own expectations over it.
   */
  expect(params: Readonly<Record<string, number>>): Readonly<Record<string, Verdict>> | undefined;
  /** the variant file, when there is one (named in model errors) */
  readonly file?: string;
  /** how worker threads load this target */
  modelRef(params: Readonly<Record<string, number>>): ModelRef;
  instantiate(params: Readonly<Record<string, number>>, copts?: CompileOptions): Instance;
}

function defaultExpect(spec: SpecModule): Record<string, Verdict> {
  return Object.fromEntries(spec.properties.map((p) => [p.name, p.kind === 'sometimes' ? 'reachable' : 'holds']));
}

/** The targets of a variant file's variants (one, or several: a bug/fix matrix), on model `modelRef`. */
async function fileTargets(modelRef: string | LoadedModel, variantFile: string): Promise<Target[]> {
  const lm = typeof modelRef === 'string' ? await loadModel(modelRef) : modelRef;
  const lvs = await loadVariantFile(variantFile, lm);
  const several = lvs.length > 1;
  return lvs.map(({ variant: uv, model, path }) => {
    const base = baseOf(uv);
    return {
      lm: model,
      variant: uv.name,
      summary: `${uv.summary} (variant file ${variantFile}, on top of ${base})`,
      args: `${lm.ref} --variant-file ${variantFile}${several ? ` --variant ${uv.name}` : ''}`,
      file: variantFile,
      // workers load the very files this thread loaded, never a model found by its name
      modelRef: (params) => ({ modelPath: model.path, specPath: model.specPath, variant: uv.name, params, variantFile: path }),
      // what the file does not say is as its base has it: the base's row, at these parameters
      expect: (params) => ({ ...defaultExpect(lm.spec), ...(expectRow(lm.spec, base, params) ?? {}), ...userExpect(uv, params) }),
      instantiate: (params, copts) => instantiateUserVariant(uv, variantFile, params, copts),
    };
  });
}

function pickVariant(ts: readonly Target[], variant: string | undefined, variantFile: string): Target {
  if (variant === undefined) {
    if (ts.length === 1) return ts[0]!;
    throw new InputError(`variant file ${variantFile} holds ${ts.length} variants (${ts.map((t) => t.variant).join(', ')}); name one with --variant`);
  }
  const t = ts.find((x) => x.variant === variant);
  if (!t) throw new InputError(`variant file ${variantFile} has no variant '${variant}' (its variants: ${ts.map((x) => x.variant).join(', ')})`);
  return t;
}

/** The target a command names: a model (loaded once, by name or by path) with a variant or a variant file. */
async function target(modelRef: string | LoadedModel, variant: string | undefined, variantFile: string | undefined): Promise<Target> {
  if (variantFile !== undefined) return pickVariant(await fileTargets(modelRef, variantFile), variant, variantFile);
  const lm = typeof modelRef === 'string' ? await loadModel(modelRef) : modelRef;
  return shippedTarget(lm, variant);
}

function shippedTarget(lm: LoadedModel, variant: string | undefined): Target {
  checkSpec(lm);
  if (variant === undefined) throw new InputError('needs --variant or --variant-file');
  const vd = Object.hasOwn(lm.module.variants, variant) ? lm.module.variants[variant] : undefined;
  if (!vd) throw new InputError(`model '${lm.module.name}' has no variant '${variant}' (variants: ${Object.keys(lm.module.variants).join(', ')})`);
  return {
    lm,
    variant,
    summary: vd.summary,
    args: `${lm.ref} --variant ${variant}`,
    expect: () => undefined,
    modelRef: (params) => ({ modelPath: lm.path, specPath: lm.specPath, variant, params }),
    instantiate: (params, copts) => instantiate(lm.module, variant, params, copts),
  };
}

/** The HTML viewer is loaded only when asked for. */
async function htmlOf(t: Trace, states: ReturnType<typeof snapshots>, replayLine: string): Promise<string> {
  const { traceHtml } = await import('../report/html.ts');
  return traceHtml(t, states, { replay: replayLine });
}

function replayCommand(args: string, t: Trace): string {
  const params = Object.entries(t.params).map(([k, v]) => ` --param ${k}=${v}`).join('');
  return `npx ptcheck replay ${args}${params} --path ${compactPath(parsePath(t.path)) || '-'} --property ${t.property.name}`;
}

/**
 * The trace of every discovery (violations only, or also sometimes witnesses), told with fewer switches.
 * A trace of a file loaded by path names that file, so that replaying it needs the same file named again.
 */
function tracesOf(inst: Instance, engine: Engine, r: RunResult, onlyViolations: boolean, t: Target): Trace[] {
  const out: Trace[] = [];
  r.properties.forEach((p, k) => {
    if (!p.path) return;
    if (onlyViolations && p.status !== 'violated') return;
    out.push(withFiles(buildTrace(inst, engine, readablePath(engine, p.path, k), k), t));
  });
  return out;
}

/** A trace with the files it was made from, when they are not shipped ones. */
function withFiles(tr: Trace, t: Target): Trace {
  return {
    ...tr,
    ...(t.lm.shipped ? {} : { modelFile: resolve(t.lm.path) }),
    ...(t.file === undefined ? {} : { variantFile: resolve(t.file) }),
  };
}

/**
 * Before any search: every file the run will write can be written (its folder exists and takes a new
 * file), so a typo costs nothing instead of a whole run.
 */
function checkOutputs(o: Opts): void {
  for (const [flag, file] of [['--trace-out', o.traceOut], ['--html', o.html]] as const) {
    if (file === undefined) continue;
    const path = resolve(file);
    const dir = dirname(path);
    if (!existsSync(dir)) throw new InputError(`${flag} ${file}: folder ${dir} does not exist`);
    if (!statSync(dir).isDirectory()) throw new InputError(`${flag} ${file}: ${dir} is not a folder`);
    if (existsSync(path) && statSync(path).isDirectory()) throw new InputError(`${flag} ${file} is a folder`);
    const probe = `${path}.tmp-${process.pid}`;
    try {
      writeFileSync(probe, '', { flag: 'wx' });
    } catch (e) {
      throw new InputError(`${flag} ${file}: cannot write in ${dir}: ${firstLineOf(e)}`);
    } finally {
      rmSync(probe, { force: true });
    }
  }
}

function firstLineOf(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0]!;
}

/**
 * Writes through a temp file renamed into place (a reader never sees half a file); on failure the temp
 * file is removed and the error returned as one line, for the caller to report after the result.
 */
async function writeFileAtomic(file: string, text: string): Promise<string | undefined> {
  await typechecksSettled(); // a file that does not typecheck writes no trace either
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    return undefined;
  } catch (e) {
    rmSync(tmp, { force: true });
    return `cannot write ${file}: ${firstLineOf(e)}`;
  }
}

function exitFor(results: readonly RunResult[], strict: boolean): number {
  if (results.some((r) => r.outcome.kind === 'incomplete' && r.outcome.reason === 'interrupted')) return SIGNAL_EXIT[stopSignal() ?? 'SIGINT'];
  const violated = results.some((r) => r.properties.some((p) => p.status === 'violated'));
  const mismatch = results.some((r) => r.properties.some(isMismatch));
  if (mismatch || (strict && violated)) return EXIT.VIOLATION;
  if (results.some((r) => r.outcome.kind === 'incomplete')) return EXIT.INCOMPLETE;
  return EXIT.OK;
}

function checkSpec(lm: LoadedModel): void {
  const problems = expectProblems(lm.spec, Object.keys(lm.module.variants));
  if (problems.length) throw new InputError(`spec for '${lm.module.name}' is inconsistent: ${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`);
}

/** Builds the model instance (the model's own code: build, variant edits) under the step bound. */
function instantiateBounded(t: Target, params: Readonly<Record<string, number>>, o: Pick<Opts, 'stepTimeout'> & Partial<Pick<Opts, 'deriveFutures'>>, gaveUp?: string): Instance {
  const seconds = o.stepTimeout ?? DEFAULT_STEP_TIMEOUT_S;
  // derived futures (--no-derive-futures: none): src/por/derive-futures.ts, run on the compiled model before any search
  // (through the derivation cache, src/cli/derive-cache.ts: a model unchanged since its last run is not derived again)
  const copts: CompileOptions = gaveUp !== undefined ? { deriveFutures: gaveUpDerivation(gaveUp) } : o.deriveFutures ? { deriveFutures: cachedDerivation(t.modelRef(params)) } : {};
  try {
    return underStepBound(seconds, () => t.instantiate(params, copts));
  } catch (e) {
    if (!(e instanceof SliceInterrupted && e.why.kind === 'stuck')) throw e;
    // the derivation runs steps on states no search may reach, all within this bound: one that does not
    // end in time gives up (the run is then the one without it), and a step looping on a reachable
    // state is met by the search, which names it with the path to it
    if (o.deriveFutures && gaveUp === undefined) return instantiateBounded(t, params, o, `it did not end within the step bound (${seconds} s; --step-timeout)`);
    throw new ModelError(`model '${t.lm.module.name}' [${t.variant}]: building it did not return within ${seconds} s (a loop that never ends?)`);
  }
}

async function runTarget(t: Target, o: Opts, progress: ProgressLine, stopAtFirst: boolean) {
  if (o.timeoutMs !== undefined && o.limits.deadline === Infinity) o.limits = { ...o.limits, deadline: Date.now() + o.timeoutMs };
  const inst = instantiateBounded(t, o.params, o);
  const { v, r } = await searchTarget(t, o, progress, inst, stopAtFirst, o, '');
  if (!o.checkReduction) return { inst, v, r };
  // --check-reduction: the same search again, on a new instance, with every reduction off
  const reductions: ReductionName[] = [
    ...(o.por ? (['partial-order'] as const) : []),
    ...(o.sleep ? (['sleep-sets'] as const) : []),
    ...(o.symmetry && new Canonicalizer(inst.compiled).active ? (['symmetry'] as const) : []),
  ];
  const unreduced = stopSignal() ? undefined : (await searchTarget(t, o, progress, instantiateBounded(t, o.params, { ...o, deriveFutures: false }), stopAtFirst, { symmetry: false, por: false, sleep: false }, ' (no reduction)')).r;
  return { inst, v, r, check: compareReduction(r, unreduced, reductions), unreduced };
}

/** One search of a target's instance, with the reductions `red` says. */
async function searchTarget(t: Target, o: Opts, progress: ProgressLine, inst: Instance, stopAtFirst: boolean, red: Pick<Opts, 'symmetry' | 'por' | 'sleep'>, label: string) {
  const expect = t.expect(inst.params);
  const v = new Verification(inst, t.lm.spec, {
    ...(expect ? { expect } : {}),
    strategy: o.strategy,
    stopAtFirst,
    limits: o.limits,
    symmetry: red.symmetry,
    por: red.por,
    sleep: red.sleep,
    exact: o.exact,
    checkDeterminism: o.checkDeterminism,
    ...(o.maxPreemptions !== undefined ? { maxPreemptions: o.maxPreemptions } : {}),
    ...(o.stepTimeout !== undefined ? { stepTimeout: o.stepTimeout } : {}),
    ...(seedsVisible(inst.compiled) ? {} : { seedVisible: false }),
  });
  let r: RunResult;
  // PTCHECK_HANDOFF=N (debugging, tests): hand off to the workers at N states, waiting for them
  const forced = Number(process.env.PTCHECK_HANDOFF) > 0 ? Number(process.env.PTCHECK_HANDOFF) : undefined;
  const handOff =
    o.workers > 1 && o.strategy === 'dfs' && !o.checkDeterminism && !o.exact && o.maxPreemptions === undefined
      ? parallelHandOff(o.workers, { ...t.modelRef(inst.params), ...(o.deriveFutures ? { deriveFutures: true, derived: derivedEntryOf(inst.compiled) } : {}) }, forced, forced !== undefined)
      : undefined;
  try {
    r = await drive(v, `${t.lm.module.name} [${t.variant}]${label}`, progress, handOff);
  } catch (e) {
    const err = e instanceof StuckStepError ? await withStuckTrace(e, t, inst, o.traceOut) : e;
    if (err instanceof ModelError && t.file) throw new ModelError(`${t.file}: ${err.message}`);
    throw err;
  }
  return { v, r };
}

/**
 * A stuck step's model error, and with --trace-out the trace of the path to it (the stuck step named,
 * not run) written there, so that `replay` shows the way to it. The path stays in the message whatever
 * becomes of the file.
 */
async function withStuckTrace(e: StuckStepError, t: Target, inst: Instance, file: string | undefined): Promise<ModelError> {
  if (file === undefined) return e;
  const engine = new Engine(inst.compiled, t.lm.spec.properties as readonly Property[]);
  const path = e.path;
  const stuck = { thread: e.thread, label: e.label, seconds: e.seconds, ...(path ? { path: pathToString(path) } : {}) };
  let tr: Trace;
  try {
    resetReplaying();
    tr = withFiles(underStepBound(e.seconds, () => stuckTrace(inst, engine, e.prefix, stuck)), t);
  } catch (x) {
    if (!(x instanceof ModelError || x instanceof SliceInterrupted)) throw x;
    return new ModelError(`${e.message}; no trace written: the path to it did not replay (${firstLineOf(x)})`);
  }
  const err = await writeFileAtomic(file, JSON.stringify(tr, null, 2) + '\n');
  if (err) return new ModelError(`${e.message}; no trace written: ${err}`);
  const again = `ptcheck replay ${file}${tr.modelFile ? ` --model-file ${tr.modelFile}` : ''}${tr.variantFile ? ` --variant-file ${tr.variantFile}` : ''}`;
  return new ModelError(`${e.message}; ${path ? 'trace of the path to it' : 'trace of the path to that state'} written to ${file} (${again})`);
}

/** The sometimes property --witness names, checked before the search. */
function witnessIndex(t: Target, name: string): number {
  const props = t.lm.spec.properties;
  const k = props.findIndex((p) => p.name === name);
  if (k < 0) throw new InputError(`model '${t.lm.module.name}' has no property '${name}' (sometimes properties: ${props.filter((p) => p.kind === 'sometimes').map((p) => p.name).join(', ') || 'none'})`);
  if (props[k]!.kind !== 'sometimes') throw new InputError(`--witness takes a sometimes property; '${name}' is a ${props[k]!.kind} property (its counterexample, if any, is printed anyway)`);
  return k;
}

async function verifyOne(t: Target, o: Opts, progress: ProgressLine): Promise<number> {
  const wk = o.witness !== undefined ? witnessIndex(t, o.witness) : -1;
  const { inst, v, r, check, unreduced } = await runTarget(t, o, progress, o.first);
  const traces = tracesOf(inst, v.engine, r, true, t);
  const wp = wk >= 0 ? r.properties[wk]! : undefined;
  const witness = wp?.path ? withFiles(buildTrace(inst, v.engine, readablePath(v.engine, wp.path, wk), wk), t) : undefined;
  const first = traces[0];
  // a write that fails after the search loses nothing else: the result still goes to stdout
  const failed: string[] = [];
  const written: string[] = [];
  if (o.traceOut && first) {
    const err = await writeFileAtomic(o.traceOut, JSON.stringify(first, null, 2) + '\n');
    if (err) failed.push(err);
    else written.push(`trace written to ${o.traceOut}`);
  }
  if (o.html && first) {
    const err = await writeFileAtomic(o.html, await htmlOf(first, snapshots(inst, v.engine, parsePath(first.path)), replayCommand(t.args, first)));
    if (err) failed.push(err);
    else written.push(`HTML viewer written to ${o.html}`);
  }
  if (o.json) {
    const extra = { ...(wp ? { witness: witness ?? null } : {}), ...(check ? { reductionCheck: check } : {}) };
    process.stdout.write(JSON.stringify(resultJson(r, traces, { changes: inst.changes, ...extra }), null, 2) + '\n');
  } else {
    process.stdout.write(
      resultText(r, { traces, replayLine: (tr) => replayCommand(t.args, tr), summary: t.summary, changes: inst.changes, wide: o.wide, verbose: o.verbose, coverage: o.coverage }) + '\n',
    );
    if (witness) {
      process.stdout.write(`\nwitness: the path that reaches ${wp!.name}\n\n`);
      process.stdout.write(raceDiagram(witness, { replay: replayCommand(t.args, witness), wide: o.wide }) + '\n');
    } else if (wp) {
      process.stdout.write(`\nwitness: ${wp.name} is ${wp.status === 'unreachable' ? 'unreachable: no path reaches it' : `${wp.status}: the run did not reach it`}\n`);
    }
    if (check) process.stdout.write(`\n${reductionCheckText(check).join('\n')}\n`);
    for (const w of written) process.stdout.write(w + '\n');
    if ((o.traceOut || o.html) && !first) process.stdout.write('no counterexample: nothing written\n');
  }
  for (const f of failed) process.stderr.write(`ptcheck: ${f}\n`);
  return withCheck(exitFor([r], true), check, unreduced, `${t.lm.module.name} [${t.variant}]`);
}

/**
 * The exit code once --check-reduction has compared: a verdict the reduction changed is ptcheck's own
 * bug (exit 4, named on stderr); an unreduced run that did not finish leaves the check undone (exit 3,
 * unless the run itself already says more).
 */
function withCheck(code: number, check: ReductionCheck | undefined, unreduced: RunResult | undefined, what: string): number {
  if (!check) return code;
  if (check.result === 'differs') {
    process.stderr.write(`ptcheck: ${disagreementLine(check, what)}\n`);
    return EXIT.INTERNAL;
  }
  if (code !== EXIT.OK) return code;
  if (!unreduced) return stopSignal() ? SIGNAL_EXIT[stopSignal()!] : EXIT.INCOMPLETE;
  const off = exitFor([unreduced], false);
  return off === EXIT.OK && check.result !== 'agrees' ? EXIT.INCOMPLETE : off;
}

/** One matrix: a model's shipped variants, or a variant file's. */
interface MatrixGroup {
  readonly title: string;
  readonly targets: readonly Target[];
}

function shippedGroup(lm: LoadedModel): MatrixGroup {
  checkSpec(lm);
  return { title: lm.module.name, targets: Object.keys(lm.module.variants).map((v) => shippedTarget(lm, v)) };
}

async function verifyMatrix(groups: readonly MatrixGroup[], o: Opts, progress: ProgressLine): Promise<number> {
  const all: RunResult[] = [];
  const jsonOut: object[] = [];
  /** --check-reduction: each row's exit code once its check is counted */
  const checked: number[] = [];
  const checkResults: ReductionCheck['result'][] = [];
  for (const g of groups) {
    const results: RunResult[] = [];
    const checks: (ReductionCheck | undefined)[] = [];
    const diagrams: string[] = [];
    for (const t of g.targets) {
      const { inst, v, r, check, unreduced } = await runTarget(t, o, progress, false);
      results.push(r);
      checks.push(check);
      if (check) {
        checked.push(withCheck(exitFor([r], false), check, unreduced, `${t.lm.module.name} [${t.variant}]`));
        checkResults.push(check.result);
      }
      if (o.json || o.traces) {
        const traces = tracesOf(inst, v.engine, r, true, t);
        if (o.json) jsonOut.push(resultJson(r, traces, { changes: inst.changes, ...(check ? { reductionCheck: check } : {}) }));
        for (const tr of traces) diagrams.push(raceDiagram(tr, { replay: replayCommand(t.args, tr), wide: o.wide }));
      }
      if (stopSignal()) break;
    }
    all.push(...results);
    if (!o.json) {
      process.stdout.write(matrixText(g.title, results, o.checkReduction ? checks : undefined) + '\n');
      for (const r of results) for (const l of coverageText(r, false)) process.stdout.write(`  [${r.variant}]${l.slice(1)}\n`);
      process.stdout.write('\n');
      for (const d of diagrams) process.stdout.write(d + '\n\n');
    }
    if (stopSignal()) break;
  }
  // a changed verdict anywhere is ptcheck's bug (4); then what the runs say; then an unfinished check (3)
  const ran = exitFor(all, false);
  const code = checked.includes(EXIT.INTERNAL) ? EXIT.INTERNAL : ran !== EXIT.OK ? ran : (checked.find((c) => c !== EXIT.OK) ?? EXIT.OK);
  if (o.json) {
    process.stdout.write(JSON.stringify({ format: 'ptcheck-matrix', version: 1, results: jsonOut }, null, 2) + '\n');
  } else {
    const cells = all.reduce((n, r) => n + r.properties.length, 0);
    const mism = all.reduce((n, r) => n + r.properties.filter(isMismatch).length, 0);
    const inc = all.filter((r) => r.outcome.kind === 'incomplete').length;
    const summary =
      ran === EXIT.OK
        ? `all ${cells} verdicts of ${all.length} model variants match their expectations`
        : stopSignal()
          ? 'interrupted: the matrix is incomplete'
          : `${mism} of ${cells} verdicts differ from their expectations` + (inc ? `; ${inc} runs incomplete` : '');
    process.stdout.write(`${summary}\n`);
    if (o.checkReduction && !stopSignal()) {
      const n = (x: ReductionCheck['result']) => checkResults.filter((c) => c === x).length;
      process.stdout.write(
        n('differs')
          ? `reduction check: the reduction changed a verdict in ${n('differs')} of ${checkResults.length} model variants (named above): exit 4\n`
          : `reduction check: ${n('agrees')} of ${checkResults.length} model variants agree with every reduction off${n('incomplete') ? `; ${n('incomplete')} INCOMPLETE (agreement not established)` : ''}\n`,
      );
    }
    if (code === EXIT.OK) process.stdout.write('(for a race diagram: ptcheck verify <model> --variant <variant>)\n');
  }
  return code;
}

function progressFor(o: Opts): ProgressLine {
  return new ProgressLine(process.stderr, !!process.stderr.isTTY && !o.json, o.progress);
}

async function cmdVerify(pos: string[], o: Opts): Promise<number> {
  const progress = progressFor(o);
  const file = o.variantFile !== undefined && !o.all && pos.length === 1 ? await fileTargets(pos[0]!, o.variantFile) : undefined;
  const matrix = o.all || (o.variant === undefined && (file === undefined || file.length > 1));
  if (matrix) {
    // one file per run cannot hold a matrix's traces: say so rather than write one of them
    for (const [f, on] of [['--trace-out', o.traceOut], ['--html', o.html], ['--first', o.first || undefined], ['--witness', o.witness]] as const) {
      if (on !== undefined) throw new InputError(`${f} applies to one variant (--variant or --variant-file); a matrix run prints its traces with --traces`);
    }
  } else if (o.traces) {
    throw new InputError('--traces applies to a matrix run (no --variant); one variant always prints its race diagram');
  }
  checkOutputs(o);
  if (o.all) {
    if (pos.length) throw new InputError('verify --all takes no model name');
    await typecheckShipped();
    const groups: MatrixGroup[] = [];
    for (const n of shippedModelNames()) groups.push(shippedGroup(await loadModel(n)));
    // a file in models/ that --all does not check must not go unnoticed
    if (!o.json) for (const f of unnamedModelFiles()) process.stdout.write(`(models/${f}: not a model name, so not in --all; verify it by path)\n`);
    return verifyMatrix(groups, o, progress);
  }
  if (pos.length !== 1) throw new InputError('verify needs one model name or model file (see ptcheck list)');
  if (file) {
    if (matrix) return verifyMatrix([{ title: `${file[0]!.lm.module.name} (${o.variantFile})`, targets: file }], o, progress);
    return verifyOne(pickVariant(file, o.variant, o.variantFile!), o, progress);
  }
  if (matrix) return verifyMatrix([shippedGroup(await loadModel(pos[0]!))], o, progress);
  return verifyOne(await target(pos[0]!, o.variant, undefined), o, progress);
}

// ---- diff -------------------------------------------------------------------------------------

/** Both variants, side by side: verdicts, what B introduces or fixes, state-space sizes. */
async function cmdDiff(pos: string[], o: Opts): Promise<number> {
  const file = o.variantFile;
  if (!(pos.length === 3 || (file !== undefined && pos.length === 2))) {
    throw new InputError('diff needs <model> <variantA> <variantB> (shipped, or in --variant-file F), or <model> <variantA> --variant-file F');
  }
  if (o.variant !== undefined) throw new InputError('diff takes its variants as arguments, not --variant');
  const progress = progressFor(o);
  const lm = await loadModel(pos[0]!);
  const inFile = file !== undefined ? await fileTargets(lm, file) : [];
  // a name is the file's variant if the file has one by that name, else the model's
  const named = async (v: string) => inFile.find((t) => t.variant === v) ?? (await target(lm, v, undefined));
  const a = await named(pos[1]!);
  const b = pos.length === 3 ? await named(pos[2]!) : pickVariant(inFile, undefined, file!);
  const ra = await runTarget(a, o, progress, false);
  const rb = await runTarget(b, o, progress, false);
  const tb = tracesOf(rb.inst, rb.v.engine, rb.r, true, b);
  const introduced = rb.r.properties.filter((p, i) => p.status === 'violated' && ra.r.properties[i]?.status === 'holds');
  if (o.json) {
    process.stdout.write(
      JSON.stringify(
        { format: 'ptcheck-diff', version: 1, a: resultJson(ra.r, [], { changes: ra.inst.changes }), b: resultJson(rb.r, tb, { changes: rb.inst.changes }) },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stdout.write(diffText(ra.r, rb.r, { aChanges: ra.inst.changes, bChanges: rb.inst.changes, bSummary: b.summary, verbose: o.verbose }) + '\n');
    const shown = tb.filter((t) => introduced.some((p) => p.name === t.property.name));
    for (const t of shown) process.stdout.write('\n' + raceDiagram(t, { replay: replayCommand(b.args, t), wide: o.wide }) + '\n');
  }
  if (introduced.length) return EXIT.VIOLATION;
  if (ra.r.outcome.kind === 'incomplete' || rb.r.outcome.kind === 'incomplete') {
    const stopped = [ra.r, rb.r].some((r) => r.outcome.kind === 'incomplete' && r.outcome.reason === 'interrupted');
    return stopped ? SIGNAL_EXIT[stopSignal() ?? 'SIGINT'] : EXIT.INCOMPLETE;
  }
  return EXIT.OK;
}

// ---- replay -----------------------------------------------------------------------------------

/** Re-executes a path; reports which properties are violated along it and where. */
async function cmdReplay(pos: string[], o: Opts): Promise<number> {
  if (pos.length !== 1) throw new InputError('replay needs a trace file, or a model with --variant and --path');
  checkOutputs(o);
  let t: Target;
  let params: Record<string, number>;
  let pathText: string;
  let propName: string | undefined;
  let recorded: Trace | undefined;
  if (pos[0]!.endsWith('.json')) {
    recorded = readTraceFile(pos[0]!);
    if (o.variant !== undefined || o.path !== undefined || o.fromTrace !== undefined || Object.keys(o.params).length) {
      throw new InputError('a trace file carries its variant, parameters and path; to re-run it on another variant: ptcheck replay <model> --variant V --from-trace FILE');
    }
    // the trace is data: it can only name a shipped model, or files the command line names too
    const given = { ...(o.modelFile !== undefined ? { modelFile: o.modelFile } : {}), ...(o.variantFile !== undefined ? { variantFile: o.variantFile } : {}) };
    const src = traceSource(recorded, pos[0]!, given, shippedModelNames());
    const lm = await loadModel(src.model);
    if (lm.module.name !== recorded.model) {
      throw new InputError(`${pos[0]} is a trace of model '${recorded.model.slice(0, 80)}'; ${shown(lm.path)} defines '${lm.module.name}'`);
    }
    t = await target(lm, recorded.variant, src.variantFile);
    params = { ...recorded.params };
    pathText = recorded.path;
    // a trace of a stuck step names the property it broke, which no spec has
    propName = recorded.stuck ? undefined : recorded.property.name;
  } else {
    if (o.modelFile !== undefined) throw new InputError('--model-file goes with a trace file: ptcheck replay trace.json --model-file FILE');
    t = await target(pos[0]!, o.variant, o.variantFile);
    if (o.fromTrace !== undefined) {
      if (o.path !== undefined) throw new InputError('give either --path or --from-trace, not both');
      recorded = readTraceFile(o.fromTrace);
      if (recorded.model !== t.lm.module.name) {
        throw new InputError(`${o.fromTrace} is a trace of '${recorded.model}', not of '${t.lm.module.name}'`);
      }
      params = { ...recorded.params, ...o.params };
      pathText = recorded.path;
      propName = o.property ?? (recorded.stuck ? undefined : recorded.property.name);
    } else {
      if (o.path === undefined) throw new InputError('replay of a model needs --path (as printed after a counterexample) or --from-trace');
      params = o.params;
      pathText = o.path;
      propName = o.property;
    }
  }
  const inst = instantiateBounded(t, params, o);
  const props = t.lm.spec.properties as readonly Property[];
  const engine = new Engine(inst.compiled, props);
  const choices = parsePath(pathText);
  let k = propName === undefined ? -1 : props.findIndex((p) => p.name === propName);
  if (propName !== undefined && k < 0) throw new InputError(`model '${t.lm.module.name}' has no property '${propName}'`);
  // every piece of model code below runs under the step bound: a step that never returns is named
  const seconds = o.stepTimeout ?? DEFAULT_STEP_TIMEOUT_S;
  const bounded = <T>(f: () => T): T => {
    resetReplaying();
    try {
      return underStepBound(seconds, f);
    } catch (e) {
      if (e instanceof SliceInterrupted && e.why.kind === 'stuck') throw stuckOnPath(engine, choices, seconds);
      throw e;
    }
  };
  let steps;
  try {
    steps = bounded(() => replay(engine, choices));
  } catch (e) {
    if (e instanceof ReplayError) {
      const where = recorded ? ` (recorded there: ${recorded.steps?.[e.stepIndex]?.thread ?? '?'} ${recorded.steps?.[e.stepIndex]?.label ?? '?'})` : '';
      throw new InputError(`replay diverges at ${e.message}${where}`);
    }
    throw e;
  }
  // Where is each property first violated (or reached) along the path?
  const firstAt = new Map<number, number>();
  const stuck = recorded?.stuck;
  let terminal = true;
  bounded(() => {
    const last = steps.length ? steps[steps.length - 1]!.after : Int32Array.from(inst.compiled.init);
    const initMask = engine.check(Int32Array.from(inst.compiled.init), engine.sometimesMask);
    for (let i = 0; i < 31; i++) if (initMask & (1 << i)) firstAt.set(i, 0);
    steps.forEach((s, i) => {
      const m = engine.check(s.after, engine.sometimesMask);
      for (let b = 0; b < props.length; b++) if (m & (1 << b) && !firstAt.has(b)) firstAt.set(b, i + 1);
    });
    // a trace of a stuck step ends before a step that did not return: the state is not terminal
    if (stuck) terminal = false;
    const probe = new Int32Array(engine.W);
    for (let th = 0; th < engine.T && terminal; th++) {
      const n = engine.alts(last, 0, th);
      for (let a = 0; a < n; a++) if (engine.successor(last, 0, th, a, probe)) terminal = false;
    }
    if (terminal) {
      const m = engine.terminal(Int32Array.from(last));
      for (let b = 0; b < props.length; b++) if (m & (1 << b) && !firstAt.has(b)) firstAt.set(b, steps.length);
    }
  });
  if (k < 0) k = [...firstAt.keys()].find((b) => props[b]!.kind !== 'sometimes') ?? -1;
  const violated = [...firstAt.entries()].filter(([b]) => props[b]!.kind !== 'sometimes');
  // a path that does not show what was asked is drawn as a path: no verdict words on it
  const shows = k >= 0 && firstAt.has(k);
  const heading = stuck
    ? `the path to ${stuck.path ? 'the step' : 'the state explored when'} ${stuck.thread}.${stuck.label}${stuck.path ? ', which' : ''} did not return within ${stuck.seconds} s`
    : shows
    ? undefined
    : violated.length === 0
      ? 'no violation on this path'
      : k >= 0 && props[k]!.kind === 'sometimes'
        ? `${props[k]!.name} not reached on this path`
        : `${props[k]!.name} not violated on this path`;
  const trace = bounded(() => buildTrace(inst, engine, choices, k >= 0 ? k : 0));
  if (recorded && Array.isArray(recorded.steps)) {
    const n = Math.min(recorded.steps.length, trace.steps.length);
    for (let i = 0; i < n; i++) {
      const was = recorded.steps[i];
      const now = trace.steps[i]!;
      if (was?.fp !== now.fp) {
        const fmt = (cs: readonly { path: string; from: string; to: string }[] | undefined) =>
          (cs ?? []).map((c) => `${c.path}: ${c.from} -> ${c.to}`).join('; ') || 'no change';
        process.stdout.write(
          `diverges from the recorded trace at step ${i + 1} (${now.thread} ${now.label}):\n` +
            `  recorded: ${fmt(was?.changes)}\n  now:      ${fmt(now.changes)}\n\n`,
        );
        break;
      }
      if (was?.thread !== now.thread || was?.label !== now.label) {
        process.stdout.write(
          `diverges from the recorded trace at step ${i + 1}: recorded ${was?.thread} ${was?.label}, now ${now.thread} ${now.label}\n\n`,
        );
        break;
      }
    }
  }
  const htmlError = o.html ? await writeFileAtomic(o.html, await htmlOf(trace, bounded(() => snapshots(inst, engine, choices)), replayCommand(t.args, trace))) : undefined;
  process.stdout.write(raceDiagram(trace, { replay: replayCommand(t.args, trace), wide: o.wide, ...(heading !== undefined ? { heading } : {}) }) + '\n');
  if (htmlError) process.stderr.write(`ptcheck: ${htmlError}\n`);
  if (stuck) {
    // the stuck step itself is not run: it would take the whole bound, and end in the same model error
    process.stdout.write(
      stuck.path
        ? `\nstuck: the next step, ${stuck.thread}.${stuck.label}, did not return within ${stuck.seconds} s when it was checked; to run it again: ptcheck replay ${t.args}${Object.entries(trace.params).map(([n, v]) => ` --param ${n}=${v}`).join('')} --path ${stuck.path}\n`
        : `\nstuck: ${stuck.thread}.${stuck.label} did not return within ${stuck.seconds} s in a worker thread exploring from this state; the path below it is not known (verify with --workers 1 names it)\n`,
    );
  }
  const elsewhere = (skip: number) => violated.filter(([b]) => b !== skip).map(([b, at2]) => `${props[b]!.name} (step ${at2})`);
  if (k >= 0 && props[k]!.kind !== 'sometimes') {
    const at = firstAt.get(k);
    if (at === undefined) {
      process.stdout.write(`\nnot reproduced: the path replays (${steps.length} steps) but ${props[k]!.name} is not violated along it\n`);
      const others = elsewhere(k);
      if (others.length) process.stdout.write(`violated along this path instead: ${others.join(', ')}\n`);
      return EXIT.OK;
    }
    process.stdout.write(`\nreproduced: ${props[k]!.name} violated ${at === 0 ? 'in the initial state' : `at step ${at}`}\n`);
    const others = elsewhere(k);
    if (others.length) process.stdout.write(`also violated along this path: ${others.join(', ')}\n`);
    return EXIT.VIOLATION;
  }
  if (k >= 0) {
    const at = firstAt.get(k);
    process.stdout.write(at === undefined ? `\n${props[k]!.name} is not reached along this path\n` : `\n${props[k]!.name} reached ${at === 0 ? 'in the initial state' : `at step ${at}`}\n`);
    return EXIT.OK;
  }
  process.stdout.write(`\nthe path replays (${steps.length} steps); no property is violated along it\n`);
  return EXIT.OK;
}

// ---- matrix and queue workers ------------------------------------------------------------------

/**
 * One matrix cell, run as `verify` runs a matrix cell: every property determined, traces when wanted.
 * Models are loaded once per process (a model file is typechecked when loaded). --timeout is per cell.
 */
async function runCell(cell: MatrixCell, o: Opts, progress: ProgressLine): Promise<CellResult> {
  let lm = loadedForCells.get(cell.model);
  if (!lm) loadedForCells.set(cell.model, (lm = loadModel(cell.model)));
  const t = await target(await lm, cell.variant, undefined);
  const { inst, v, r } = await runTarget(t, { ...o, params: { ...cell.params } }, progress, false);
  const traces = o.json || o.traces ? tracesOf(inst, v.engine, r, true, t) : [];
  return {
    v: CELL_RESULT_VERSION,
    result: r,
    json: o.json ? resultJson(r, traces, { changes: inst.changes }) : null,
    diagrams: o.traces ? traces.map((tr) => raceDiagram(tr, { replay: replayCommand(t.args, tr) })) : [],
  };
}

const loadedForCells = new Map<string, Promise<LoadedModel>>();

/** One seed's simulation of a matrix cell, as `ptcheck simulate` runs it. */
async function runSimCell(cell: MatrixCell, job: SimJob, o: Opts): Promise<SimSeedResult> {
  let lm = loadedForCells.get(cell.model);
  if (!lm) loadedForCells.set(cell.model, (lm = loadModel(cell.model)));
  const t = await target(await lm, cell.variant, undefined);
  const { report, trace } = await simulateTarget(t, cell.params, {
    seed: job.seed,
    walks: job.walks ?? Infinity, // null: unlimited (until --time)
    maxDepth: job.depth,
    swarm: job.swarm,
    ...(job.timeMs !== null ? { timeMs: job.timeMs } : {}),
  }, o);
  const s = report.sim;
  const v = s.violation;
  return {
    v: CELL_RESULT_VERSION,
    kind: 'simulate',
    seed: job.seed,
    walks: s.walks,
    steps: s.steps,
    distinct: s.distinct,
    violation: v && trace ? { property: trace.property.name, walk: v.walk, path: trace.path, replay: report.replayLine ?? '' } : null,
    json: o.json ? simulationJson(report) : null,
    diagram: o.traces && trace ? raceDiagram(trace, { replay: report.replayLine ?? '' }) : null,
  };
}

/** The verdict matrix of models x variants x a parameter sweep, run here or by queue workers. */
async function cmdMatrix(pos: string[], o: Opts): Promise<number> {
  if (pos.length > 1) throw new InputError('matrix takes at most one model name or model file');
  if (o.variant !== undefined && pos.length === 0) throw new InputError('--variant needs a model name');
  const models: LoadedModel[] = [];
  if (pos.length) models.push(await loadModel(pos[0]!));
  else for (const n of shippedModelNames()) models.push(await loadModel(n));
  for (const lm of models) {
    checkSpec(lm);
    loadedForCells.set(cellModel(lm), Promise.resolve(lm));
  }
  const cells = matrixCells(models, pos.length > 0, o.variant, o.params, o.sweep.map(parseSweep));
  const progress = progressFor(o);
  // --simulate: one job per cell and seed of the range, each a whole simulation
  const seeds = o.seeds !== undefined ? seedRange(o.seeds) : undefined;
  if (!seeds && (o.walks !== undefined || o.depth !== undefined || o.time !== undefined || o.swarm)) {
    throw new InputError('--walks, --depth, --time and --swarm apply to simulations: matrix --seeds A..B');
  }
  const simJob = { walks: o.walks ?? (o.time !== undefined ? null : 10_000), depth: o.depth ?? 10_000, swarm: o.swarm, timeMs: o.time !== undefined ? o.time * 1000 : null };
  const jobs = cells.flatMap((cell): { cell: MatrixCell; simulate: SimJob | null }[] => {
    if (!seeds) return [{ cell, simulate: null }];
    const out = [];
    for (let seed = seeds.from; seed <= seeds.to; seed++) out.push({ cell, simulate: { seed, ...simJob } });
    return out;
  });
  let results: JobResult[] = [];
  if (o.queue !== undefined) {
    const { runOnQueue } = await import('./queue.ts');
    const opts: JobOptions = {
      maxStates: Number.isFinite(o.limits.maxStates) ? o.limits.maxStates : null,
      maxDepth: Number.isFinite(o.limits.maxDepth) ? o.limits.maxDepth : null,
      timeoutMs: o.timeoutMs ?? null,
      maxTableBytes: o.limits.maxTableBytes,
      symmetry: o.symmetry,
      por: o.por,
      sleep: o.sleep,
      exact: o.exact,
      maxPreemptions: o.maxPreemptions ?? null,
      json: o.json,
      traces: o.traces,
    };
    const t0 = Date.now();
    const got = await runOnQueue(o.queue, jobs, opts, {
      progress: (done, total) => progress.tick({ label: `matrix on ${o.queue}: ${done}/${total} jobs done`, states: done, depth: 0, tableBytes: 0, elapsedMs: Date.now() - t0 }),
      onStop: (fn) => onStop(fn),
    });
    progress.clear();
    if (got === 'stopped') {
      process.stdout.write('interrupted: the matrix is incomplete (its queued jobs were removed)\n');
      return SIGNAL_EXIT[stopSignal() ?? 'SIGINT'];
    }
    results = got;
  } else {
    for (const { cell, simulate } of jobs) {
      results.push(simulate ? await runSimCell(cell, simulate, o) : await runCell(cell, o, progress));
      if (stopSignal()) break;
    }
  }
  if (seeds) {
    const n = seeds.to - seeds.from + 1;
    const per = cells.map((_, i) => results.slice(i * n, (i + 1) * n) as SimSeedResult[]).filter((r) => r.length === n);
    process.stdout.write(simulationMatrixOutput(cells.slice(0, per.length), per, { json: o.json, seeds, job: simJob }));
    if (stopSignal()) return SIGNAL_EXIT[stopSignal()!];
    return per.some((rs) => rs.some((r) => r.violation !== null)) ? EXIT.VIOLATION : EXIT.INCOMPLETE;
  }
  const verified = results as CellResult[];
  process.stdout.write(matrixOutput(cells, verified, o));
  const all = verified.map((r) => r.result);
  const code = exitFor(all, false);
  if (!o.json) process.stdout.write(matrixSummary(all, code === EXIT.OK, stopSignal() !== undefined));
  return code;
}

/** Drains the matrix queue: runs each job's cell as `ptcheck matrix` would here, until stopped. */
async function cmdWorker(pos: string[], o: Opts): Promise<number> {
  if (pos.length) throw new InputError('worker takes no arguments besides --queue and --workers');
  if (o.queue === undefined) throw new InputError('worker needs --queue redis://HOST:PORT');
  const { serveQueue } = await import('./queue.ts');
  const quiet = new ProgressLine(process.stderr, false, false);
  await serveQueue(
    o.queue,
    async (job) => {
      const j = job.opts;
      const jo: Opts = {
        ...o,
        limits: {
          maxStates: j.maxStates ?? Infinity,
          maxDepth: j.maxDepth ?? Infinity,
          deadline: j.timeoutMs !== null ? Date.now() + j.timeoutMs : Infinity,
          maxTableBytes: j.maxTableBytes,
        },
        symmetry: j.symmetry,
        por: j.por,
        sleep: j.sleep,
        exact: j.exact,
        json: j.json,
        traces: j.traces,
        ...(j.maxPreemptions !== null ? { maxPreemptions: j.maxPreemptions } : {}),
      };
      try {
        return job.simulate ? await runSimCell(job.cell, job.simulate, jo) : await runCell(job.cell, jo, quiet);
      } catch (e) {
        if (e instanceof InputError || e instanceof ModelError) {
          return { v: CELL_RESULT_VERSION, error: { kind: e instanceof ModelError ? 'model' : 'input', message: e.message.split('\n')[0]! } } as const;
        }
        throw e;
      }
    },
    { log: (line) => process.stderr.write(`ptcheck worker: ${line}\n`), onStop: (fn) => onStop(fn), stopped: () => stopSignal() !== undefined },
  );
  return SIGNAL_EXIT[stopSignal() ?? 'SIGINT'];
}

// ---- simulate ---------------------------------------------------------------------------------

/** Seeded random (or swarm) walks: the first violation, shrunk and drawn like verify's; exit 1, else 3. */
/** One simulation of a target: the walks, and the first violation shrunk and drawn like verify's. */
async function simulateTarget(
  t: Target,
  params: Readonly<Record<string, number>>,
  so: Omit<SimulateOptions, 'deadline'> & { readonly timeMs?: number },
  o: Pick<Opts, 'stepTimeout' | 'traceOut'>,
  progress?: ProgressLine,
) {
  const inst = instantiateBounded(t, params, o);
  const engine = new Engine(inst.compiled, t.lm.spec.properties as readonly Property[]);
  const t0 = Date.now();
  const sim = new Simulation(engine, { ...so, deadline: so.timeMs !== undefined ? t0 + so.timeMs : Infinity });
  const unhook = onStop(() => sim.abort());
  const seconds = o.stepTimeout ?? DEFAULT_STEP_TIMEOUT_S;
  try {
    for (;;) {
      const typeError = typecheckFailure();
      if (typeError) throw typeError;
      let done: boolean;
      try {
        // each slice under the step bound: a step that never returns cannot hang the simulation
        done = underStepBound(seconds, () => sim.run(1 << 14), sim.opts.deadline);
      } catch (e) {
        if (!(e instanceof SliceInterrupted)) throw e;
        // a stop signal that came while the step ran could not be heard until now: let it in
        if (e.why.kind !== 'user') await new Promise((r) => setTimeout(r, 20));
        if (e.why.kind === 'stuck' && !stopSignal()) throw stuckOnPath(engine, sim.walkPath(), seconds);
        sim.interrupted(e.why.kind === 'deadline' ? 'timeout' : 'interrupted');
        break;
      }
      if (done) break;
      progress?.tick({ label: `${t.lm.module.name} [${t.variant}] walk ${sim.walks}`, states: sim.distinct, depth: sim.maxDepthSeen, tableBytes: 0, elapsedMs: Date.now() - t0 });
      await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    const err = e instanceof StuckStepError ? await withStuckTrace(e, t, inst, o.traceOut) : e;
    if (err instanceof ModelError && t.file) throw new ModelError(`${t.file}: ${err.message}`);
    throw err;
  } finally {
    progress?.clear();
    unhook();
  }
  const elapsedMs = Date.now() - t0;
  let trace: Trace | undefined;
  const v = sim.violation;
  if (v) {
    trace = withFiles(buildTrace(inst, engine, readablePath(engine, v.path, v.prop), v.prop), t);
  }
  const report: SimulationReport = {
    model: t.lm.module.name,
    variant: t.variant,
    params: inst.params,
    seed: so.seed,
    swarm: so.swarm,
    maxDepth: so.maxDepth,
    elapsedMs,
    ...(v ? { violationMs: elapsedMs } : {}),
    sim,
    engine,
    ...(trace ? { trace, replayLine: replayCommand(t.args, trace) } : {}),
  };
  return { report, trace };
}

/** Seeded random (or swarm) walks: the first violation, shrunk and drawn like verify's; exit 1, else 3. */
async function cmdSimulate(pos: string[], o: Opts): Promise<number> {
  if (pos.length !== 1) throw new InputError('simulate needs one model name or model file (see ptcheck list)');
  if (o.variant === undefined && o.variantFile === undefined) throw new InputError('simulate needs --variant or --variant-file');
  checkOutputs(o);
  const t = await target(pos[0]!, o.variant, o.variantFile);
  const { report, trace } = await simulateTarget(
    t,
    o.params,
    {
      seed: o.seed ?? randomInt(2 ** 31),
      walks: o.walks ?? (o.time !== undefined ? Infinity : 10_000),
      maxDepth: o.depth ?? 10_000,
      swarm: o.swarm,
      ...(o.time !== undefined ? { timeMs: o.time * 1000 } : {}),
    },
    o,
    progressFor(o),
  );
  const err = o.traceOut && trace ? await writeFileAtomic(o.traceOut, JSON.stringify(trace, null, 2) + '\n') : undefined;
  process.stdout.write((o.json ? JSON.stringify(simulationJson(report), null, 2) : simulationText(report)) + '\n');
  if (!o.json && o.traceOut && trace && !err) process.stdout.write(`trace written to ${o.traceOut}\n`);
  if (err) process.stderr.write(`ptcheck: ${err}\n`);
  if (trace) return EXIT.VIOLATION;
  const sig = stopSignal();
  return sig ? SIGNAL_EXIT[sig] : EXIT.INCOMPLETE;
}

// ---- list -------------------------------------------------------------------------------------

async function cmdList(): Promise<number> {
  const out: string[] = [];
  await typecheckShipped();
  for (const name of shippedModelNames()) {
    const lm = await loadModel(name);
    const m = lm.module;
    out.push(`${m.name} — ${m.title}`);
    const params = Object.entries(m.params as Record<string, { min: number; max: number; default: number; doc: string }>);
    if (params.length) {
      out.push('  parameters:');
      for (const [k, d] of params) out.push(`    ${k}=${d.default}  (${d.min}..${d.max})  ${d.doc}`);
    }
    out.push('  variants:');
    const w = Math.max(...Object.keys(m.variants).map((v) => v.length));
    for (const [k, v] of Object.entries(m.variants)) out.push(`    ${k.padEnd(w)}  ${v.summary}`);
    out.push('  properties:');
    const pw = Math.max(...lm.spec.properties.map((p) => p.name.length));
    for (const p of lm.spec.properties) out.push(`    ${p.name.padEnd(pw)}  ${p.kind.padEnd(9)} ${p.doc}`);
    out.push('');
  }
  process.stdout.write(out.join('\n'));
  return EXIT.OK;
}

// ---- entry ------------------------------------------------------------------------------------

function onStdoutError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(EXIT.OK);
}

/**
 * Commands whose every result goes to stdout or to files written after the search: their model, spec
 * and variant files are typechecked while they load and run (typecheck.ts: deferTypechecks), and
 * nothing reaches stdout until the checks are clean. A file that does not typecheck is exit 2 with its
 * type error, whatever its run found, never a verdict. (list, matrix and worker check before running.)
 */
const CHECKED_ALONGSIDE: ReadonlySet<string> = new Set(['verify', 'diff', 'replay', 'simulate']);

/** Keeps what is written to stdout until release() (then written, in order) or drop(). */
function holdStdout(): { release(): void; drop(): void } {
  const out = process.stdout;
  const own = Object.hasOwn(out, 'write');
  const write = out.write;
  const held: Parameters<typeof out.write>[] = [];
  out.write = ((...args: Parameters<typeof out.write>) => {
    held.push(args);
    return true;
  }) as typeof out.write;
  let done = false;
  const restore = () => {
    done = true;
    if (own) out.write = write;
    else delete (out as { write?: unknown }).write;
  };
  return {
    release() {
      if (done) return;
      restore();
      for (const args of held.splice(0)) (out.write as (...a: typeof args) => boolean)(...args);
    },
    drop() {
      if (!done) restore();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const uninstall = installSignals();
  const unhook = onStop(() => current?.abort());
  // a reader that goes away (ptcheck ... | head) is not an error
  if (!process.stdout.listeners('error').includes(onStdoutError)) process.stdout.on('error', onStdoutError);
  let held: ReturnType<typeof holdStdout> | undefined;
  let alongside = false;
  try {
    const { cmd, pos, o } = parse(argv);
    if (cmd === 'help') {
      process.stdout.write((pos[0] !== undefined ? helpOf(pos[0]) : USAGE) + '\n');
      return EXIT.OK;
    }
    if (cmd === 'version') {
      process.stdout.write(version() + '\n');
      return EXIT.OK;
    }
    if (CHECKED_ALONGSIDE.has(cmd)) {
      alongside = true;
      deferTypechecks({
        onBusy: () => void (held ??= holdStdout()),
        // every file clean: output flows again (a long run's results are not kept back)
        onIdle: () => {
          held?.release();
          held = undefined;
        },
        onFailure: () => current?.abort(),
      });
    }
    // the watchdog's thread comes up while the model loads: its first arming then costs nothing
    if (cmd !== 'list') startWatcher();
    const code = await COMMANDS[cmd]!.run(pos, o);
    await typechecksSettled();
    held?.release();
    const sig = stopSignal();
    if (sig) process.stderr.write(`ptcheck: stopped by ${sig}: the results above are partial\n`);
    return code;
  } catch (thrown) {
    let e = thrown;
    if (alongside) {
      // a file that does not typecheck is the error to report, whatever its run did meanwhile
      const typeError = await typechecksSettled().then(() => undefined, (te: unknown) => te);
      if (typeError === undefined) held?.release();
      else {
        held?.drop();
        e = typeError;
      }
      held = undefined;
    }
    if (e instanceof InputError || e instanceof ModelError) {
      const prefix = e instanceof ModelError ? 'model error' : 'error';
      process.stderr.write(`ptcheck: ${prefix}: ${e.message.split('\n')[0]}\n`);
      return EXIT.BAD_INPUT;
    }
    if (e instanceof SliceInterrupted) {
      // model code outside a search (a replay, a simulation's set-up) was interrupted by a signal,
      // whose handler runs once this thread gets back to its event loop
      if (e.why.kind !== 'user') await new Promise((r) => setTimeout(r, 20));
      const sig = stopSignal() ?? 'SIGINT';
      process.stderr.write(`ptcheck: stopped by ${sig}\n`);
      return SIGNAL_EXIT[sig];
    }
    const err = e as Error;
    if (e instanceof SetupError) {
      process.stderr.write(`ptcheck: ${err.message}\n`);
      return EXIT.INTERNAL;
    }
    if (err?.name === 'WorkerError') {
      process.stderr.write(`ptcheck: ${err.message} (the run is abandoned; --workers 1 runs in this thread)\n`);
      return EXIT.INTERNAL;
    }
    process.stderr.write(`ptcheck: internal error: ${err?.message ?? String(e)}\n`);
    if (process.env.PTCHECK_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    else process.stderr.write('(set PTCHECK_DEBUG=1 for the stack)\n');
    return EXIT.INTERNAL;
  } finally {
    if (alongside) deferTypechecks(undefined);
    unhook();
    uninstall();
    await closeHandOffPools();
  }
}
