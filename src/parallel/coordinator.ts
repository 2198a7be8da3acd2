// Runs the rest of a search on this thread and a piscina pool of N-1 threads: hands out work units
// (subtrees), collects what the workers found and what they did not get to, re-splits it (an idle
// worker has a busy one hand back its rest), grows the shared fingerprint table between tasks (the
// workers copy it), and stops everyone at the first violation, a limit or an abort. This thread is
// the N-th worker: its model and hot loop are loaded and compiled already.

import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ModelError } from '../model/errors.ts';
import { ReductionWidened } from '../por/reduction.ts';
import { porOf } from '../explore/search.ts';
import type { Discovery, SearchStatus } from '../explore/search.ts';
import type { Engine } from '../explore/engine.ts';
import { SharedFingerprintSet } from '../state/shared-fpset.ts';
import { CTL_HUNGRY, CTL_PAUSE, CTL_RETURNED, CTL_STOP, CTL_WORDS, PROTOCOL_VERSION, type ModelRef, type ResultMsg, type TaskMsg, type UnitMsg } from './protocol.ts';
import { MAX_SLOTS, SliceInterrupted, slotRunning, timedSlice, watchMemory, whenWorkerStalls, type Interruption } from '../explore/watchdog.ts';
import { StepError } from '../explore/engine.ts';
import { StuckStepError, stuckError } from '../explore/verify.ts';
import { taskRun } from './worker.ts';
import { pathToString } from '../trace/path.ts';
import { threadTimes, timesSince, type ThreadTimes } from './thread-times.ts';

// two folders up from src/parallel, three from dist/src/parallel when running compiled
const WORKER_FILE = fileURLToPath(new URL(`${import.meta.url.endsWith('.js') ? '../' : ''}../../workers/explore-worker.mjs`, import.meta.url));

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
 * Pool threads for a run on `workers` workers: this thread is one of them. Two cold threads cost a
 * 2-worker run ~1.5 s of CPU more than one (each loads the model and compiles the hot loop again),
 * and on a 2-core machine they took the CPU from this thread's search while they started.
 */
const poolThreads = (workers: number) => Math.max(1, workers - 1);

/** Lets the event loop run (pool results, signals) between slices of this thread's own task. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Starts the pool's threads and has each load the model (a task with no work), so a hand-off is fast.
 * Given an empty shared table, the threads also touch its pages meanwhile, each a part (the first use
 * of each page of a fresh table is a page fault: paid here, beside the search, not at the hand-off).
 */
export async function warmPool(workers: number, model: ModelRef, table?: SharedFingerprintSet): Promise<void> {
  const n = poolThreads(workers);
  const pool = poolFor(n);
  const ctl = new SharedArrayBuffer(CTL_WORDS * 4);
  const task: TaskMsg = {
    v: PROTOCOL_VERSION, model, table: table?.buffer ?? new SharedArrayBuffer(64 * 8), ctl, units: [], budget: 0, maxDepth: 0, maxStates: 1, deadline: Infinity, stopAtFirst: true, symmetry: true, por: true, sleep: true, porShared: [],
  };
  await Promise.all(Array.from({ length: n }, (_, part) => pool.run(table ? { ...task, touch: { part, parts: n } } : task)));
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
  readonly mergedShared: number;
  readonly fullNoLocal: number;
  readonly fullCycle: number;
  readonly fullVisible: number;
  readonly maxDepthSeen: number;
  readonly truncated: boolean;
  readonly discoveries: readonly Discovery[];
  readonly aborted: () => boolean;
  /** the step bound, in seconds (named in the error for a step that never returns) */
  readonly stepSeconds: number;
  readonly onProgress: (states: number, maxDepth: number, tableBytes: number) => void;
  /** the time it took to copy the single-threaded search's visited set into the shared table */
  readonly handOffMs?: number;
  /** how long the single-threaded search ran before it was handed over */
  readonly beforeMs?: number;
}

