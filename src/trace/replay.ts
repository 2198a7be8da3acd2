// Replay: re-executes a path from the initial state, checking that every choice is enabled and that
// each step is deterministic (run twice from the same state, same result). Divergence is reported
// with the step, thread and label where it happens.

import type { Engine } from '../explore/engine.ts';
import { ModelError } from '../model/errors.ts';
import { choiceAlt, choiceTid } from './path.ts';
import { pulse } from '../explore/watchdog.ts';

export class ReplayError extends ModelError {
  override name = 'ReplayError';
  constructor(
    message: string,
    /** 0-based index of the step that failed */
    readonly stepIndex: number,
  ) {
    super(message);
  }
}

export interface ReplayedStep {
  readonly choice: number;
  readonly tid: number;
  readonly alt: number;
  /** label the thread was at (what it executed), as shown in traces */
  readonly label: string;
  readonly before: Int32Array;
  readonly after: Int32Array;
}

const NONDETERMINISM_HELP =
  'the model is nondeterministic: a step gave different results on the same state. Steps must depend ' +
  'only on the state and their arguments (no Math.random, Date, or variables kept outside the state)';

/** What a thread shows for executing (tid, alt) in state a. */
export function stepLabel(engine: Engine, a: Int32Array, tid: number, alt: number): string {
  const th = engine.cm.threads[tid]!;
  const pc = engine.pc(a, 0, tid);
  if (pc < 0) return 'done';
  const show = th.shows[pc];
  if (!show) return th.labels[pc]!;
  engine.cm.holder.b = a;
  engine.cm.holder.o = 0;
  return show(alt, engine.cm.root, th.me);
}

/**
 * The index of the step the running replay() is at (-1: none), so that a step that never returns can
 * be named with the path to it when the watchdog interrupts a replay (src/explore/step-bound.ts).
 */
export const replaying = { step: -1 };

export function replay(engine: Engine, choices: readonly number[]): ReplayedStep[] {
  const W = engine.W;
  let cur = Int32Array.from(engine.cm.init);
  const out: ReplayedStep[] = [];
  const a = new Int32Array(W);
  const b = new Int32Array(W);
  choices.forEach((c, i) => {
    replaying.step = i;
    pulse(); // progress, for the watchdog: each step has the whole bound
    const tid = choiceTid(c);
    const alt = choiceAlt(c);
    const th = engine.cm.threads[tid];
    if (!th) throw new ReplayError(`step ${i + 1}: the model has no thread ${tid} (it has ${engine.T})`, i);
    const pc = engine.pc(cur, 0, tid);
    if (pc < 0) throw new ReplayError(`step ${i + 1}: thread ${th.name} has already finished`, i);
    const nAlt = engine.alts(cur, 0, tid);
    if (alt >= nAlt) throw new ReplayError(`step ${i + 1}: ${th.name}.${th.labels[pc]} has no alternative ${alt}`, i);
    const label = stepLabel(engine, cur, tid, alt);
    const ok1 = engine.successor(cur, 0, tid, alt, a);
    const ok2 = engine.successor(cur, 0, tid, alt, b);
    if (ok1 !== ok2 || (ok1 && !a.every((v, k) => v === b[k]))) {
      throw new ReplayError(`step ${i + 1} (${th.name}.${th.labels[pc]}): ${NONDETERMINISM_HELP}`, i);
    }
    if (!ok1) {
      throw new ReplayError(
        `step ${i + 1}: ${th.name}.${th.labels[pc]} is not enabled here (blocked); the path does not fit this model — ` +
          'it was made from a different model, variant or parameters, or the model is nondeterministic',
        i,
      );
    }
    const after = Int32Array.from(a);
    out.push({ choice: c, tid, alt, label, before: cur, after });
    cur = after;
  });
  replaying.step = -1;
  return out;
}
