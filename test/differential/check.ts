// The differential checks on one generated model, shared by the vitest file and the soak script: the
// engine under every configuration against the naive reference explorer, and every counterexample
// replayed. Throws (node:assert) on the first disagreement, with both answers in the message.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { instantiate, type Instance } from '../../src/model/compile.ts';
import { ModelError } from '../../src/model/errors.ts';
import { Engine } from '../../src/explore/engine.ts';
import { DEFAULT_OPTIONS, Verification, type ReductionStats, type RunResult, type VerifyOptions } from '../../src/explore/verify.ts';
import { parallelHandOff } from '../../src/parallel/handoff.ts';
import type { ModelRef } from '../../src/parallel/protocol.ts';
import type { SpecModule } from '../../src/spec/property.ts';
import { pathToString } from '../../src/trace/path.ts';
import { replay } from '../../src/trace/replay.ts';
import { deriveFutures } from '../../src/por/derive-futures.ts';
import { DERIVE_BY_DEFAULT, seedsVisible } from '../../src/cli/derive-cache.ts';
import { GROUP_NAMES, compileDesc, declaredFutures, isSymmetric, type ModelDesc } from './gen.ts';
import { firstBreach } from './future.ts';
import { explore, orbitCount, stateKey, successors, type ReferenceResult } from './reference.ts';

/** By default a model whose reference exploration passes this many states is skipped (fast-check `pre`). */
export const MAX_REFERENCE_STATES = 2_000;

/**
 * The engine configurations compared with the reference.
 * - `exact`: no reduction, so distinct states, transitions and the set of terminal states must equal the
 *   reference's; otherwise the verdicts must, and the states stored must not exceed the reachable ones.
 * - `allTerminals`: the reduction keeps every terminal state (persistent sets preserve deadlocks), so the
 *   terminal states met must be exactly the reference's; otherwise each one met must be one of them.
 * - `orbitBound`: pure symmetry reduction: at least one state per class of permuted instances is stored.
 * A run with symmetry alone executes each transition it takes once, so its transitions never exceed the
 * reference's (partial-order reduction walks through the states it does not store, which may be
 * reached, and walked through, more than once).
 * With `stopAtFirst` the run must end at a violation exactly when the reference finds one, and what it
 * did determine must agree with the reference; otherwise every verdict must.
 */
export interface Config {
  readonly name: string;
  readonly opts: Partial<VerifyOptions>;
  readonly exact?: boolean;
  readonly allTerminals?: boolean;
  readonly orbitBound?: boolean;
  /** run on every model; the others may be sampled (checkModel's `all`) to save time */
  readonly core?: boolean;
  /** must store exactly the states, and take exactly the transitions, of this earlier configuration */
  readonly sameAs?: string;
  /**
   * must store exactly the states of this earlier configuration: the reduction decides from the state
   * alone, so the order of the search (DFS, BFS) cannot change what is stored
   */
  readonly sameStatesAs?: string;
  /** runs only on models this accepts (default: every model) */
  readonly applies?: (d: ModelDesc) => boolean;
  /** runs on the model compiled as `ptcheck verify` compiles it: thread futures derived where none is declared */
  readonly derive?: boolean;
}

