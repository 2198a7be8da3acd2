// A parallel worker: explores the subtrees it is handed against the shared fingerprint table and
// returns what it found and the part it did not get to. A pool thread builds the model itself, from
// its files; the coordinator's thread runs tasks too (taskRun), with the engine it already has.

import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { instantiate, instantiateUserVariant, type CompileOptions } from '../model/compile.ts';
import { ModelError } from '../model/errors.ts';
import { userVariantsOf } from '../model/variant-file.ts';
import { Engine } from '../explore/engine.ts';
import { coverageSize, porOf } from '../explore/search.ts';
import { Dfs, type DfsUnit } from '../explore/dfs.ts';
import { attach, guarded, publishUnit, runningView } from '../explore/watchdog.ts';
import { ReductionWidened } from '../por/reduction.ts';
import { deriveFutures } from '../por/derive-futures.ts';
import { entryFor } from '../por/derived-entry.ts';
import { SharedFingerprintSet } from '../state/shared-fpset.ts';
import type { SpecModule } from '../spec/property.ts';
import { threadTimes, timesSince } from './thread-times.ts';
import { CTL_HUNGRY, CTL_PAUSE, CTL_RETURNED, CTL_STOP, PROTOCOL_VERSION, type ModelRef, type ResultMsg, type StopKind, type TaskMsg, type UnitMsg } from './protocol.ts';

const engines = new Map<string, Engine>();

/** How this thread imports a model, spec or variant file: as it is, unless the entry hands in another. */
let importFile = async (path: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(path).href)) as Record<string, unknown>;

/** Set by the worker entry of a compiled run (workers/explore-worker.mjs), before any task. */
export function setFileImporter(f: (path: string) => Promise<Record<string, unknown>>): void {
  importFile = f;
}

/** How long one guarded slice of a task runs. */
const SLICE_MS = 40;

async function engineFor(m: ModelRef): Promise<Engine> {
  const key = JSON.stringify(m);
  const hit = engines.get(key);
  if (hit) return hit;
  const specExports = await importFile(m.specPath);
  // a spec kept in its model's file is that file's `spec` export
  const spec = (m.specPath === m.modelPath ? specExports.spec : specExports.default) as SpecModule;
  let inst;
  const copts = compileOptionsOf(m);
  if (m.variantFile) {
    const uv = userVariantsOf((await importFile(m.variantFile)).default)?.find((v) => v.name === m.variant);
    if (!uv) throw new ModelError(`${m.variantFile} does not export a variant '${m.variant}'`);
    inst = instantiateUserVariant(uv, m.variantFile, m.params, copts);
  } else {
    const mod = (await importFile(m.modelPath)).default as Parameters<typeof instantiate>[0];
    inst = instantiate(mod, m.variant, m.params, copts);
  }
  const e = new Engine(inst.compiled, spec.properties);
  engines.set(key, e);
  return e;
}

/**
 * How a worker compiles `m`: with the derived futures the coordinating thread handed over, once they
 * fit the model compiled here (data, checked as the derivation cache checks an entry), so N workers
 * derive once; else derived here (the derivation is deterministic: the same futures).
 */
export function compileOptionsOf(m: ModelRef): CompileOptions {
  if (!m.deriveFutures) return {};
  const text = m.derived;
  return { deriveFutures: (cm) => (text !== undefined ? entryFor(cm, text) : undefined) ?? deriveFutures(cm) };
}

export async function explore(task: TaskMsg): Promise<ResultMsg> {
  if (task.v !== PROTOCOL_VERSION) throw new Error(`worker protocol ${PROTOCOL_VERSION} got a task of version ${task.v}`);
  if (task.copy) return copyTask(task, task.copy);
  if (task.touch) new SharedFingerprintSet(task.table).touchPart(task.touch.part, task.touch.parts);
  return runTask(await engineFor(task.model), task);
}

/** A growth task: copies this worker's part of the old table into the new one. */
function copyTask(task: TaskMsg, c: NonNullable<TaskMsg['copy']>): ResultMsg {
  const t0 = performance.now();
  const times0 = threadTimes();
  new SharedFingerprintSet(task.table).copyPart(new SharedFingerprintSet(c.from), c.part, c.parts);
  return { v: PROTOCOL_VERSION, states: 0, transitions: 0, replayed: 0, merged: 0, mergedShared: 0, fullNoLocal: 0, fullCycle: 0, fullVisible: 0, maxDepth: 0, truncated: false, discoveries: [], frontier: [], coverage: [], stop: 'done', ...timing(t0, times0) };
}

