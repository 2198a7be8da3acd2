// Makes counterexamples easier to read: drops the steps a discovery does not need (shrinkPath), then
// reorders steps so each thread runs as long as possible before a switch. Either is kept only if the
// path still replays and shows the same property the same way: the same violation, told shorter.

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
 * Whether `path` still shows property `prop` the way the original did: it replays, and for an
 * always/sometimes property the property first shows at its last state, after the same thread's same
 * step; for a final/deadlock property its end state is terminal and shows it.
 */
function discoveryCheck(engine: Engine, choices: readonly number[], prop: number): (path: readonly number[]) => boolean {
  const W = engine.W;
  const init = engine.cm.init;
  const a = new Int32Array(W);
  const b = new Int32Array(W);
  const bit = 1 << prop;
  const kind = engine.props[prop]?.kind;
  const atEnd = kind === 'always' || kind === 'sometimes';
  const pending = kind === 'sometimes' ? bit : 0;
  const runs = (path: readonly number[], upTo: number): boolean => {
    a.set(init);
    for (let i = 0; i < upTo; i++) {
      const c = path[i]!;
      if (!engine.successor(a, 0, choiceTid(c), choiceAlt(c), b)) return false;
      a.set(b);
      if (atEnd && i < path.length - 1 && (engine.check(a, pending) & bit) !== 0) return false;
    }
    return true;
  };
  if (!atEnd) {
    return (path) => {
      if (!runs(path, path.length)) return false;
      for (let t = 0; t < engine.T; t++) {
        const n = engine.alts(a, 0, t);
        for (let alt = 0; alt < n; alt++) if (engine.successor(a, 0, t, alt, b)) return false;
      }
      return (engine.terminal(a) & bit) !== 0;
    };
  }
  if (choices.length === 0) return (path) => path.length === 0;
  const lastTid = choiceTid(choices[choices.length - 1]!);
  // the label the last step's thread is at just before it runs
  const lastPc = runs(choices, choices.length - 1) ? engine.pc(a, 0, lastTid) : -2;
  return (path) => {
    if (path.length === 0 || choiceTid(path[path.length - 1]!) !== lastTid) return false;
    if (!runs(path, path.length - 1) || engine.pc(a, 0, lastTid) !== lastPc) return false;
    const c = path[path.length - 1]!;
    if (!engine.successor(a, 0, lastTid, choiceAlt(c), b)) return false;
    return (engine.check(b, pending) & bit) !== 0;
  };
}

/** `path` without its entries at the (sorted) positions `drop`. */
function without(path: readonly number[], drop: readonly number[]): number[] {
  const skip = new Set(drop);
  return path.filter((_, i) => !skip.has(i));
}

/**
 * Drops steps that the discovery of property `prop` does not need, so that it shows the same way
 * (see discoveryCheck). Coarse to fine: first every step of a whole thread, then runs of one thread's
 * consecutive steps (a loop iteration such as a failed trylock and its retry, which can only go
 * together), then single steps — repeated until nothing more goes. Minimal under those removals, not
 * necessarily shortest. Context switches are then cut by reorderForReadability.
 */
export function shrinkPath(engine: Engine, choices: readonly number[], prop: number): number[] {
  if (choices.length === 0) return [];
  const ok = discoveryCheck(engine, choices, prop);
  if (!ok(choices)) return choices.slice();
  let cur = choices.slice();
  const tryDrop = (drop: readonly number[]): boolean => {
    if (drop.length === 0) return false;
    const cand = without(cur, drop);
    if (!ok(cand)) return false;
    cur = cand;
    return true;
  };
  for (let changed = true; changed; ) {
    changed = false;
    // 1. a whole thread's steps
    for (const t of [...new Set(cur.map(choiceTid))]) {
      changed = tryDrop(cur.flatMap((c, i) => (choiceTid(c) === t ? [i] : []))) || changed;
    }
    // 2. runs of one thread's consecutive steps (in that thread's own order), longest first
    const byThread = new Map<number, number[]>();
    cur.forEach((c, i) => byThread.set(choiceTid(c), [...(byThread.get(choiceTid(c)) ?? []), i]));
    const longest = Math.max(...[...byThread.values()].map((v) => v.length));
    for (let len = Math.min(longest - 1, 8); len >= 2; len--) {
      for (let again = true; again; ) {
        again = false;
        const runs = new Map<number, number[]>();
        cur.forEach((c, i) => runs.set(choiceTid(c), [...(runs.get(choiceTid(c)) ?? []), i]));
        for (const idx of runs.values()) {
          for (let s = idx.length - len; s >= 0 && !again; s--) if (tryDrop(idx.slice(s, s + len))) again = changed = true;
          if (again) break;
        }
      }
    }
    // 3. single steps, from the end
    for (let i = cur.length - 1; i >= 0; i--) if (i < cur.length && tryDrop([i])) changed = true;
  }
  return cur;
}

/**
 * The path a counterexample is shown with: `path` shrunk to the steps the discovery of property
 * `prop` needs, then reordered to fewer context switches. Same property, same last step.
 */
export function readablePath(engine: Engine, path: readonly number[], prop: number): number[] {
  const kind = engine.props[prop]?.kind;
  return reorderForReadability(engine, shrinkPath(engine, path, prop), prop, kind === 'always' || kind === 'sometimes');
}