export const CONFIGS: readonly Config[] = [
  { name: 'dfs', opts: { strategy: 'dfs', symmetry: false, por: false }, exact: true, core: true },
  { name: 'bfs', opts: { strategy: 'bfs', symmetry: false, por: false }, exact: true, core: true },
  { name: 'dfs+symmetry', opts: { strategy: 'dfs', symmetry: true, por: false }, orbitBound: true, core: true, applies: isSymmetric },
  { name: 'bfs+symmetry', opts: { strategy: 'bfs', symmetry: true, por: false }, orbitBound: true, applies: isSymmetric },
  // ---- partial-order reduction (POR on vs off) ------------------------------------------------
  { name: 'dfs+por', opts: { strategy: 'dfs', symmetry: false, por: true }, allTerminals: true, core: true },
  { name: 'bfs+por', opts: { strategy: 'bfs', symmetry: false, por: true }, allTerminals: true, sameStatesAs: 'dfs+por' },
  // without the pre-pass that seeds the visible set: the restarts alone learn it (the safety net)
  { name: 'dfs+por-seed', opts: { strategy: 'dfs', symmetry: false, por: true, seedVisible: false }, allTerminals: true, core: true },
  { name: 'bfs+por-seed', opts: { strategy: 'bfs', symmetry: false, por: true, seedVisible: false }, allTerminals: true, sameStatesAs: 'dfs+por-seed' },
  // every reduction on (verify's default), every property determined
  { name: 'dfs+por+symmetry', opts: { strategy: 'dfs', symmetry: true, por: true }, core: true, applies: isSymmetric },
  { name: 'bfs+por+symmetry', opts: { strategy: 'bfs', symmetry: true, por: true }, applies: isSymmetric },
  // `ptcheck verify` as a user runs it: every reduction on, stop at the first violation
  { name: 'default', opts: { strategy: 'dfs', stopAtFirst: true }, core: true, derive: DERIVE_BY_DEFAULT },
  // ---- sleep sets (they change which steps are run, never what is explored) -----------------------
  { name: 'dfs+sleep', opts: { strategy: 'dfs', symmetry: false, por: false, sleep: true }, exact: true, core: true },
  // the same with every replayed successor also computed by running its step, which must agree
  { name: 'dfs+sleep+checked', opts: { strategy: 'dfs', symmetry: false, por: false, sleep: true, checkDeterminism: true }, exact: true, core: true },
  { name: 'dfs+por-sleep', opts: { strategy: 'dfs', symmetry: false, por: true, sleep: false }, allTerminals: true, sameAs: 'dfs+por' },
  { name: 'dfs+symmetry+sleep', opts: { strategy: 'dfs', symmetry: true, por: false, sleep: true }, orbitBound: true, sameAs: 'dfs+symmetry', applies: isSymmetric },
  { name: 'dfs+por+symmetry-sleep', opts: { strategy: 'dfs', symmetry: true, por: true, sleep: false }, sameAs: 'dfs+por+symmetry', applies: isSymmetric },
  // A further reduction plugs in here: an inexact configuration (verdicts as the reference's, states
  // stored <= reachable), with allTerminals / orbitBound where the reduction guarantees them.
];

/** The most one engine run on a generated model may take (they take milliseconds). */
export const RUN_SECONDS = 5;

export interface EngineRun {
  readonly result: RunResult;
  /** terminal states the search met (state key -> deadlock?), recorded from the engine itself */
  readonly terminals: ReadonlyMap<string, boolean>;
}

/**
 * Runs a verification to the end (every property determined, unless `opts` says stop at the first
 * violation) and records the terminal states it meets. The search calls `engine.terminal()` exactly on
 * the states where it found nothing enabled, so wrapping that method on this run's engine sees every
 * terminal state the search reached. (A recording `final` property would miss deadlocked states, and
 * replaying `final` counterexamples sees one terminal state per property.)
 */
export function runEngine(inst: Instance, spec: SpecModule, opts: Partial<VerifyOptions>): EngineRun {
  // a search that never ends (a reduction walking round a cycle of states it does not store) stops at
  // the deadline as incomplete, which every check below reports; these models take milliseconds
  const limits = { ...DEFAULT_OPTIONS.limits, deadline: Date.now() + RUN_SECONDS * 1000 };
  const v = new Verification(inst, spec, { ...DEFAULT_OPTIONS, stopAtFirst: false, limits, ...opts });
  const e = v.engine;
  const terminals = new Map<string, boolean>();
  const inner = e.terminal.bind(e);
  e.terminal = (a: Int32Array, off = 0): number => {
    terminals.set(stateKey(a.subarray(off, off + e.W)), !e.allDone(a, off));
    return inner(a, off);
  };
  while (!v.step()) {
    /* keep going */
  }
  return { result: v.result(), terminals };
}

function verdictTable(r: RunResult): string {
  return r.properties.map((p) => `${p.name}=${p.status}`).join(' ');
}

