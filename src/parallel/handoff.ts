// The hand-off from a single-threaded DFS to worker threads: copies its visited set into a shared
// table and its unexplored stack into work units, then runs the rest on the pool.

import type { Dfs } from '../explore/dfs.ts';
import type { HandOff, SearchSummary, Tick, Verification } from '../explore/verify.ts';
import type { FingerprintSet } from '../state/fpset.ts';
import { SharedFingerprintSet } from '../state/shared-fpset.ts';
import type { ParallelProfile } from './coordinator.ts';
import type { ModelRef } from './protocol.ts';

/** The coordinator, and piscina with it, is loaded only by a run that starts worker threads. */
let coordinator: Promise<typeof import('./coordinator.ts')> | undefined;
const loadCoordinator = () => (coordinator ??= import('./coordinator.ts'));

/** Ends the worker threads that hand-offs started (loading nothing when none was). */
export async function closeHandOffPools(): Promise<void> {
  if (coordinator) await (await coordinator).closePools();
}

/**
 * The shared table's size for a hand-off at `states` states: 4M slots (32 MB) at least, within
 * --max-table bytes: a run that is handed off is large, and every growth pauses the workers to copy
 * the whole table (as costly as inserting it): 1.3M states then need none.
 */
function tableSlots(v: Verification, states: number): number {
  return Math.max(Math.min(1 << 22, Math.floor(v.opts.limits.maxTableBytes / 8)), Math.ceil(states / 0.35));
}

/**
 * Hands a DFS still running after `after` states to `workers` threads. Not earlier: handing off at
 * 50,000 (threads started at 25,000) made retract-page-tables faults=3 (1.29M states) ~5% faster on 2
 * workers but its default run (96,000 states) ~33% slower, the threads' start costing more than they won.
 * The threads are started (they load the model and map the shared table's pages) in the background at
 * half of `after`; until they are ready the DFS goes on here, so small runs never wait for them. `force` (tests) waits for them instead, so that the hand-off always happens.
 */
export function parallelHandOff(workers: number, model: ModelRef, after = 200_000, force = false, onProfile?: (p: ParallelProfile) => void): HandOff {
  let isReady = false;
  let warming: Promise<void> | undefined;
  /** the shared table, made (and its pages touched by the warming threads) before the hand-off */
  let early: SharedFingerprintSet | undefined;
  return {
    after,
    prepare(v: Verification) {
      early = SharedFingerprintSet.create(tableSlots(v, after));
      const table = early;
      warming = loadCoordinator().then((c) => c.warmPool(workers, model, table)).then(
        () => {
          isReady = true;
        },
        () => {
          isReady = true; // a worker that cannot load fails its first real task, with the reason
        },
      );
    },
    ready: () => isReady || force,
    async take(v: Verification, dfs: Dfs, tick: Tick): Promise<SearchSummary> {
      const beforeMs = v.elapsedMs;
      await warming;
      const t0 = performance.now();
      const local = dfs.visitedSet as FingerprintSet;
      const o = v.opts;
      const slots = tableSlots(v, local.size);
      const table = early && early.cap >= slots ? early : SharedFingerprintSet.create(slots);
      early = undefined;
      local.forEach((hi, lo) => table.insertUnshared(hi, lo));
      const { exploreParallel } = await loadCoordinator();
      const out = await exploreParallel({
        engine: v.engine,
        model,
        workers,
        units: dfs.frontier(),
        table,
        maxDepth: o.limits.maxDepth,
        maxStates: o.limits.maxStates,
        deadline: o.limits.deadline,
        maxTableBytes: o.limits.maxTableBytes,
        stopAtFirst: o.stopAtFirst,
        symmetry: o.symmetry ?? true,
        por: o.por ?? true,
        sleep: o.sleep ?? o.por ?? true,
        states: dfs.states,
        transitions: dfs.transitions,
        coverage: dfs.coverage,
        replayed: dfs.replayed,
        merged: dfs.merged,
        mergedShared: dfs.mergedShared,
        fullNoLocal: dfs.fullNoLocal,
        fullCycle: dfs.fullCycle,
        fullVisible: dfs.fullVisible,
        maxDepthSeen: dfs.maxDepthSeen,
        truncated: dfs.truncated,
        discoveries: dfs.discoveries,
        aborted: () => v.isAborted,
        stepSeconds: v.stepSeconds,
        onProgress: (states, depth, bytes) => tick(states, depth, bytes),
        handOffMs: performance.now() - t0,
        beforeMs,
      });
      const { profile, ...summary } = out;
      onProfile?.(profile);
      return { ...summary, workers };
    },
  };
}