/** Where a parallel run's time went (bench/scaling.ts prints it). */
export interface ParallelProfile {
  /** states found before the hand-off (by the single-threaded start), and copying them to the shared table */
  handOffStates: number;
  handOffMs: number;
  /** how long the single-threaded start searched (its states/s against the workers' per busy second) */
  beforeMs: number;
  /** tasks run, units sent out in them, and units handed back (a task's unexplored rest) */
  tasks: number;
  unitsSent: number;
  unitsReturned: number;
  /** tasks that ended to feed an idle worker, or at their budget */
  splits: number;
  budgetStops: number;
  /** table growths, and the time every worker waited for them (pausing, rehashing) */
  grows: number;
  growMs: number;
  /** of which copying (the rest is waiting for the running tasks to return) */
  growCopyMs: number;
  /** this thread's time building and posting tasks */
  dispatchMs: number;
  /** the workers' time inside tasks, summed */
  busyMs: number;
  /** from the first task to the last result */
  wallMs: number;
  /** every task (growth copies too), in the order they returned: its thread, start (ms after the parallel phase began), length, states, CPU and wait */
  timeline: TaskTiming[];
  /** this thread's CPU time and run-queue wait before the hand-off (from its start: loading included), and while it coordinated (Linux) */
  mainBefore: ThreadTimes | undefined;
  mainDuring: ThreadTimes | undefined;
}

export interface TaskTiming {
  readonly thread: number;
  readonly startMs: number;
  readonly ms: number;
  readonly states: number;
  readonly cpuMs: number | undefined;
  readonly waitMs: number | undefined;
  readonly stop: string;
}

export interface ParallelOutcome {
  readonly status: Exclude<SearchStatus, { kind: 'running' }>;
  readonly states: number;
  readonly transitions: number;
  readonly replayed: number;
  readonly merged: number;
  readonly mergedShared: number;
  readonly fullNoLocal: number;
  readonly fullCycle: number;
  readonly fullVisible: number;
  readonly maxDepthSeen: number;
  readonly truncated: boolean;
  readonly discoveries: Discovery[];
  readonly tableBytes: number;
  /** transitions taken per (thread, label), summed over every worker */
  readonly coverage: Float64Array;
  readonly profile: ParallelProfile;
}

/** A worker thread died or broke the protocol (not the model's fault as far as we can tell). */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/**
 * New states a task explores before handing its remaining stack back. Work is split on demand (an
 * idle worker raises CTL_HUNGRY), so the budget only bounds how far the table can fill between the
 * coordinator's growth checks and how stale its progress figures get.
 */
const TASK_BUDGET = 100_000;
/** Units a task takes at most. */
const MAX_UNITS = 64;
/** watchdog slots are 32 bytes: 4 apart puts two workers' slots 128 bytes apart (cache lines, and their pairs) */
const SLOT_STRIDE = 4;
const GROW_AT = 0.7;
/**
 * How much the shared table grows at a time. Every growth pauses the workers and copies the whole
 * table (each worker a part), as costly per fingerprint as inserting it: doubling copies each about
 * once in a run, growing by half about twice (at the price of a table up to twice as large).
 */
const GROWTH = 2;

/**
 * A worker thread's step that never returned, named from what the thread published before it: the
 * step, and the state its work unit began at (the path below that state is the worker's alone).
 */
function stuckInWorker(engine: Engine, slot: number, shown: number, units: readonly UnitMsg[] | undefined, seconds: number): StepError {
  const { tid, pc, unit } = slotRunning(slot);
  const th = engine.cm.threads[tid];
  const from = units?.[unit];
  const below = from ? `; it was exploring from ${from.path.length ? `the state at --path ${pathToString(from.path)}` : 'the initial state'} (--workers 1 names the whole path)` : '';
  if (!th || pc < 0) return new StepError(`worker thread ${shown} made no progress for ${seconds} s outside any step (a property that never returns?)${below}`, '?', '?');
  const label = th.labels[pc] ?? '?';
  const message = `step ${th.name}.${label} did not return within ${seconds} s (a loop that never ends?), in worker thread ${shown}${below}`;
  if (!from) return new StepError(message, th.name, label);
  return new StuckStepError(message, th.name, label, seconds, from.path, undefined);
}

/**
 * A table of `capacity` slots holding what `table` holds, copied in parts at once by the pool's
 * threads and, the last part, this one (every search task has returned; none starts until this ends).
 */