/**
 * Every counterexample (and sometimes witness) replays to the same outcome: the property is violated
 * (reached) at the last state of its path, and a final/deadlock path ends in a terminal state. A path
 * is replayed once however many properties and configurations produced it.
 */
export class ReplayCheck {
  private readonly ends = new Map<string, Int32Array>();
  /** counterexamples checked */
  checked = 0;

  constructor(readonly engine: Engine) {}

  /** The state `path` ends in (replay runs every step twice and fails on a difference). */
  end(path: readonly number[], where: string): Int32Array {
    const key = pathToString(path);
    let last = this.ends.get(key);
    if (!last) {
      try {
        last = (replay(this.engine, path).at(-1)?.after ?? this.engine.cm.init).slice();
      } catch (e) {
        throw new Error(`${where}: replay failed: ${(e as Error).message}`, { cause: e });
      }
      this.ends.set(key, last);
    }
    return last;
  }

  check(what: string, r: RunResult): void {
    const e = this.engine;
    r.properties.forEach((p, k) => {
      if (p.path === undefined) return;
      const where = `${what}: ${p.name} path ${pathToString(p.path) || '-'}`;
      const last = this.end(p.path, where);
      if (p.kind === 'always') assert.notEqual(e.check(last, 0) & (1 << k), 0, `${where}: replay does not end in a violation`);
      else if (p.kind === 'sometimes') assert.notEqual(e.check(last, e.sometimesMask) & (1 << k), 0, `${where}: replay does not reach it`);
      else {
        assert.equal(successors(e.cm, last).length, 0, `${where}: replay does not end in a terminal state`);
        assert.notEqual(e.terminal(last) & (1 << k), 0, `${where}: replay does not end in the violation`);
      }
      this.checked++;
    });
  }
}

export interface ModelReport {
  readonly states: number;
  readonly transitions: number;
  /** the reference's verdicts, as "kind:verdict" (e.g. "final:violated") */
  readonly verdicts: readonly string[];
  /** states stored per configuration run */
  readonly stored: Readonly<Record<string, number>>;
  readonly replays: number;
  /** what the reduction did in the [dfs+por] run: the traps a model made it meet */
  readonly por?: ReductionStats;
  /** ...and in the [dfs+por-seed] run (the visible set learnt by restarts alone) */
  readonly porNet?: ReductionStats;
}

/** The reference's answer, or undefined when the model is too big to bother with. */
export function reference(d: ModelDesc, maxStates = MAX_REFERENCE_STATES): { inst: Instance; spec: SpecModule; ref: ReferenceResult } | undefined {
  const { model, spec } = compileDesc(d);
  const inst = instantiate(model, 'base');
  const ref = explore(inst.compiled, spec.properties, maxStates);
  return ref && { inst, spec, ref };
}

function sameTerminals(what: string, got: ReadonlyMap<string, boolean>, want: ReadonlyMap<string, boolean>): void {
  const show = (m: ReadonlyMap<string, boolean>) => [...m].map(([k, dl]) => `${dl ? 'deadlock' : 'final'} [${k}]`).sort();
  assert.deepEqual(show(got), show(want), `${what}: terminal states differ from the reference's`);
}

export interface CheckOptions {
  /** every configuration that applies (default), or only the core ones */
  readonly all?: boolean;
  /** skip models with more reachable states than this (default MAX_REFERENCE_STATES) */
  readonly maxStates?: number;
}

