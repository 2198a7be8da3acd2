// Runs the rest of a search on this thread and a piscina pool: hands out work units (subtrees),
// collects what the workers found and what they did not get to, re-splits by handing that back out,
// grows the shared fingerprint table between tasks, and stops everyone at the first violation, a
// limit or an abort. With N workers the pool has N-1 threads: this thread is the N-th, and its
// compiled hot loop and model need no warming up.

import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ModelError } from '../model/errors.ts';
import { ReductionWidened } from '../por/reduction.ts';
import { porOf } from '../explore/search.ts';
import type { Discovery, SearchStatus } from '../explore/search.ts';
import type { Engine } from '../explore/engine.ts';
import { SharedFingerprintSet } from '../state/shared-fpset.ts';
import { CTL_PAUSE, CTL_STOP, CTL_WORDS, PROTOCOL_VERSION, type ModelRef, type ResultMsg, type TaskMsg, type UnitMsg } from './protocol.ts';
import { MAX_SLOTS, slotRunning, watchMemory, whenWorkerStalls, type Interruption } from '../explore/watchdog.ts';
import { StepError } from '../explore/engine.ts';
import { StuckStepError } from '../explore/verify.ts';
import { pathToString } from '../trace/path.ts';

const WORKER_FILE = fileURLToPath(new URL('../../workers/explore-worker.mjs', import.meta.url));

const pools = new Map<number, Piscina>();

function poolFor(n: number): Piscina {
  let p = pools.get(n);
  if (!p) {
    p = new Piscina({ filename: WORKER_FILE, minThreads: n, maxThreads: n, idleTimeout: 60_000, concurrentTasksPerWorker: 1 });
    pools.set(n, p);
  }
  return p;
}

/**
 * Pool threads for a run on `workers` workers. This thread searches until the hand-off and then only
 * coordinates: a search slice here runs under Node's SIGINT guard (vm breakOnSigint), which takes the
 * process's SIGINT listeners away while it runs, and thousands of short task slices a second left
 * windows where a Ctrl-C was lost or killed the process before the partial results were printed.
 */
const poolThreads = (workers: number) => Math.max(1, workers);

/** Starts the pool's threads and has each load the model (a task with no work), so a hand-off is fast. */
export async function warmPool(workers: number, model: ModelRef): Promise<void> {
  const n = poolThreads(workers);
  const pool = poolFor(n);
  const ctl = new SharedArrayBuffer(CTL_WORDS * 4);
  const table = new SharedArrayBuffer(64 * 8);
  const task: TaskMsg = {
    v: PROTOCOL_VERSION, model, table, ctl, units: [], budget: 0, maxDepth: 0, maxStates: 1, deadline: Infinity, stopAtFirst: true, symmetry: true, por: true, sleep: true, porShared: [],
  };
  await Promise.all(Array.from({ length: n }, () => pool.run(task)));
}

/** Ends every worker thread (call before the process exits). */
export async function closePools(): Promise<void> {
  const ps = [...pools.values()];
  pools.clear();
  await Promise.all(ps.map((p) => p.destroy()));
}

export interface ParallelInput {
  readonly engine: Engine;
  readonly model: ModelRef;
  readonly workers: number;
  readonly units: UnitMsg[];
  readonly table: SharedFingerprintSet;
  readonly maxDepth: number;
  readonly maxStates: number;
  readonly deadline: number;
  readonly maxTableBytes: number;
  readonly stopAtFirst: boolean;
  readonly symmetry: boolean;
  readonly por: boolean;
  readonly sleep: boolean;
  /** counters of the search so far (the single-threaded start) */
  readonly states: number;
  readonly transitions: number;
  readonly coverage: ArrayLike<number>;
  readonly replayed: number;
  readonly merged: number;
  readonly fullNoLocal: number;
  readonly fullCycle: number;
  readonly maxDepthSeen: number;
  readonly truncated: boolean;
  readonly discoveries: readonly Discovery[];
  readonly aborted: () => boolean;
  /** the step bound, in seconds (named in the error for a step that never returns) */
  readonly stepSeconds: number;
  readonly onProgress: (states: number, maxDepth: number, tableBytes: number) => void;
}

export interface ParallelOutcome {
  readonly status: Exclude<SearchStatus, { kind: 'running' }>;
  readonly states: number;
  readonly transitions: number;
  readonly replayed: number;
  readonly merged: number;
  readonly fullNoLocal: number;
  readonly fullCycle: number;
  readonly maxDepthSeen: number;
  readonly truncated: boolean;
  readonly discoveries: Discovery[];
  readonly tableBytes: number;
  /** transitions taken per (thread, label), summed over every worker */
  readonly coverage: Float64Array;
}