/** A task's own timing: how long, from when, on which thread, and (Linux) its CPU time and wait. */
function timing(t0: number, times0: ReturnType<typeof threadTimes>) {
  const d = timesSince(times0);
  return { ms: performance.now() - t0, at: performance.timeOrigin + t0, thread: threadId, cpuMs: d?.cpuMs, waitMs: d?.waitMs };
}

/** Explores a task's units with `engine` against the shared table, in a pool thread. */
export function runTask(engine: Engine, task: TaskMsg): ResultMsg {
  const run = taskRun(engine, task, false);
  try {
    while (!guarded(run.slice));
  } catch (e) {
    return run.failed(e);
  }
  const r = run.result();
  // the coordinator's thread, searching a task of its own, cuts its slice short to hand out more work
  Atomics.add(new Int32Array(task.ctl), CTL_RETURNED, 1);
  return r;
}

/** A task being explored, one guarded slice at a time (a pool thread runs it straight through; the coordinator's thread between its messages). */
export interface TaskRun {
  /** one slice: units, in order, for up to SLICE_MS (or, in the coordinator's thread, until a pool task returned); true when the task is over */
  readonly slice: () => boolean;
  /** what the task found and did not get to (once slice() returned true) */
  result(): ResultMsg;
  /** the result of a task a slice threw out of: a model error or a widened reduction as such, anything else thrown on */
  failed(e: unknown): ResultMsg;
  /** the result of a task given up mid-step (the run ends): what it counted, nothing to go on with */
  abandoned(): ResultMsg;
  /** the search of the unit running now (undefined between units) */
  current(): Dfs | undefined;
}

/**
 * A task's run. `local`: in the coordinator's thread, with its own engine, whose reduction is the
 * run's: the widened words are already its own and the words it watched stay in it (a pool thread
 * hands both over in its result); its slices also end once a pool task has returned (CTL_RETURNED
 * passed `returned`), so that the pool thread gets new work without waiting for a whole slice.
 */