/** Checks one model under the configurations that apply. Undefined when the model is skipped for its size. */
export function checkModel(d: ModelDesc, o: CheckOptions = {}): ModelReport | undefined {
  const all = o.all ?? true;
  const r = reference(d, o.maxStates);
  if (!r) return undefined;
  const { inst, spec, ref } = r;
  const replays = new ReplayCheck(new Engine(inst.compiled, spec.properties));
  const want = spec.properties.map((p, k) => `${p.name}=${ref.verdicts[k]}`).join(' ');
  const orbits = isSymmetric(d)
    ? orbitCount(inst.compiled, d.groups.flatMap((g, gi) => (g.symmetric && g.count >= 2 ? [GROUP_NAMES[gi]!] : [])), ref.stateList)
    : ref.states;
  const stored: Record<string, number> = {};
  const taken: Record<string, number> = {};
  let por: ReductionStats | undefined;
  let porNet: ReductionStats | undefined;
  let derived: Instance | undefined;
  for (const c of CONFIGS) {
    if ((c.applies && !c.applies(d)) || (!all && !c.core)) continue;
    // as `ptcheck verify` runs it: futures derived, and the visible-set pre-pass as the CLI decides (src/cli/derive-cache.ts)
    if (c.derive) derived ??= instantiate(compileDesc(d).model, 'base', {}, { deriveFutures });
    const { result, terminals } = c.derive ? runEngine(derived!, spec, { ...c.opts, ...(seedsVisible(derived!.compiled) ? {} : { seedVisible: false }) }) : runEngine(inst, spec, c.opts);
    const what = `[${c.name}]`;
    stored[c.name] = result.stats.states;
    if (c.name === 'dfs+por') por = result.stats.reduction;
    if (c.name === 'dfs+por-seed') porNet = result.stats.reduction;
    taken[c.name] = result.stats.transitions;
    if (c.sameStatesAs !== undefined && stored[c.sameStatesAs] !== undefined) {
      assert.equal(result.stats.states, stored[c.sameStatesAs], `${what}: ${result.stats.states} states stored, [${c.sameStatesAs}] stored ${stored[c.sameStatesAs]}`);
    }
    if (c.sameAs !== undefined && stored[c.sameAs] !== undefined) {
      assert.equal(result.stats.states, stored[c.sameAs], `${what}: ${result.stats.states} states stored, [${c.sameAs}] stored ${stored[c.sameAs]}`);
      assert.equal(result.stats.transitions, taken[c.sameAs], `${what}: ${result.stats.transitions} transitions, [${c.sameAs}] took ${taken[c.sameAs]}`);
    }
    if (c.opts.stopAtFirst) {
      const violated = ref.verdicts.includes('violated');
      assert.equal(result.outcome.kind, violated ? 'violation' : 'complete', `${what}: outcome, with reference verdicts ${want}`);
      const determined = result.properties.map((p, k) => (p.status === 'unknown' ? `${p.name}=unknown` : `${p.name}=${ref.verdicts[k]}`)).join(' ');
      assert.equal(verdictTable(result), determined, `${what}: verdicts differ from the reference's`);
    } else {
      assert.equal(result.outcome.kind, 'complete', `${what}: the run did not complete`);
      assert.equal(verdictTable(result), want, `${what}: verdicts differ from the reference's`);
    }
    if (c.exact) {
      assert.equal(result.stats.states, ref.states, `${what}: distinct states ${result.stats.states}, reference ${ref.states}`);
      assert.equal(result.stats.transitions, ref.transitions, `${what}: transitions ${result.stats.transitions}, reference ${ref.transitions}`);
      sameTerminals(what, terminals, ref.terminals);
    } else {
      assert.ok(result.stats.states <= ref.states, `${what}: ${result.stats.states} states stored, more than the ${ref.states} reachable`);
      if (c.opts.por === false) assert.ok(result.stats.transitions <= ref.transitions, `${what}: ${result.stats.transitions} transitions, more than the ${ref.transitions} reachable`);
      if (c.orbitBound) assert.ok(result.stats.states >= orbits, `${what}: ${result.stats.states} states stored, fewer than the ${orbits} symmetry classes`);
      if (c.allTerminals) sameTerminals(what, terminals, ref.terminals);
      // every terminal state met is a reachable terminal state, with the same deadlock flag
      else for (const [k, dl] of terminals) assert.equal(ref.terminals.get(k), dl, `${what}: terminal state [${k}] is not a reference terminal state`);
    }
    if (c.opts.strategy === 'bfs' && c.exact) {
      // BFS counterexamples are shortest
      result.properties.forEach((p, k) => {
        if (p.path !== undefined) assert.equal(p.path.length, ref.minDepth[k], `${what}: ${p.name}: path of ${p.path.length} steps, shortest is ${ref.minDepth[k]}`);
      });
      assert.equal(result.stats.maxDepth, ref.maxDepth, `${what}: max depth ${result.stats.maxDepth}, reference ${ref.maxDepth}`);
    }
    replays.check(what, result);
  }
  return {
    states: ref.states,
    transitions: ref.transitions,
    verdicts: spec.properties.map((p, k) => `${p.kind}:${ref.verdicts[k]}`),
    stored,
    replays: replays.checked,
    ...(por ? { por } : {}),
    ...(porNet ? { porNet } : {}),
  };
}