/** A worker thread died or broke the protocol (not the model's fault as far as we can tell). */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/** New states a task explores before handing its remaining stack back. */
const TASK_BUDGET = 20_000;
/** Units a task takes at most. */
const MAX_UNITS = 64;
const GROW_AT = 0.7;

/**
 * A worker thread's step that never returned, named from what the thread published before it: the
 * step, and the state its work unit began at (the path below that state is the worker's alone).
 */
function stuckInWorker(engine: Engine, slot: number, units: readonly UnitMsg[] | undefined, seconds: number): StepError {
  const { tid, pc, unit } = slotRunning(slot);
  const th = engine.cm.threads[tid];
  const from = units?.[unit];
  const below = from ? `; it was exploring from ${from.path.length ? `the state at --path ${pathToString(from.path)}` : 'the initial state'} (--workers 1 names the whole path)` : '';
  if (!th || pc < 0) return new StepError(`worker thread ${slot} made no progress for ${seconds} s outside any step (a property that never returns?)${below}`, '?', '?');
  const label = th.labels[pc] ?? '?';
  const message = `step ${th.name}.${label} did not return within ${seconds} s (a loop that never ends?), in worker thread ${slot}${below}`;
  if (!from) return new StepError(message, th.name, label);
  return new StuckStepError(message, th.name, label, seconds, from.path, undefined);
}

