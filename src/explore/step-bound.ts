// Model code run outside a search (a replay, a trace, building a model, a simulation's slices) under the
// same step bound as a search: the watchdog interrupts a step that never returns. Owns no state; never
// prints. The search itself is bounded in verify.ts.

import type { Engine } from './engine.ts';
import { StepError } from './engine.ts';
import { stuckStep } from './verify.ts';
import { arm, disarm, guarded, passUserInterrupt, SliceInterrupted } from './watchdog.ts';
import { replaying } from '../trace/replay.ts';
import { encodeChoice } from '../trace/path.ts';

export { SliceInterrupted } from './watchdog.ts';

/**
 * Runs `f` (synchronous model code) with the watchdog armed for `seconds` (and `deadline`, Date.now()
 * ms): a step that never returns ends it with SliceInterrupted ('stuck'), the deadline with
 * ('deadline'), a Ctrl-C with ('user') once the process's handlers have heard of it. A slice that must
 * last longer than the bound calls pulse() as it makes progress.
 */
export function underStepBound<T>(seconds: number, f: () => T, deadline = Infinity): T {
  arm(deadline, seconds * 1000);
  try {
    return guarded(f);
  } catch (e) {
    if (e instanceof SliceInterrupted && e.why.kind === 'user') passUserInterrupt();
    throw e;
  } finally {
    disarm();
  }
}

/**
 * The step `engine` was running when a slice that replays `choices` (a replay, a trace, snapshots, or
 * a probe of the state they lead to) was interrupted, as a model error with the path to it.
 */
export function stuckOnPath(engine: Engine, choices: readonly number[], seconds: number): StepError {
  const [tid, pc, alt] = engine.running as unknown as [number, number, number];
  if (pc < 0) return new StepError(`model code did not return within ${seconds} s outside any step (a property that never returns?)`, '?', '?');
  const th = engine.cm.threads[tid]!;
  const label = th.labels[pc] ?? '?';
  const i = replaying.step;
  // inside replay(): the path's own step i; after it: a step tried in the state the whole path reaches
  if (i >= 0 && i < choices.length) return stuckStep(th.name, label, choices.slice(0, i), choices[i]!, seconds);
  return stuckStep(th.name, label, choices, encodeChoice(tid, alt), seconds);
}

/** Before a slice over a new path: no replay is under way. */
export function resetReplaying(): void {
  replaying.step = -1;
}
