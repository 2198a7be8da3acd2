// Makes counterexamples easier to read: reorders steps so each thread runs as long as possible before
// a switch. A reordering is kept only if it replays, ends in exactly the same state, and does not show
// the property earlier than at its last step — so it is the same violation, told with fewer switches.

import type { Engine } from '../explore/engine.ts';
import { choiceAlt, choiceTid } from './path.ts';

export function contextSwitches(choices: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < choices.length; i++) if (choiceTid(choices[i]!) !== choiceTid(choices[i - 1]!)) n++;
  return n;
}

function move(a: readonly number[], from: number, to: number): number[] {
  const out = a.slice();
  const [x] = out.splice(from, 1);
  out.splice(to, 0, x!);
  return out;
}

/**
 * Reorders `choices` (a path to a state showing property `prop`) to fewer context switches.
 * `stopsAtEnd` says the property may only show at the last state (always/sometimes properties).
 */
export function reorderForReadability(engine: Engine, choices: readonly number[], prop: number, stopsAtEnd: boolean): number[] {
  const W = engine.W;
  const init = engine.cm.init;
  const a = new Int32Array(W);
  const b = new Int32Array(W);
  const target = new Int32Array(W);
  const bit = 1 << prop;
  const isSometimes = engine.props[prop]?.kind === 'sometimes';

  // final state of the original path
  if (!run(choices, target)) return choices.slice();

  function run(path: readonly number[], out: Int32Array): boolean {
    a.set(init);
    for (let i = 0; i < path.length; i++) {
      const c = path[i]!;
      if (!engine.successor(a, 0, choiceTid(c), choiceAlt(c), b)) return false;
      a.set(b);
      if (stopsAtEnd && i < path.length - 1) {
        const m = engine.check(a, isSometimes ? bit : 0);
        if (m & bit) return false;
      }
    }
    out.set(a);
    return true;
  }
  const scratch = new Int32Array(W);
  const valid = (p: readonly number[]): boolean => {
    if (!run(p, scratch)) return false;
    for (let i = 0; i < W; i++) if (scratch[i] !== target[i]) return false;
    return true;
  };

  // Pass 1: rebuild the path, keeping the current thread running whenever its next step can be
  // taken now without changing where the path ends.
  let cur = choices.slice();
  {
    const done: number[] = [];
    const rest = cur.slice();
    while (rest.length) {
      const last = done.length ? choiceTid(done[done.length - 1]!) : -1;
      const j = rest.findIndex((c) => choiceTid(c) === last);
      if (j > 0) {
        const cand = [...done, rest[j]!, ...rest.slice(0, j), ...rest.slice(j + 1)];
        if (valid(cand)) {
          done.push(rest[j]!);
          rest.splice(j, 1);
          continue;
        }
      }
      done.push(rest.shift()!);
    }
    if (contextSwitches(done) < contextSwitches(cur)) cur = done;
  }
  // Pass 2: single moves that remove a switch.
  let best = contextSwitches(cur);
  for (let pass = 0; pass < 4 * cur.length + 8; pass++) {
    let improved = false;
    for (let i = 1; i < cur.length && !improved; i++) {
      const t = choiceTid(cur[i - 1]!);
      if (choiceTid(cur[i]!) === t) continue;
      let j = i + 1;
      while (j < cur.length && choiceTid(cur[j]!) !== t) j++;
      const candidates: number[][] = [];
      if (j < cur.length) {
        candidates.push(move(cur, j, i)); // pull thread t's next step forward
        candidates.push(move(cur, i - 1, j - 1)); // or push this step down to join it
      }
      for (const c of candidates) {
        const sw = contextSwitches(c);
        if (sw < best && valid(c)) {
          cur = c;
          best = sw;
          improved = true;
          break;
        }
      }
    }
    if (!improved) break;
  }
  return cur;
}

/**
 * Drops steps that the violation does not need: a step is removed when the rest still replays and
 * property `prop` (an always or sometimes property) first shows at the last state, after the same
 * thread's same step. Greedy, so the result is minimal under single removals, not necessarily shortest.
 */
export function shrinkPath(engine: Engine, choices: readonly number[], prop: number): number[] {
  if (choices.length < 2) return choices.slice();
  const W = engine.W;
  const init = engine.cm.init;
  const a = new Int32Array(W);
  const b = new Int32Array(W);
  const bit = 1 << prop;
  const pending = engine.props[prop]?.kind === 'sometimes' ? bit : 0;
  const lastTid = choiceTid(choices[choices.length - 1]!);
  const pcOf = (path: readonly number[]): number => {
    // pc of the last step's thread just before it runs (its label), or -2 if the path does not fit
    a.set(init);
    for (let i = 0; i < path.length; i++) {
      const c = path[i]!;
      if (i === path.length - 1) return engine.pc(a, 0, choiceTid(c));
      if (!engine.successor(a, 0, choiceTid(c), choiceAlt(c), b)) return -2;
      a.set(b);
    }
    return -2;
  };
  const lastPc = pcOf(choices);
  const shows = (path: readonly number[]): boolean => {
    if (choiceTid(path[path.length - 1]!) !== lastTid || pcOf(path) !== lastPc) return false;
    a.set(init);
    for (let i = 0; i < path.length; i++) {
      const c = path[i]!;
      if (!engine.successor(a, 0, choiceTid(c), choiceAlt(c), b)) return false;
      a.set(b);
      const hit = (engine.check(a, pending) & bit) !== 0;
      if (hit !== (i === path.length - 1)) return false;
    }
    return true;
  };
  let cur = choices.slice();
  for (let i = cur.length - 2; i >= 0; i--) {
    const cand = [...cur.slice(0, i), ...cur.slice(i + 1)];
    if (shows(cand)) cur = cand;
  }
  return cur;
}
