// One verification run of a model instance against its spec: builds the engine, drives a search in
// budgeted slices (so a caller can show progress or stop it), and summarises the outcome per property.

import type { Instance } from '../model/compile.ts';
import { DEADLOCK_FREE, expectRow, type Property, type PropertyKind, type SpecModule, type Verdict } from '../spec/property.ts';
import { collisionProbability } from '../state/fingerprint.ts';
import { Bfs } from './bfs.ts';
import { Bounded } from './bounded.ts';
import { Dfs } from './dfs.ts';
import { Engine, StepError } from './engine.ts';
import { NO_LIMITS, porOf, type Discovery, type Limits, type Search, type SearchStatus } from './search.ts';
import { arm, disarm, guarded, passUserInterrupt, SliceInterrupted, timedSlice, DEFAULT_STEP_TIMEOUT_S, type Interruption } from './watchdog.ts';
import { encodeChoice, pathToString } from '../trace/path.ts';
import { ReductionWidened } from '../por/reduction.ts';

export type Strategy = 'dfs' | 'bfs';

export interface VerifyOptions {
  readonly strategy: Strategy;
  /** stop at the first violation (default for a single verify); false determines every verdict */
  readonly stopAtFirst: boolean;
  readonly limits: Limits;
  /** expected verdicts to compare with (default: the spec's row for the variant) */
  readonly expect?: Readonly<Record<string, Verdict>>;
  /** symmetry reduction where the model declares symmetric threads (default on) */
  readonly symmetry?: boolean;
  /** partial-order reduction by safe local steps (default on) */
  readonly por?: boolean;
  /** sleep sets in the DFS (default: as `por`) */
  readonly sleep?: boolean;
  /** store whole states, not fingerprints (no collisions; small models only) */
  readonly exact?: boolean;
  /** run every step twice and fail on a difference (debug) */
  readonly checkDeterminism?: boolean;
  /** preemption-bounded search (bounded.ts): only interleavings with at most this many preemptions */
  readonly maxPreemptions?: number;
  /** seconds a step (or the search) may go without progress before the run ends as a model error */
  readonly stepTimeout?: number;
  /** seed the reduction's visible set by its pre-pass (default on; off: the restarts alone, for tests) */
  readonly seedVisible?: boolean;
}

/** What a preemption-bounded run covered: its result holds within the bound, never beyond. */
export interface BoundInfo {
  readonly maxPreemptions: number;
  /** transitions the bound cut (0: it cut nothing, though the run still claims only the bound) */
  readonly cut: number;
  /** explorations of a (state, last thread) again, reached later with fewer preemptions */
  readonly reexplored: number;
}

/**
 * A step that never returned (the watchdog interrupted it): a model error, with the path to it. Where
 * only the state the step was explored from is known (a worker thread's work unit), `step` is absent.
 */
export class StuckStepError extends StepError {
  constructor(
    message: string,
    thread: string,
    label: string,
    /** the bound the step was given, in seconds */
    readonly seconds: number,
    /** choices from the initial state to the state the step ran in */
    readonly prefix: readonly number[],
    /** the stuck step's choice in that state, when known */
    readonly step: number | undefined,
  ) {
    super(message, thread, label);
  }

  /** choices from the initial state, the stuck step last (undefined when the step's choice is not known) */
  get path(): readonly number[] | undefined {
    return this.step === undefined ? undefined : [...this.prefix, this.step];
  }
}

/** The stuck step as a model error naming it and the whole path to it. */
export function stuckStep(thread: string, label: string, prefix: readonly number[], step: number, seconds: number): StuckStepError {
  const path = pathToString([...prefix, step]);
  return new StuckStepError(`step ${thread}.${label} did not return within ${seconds} s (a loop that never ends?); path to it: ${path}`, thread, label, seconds, prefix, step);
}

