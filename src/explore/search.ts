// What every strategy shares: limits, counters, the first discovery per property, and the outcome
// union in which a limit-hit run can never read as complete.

import { FingerprintSet } from '../state/fpset.ts';
import type { VisitedSet } from '../state/visited.ts';
import { ExactStateSet } from '../state/exact-set.ts';
import { fullFingerprint } from '../state/zobrist.ts';
import type { Engine } from './engine.ts';
import { Canonicalizer } from './symmetry.ts';
import { pulse } from './watchdog.ts';
import { Reduction, WHY_CYCLE, WHY_VISIBLE } from '../por/reduction.ts';

export interface Limits {
  /** stop after this many distinct states */
  readonly maxStates: number;
  /** do not expand states deeper than this */
  readonly maxDepth: number;
  /** wall-clock deadline (Date.now() ms), Infinity for none */
  readonly deadline: number;
  /** byte budget for the fingerprint table */
  readonly maxTableBytes: number;
}

export const NO_LIMITS: Limits = { maxStates: Infinity, maxDepth: Infinity, deadline: Infinity, maxTableBytes: 8 * 2 ** 30 };

export type StopReason = 'max-states' | 'max-depth' | 'timeout' | 'interrupted' | 'memory'
  /** a preemption-bounded search (bounded.ts) explored all it may: nothing beyond the bound is known */
  | 'preemption-bound'
  /** the CLI stopped the run before this thread's heap ran out */
  | 'heap';

export type SearchStatus =
  | { readonly kind: 'running' }
  | { readonly kind: 'complete' }
  /** stopped because a property was violated (stop-at-first mode) */
  | { readonly kind: 'violation' }
  | { readonly kind: 'incomplete'; readonly reason: StopReason };

export interface Discovery {
  readonly prop: number;
  /** choices from the initial state to the state that shows it */
  readonly path: readonly number[];
}

const canonicalizers = new WeakMap<Engine, Canonicalizer>();

/**
 * Fingerprints lately found or put in the visited set, direct-mapped by their low bits: a hit means
 * "visited" (the set only grows), and (0, 0), which no empty slot may match, is never looked up here.
 */
const RECENT_BITS = 15;
const RECENT_MASK = (1 << RECENT_BITS) - 1;
/**
 * One per visited set: a run's own table, or the shared table's memory, which a worker views through
 * a new object for each task but whose fingerprints stay (the cache stays warm from task to task)
 */
const recentOf = new WeakMap<object, Int32Array>();
function recentFor(set: VisitedSet): Int32Array {
  const key = set.shared ?? set;
  let c = recentOf.get(key);
  if (!c) recentOf.set(key, (c = new Int32Array(2 << RECENT_BITS)));
  return c;
}
const reductions = new WeakMap<Engine, Reduction>();

/**
 * One reduction per engine: it learns facts about steps (never local, closures) for the engine's
 * lifetime, and keeps the owner map the engine checks every step against (widened, never narrowed).
 */
export function porOf(engine: Engine): Reduction {
  let r = reductions.get(engine);
  if (!r) reductions.set(engine, (r = new Reduction(engine)));
  return r;
}

/** One canonicalizer per engine (searches of one engine run one after another in a thread). */
function canonicalizerOf(engine: Engine): Canonicalizer {
  let c = canonicalizers.get(engine);
  if (!c) canonicalizers.set(engine, (c = new Canonicalizer(engine.cm)));
  return c;
}

/** Where each thread's labels start in a coverage array (threads' labels one after another). */
export function coverageBases(engine: Engine): Int32Array {
  let n = 0;
  return Int32Array.from(engine.cm.threads.map((t) => ((n += t.labels.length), n - t.labels.length)));
}

export function coverageSize(engine: Engine): number {
  return engine.cm.threads.reduce((n, t) => n + t.labels.length, 0);
}

export interface SearchOptions {
  /** stop at the first violated always/final/deadlock property */
  readonly stopAtFirst: boolean;
  /** symmetry reduction where the model declares symmetric threads (default on) */
  readonly symmetry?: boolean;
  /** partial-order reduction by safe local steps (default on) */
  readonly por?: boolean;
  /**
   * sleep sets (DFS): a transition independent of everything taken since a sibling state ran it is
   * not run again; its successor is rebuilt from what it changed there (default: as `por`)
   */
  readonly sleep?: boolean;
  /** the visited set to use (default: a new local table) */
  readonly visited?: VisitedSet;
  /** store whole states instead of fingerprints (no collisions; small models only) */
  readonly exact?: boolean;
}