export function taskRun(engine: Engine, task: TaskMsg, local: false | { readonly returned: () => number }): TaskRun {
  const t0 = performance.now();
  const times0 = threadTimes();
  const visited = new SharedFingerprintSet(task.table);
  const ctl = new Int32Array(task.ctl);
  let states = 0;
  let transitions = 0;
  let replayed = 0;
  let merged = 0;
  let mergedShared = 0;
  let fullNoLocal = 0;
  let fullCycle = 0;
  let fullVisible = 0;
  let maxDepth = 0;
  let truncated = false;
  const coverage = new Array<number>(coverageSize(engine)).fill(0);
  let stop: StopKind = 'done';
  const discoveries: { prop: number; path: readonly number[] }[] = [];
  const frontier: UnitMsg[] = [];
  if (task.por && !local) porOf(engine).widen(task.porShared);
  const flagged = () => Atomics.load(ctl, CTL_STOP) !== 0 || Atomics.load(ctl, CTL_PAUSE) !== 0;
  // another worker is idle: this task answers (once) if it has at least two units' worth to share,
  // after it has made some progress of its own (so that a unit cannot bounce between workers)
  const feeds = (rest: number) => rest >= 2 && Atomics.load(ctl, CTL_HUNGRY) !== 0 && Atomics.compareExchange(ctl, CTL_HUNGRY, 1, 0) === 1;
  // the watchdog: this thread's heartbeat slot; a worker thread also publishes the step it runs
  if (task.watch) attach(task.watch.memory, task.watch.slot);
  if (!local) engine.running = (task.watch && runningView()) || Int32Array.of(0, -1, 0);
  let dfs: Dfs | undefined;
  let u = 0;
  // Folds the finished (or given-up) search of unit u into the task's totals.
  const fold = (d: Dfs) => {
    states += d.states;
    transitions += d.transitions;
    replayed += d.replayed;
    merged += d.merged;
    mergedShared += d.mergedShared;
    fullNoLocal += d.fullNoLocal;
    fullCycle += d.fullCycle;
    fullVisible += d.fullVisible;
    maxDepth = Math.max(maxDepth, d.maxDepthSeen);
    truncated ||= d.truncated;
    for (let i = 0; i < coverage.length; i++) coverage[i]! += d.coverage[i]!;
    for (const x of d.discoveries) discoveries.push({ prop: x.prop, path: x.path });
  };
  // One guarded slice: units, in order, for up to SLICE_MS (the watchdog's beat); true when the task is over
  const slice = (): boolean => {
    const until = Date.now() + SLICE_MS;
    for (let first = true; ; first = false) {
      if (dfs === undefined) {
        if (u >= task.units.length) return true;
        if (flagged() || states >= task.budget || states >= task.maxStates || (u > 0 && feeds(task.units.length - u))) {
          frontier.push(...task.units.slice(u));
          stop = Atomics.load(ctl, CTL_STOP) ? 'stopped' : states >= task.maxStates ? 'max-states' : states >= task.budget || flagged() ? 'budget' : 'split';
          return true;
        }
        publishUnit(u);
        const limits = { maxStates: task.maxStates - states, maxDepth: task.maxDepth, deadline: task.deadline, maxTableBytes: Infinity };
        dfs = new Dfs(engine, limits, { stopAtFirst: task.stopAtFirst, symmetry: task.symmetry, por: task.por, sleep: task.sleep, visited }, task.units[u] as DfsUnit);
      }
      const d = dfs;
      const ended = d.run(4096);
      if (!ended) {
        const over = flagged() || states + d.states >= task.budget;
        if (over || feeds(d.depth + 1 + task.units.length - u - 1)) {
          fold(d);
          frontier.push(...d.frontier(), ...task.units.slice(u + 1));
          d.release();
          dfs = undefined;
          stop = Atomics.load(ctl, CTL_STOP) ? 'stopped' : over ? 'budget' : 'split';
          return true;
        }
      } else {
        // the status first: release() marks the search as given up
        const st = d.status;
        // this task's share of --max-states is used up: what the unit did not get to goes back to the
        // coordinator, which goes on with it while the run's limit is not reached
        const rest = st.kind === 'incomplete' && st.reason === 'max-states' ? d.frontier() : [];
        fold(d);
        d.release();
        dfs = undefined;
        u++;
        if (st.kind === 'violation') {
          Atomics.store(ctl, CTL_STOP, 1);
          frontier.push(...task.units.slice(u));
          stop = 'stopped';
          return true;
        }
        if (st.kind === 'incomplete' && st.reason !== 'max-depth') {
          // a depth-limited unit is finished (truncated is reported); any other limit ends the task
          frontier.push(...rest, ...task.units.slice(u));
          stop = st.reason === 'memory' ? 'memory' : st.reason === 'timeout' ? 'timeout' : st.reason === 'max-states' ? 'max-states' : 'stopped';
          return true;
        }
      }
      if (Date.now() >= until) return false;
      // at least one run() a slice: a pool task's result may take a moment to arrive
      if (local && !first && Atomics.load(ctl, CTL_RETURNED) > local.returned()) return false;
    }
  };
  return {
    slice,
    current: () => dfs,
    failed(e: unknown): ResultMsg {
      const base = this.abandoned();
      if (e instanceof ModelError) return { ...base, modelError: e.message };
      if (e instanceof ReductionWidened) return { ...base, widened: { words: e.words, why: e.message } };
      throw e;
    },
    abandoned(): ResultMsg {
      Atomics.store(ctl, CTL_STOP, 1);
      return { v: PROTOCOL_VERSION, states, transitions, replayed, merged, mergedShared, fullNoLocal, fullCycle, fullVisible, maxDepth, truncated, discoveries, frontier: [], coverage, stop: 'stopped', ...timing(t0, times0) };
    },
    result(): ResultMsg {
      const watched = !local && task.por && engine.safeWatch !== null ? porOf(engine).takeWatched() : undefined;
      return {
        v: PROTOCOL_VERSION, states, transitions, replayed, merged, mergedShared, fullNoLocal, fullCycle, fullVisible, maxDepth, truncated, discoveries, frontier, coverage, stop, ...timing(t0, times0),
        ...(watched ? { watched } : {}),
      };
    },
  };
}

export default explore;