/** The step an engine was running when its slice was interrupted, as a model error (or a plainer one outside any step). */
export function stuckError(engine: Engine, search: Search, seconds: number): StepError {
  const [tid, pc, alt] = engine.running as unknown as [number, number, number];
  if (pc < 0) return new StepError(`the search made no progress for ${seconds} s outside any step (a property that never returns?)`, '?', '?');
  const th = engine.cm.threads[tid]!;
  return stuckStep(th.name, th.labels[pc] ?? '?', search.expandingPath(), encodeChoice(tid, alt), seconds);
}

/** What a finished search leaves behind, single-threaded or parallel. */
export interface SearchSummary {
  readonly status: SearchStatus;
  readonly discoveries: readonly Discovery[];
  readonly states: number;
  readonly transitions: number;
  readonly replayed: number;
  readonly merged: number;
  readonly mergedShared: number;
  readonly fullNoLocal: number;
  readonly fullCycle: number;
  readonly fullVisible: number;
  readonly maxDepthSeen: number;
  readonly tableBytes: number;
  readonly workers: number;
  /** transitions taken per (thread, label) (Search.coverage), where the search counts them */
  readonly coverage?: ArrayLike<number>;
}

export type Tick = (states: number, depth: number, tableBytes: number) => void;

/**
 * Takes over a DFS that is still running after `after` states (the parallel layer supplies one:
 * it hands the rest of the search to worker threads) and returns how the whole search ended.
 */
export interface HandOff {
  readonly after: number;
  /** called once the run has gone on for a while: start getting ready (e.g. start worker threads) */
  prepare(v: Verification): void;
  /** the taker is ready to take over now */
  ready(): boolean;
  take(v: Verification, dfs: Dfs, tick: Tick): Promise<SearchSummary>;
}

export const DEFAULT_OPTIONS: VerifyOptions = { strategy: 'dfs', stopAtFirst: true, limits: NO_LIMITS };

export type PropertyStatus = Verdict | 'unknown';

export interface PropertyResult {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly doc: string;
  readonly status: PropertyStatus;
  /** expected verdict from the spec's matrix, when it has one for this variant */
  readonly expected?: Verdict;
  /** path to the violation (or, for sometimes, to a witness) */
  readonly path?: readonly number[];
}

export interface RunStats {
  readonly states: number;
  readonly transitions: number;
  /** of those, transitions whose step sleep sets did not need to run */
  readonly replayed: number;
  readonly maxDepth: number;
  readonly elapsedMs: number;
  /** ints per state vector */
  readonly stateInts: number;
  readonly tableBytes: number;
  readonly bytesPerState: number;
  readonly collisionProbability: number;
  /** worker threads the run used (1: single-threaded) */
  readonly workers: number;
  /** partial-order reduction (absent with --no-por); see src/por/reduction.ts */
  readonly reduction?: ReductionStats;
  /** whole states were stored (--exact): no fingerprint collision possible */
  readonly exact: boolean;
  /** thread futures (declared, or derived: verify by default), when the model has any or derived them */
  readonly futures?: FutureStats;
}

/** Labels (over every thread instance) by where their future comes from; what the derivation took. */
export interface FutureStats {
  readonly declared: number;
  readonly derived: number;
  readonly unrestricted: number;
  /** the derivation ran (verify by default; not with --no-derive-futures): its step runs and time, and why it gave up, if it did */
  readonly derivation?: { readonly runs: number; readonly ms: number; readonly gaveUp?: string; readonly cached?: boolean };
}

function futureStats(cm: Instance['compiled']): FutureStats | undefined {
  const d = cm.derived;
  if (d !== undefined) {
    return { declared: d.declared, derived: d.derived, unrestricted: d.unrestricted, derivation: { runs: d.runs, ms: d.ms, ...(d.gaveUp !== undefined ? { gaveUp: d.gaveUp } : {}), ...(d.cached ? { cached: true } : {}) } };
  }
  if (!cm.hasFutures) return undefined;
  const labels = cm.threads.reduce((n, t) => n + t.labels.length, 0);
  const declared = cm.threads.reduce((n, t) => n + t.futDecl.filter((x) => x !== null).length, 0);
  return { declared, derived: 0, unrestricted: labels - declared };
}