export abstract class Search {
  states = 0;
  transitions = 0;
  /** transitions whose successor sleep sets rebuilt without running the step (counted in `transitions`) */
  replayed = 0;
  /** states the reduction walked through without storing them (merged local steps) */
  merged = 0;
  /** ...of them, those whose step touched shared words (shared-safe, by declared futures) */
  mergedShared = 0;
  /** stored states the reduction expanded fully because no thread had a local step to take */
  fullNoLocal = 0;
  /** ...because the local steps it had could run round a cycle */
  fullCycle = 0;
  /** stored states fully expanded only because a property (or another thread) reads a thread's own words */
  fullVisible = 0;
  maxDepthSeen = 0;
  /**
   * Transitions taken per (thread, label): entry coverBase[tid] + pc. What coverage reports: the
   * labels a run never executed.
   */
  readonly coverage: Float64Array;
  protected readonly coverBase: Int32Array;
  /** a state at the depth limit had successors that were not explored */
  truncated = false;
  status: SearchStatus = { kind: 'running' };
  /** bit k: property k has a discovery (violation, or sometimes reached) */
  found = 0;
  readonly discoveries: Discovery[] = [];
  protected pendingSometimes: number;
  protected readonly fps: VisitedSet;
  private readonly recent: Int32Array;
  /** symmetry reduction, when the model declares symmetric threads and it is not turned off */
  private readonly canon: Canonicalizer | undefined;
  private readonly canonBuf: Int32Array;
  /** scratch for from-scratch fingerprints */
  protected readonly fp = { hi: 0, lo: 0 };
  private aborted = false;

  protected readonly stopAtFirst: boolean;
  /** partial-order reduction, when on */
  protected readonly por: Reduction | undefined;
  /** whole-state storage (--exact), when on */
  private readonly exact: ExactStateSet | undefined;

  constructor(
    protected readonly engine: Engine,
    protected readonly limits: Limits,
    opts: SearchOptions,
  ) {
    this.stopAtFirst = opts.stopAtFirst;
    this.coverBase = coverageBases(engine);
    this.coverage = new Float64Array(coverageSize(engine));
    this.pendingSometimes = engine.sometimesMask;
    const c = opts.symmetry ?? true ? canonicalizerOf(engine) : undefined;
    this.canon = c?.active ? c : undefined;
    this.canonBuf = new Int32Array(engine.W);
    this.por = opts.por ?? true ? porOf(engine) : undefined;
    // the owner checks belong to the reduction: a search without it (a worker's engine serves both) has none
    engine.owner = this.por ? this.por.owner : null;
    if (this.por) this.por.startSearch();
    else engine.safeWatch = null;
    this.exact = opts.exact ? new ExactStateSet(limits.maxTableBytes) : undefined;
    const visited = this.exact ?? opts.visited;
    this.fps = visited ?? new FingerprintSet(1 << 15, limits.maxTableBytes);
    this.recent = recentFor(this.fps);
  }

  get tableBytes(): number {
    return this.fps.bytes;
  }

  /** Whole states were stored: a fingerprint collision cannot have hidden anything. */
  get isExact(): boolean {
    return this.exact !== undefined;
  }

  /** The visited set (the coordinator copies it into the shared table when it hands off). */
  get visitedSet(): VisitedSet {
    return this.fps;
  }

  /** Asks the search to stop at its next check (Ctrl-C). */
  abort(): void {
    this.aborted = true;
  }

  /** Explores up to about `budget` expansions. Returns true when the search has ended. */
  abstract run(budget: number): boolean;

  /** Path to the state whose successors were being built when a slice was interrupted. */
  abstract expandingPath(): number[];

  /** Depth of the state the search is at (DFS) or the current level (BFS). */
  abstract get depth(): number;

  /** Counts a transition of thread tid taken from the state a[off..] (coverage). */
  protected cover(a: Int32Array, off: number, tid: number): void {
    const pc = this.engine.pc(a, off, tid);
    if (pc >= 0) this.coverage[this.coverBase[tid]! + pc]++;
  }

  /** Records discoveries for the bits of `mask` not yet found. Returns true if the search must stop. */
  protected discover(mask: number, path: () => number[]): boolean {
    const fresh = mask & ~this.found;
    if (fresh === 0) return false;
    let p: number[] | undefined;
    let stop = false;
    for (let k = 0; k < 31; k++) {
      if (!(fresh & (1 << k))) continue;
      p ??= path();
      this.discoveries.push({ prop: k, path: p });
      this.found |= 1 << k;
      if (this.engine.props[k]!.kind === 'sometimes') this.pendingSometimes &= ~(1 << k);
      else if (this.stopAtFirst) stop = true;
    }
    if (stop) this.status = { kind: 'violation' };
    return stop;
  }

