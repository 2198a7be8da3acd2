// A parallel worker: explores the subtrees it is handed against the shared fingerprint table and
// returns what it found and the part it did not get to. A worker thread builds the model itself, from
// its files; the coordinator's thread runs tasks too, with the engine it already has.

import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { instantiate, instantiateUserVariant } from '../model/compile.ts';
import { ModelError } from '../model/errors.ts';
import { userVariantsOf } from '../model/variant-file.ts';
import { Engine } from '../explore/engine.ts';
import { coverageSize } from '../explore/search.ts';
import { Dfs, type DfsUnit } from '../explore/dfs.ts';
import { attach, guarded, publishUnit, runningView, SliceInterrupted } from '../explore/watchdog.ts';
import { stuckError } from '../explore/verify.ts';
import { SharedFingerprintSet } from '../state/shared-fpset.ts';
import type { SpecModule } from '../spec/property.ts';
import { CTL_PAUSE, CTL_STOP, PROTOCOL_VERSION, type ModelRef, type ResultMsg, type StopKind, type TaskMsg, type UnitMsg } from './protocol.ts';

const engines = new Map<string, Engine>();

async function engineFor(m: ModelRef): Promise<Engine> {
  const key = JSON.stringify(m);
  const hit = engines.get(key);
  if (hit) return hit;
  const specExports = await import(pathToFileURL(m.specPath).href);
  // a spec kept in its model's file is that file's `spec` export
  const spec = (m.specPath === m.modelPath ? specExports.spec : specExports.default) as SpecModule;
  let inst;
  if (m.variantFile) {
    const uv = userVariantsOf((await import(pathToFileURL(m.variantFile).href)).default)?.find((v) => v.name === m.variant);
    if (!uv) throw new ModelError(`${m.variantFile} does not export a variant '${m.variant}'`);
    inst = instantiateUserVariant(uv, m.variantFile, m.params);
  } else {
    const mod = (await import(pathToFileURL(m.modelPath).href)).default;
    inst = instantiate(mod, m.variant, m.params);
  }
  const e = new Engine(inst.compiled, spec.properties);
  engines.set(key, e);
  return e;
}

export async function explore(task: TaskMsg): Promise<ResultMsg> {
  if (task.v !== PROTOCOL_VERSION) throw new Error(`worker protocol ${PROTOCOL_VERSION} got a task of version ${task.v}`);
  return runTask(await engineFor(task.model), task);
}

/**
 * Explores a task's units with `engine` against the shared table. In a worker thread it runs straight
 * through; the coordinator's own thread, which takes a share of the work, passes `pause` to let the
 * event loop (the other workers' results) run between slices.
 */
export async function runTask(engine: Engine, task: TaskMsg, pause?: () => Promise<void>): Promise<ResultMsg> {
  const visited = new SharedFingerprintSet(task.table);
  const ctl = new Int32Array(task.ctl);
  let states = 0;
  let transitions = 0;
  let replayed = 0;
  let maxDepth = 0;
  let truncated = false;
  const coverage = new Array<number>(coverageSize(engine)).fill(0);
  let stop: StopKind = 'done';
  const discoveries: { prop: number; path: readonly number[] }[] = [];
  const frontier: UnitMsg[] = [];
  const flagged = () => Atomics.load(ctl, CTL_STOP) !== 0 || Atomics.load(ctl, CTL_PAUSE) !== 0;
  // the watchdog: this thread's heartbeat slot; a worker thread also publishes the step it runs
  if (task.watch) attach(task.watch.memory, task.watch.slot);
  if (!isMainThread) engine.running = (task.watch && runningView()) || Int32Array.of(0, -1, 0);
  let dfs: Dfs | undefined;
  try {
    for (let u = 0; u < task.units.length; u++) {
      if (flagged() || states >= task.budget) {
        frontier.push(...task.units.slice(u));
        stop = Atomics.load(ctl, CTL_STOP) ? 'stopped' : 'budget';
        break;
      }
      publishUnit(u);
      const limits = { maxStates: task.maxStates - states, maxDepth: task.maxDepth, deadline: task.deadline, maxTableBytes: Infinity };
      dfs = new Dfs(engine, limits, { stopAtFirst: task.stopAtFirst, symmetry: task.symmetry, por: task.por, sleep: task.sleep, visited }, task.units[u] as DfsUnit);
      let ended = false;
      const d = dfs;
      while (!(ended = guarded(() => d.run(4096)))) {
        if (pause) await pause();
        if (flagged() || states + dfs.states >= task.budget) break;
      }
      states += dfs.states;
      transitions += dfs.transitions;
      replayed += dfs.replayed;
      maxDepth = Math.max(maxDepth, dfs.maxDepthSeen);
      truncated ||= dfs.truncated;
      for (let i = 0; i < coverage.length; i++) coverage[i]! += dfs.coverage[i]!;
      for (const d of dfs.discoveries) discoveries.push({ prop: d.prop, path: d.path });
      const st = dfs.status;
      if (!ended) {
        frontier.push(...dfs.frontier(), ...task.units.slice(u + 1));
        dfs.release();
        stop = Atomics.load(ctl, CTL_STOP) ? 'stopped' : 'budget';
        break;
      }
      dfs.release();
      if (st.kind === 'violation') {
        Atomics.store(ctl, CTL_STOP, 1);
        frontier.push(...task.units.slice(u + 1));
        stop = 'stopped';
        break;
      }
      if (st.kind === 'incomplete' && st.reason !== 'max-depth') {
        // a depth-limited unit is finished (truncated is reported); any other limit ends the task
        frontier.push(...task.units.slice(u + 1));
        stop = st.reason === 'memory' ? 'memory' : st.reason === 'timeout' ? 'timeout' : st.reason === 'max-states' ? 'max-states' : 'stopped';
        break;
      }
    }
  } catch (e) {
    Atomics.store(ctl, CTL_STOP, 1);
    // this (main) thread's slice was interrupted mid-step: the whole run ends; a stuck step is named here,
    // where its search is known
    if (e instanceof SliceInterrupted && e.why.kind === 'stuck' && dfs !== undefined) throw stuckError(engine, dfs, task.watch?.seconds ?? 0);
    if (e instanceof SliceInterrupted) throw e;
    if (e instanceof ModelError) {
      return { v: PROTOCOL_VERSION, states, transitions, replayed, maxDepth, truncated, discoveries, frontier: [], coverage, stop: 'stopped', modelError: e.message };
    }
    throw e;
  }
  return { v: PROTOCOL_VERSION, states, transitions, replayed, maxDepth, truncated, discoveries, frontier, coverage, stop };
}

export default explore;