/** How often each label's step was taken, per thread (labels in declaration order). */
export interface ThreadCoverage {
  readonly thread: string;
  readonly labels: readonly { readonly label: string; readonly count: number }[];
}

export interface ReductionStats {
  /** states walked through without being stored: their only expansion was one thread's local steps */
  readonly merged: number;
  /** ...of them, those walked through by a shared-safe step (one touching shared words, by declared futures) */
  readonly mergedShared: number;
  /** stored states expanded fully because no thread had a local step to take (every one touches shared words) */
  readonly fullNoLocal: number;
  /** ...because the local steps a thread had could run round a cycle (the cycle proviso) */
  readonly fullCycle: number;
  /** ...because the only thread whose step would be local steps on its own words a property (or another thread) reads */
  readonly fullVisible: number;
  /** times the search started again because a step or property touched another thread's locals */
  readonly restarts: number;
  /** why it last started again */
  readonly widenedBy?: string;
}

export interface RunResult {
  readonly model: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, number>>;
  readonly strategy: Strategy;
  readonly outcome: Exclude<SearchStatus, { kind: 'running' }>;
  readonly stats: RunStats;
  readonly properties: readonly PropertyResult[];
  /** set for a preemption-bounded run (--max-preemptions) */
  readonly bound?: BoundInfo;
  /** transitions taken per thread and label (absent for a search that does not count them) */
  readonly coverage?: readonly ThreadCoverage[];
}

export function isMismatch(p: PropertyResult): boolean {
  return p.expected !== undefined && p.status !== 'unknown' && p.status !== p.expected;
}

function pick(s: Search): Omit<SearchSummary, 'workers'> {
  // the depth-first and breadth-first searches count coverage; the others leave it empty
  const counted = s instanceof Dfs || s instanceof Bfs;
  return {
    status: s.status, discoveries: s.discoveries, states: s.states, transitions: s.transitions, replayed: s.replayed, maxDepthSeen: s.maxDepthSeen, tableBytes: s.tableBytes,
    ...(counted ? { coverage: s.coverage } : {}),
    merged: s.merged,
    mergedShared: s.mergedShared,
    fullNoLocal: s.fullNoLocal,
    fullCycle: s.fullCycle,
    fullVisible: s.fullVisible,
  };
}

export class Verification {
  readonly engine: Engine;
  /** the current search (a new one after the reduction widened: see restart()) */
  search: Search;
  private restarts = 0;
  private widenedBy: string | undefined;
  private readonly t0 = Date.now();
  private elapsed = 0;
  private taken: SearchSummary | undefined;

  constructor(
    readonly inst: Instance,
    readonly spec: SpecModule,
    readonly opts: VerifyOptions = DEFAULT_OPTIONS,
  ) {
    this.engine = new Engine(inst.compiled, spec.properties as readonly Property[]);
    if (opts.checkDeterminism) this.engine.checkDeterminism(true);
    this.toSeed = (opts.por ?? true) && (opts.seedVisible ?? true);
    this.search = this.newSearch();
  }

  private newSearch(): Search {
    const opts = this.opts;
    const so = { stopAtFirst: opts.stopAtFirst, symmetry: opts.symmetry ?? true, por: opts.por ?? true, sleep: opts.sleep ?? opts.por ?? true, exact: !!opts.exact };
    for (;;) {
      try {
        return opts.maxPreemptions !== undefined
          ? new Bounded(this.engine, opts.limits, so, opts.maxPreemptions)
          : opts.strategy === 'bfs'
            ? new Bfs(this.engine, opts.limits, so)
            : new Dfs(this.engine, opts.limits, so);
      } catch (e) {
        // the initial state's own expansion can meet a step touching another thread's locals
        if (!(e instanceof ReductionWidened)) throw e;
        this.widen(e);
      }
    }
  }