  /** Inserts a fingerprint: 1 new, 0 seen, -1 table full (status set). */
  protected visit(hi: number, lo: number): number {
    // most revisits close a diamond the DFS opened shortly before: the small cache answers them
    // without touching the (large, cache-missing) table
    const c = this.recent;
    const i = (lo & RECENT_MASK) << 1;
    if (c[i] === hi && c[i + 1] === lo && (hi | lo) !== 0) return 0;
    const r = this.fps.insertIfAbsent(hi, lo);
    if (r < 0) {
      this.status = { kind: 'incomplete', reason: 'memory' };
      return r;
    }
    c[i] = hi;
    c[i + 1] = lo;
    return r;
  }

  /**
   * Inserts the state a[off..] whose fingerprint is (hi, lo) — or, under symmetry reduction, the
   * fingerprint of its class representative. 1 new, 0 seen, -1 table full.
   */
  protected visitState(a: Int32Array, off: number, hi: number, lo: number): number {
    if (this.exact) {
      const W = this.engine.W;
      const r = this.canon && this.canon.canon(a, off, this.canonBuf) ? this.exact.insertState(this.canonBuf, 0, W) : this.exact.insertState(a, off, W);
      if (r < 0) this.status = { kind: 'incomplete', reason: 'memory' };
      return r;
    }
    if (this.canon && this.canon.canon(a, off, this.canonBuf)) {
      fullFingerprint(this.canonBuf, 0, this.engine.W, this.fp);
      return this.visit(this.fp.hi, this.fp.lo);
    }
    return this.visit(hi, lo);
  }

  /**
   * Whether the state a[off..] with fingerprint (hi, lo) (or its class representative, under symmetry)
   * is already in the visited set; nothing is inserted.
   */
  protected seen(a: Int32Array, off: number, hi: number, lo: number): boolean {
    if (this.exact) {
      const W = this.engine.W;
      return this.canon && this.canon.canon(a, off, this.canonBuf) ? this.exact.hasState(this.canonBuf, 0, W) : this.exact.hasState(a, off, W);
    }
    if (this.canon && this.canon.canon(a, off, this.canonBuf)) {
      fullFingerprint(this.canonBuf, 0, this.engine.W, this.fp);
      hi = this.fp.hi;
      lo = this.fp.lo;
    }
    const c = this.recent;
    const i = (lo & RECENT_MASK) << 1;
    if (c[i] === hi && c[i + 1] === lo && (hi | lo) !== 0) return true;
    if (!this.fps.has(hi, lo)) return false;
    // as visit() does: the next revisit of a diamond's corner is answered here
    c[i] = hi;
    c[i + 1] = lo;
    return true;
  }

  /** The reduction's choice for the state a[off..] (see Reduction.select), counted in the statistics. */
  protected selectAt(a: Int32Array, off: number, hi: number, lo: number): number {
    const t = this.por!.select(a, off, hi, lo);
    if (t < 0) {
      const why = this.por!.why;
      if (why === WHY_CYCLE) this.fullCycle++;
      else if (why === WHY_VISIBLE) this.fullVisible++;
      else this.fullNoLocal++;
    }
    return t;
  }

  /** Fingerprint of a whole vector, from scratch (the initial state). Result in this.fp. */
  protected fingerprint(a: Int32Array): void {
    fullFingerprint(a, 0, this.engine.W, this.fp);
  }

  /** Periodic checks: interruption, deadline, state limit. Sets status and returns true to stop. */
  protected limitHit(): boolean {
    pulse(); // progress, for the watchdog
    if (this.aborted) {
      this.status = { kind: 'incomplete', reason: 'interrupted' };
      return true;
    }
    if (this.states >= this.limits.maxStates) {
      this.status = { kind: 'incomplete', reason: 'max-states' };
      return true;
    }
    if (this.limits.deadline !== Infinity && Date.now() >= this.limits.deadline) {
      this.status = { kind: 'incomplete', reason: 'timeout' };
      return true;
    }
    return false;
  }

  /** Ends the search normally: complete, or incomplete if the depth limit cut anything. */
  protected finish(): void {
    this.status = this.truncated ? { kind: 'incomplete', reason: 'max-depth' } : { kind: 'complete' };
  }
}