// ---- 1 vs 2 workers ---------------------------------------------------------------------------

const TMP = fileURLToPath(new URL('./.tmp/', import.meta.url));

/**
 * Workers build the model from files, so the description is written into a module pair under
 * test/differential/.tmp/ (git-ignored) that rebuilds the same model from its JSON; the name is a hash
 * of the description, so a model is written once and a worker's cache of loaded models stays right.
 */
export function modelFiles(d: ModelDesc): ModelRef {
  const json = JSON.stringify(d);
  const id = createHash('sha1').update(json).digest('hex').slice(0, 16);
  const modelPath = join(TMP, `m-${id}.model.ts`);
  const specPath = join(TMP, `m-${id}.spec.ts`);
  if (!existsSync(specPath)) {
    mkdirSync(TMP, { recursive: true });
    const head = `// Generated by test/differential/check.ts; rebuilt from the description below.\nimport { compileDesc } from '../gen.ts';\n`;
    writeFileSync(modelPath, `${head}export default compileDesc(${json}).model;\n`);
    writeFileSync(specPath, `${head}export default compileDesc(${json}).spec;\n`);
  }
  return { modelPath, specPath, variant: 'base', params: {} };
}

export interface WorkersReport {
  readonly states: number;
  /** the run with reductions off was really handed to the workers */
  readonly handedOff: boolean;
}

/**
 * Hand-off happens once the first slice of DFS work (1024 loop turns: a push or a pop each) is not
 * enough; at twice that, the workers do most of the search.
 */
export const HANDOFF_MIN_WORK = 3000;

/**
 * 1 vs 2 workers: DFS with reductions off handed to two workers after 50 states must give the
 * reference's verdicts, states and transitions; with every reduction on (the default, which the workers
 * must apply too), its verdicts and at most its states. Every path a worker found must replay.
 * Undefined (skipped) when the model has more than `maxStates` states or less than `minWork` states +
 * transitions (then the search ends before the hand-off is due).
 */
export async function checkWorkers(d: ModelDesc, o: { maxStates?: number; minWork?: number } = {}): Promise<WorkersReport | undefined> {
  const r = reference(d, o.maxStates);
  if (!r || r.ref.states + r.ref.transitions < (o.minWork ?? 0)) return undefined;
  const { inst, spec, ref } = r;
  const files = modelFiles(d);
  const want = spec.properties.map((p, k) => `${p.name}=${ref.verdicts[k]}`).join(' ');
  const replays = new ReplayCheck(new Engine(inst.compiled, spec.properties));
  let handedOff = false;
  // the partial-order reduction decides from the state alone: two workers store what one thread does
  const one = runEngine(inst, spec, { strategy: 'dfs', symmetry: false, por: true }).result.stats.states;
  for (const [symmetry, por] of [[false, false], [false, true], [true, true]] as const) {
    const what = `[dfs${por ? '+por' : ''}${symmetry ? '+symmetry' : ''}, 2 workers]`;
    const limits = { ...DEFAULT_OPTIONS.limits, deadline: Date.now() + RUN_SECONDS * 1000 };
    const v = new Verification(inst, spec, { ...DEFAULT_OPTIONS, stopAtFirst: false, symmetry, por, limits });
    const two = await v.run(() => {}, parallelHandOff(2, files, 50, true));
    assert.equal(two.outcome.kind, 'complete', `${what}: the run did not complete`);
    assert.equal(verdictTable(two), want, `${what}: verdicts differ from the reference's`);
    if (por && !symmetry) {
      assert.equal(two.stats.states, one, `${what}: ${two.stats.states} states stored, one thread stores ${one}`);
    } else if (por) {
      assert.ok(two.stats.states <= ref.states, `${what}: ${two.stats.states} states stored, more than the ${ref.states} reachable`);
    } else {
      assert.equal(two.stats.states, ref.states, `${what}: distinct states ${two.stats.states}, reference ${ref.states}`);
      assert.equal(two.stats.transitions, ref.transitions, `${what}: transitions ${two.stats.transitions}, reference ${ref.transitions}`);
      handedOff = two.stats.workers === 2;
    }
    replays.check(what, two);
  }
  return { states: ref.states, handedOff };
}