  private widen(w: ReductionWidened): void {
    if (!(this.opts.por ?? true)) throw new Error(`internal: the reduction widened in a run without it (${w.message})`);
    porOf(this.engine).widen(w.words);
    this.restarts++;
    this.widenedBy = w.message;
  }

  /**
   * A step or property touched a word the reduction took as another thread's own: the word is shared
   * from now on, and the search starts again from the initial state (what it had found was found
   * under a reduction that assumed too much).
   */
  private restart(w: ReductionWidened): void {
    this.widen(w);
    // a search the worker threads finished is thrown away too: the run's result is the new search's
    // (which may end in this thread before its own hand-off is due)
    this.taken = undefined;
    if (this.search instanceof Dfs) this.search.release();
    this.search = this.newSearch();
  }

  /**
   * A complete search in which a property read, in some state, a word that a shared-safe step chosen
   * in some state changed (src/por/reduction.ts, C2): those words become visible, and it starts again.
   * Only at the end, with every such word found, so that the restarts, and the states stored, are the
   * same whatever the order of the search.
   */
  private conflictsAtEnd(): void {
    if (!(this.opts.por ?? true)) return;
    // a `sometimes` property reached is settled: what it read does not matter (src/por/reduction.ts, C2)
    let reached = 0;
    for (const d of (this.taken ?? this.search).discoveries) if (this.engine.props[d.prop]!.kind === 'sometimes') reached |= 1 << d.prop;
    const c = porOf(this.engine).takeConflicts(reached);
    // a search stopped early claims nothing holds (a violation it found is a real path): no restart
    if (this.search.status.kind !== 'complete' && (this.taken === undefined || this.taken.status.kind !== 'complete')) return;
    if (c.length > 0) throw new ReductionWidened(c, `a property read ${c.map((w) => this.engine.cm.leaves[w]!.path).join(', ')}, which a step taken as shared-safe (invisible) changed`);
  }

  /** the reduction's visible set is still to be seeded (its pre-pass runs in the first slice, under the step bound) */
  private toSeed: boolean;
  /** the pre-pass is running (or was cut short by the step bound): a stuck step is on its walk */
  private seeding = false;

  /**
   * Runs the reduction's pre-pass (src/por/reduction.ts, seedVisible), then starts the search afresh
   * (it has looked at the initial state only, under the visible set of before, and what its choice
   * there changed must be recorded in the search that goes on). Not a restart.
   */
  private seed(): void {
    this.toSeed = false;
    this.seeding = true;
    porOf(this.engine).seedVisible();
    this.seeding = false;
    if (this.search instanceof Dfs) this.search.release();
    this.search = this.newSearch();
  }

  /** The step that did not return within the bound, with its path (on the pre-pass's walk while it ran). */
  private stuck(): StepError {
    if (!this.seeding) return stuckError(this.engine, this.search, this.stepSeconds);
    const [tid, pc, alt] = this.engine.running as unknown as [number, number, number];
    const walk = porOf(this.engine).seedWalk();
    const prefix: number[] = [];
    for (let i = 0; i < walk.length; i += 2) prefix.push(encodeChoice(walk[i]!, walk[i + 1]!));
    const th = this.engine.cm.threads[tid]!;
    return stuckStep(th.name, th.labels[pc] ?? '?', prefix, encodeChoice(tid, alt), this.stepSeconds);
  }

  /** Explores a slice; true when the run has ended. */
  step(budget = 1 << 16): boolean {
    if (this.toSeed) this.seed();
    let done: boolean;
    try {
      done = this.search.run(budget);
      if (done) this.conflictsAtEnd();
    } catch (e) {
      if (!(e instanceof ReductionWidened)) throw e;
      this.restart(e);
      done = false;
    }
    this.elapsed = Date.now() - this.t0;
    return done;
  }