export async function exploreParallel(inp: ParallelInput): Promise<ParallelOutcome> {
  const pool = poolFor(poolThreads(inp.workers));
  const ctlBuf = new SharedArrayBuffer(CTL_WORDS * 4);
  const ctl = new Int32Array(ctlBuf);
  let table = inp.table;
  let states = inp.states;
  let transitions = inp.transitions;
  const coverage = Float64Array.from(inp.coverage);
  let replayed = inp.replayed;
  let merged = inp.merged;
  let fullNoLocal = inp.fullNoLocal;
  let fullCycle = inp.fullCycle;
  let maxDepthSeen = inp.maxDepthSeen;
  let truncated = inp.truncated;
  const discoveries: Discovery[] = [...inp.discoveries];
  let found = 0;
  for (const d of discoveries) found |= 1 << d.prop;
  const queue: UnitMsg[] = [...inp.units];
  const inflight = new Set<Promise<void>>();
  let stopReason: Exclude<SearchStatus, { kind: 'running' | 'complete' }> | undefined;
  let failure: unknown;
  // heartbeat slots of the watchdog: 0 is this thread; a pool task takes a free one of 1..
  const watch = watchMemory();
  const freeSlots: number[] = [];
  for (let k = Math.min(MAX_SLOTS - 1, poolThreads(inp.workers) + 1); k >= 1; k--) freeSlots.push(k);
  /** the units of the task each worker slot runs, to name where a stuck step was */
  const slotUnits = new Map<number, readonly UnitMsg[]>();
  /** the pool was ended on purpose: its tasks' failures are expected */
  let ended = false;
  whenWorkerStalls((why: Interruption) => {
    // a worker thread cannot be interrupted inside a step: name what it published, end the threads
    if (why.kind === 'deadline') setStop({ kind: 'incomplete', reason: 'timeout' });
    else {
      failure ??= stuckInWorker(inp.engine, why.slot, slotUnits.get(why.slot), inp.stepSeconds);
      setStop({ kind: 'incomplete', reason: 'interrupted' });
    }
    ended = true;
    void closePools();
  });

  const setStop = (s: typeof stopReason) => {
    stopReason ??= s;
    Atomics.store(ctl, CTL_STOP, 1);
  };

  const dispatch = (units: UnitMsg[]) => {
    const task: TaskMsg = {
      v: PROTOCOL_VERSION,
      model: inp.model,
      table: table.buffer,
      ctl: ctlBuf,
      units,
      budget: TASK_BUDGET,
      maxDepth: inp.maxDepth,
      maxStates: Math.max(1, inp.maxStates - states),
      deadline: inp.deadline,
      stopAtFirst: inp.stopAtFirst,
      symmetry: inp.symmetry,
      por: inp.por,
      sleep: inp.sleep,
      porShared: inp.por ? porOf(inp.engine).widened() : [],
    };
    const slot = freeSlots.pop() ?? -1;
    const watched: TaskMsg = watch !== undefined && slot >= 0 ? { ...task, watch: { memory: watch, slot, seconds: inp.stepSeconds } } : task;
    if (slot > 0) slotUnits.set(slot, units);
    const release = () => {
      if (slot > 0) freeSlots.push(slot);
    };
    const run = pool.run(watched) as Promise<ResultMsg>;
    const p: Promise<void> = run.then(
      (r) => {
        release();
        inflight.delete(p);
        if (r.v !== PROTOCOL_VERSION) throw new Error(`worker answered protocol ${r.v}`);
        states += r.states;
        transitions += r.transitions;
        for (let i = 0; i < coverage.length; i++) coverage[i]! += r.coverage[i] ?? 0;
        replayed += r.replayed;
        merged += r.merged;
        fullNoLocal += r.fullNoLocal;
        fullCycle += r.fullCycle;
        maxDepthSeen = Math.max(maxDepthSeen, r.maxDepth);
        truncated ||= r.truncated;
        for (const d of r.discoveries) {
          if (found & (1 << d.prop)) continue;
          found |= 1 << d.prop;
          discoveries.push({ prop: d.prop, path: d.path });
          if (inp.stopAtFirst && inp.engine.props[d.prop]!.kind !== 'sometimes') setStop({ kind: 'violation' });
        }
        if (r.widened !== undefined) {
          failure ??= new ReductionWidened(r.widened.words, r.widened.why);
          setStop({ kind: 'incomplete', reason: 'interrupted' });
        }
        if (r.modelError !== undefined) {
          failure ??= new ModelError(r.modelError);
          setStop({ kind: 'incomplete', reason: 'interrupted' });
        }
        if (r.stop === 'memory') setStop({ kind: 'incomplete', reason: 'memory' });
        if (r.stop === 'timeout') setStop({ kind: 'incomplete', reason: 'timeout' });
        if (r.stop === 'max-states' || states >= inp.maxStates) setStop({ kind: 'incomplete', reason: 'max-states' });
        queue.push(...r.frontier);
      },
      (e: unknown) => {
        release();
        inflight.delete(p);
        if (!ended) failure ??= e;
        setStop({ kind: 'incomplete', reason: 'interrupted' });
      },
    );
    inflight.add(p);
  };

  while (queue.length > 0 || inflight.size > 0) {
    if (inp.aborted()) setStop({ kind: 'incomplete', reason: 'interrupted' });
    if (!stopReason && Date.now() >= inp.deadline) setStop({ kind: 'incomplete', reason: 'timeout' });
    // grow the shared table between tasks: pause everyone, rehash, resume
    const headroom = states + (inflight.size + inp.workers) * TASK_BUDGET;
    if (!stopReason && headroom > GROW_AT * table.cap) {
      const want = Math.ceil(Math.max(table.cap * 1.5, headroom / GROW_AT));
      if (want * 8 > inp.maxTableBytes) {
        if (states + TASK_BUDGET > 0.95 * table.cap) setStop({ kind: 'incomplete', reason: 'memory' });
      } else {
        Atomics.store(ctl, CTL_PAUSE, 1);
        await Promise.all([...inflight]);
        table = table.grow(want);
        Atomics.store(ctl, CTL_PAUSE, 0);
      }
    }
    if (stopReason) {
      await Promise.all([...inflight]);
      break;
    }
    while (inflight.size < inp.workers && queue.length > 0) {
      // shallow units hold the largest subtrees: hand them out first. A task takes its share of the
      // queue (at most MAX_UNITS): most units are small subtrees, and one per task would leave the
      // workers waiting on messages; a task that meets its budget hands its rest back for re-splitting.
      dispatch(queue.splice(0, Math.min(MAX_UNITS, Math.max(1, Math.ceil(queue.length / inp.workers)))));
    }
    if (inflight.size > 0) await Promise.race(inflight);
    inp.onProgress(states, maxDepthSeen, table.bytes);
  }
  whenWorkerStalls(null);
  if (failure !== undefined) {
    if (failure instanceof ModelError || failure instanceof ReductionWidened) throw failure;
    const msg = failure instanceof Error ? failure.message : String(failure);
    throw new WorkerError(`a worker thread failed: ${msg}`);
  }
  const status: ParallelOutcome['status'] = stopReason ?? (truncated ? { kind: 'incomplete', reason: 'max-depth' } : { kind: 'complete' });
  return { status, states, transitions, replayed, merged, fullNoLocal, fullCycle, maxDepthSeen, truncated, discoveries, tableBytes: table.bytes, coverage };
}