// ---- broken future declarations ---------------------------------------------------------------

/** What the engine's run-time check of declared futures says about a step outside them (exit 2). */
const FUTURE_BREACH = /outside its declared future|whose future is wider|too many to check against its declared future/;

/** The configurations a mutant is run under beside --no-por (every one with the reduction on). */
const MUTANT_CONFIGS: readonly Config[] = [
  { name: 'dfs+por', opts: { strategy: 'dfs', symmetry: false, por: true } },
  { name: 'bfs+por', opts: { strategy: 'bfs', symmetry: false, por: true } },
  { name: 'dfs+por+symmetry', opts: { strategy: 'dfs', symmetry: true, por: true }, applies: isSymmetric },
];

export interface MutantReport {
  /** the unreduced search met a step outside its declaration (so every reduced one must) */
  readonly caught: boolean;
}

/** Runs to the end; the future breach the engine reported (a ModelError), or the result. */
function attempt(inst: Instance, spec: SpecModule, opts: Partial<VerifyOptions>): { breach: string } | { result: RunResult } {
  try {
    return { result: runEngine(inst, spec, opts).result };
  } catch (e) {
    if (e instanceof ModelError && FUTURE_BREACH.test(e.message)) return { breach: e.message };
    throw e;
  }
}

/**
 * A model whose declared futures are broken (d.mutant): the search with the reduction on (DFS, BFS,
 * with symmetry) reports the breach exactly when the search without it (--no-por, which runs every
 * reachable step) does; when neither does, the declaration held wherever it was used, and every
 * verdict is the reference's. A reduction that trusts a wrong declaration must never turn it into
 * another verdict. Undefined when the model is skipped for its size.
 */
export function checkMutant(d: ModelDesc, o: { maxStates?: number } = {}): MutantReport | undefined {
  const r = reference(d, o.maxStates);
  if (!r) return undefined;
  const { inst, spec, ref } = r;
  const want = spec.properties.map((p, k) => `${p.name}=${ref.verdicts[k]}`).join(' ');
  const full = attempt(inst, spec, { strategy: 'dfs', symmetry: false, por: false });
  const caught = 'breach' in full;
  // the engine's check against the same check written without it, over every reachable step
  const mine = firstBreach(inst.compiled, ref.stateList, new Map(declaredFutures(d).map((g, gi) => [GROUP_NAMES[gi]!, g] as const)));
  assert.equal(caught, mine !== undefined, `[dfs]: ${caught ? `reports '${'breach' in full ? full.breach : ''}'` : 'reports no breach'}, the reference check finds ${mine ?? 'none'}`);
  if ('result' in full) assert.equal(verdictTable(full.result), want, '[dfs, declarations held]: verdicts differ from the reference\'s');
  for (const c of MUTANT_CONFIGS) {
    if (c.applies && !c.applies(d)) continue;
    const got = attempt(inst, spec, c.opts);
    const what = `[${c.name}]`;
    if (caught) assert.ok('breach' in got, `${what}: no error, but --no-por reports: ${'breach' in full ? full.breach : ''} (verdicts ${'result' in got ? verdictTable(got.result) : ''})`);
    else {
      assert.ok('result' in got, `${what}: reports '${'breach' in got ? got.breach : ''}', which --no-por, running every reachable step, never met`);
      assert.equal(got.result.outcome.kind, 'complete', `${what}: the run did not complete`);
      assert.equal(verdictTable(got.result), want, `${what}: verdicts differ from the reference's`);
    }
  }
  return { caught };
}