  abort(): void {
    this.search.abort();
    this.aborted = true;
  }
  private aborted = false;
  /**
   * A run stopped by a signal while a step had not returned: what became of that step, in words (the
   * stop interrupted it, or, where a signal could not be heard, waited for the step bound).
   */
  stopNote: string | undefined;

  get isAborted(): boolean {
    return this.aborted;
  }

  /**
   * Runs to the end, yielding to the event loop between slices (so signals and progress get through).
   * A DFS still running after `handOff.after` states is handed over (to worker threads).
   */
  async run(tick: Tick = () => {}, handOff?: HandOff): Promise<RunResult> {
    arm(this.opts.limits.deadline, this.stepSeconds * 1000);
    try {
      return await this.runWatched(tick, handOff);
    } finally {
      disarm();
    }
  }

  get stepSeconds(): number {
    return this.opts.stepTimeout ?? DEFAULT_STEP_TIMEOUT_S;
  }

  /**
   * The search's slice was interrupted mid-step (it cannot go on): a Ctrl-C ends it as interrupted
   * (and reaches the process's handlers), a deadline as timeout, a stuck step as a model error.
   */
  private interrupted(why: Interruption): void {
    this.elapsed = Date.now() - this.t0;
    // the step was cut short: stop recording for an undo log no one will apply (traces run steps again)
    const h = this.engine.cm.holder;
    h.undo = null;
    h.rec = null;
    if (why.kind === 'stuck' && this.aborted) {
      // a stop signal came while the step ran (heard only now): the run ends as the signal asked
      this.stopNote = `the stop waited for the step bound: ${this.stuck().message}`;
      this.search.status = { kind: 'incomplete', reason: 'interrupted' };
      return;
    }
    if (why.kind === 'signal') {
      // a SIGTERM or SIGHUP while the slice made no progress: the process's handler ends the run
      const e = this.stuck();
      this.stopNote =
        e instanceof StuckStepError
          ? `the stop interrupted step ${e.thread}.${e.label}, which had not returned; path to it: ${pathToString(e.path ?? e.prefix)}`
          : 'the stop interrupted the search outside any step';
      this.search.status = { kind: 'incomplete', reason: 'interrupted' };
      this.aborted = true;
      return;
    }
    if (why.kind === 'stuck') throw this.stuck();
    this.search.status = { kind: 'incomplete', reason: why.kind === 'deadline' ? 'timeout' : 'interrupted' };
    if (why.kind === 'user') {
      this.aborted = true;
      passUserInterrupt();
    }
  }