async function growOnPool(pool: Piscina, model: ModelRef, table: SharedFingerprintSet, capacity: number, parts: number, onResult: (r: ResultMsg) => void): Promise<SharedFingerprintSet> {
  const next = SharedFingerprintSet.create(capacity);
  const ctl = new SharedArrayBuffer(CTL_WORDS * 4);
  const copies = Array.from({ length: parts - 1 }, (_, part) => {
    const task: TaskMsg = {
      v: PROTOCOL_VERSION, model, table: next.buffer, ctl, units: [], budget: 0, maxDepth: 0, maxStates: 0, deadline: Infinity,
      stopAtFirst: true, symmetry: true, por: true, sleep: true, porShared: [], copy: { from: table.buffer, part, parts },
    };
    return (pool.run(task) as Promise<ResultMsg>).then(onResult);
  });
  next.copyPart(table, parts - 1, parts);
  await Promise.all(copies);
  return next;
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
  let mergedShared = inp.mergedShared;
  let fullNoLocal = inp.fullNoLocal;
  let fullCycle = inp.fullCycle;
  let fullVisible = inp.fullVisible;
  let maxDepthSeen = inp.maxDepthSeen;
  let truncated = inp.truncated;
  const discoveries: Discovery[] = [...inp.discoveries];
  const mainBefore = threadTimes();
  const profile: ParallelProfile = {
    handOffStates: inp.states, handOffMs: inp.handOffMs ?? 0, beforeMs: inp.beforeMs ?? 0, tasks: 0, unitsSent: 0, unitsReturned: 0, splits: 0, budgetStops: 0, grows: 0, growMs: 0, growCopyMs: 0, dispatchMs: 0, busyMs: 0, wallMs: 0,
    timeline: [], mainBefore, mainDuring: undefined,
  };
  const started = performance.now();
  const record = (r: ResultMsg) => {
    profile.timeline.push({ thread: r.thread, startMs: r.at - performance.timeOrigin - started, ms: r.ms, states: r.states, cpuMs: r.cpuMs, waitMs: r.waitMs, stop: r.stop });
  };
  let found = 0;
  for (const d of discoveries) found |= 1 << d.prop;
  const queue: UnitMsg[] = [...inp.units];
  const inflight = new Set<Promise<void>>();
  let stopReason: Exclude<SearchStatus, { kind: 'running' | 'complete' }> | undefined;
  let failure: unknown;
  // heartbeat slots of the watchdog: 0 is this thread; a pool task takes a free one of 1..
  const watch = watchMemory();
  // A worker's engine writes its slot at every step (the step it runs): slots SLOT_STRIDE apart keep
  // two workers' words off one cache line, which would otherwise bounce between their cores.
  const freeSlots: number[] = [];
  const nSlots = poolThreads(inp.workers) + 1;
  /** this thread's own task is in flight (it takes one whenever the pool's threads all have one) */
  let localBusy = false;
  let poolBusy = 0;
  /** pool search tasks whose result this thread has taken in (against CTL_RETURNED) */
  let returned = 0;
  const stride = Math.max(1, Math.min(SLOT_STRIDE, Math.floor((MAX_SLOTS - 1) / nSlots)));
  for (let k = Math.min(MAX_SLOTS - 1, nSlots) - 1; k >= 0; k--) freeSlots.push(1 + k * stride);
  /** the units of the task each worker slot runs, to name where a stuck step was */
  const slotUnits = new Map<number, readonly UnitMsg[]>();
  /** the pool was ended on purpose: its tasks' failures are expected */
  let ended = false;
  whenWorkerStalls((why: Interruption) => {
    // a worker thread cannot be interrupted inside a step: name what it published, end the threads
    if (why.kind === 'deadline') setStop({ kind: 'incomplete', reason: 'timeout' });
    else {
      failure ??= stuckInWorker(inp.engine, why.slot, Math.floor((why.slot - 1) / stride) + 1, slotUnits.get(why.slot), inp.stepSeconds);
      setStop({ kind: 'incomplete', reason: 'interrupted' });
    }
    ended = true;
    void closePools();
  });

  const setStop = (s: typeof stopReason) => {
    stopReason ??= s;
    Atomics.store(ctl, CTL_STOP, 1);
  };

  /**
   * States the tasks in flight may still store, summed. Under a finite --max-states each task gets a
   * share of what is left (states + reserved never exceeds the limit), so two tasks in flight cannot
   * together store more than the limit; a task that ends with part of its share unused gives it back.
   */
  let reserved = 0;
  const unreserved = () => (inp.maxStates === Infinity ? Infinity : inp.maxStates - states - reserved);

  /**
   * A task on this thread, with the run's own engine, in slices with the event loop (pool results,
   * signals) running between them; a slice still running after the step bound, or well past the
   * deadline, is ended (timedSlice, not under the SIGINT guard: see there).
   */
  const runLocal = async (task: TaskMsg): Promise<ResultMsg> => {
    await yieldToLoop();
    const run = taskRun(inp.engine, task, { returned: () => returned });
    try {
      for (;;) {
        if (inp.aborted()) setStop({ kind: 'incomplete', reason: 'interrupted' });
        if (timedSlice(run.slice, inp.stepSeconds * 1000, inp.deadline)) break;
        await yieldToLoop();
      }
    } catch (e) {
      if (!(e instanceof SliceInterrupted)) return run.failed(e);
      Atomics.store(ctl, CTL_STOP, 1);
      // the step was cut short: nobody will apply its undo log (a trace runs the steps again)
      const h = inp.engine.cm.holder;
      h.undo = null;
      h.rec = null;
      // a stop signal that came while the step ran is heard now: the run ends as it asked
      await new Promise((r) => setTimeout(r, 20));
      if (inp.aborted()) setStop({ kind: 'incomplete', reason: 'interrupted' });
      else if (Date.now() >= inp.deadline) setStop({ kind: 'incomplete', reason: 'timeout' });
      else {
        const dfs = run.current();
        failure ??= dfs ? stuckError(inp.engine, dfs, inp.stepSeconds) : new StepError(`the search made no progress for ${inp.stepSeconds} s outside any step (a property that never returns?)`, '?', '?');
        setStop({ kind: 'incomplete', reason: 'interrupted' });
      }
      return run.abandoned();
    }
    return run.result();
  };

  const dispatch = (units: UnitMsg[], quota: number) => {
    const t0 = performance.now();
    if (quota !== Infinity) reserved += quota;
    profile.tasks++;
    profile.unitsSent += units.length;
    const task: TaskMsg = {
      v: PROTOCOL_VERSION,
      model: inp.model,
      table: table.buffer,
      ctl: ctlBuf,
      units,
      budget: TASK_BUDGET,
      maxDepth: inp.maxDepth,
      maxStates: quota,
      deadline: inp.deadline,
      stopAtFirst: inp.stopAtFirst,
      symmetry: inp.symmetry,
      por: inp.por,
      sleep: inp.sleep,
      porShared: inp.por ? porOf(inp.engine).widened() : [],
    };
    // the pool's threads are served first: this thread's task runs in slices after this one yields
    const local = !localBusy && poolBusy >= poolThreads(inp.workers);
    if (local) localBusy = true;
    else poolBusy++;
    // this thread's slices beat its own watchdog slot (0)
    const slot = local ? 0 : (freeSlots.pop() ?? -1);
    const watched: TaskMsg = watch !== undefined && slot > 0 ? { ...task, watch: { memory: watch, slot, seconds: inp.stepSeconds } } : task;
    if (slot > 0) slotUnits.set(slot, units);
    const release = () => {
      if (local) localBusy = false;
      else poolBusy--;
      if (slot > 0) freeSlots.push(slot);
      if (quota !== Infinity) reserved -= quota;
    };
    const run = local ? runLocal(watched) : (pool.run(watched) as Promise<ResultMsg>);
    const p: Promise<void> = run.then(
      (r) => {
        release();
        if (!local) returned++;
        inflight.delete(p);
        if (r.v !== PROTOCOL_VERSION) throw new Error(`worker answered protocol ${r.v}`);
        record(r);
        states += r.states;
        transitions += r.transitions;
        for (let i = 0; i < coverage.length; i++) coverage[i]! += r.coverage[i] ?? 0;
        replayed += r.replayed;
        merged += r.merged;
        mergedShared += r.mergedShared;
        fullNoLocal += r.fullNoLocal;
        fullCycle += r.fullCycle;
        fullVisible += r.fullVisible;
        maxDepthSeen = Math.max(maxDepthSeen, r.maxDepth);
        truncated ||= r.truncated;
        for (const d of r.discoveries) {
          if (found & (1 << d.prop)) continue;
          found |= 1 << d.prop;
          discoveries.push({ prop: d.prop, path: d.path });
          if (inp.stopAtFirst && inp.engine.props[d.prop]!.kind !== 'sometimes') setStop({ kind: 'violation' });
        }
        if (r.watched) porOf(inp.engine).addWatched(r.watched);
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
        // a task's 'max-states' is its share used up: the run's limit is hit only when the total reaches it
        if (states >= inp.maxStates) setStop({ kind: 'incomplete', reason: 'max-states' });
        queue.push(...r.frontier);
        profile.unitsReturned += r.frontier.length;
        profile.busyMs += r.ms;
        if (r.stop === 'split') profile.splits++;
        if (r.stop === 'budget') profile.budgetStops++;
      },
      (e: unknown) => {
        release();
        inflight.delete(p);
        if (!ended) failure ??= e;
        setStop({ kind: 'incomplete', reason: 'interrupted' });
      },
    );
    inflight.add(p);
    profile.dispatchMs += performance.now() - t0;
  };

  while (queue.length > 0 || inflight.size > 0) {
    if (inp.aborted()) setStop({ kind: 'incomplete', reason: 'interrupted' });
    if (!stopReason && Date.now() >= inp.deadline) setStop({ kind: 'incomplete', reason: 'timeout' });
    // grow the shared table between tasks: pause everyone, rehash, resume
    const headroom = states + (inflight.size + inp.workers) * TASK_BUDGET;
    if (!stopReason && headroom > GROW_AT * table.cap) {
      const want = Math.ceil(Math.max(table.cap * GROWTH, headroom / GROW_AT));
      if (want * 8 > inp.maxTableBytes) {
        if (states + TASK_BUDGET > 0.95 * table.cap) setStop({ kind: 'incomplete', reason: 'memory' });
      } else {
        const g0 = performance.now();
        Atomics.store(ctl, CTL_PAUSE, 1);
        await Promise.all([...inflight]);
        const g1 = performance.now();
        if (!stopReason) {
          try {
            table = await growOnPool(pool, inp.model, table, want, inp.workers, record);
          } catch (e) {
            if (!ended) failure ??= e;
            setStop({ kind: 'incomplete', reason: 'interrupted' });
          }
        }
        Atomics.store(ctl, CTL_PAUSE, 0);
        profile.grows++;
        profile.growCopyMs += performance.now() - g1;
        profile.growMs += performance.now() - g0;
      }
    }
    if (stopReason) {
      await Promise.all([...inflight]);
      break;
    }
    // what is left of --max-states and not promised to a task in flight: at least one state per task
    const left = unreserved();
    // nothing in flight and nothing left to give (not reached while the limit is unmet, but never spin)
    if (inflight.size === 0 && left < 1) {
      setStop({ kind: 'incomplete', reason: 'max-states' });
      break;
    }
    if (inflight.size < inp.workers && queue.length > 0 && left >= 1) {
      // shallow units hold the largest subtrees: hand them out first, dealt in turn to the idle
      // workers so that each gets some of them. A task takes at most MAX_UNITS: most units are small
      // subtrees, and one per task would leave the workers waiting on messages; a task that meets
      // its budget, or feeds an idle worker, hands its rest back for re-splitting.
      const n = Math.min(inp.workers - inflight.size, queue.length, left);
      const taken = queue.splice(0, Math.min(queue.length, n * MAX_UNITS));
      const share = left === Infinity ? Infinity : Math.floor(left / n);
      for (let k = 0; k < n; k++) dispatch(taken.filter((_, j) => j % n === k), k === 0 && share !== Infinity ? left - share * (n - 1) : share);
    }
    // a worker with nothing to do asks a busy one for part of its work (it hands back its rest, and
    // the unused part of its --max-states share with it)
    const idle = queue.length === 0 || unreserved() < 1;
    Atomics.store(ctl, CTL_HUNGRY, inflight.size > 0 && inflight.size < inp.workers && idle ? 1 : 0);
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
  profile.wallMs = performance.now() - started;
  profile.mainDuring = timesSince(mainBefore);
  return { status, states, transitions, replayed, merged, mergedShared, fullNoLocal, fullCycle, fullVisible, maxDepthSeen, truncated, discoveries, tableBytes: table.bytes, coverage, profile };
}