  private async runWatched(tick: Tick, handOff?: HandOff): Promise<RunResult> {
    let prepared = false;
    const slice = handOff ? Math.min(1 << 13, Math.max(1024, handOff.after)) : 1 << 13;
    for (;;) {
      if (this.aborted && this.search.states <= 1) {
        // interrupted before it began (while the model loaded): no step runs, not even one that hangs
        this.search.status = { kind: 'incomplete', reason: 'interrupted' };
        break;
      }
      if (this.aborted) this.search.abort();
      let done: boolean;
      try {
        // several slices per guarded call (up to ~40 ms): entering the guard costs tens of microseconds
        const batch = handOff ? 1 : 64;
        const f = () => {
          const until = Date.now() + 40;
          for (let k = 0; ; k++) if (this.step(slice) || k + 1 >= batch || Date.now() >= until) return this.search.status.kind !== 'running';
        };
        // while the worker threads start, not under the SIGINT guard (see timedSlice)
        done = prepared ? timedSlice(f, this.stepSeconds * 1000, this.opts.limits.deadline) : guarded(f);
      } catch (e) {
        if (!(e instanceof SliceInterrupted)) throw e;
        // a stop signal that came while the step ran could not be heard until now: let it in
        if (e.why.kind !== 'user') await new Promise((r) => setTimeout(r, 20));
        this.interrupted(e.why);
        break;
      }
      if (done) break;
      tick(this.search.states, this.search.depth, this.search.tableBytes);
      if (this.opts.exact) handOff = undefined; // whole-state storage stays in this thread
      if (handOff && !prepared && this.search instanceof Dfs && this.search.states >= handOff.after / 2) {
        handOff.prepare(this);
        prepared = true;
      }
      if (handOff && this.search instanceof Dfs && this.search.states >= handOff.after && handOff.ready() && this.search.status.kind === 'running') {
        try {
          this.taken = await handOff.take(this, this.search, tick);
          this.conflictsAtEnd();
        } catch (e) {
          if (!(e instanceof ReductionWidened)) throw e;
          this.restart(e);
          continue;
        }
        this.elapsed = Date.now() - this.t0;
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    return this.result();
  }

  private coverageOf(counts: ArrayLike<number>): ThreadCoverage[] {
    let base = 0;
    return this.engine.cm.threads.map((t) => {
      const labels = t.labels.map((label, pc) => ({ label, count: counts[base + pc] ?? 0 }));
      base += t.labels.length;
      return { thread: t.name, labels };
    });
  }

  get elapsedMs(): number {
    return Date.now() - this.t0;
  }

  result(): RunResult {
    const s: SearchSummary = this.taken ?? { ...pick(this.search), workers: 1 };
    if (s.status.kind === 'running') throw new Error('result() before the run ended');
    const row = this.opts.expect ?? expectRow(this.spec, this.inst.variant, this.inst.params);
    const complete = s.status.kind === 'complete';
    const properties = this.engine.props.map((p, k): PropertyResult => {
      const disc = s.discoveries.find((d) => d.prop === k);
      let status: PropertyStatus;
      if (disc) status = p.kind === 'sometimes' ? 'reachable' : 'violated';
      else if (complete) status = p.kind === 'sometimes' ? 'unreachable' : 'holds';
      else status = 'unknown';
      const expected = row?.[p.name];
      return {
        name: p.name,
        kind: p.kind,
        doc: p.doc,
        status,
        ...(expected !== undefined ? { expected } : {}),
        ...(disc ? { path: disc.path } : {}),
      };
    });
    return {
      model: this.inst.module.name,
      variant: this.inst.variant,
      params: this.inst.params,
      strategy: this.opts.strategy,
      outcome: s.status,
      stats: {
        states: s.states,
        transitions: s.transitions,
        replayed: s.replayed,
        maxDepth: s.maxDepthSeen,
        elapsedMs: this.elapsed,
        stateInts: this.engine.W,
        tableBytes: s.tableBytes,
        bytesPerState: s.states ? s.tableBytes / s.states : 0,
        collisionProbability: this.search.isExact ? 0 : collisionProbability(s.states),
        exact: this.search.isExact,
        workers: s.workers,
        ...(futureStats(this.inst.compiled) ? { futures: futureStats(this.inst.compiled)! } : {}),
        ...(this.opts.por ?? true
          ? {
              reduction: {
                merged: s.merged,
                mergedShared: s.mergedShared,
                fullNoLocal: s.fullNoLocal,
                fullCycle: s.fullCycle,
                fullVisible: s.fullVisible,
                restarts: this.restarts,
                ...(this.widenedBy !== undefined ? { widenedBy: this.widenedBy } : {}),
              },
            }
          : {}),
      },
      properties,
      ...(s.coverage ? { coverage: this.coverageOf(s.coverage) } : {}),
      ...(this.search instanceof Bounded
        ? { bound: { maxPreemptions: this.search.maxPreemptions, cut: this.search.cut, reexplored: this.search.reexplored } }
        : {}),
    };
  }
}

/** Runs to the end synchronously (tests, small models). */
export function verify(inst: Instance, spec: SpecModule, opts: Partial<VerifyOptions> = {}): RunResult {
  const v = new Verification(inst, spec, { ...DEFAULT_OPTIONS, ...opts });
  while (!v.step()) {
    /* keep going */
  }
  return v.result();
}

export { DEADLOCK_FREE };
