// A naive reference explorer for the differential tests, written plainly and independently of the
// engine: breadth-first over whole states kept as strings in a Set, running the compiled model's steps
// directly on copies of the state (no Engine, no fingerprints, no search code shared with src/explore).
// Its answers are what the engine must match; it also counts symmetry classes by brute force.

import { BLOCKED, DONE, type CompiledModel } from '../../src/model/compile.ts';
import type { Property, Verdict } from '../../src/spec/property.ts';

export interface ReferenceResult {
  /** distinct reachable states */
  readonly states: number;
  /** enabled (state, thread, alternative) triples over all reachable states */
  readonly transitions: number;
  /** greatest BFS level (the initial state is level 0) */
  readonly maxDepth: number;
  /** every reachable state, in the order found */
  readonly stateList: readonly Int32Array[];
  /** states where nothing is enabled -> true if it is a deadlock (some non-daemon thread unfinished) */
  readonly terminals: ReadonlyMap<string, boolean>;
  /** verdict per property, in the spec's order */
  readonly verdicts: readonly Verdict[];
  /** per property: the least number of steps to a state that violates (or, for sometimes, satisfies) it */
  readonly minDepth: readonly (number | undefined)[];
}

/** The key of a state: its ints, comma-separated. */
export function stateKey(a: Int32Array): string {
  return a.join(',');
}

/** Evaluates `pred` on the state `a` (points the model's views at it). */
function holds(cm: CompiledModel, a: Int32Array, pred: (s: any, t: any) => boolean): boolean {
  cm.holder.b = a;
  cm.holder.o = 0;
  return pred(cm.root, cm.threadsAt);
}

/**
 * Runs every (thread, alternative) of `a` in thread then alternative order, each on a fresh copy of `a`
 * in `b`, and calls `enabled(b)` with each successor (valid until the next call: copy it to keep it).
 * A step that returns BLOCKED is not enabled, and whatever it wrote is overwritten by the next copy;
 * DONE sets the thread's pc to -1 and runs the exit hooks; a label moves the pc to that label.
 * Returns the number of enabled transitions.
 */
export function forEachSuccessor(cm: CompiledModel, a: Int32Array, b: Int32Array, enabled: (b: Int32Array) => void): number {
  let n = 0;
  for (const t of cm.threads) {
    const pc = a[t.pcOff]!;
    if (pc < 0) continue;
    for (let alt = 0; alt < t.alts[pc]!; alt++) {
      b.set(a);
      cm.holder.b = b;
      cm.holder.o = 0;
      const res = t.steps[pc]!(cm.root, t.me, alt);
      if (res === BLOCKED) continue;
      if (res === DONE) {
        b[t.pcOff] = -1;
        for (const hook of cm.exitHooks) hook(cm.root, t.me);
      } else {
        const next = t.labelIndex[res as string];
        if (next === undefined) throw new Error(`reference: ${t.name}.${t.labels[pc]} returned unknown label ${String(res)}`);
        b[t.pcOff] = next;
      }
      n++;
      enabled(b);
    }
  }
  return n;
}

/** Every successor of `a`, copied. */
export function successors(cm: CompiledModel, a: Int32Array): Int32Array[] {
  const out: Int32Array[] = [];
  forEachSuccessor(cm, a, new Int32Array(a.length), (b) => out.push(b.slice()));
  return out;
}

/** Every non-daemon thread has finished. */
export function allDone(cm: CompiledModel, a: Int32Array): boolean {
  return cm.threads.every((t) => t.daemon || a[t.pcOff]! < 0);
}

/**
 * Explores every reachable state. Returns undefined when there are more than `maxStates` (the caller
 * skips such a model rather than wait).
 */
export function explore(cm: CompiledModel, props: readonly Property[], maxStates = Infinity): ReferenceResult | undefined {
  const verdicts: Verdict[] = props.map((p) => (p.kind === 'sometimes' ? 'unreachable' : 'holds'));
  const minDepth: (number | undefined)[] = props.map(() => undefined);
  const found = (k: number, depth: number) => {
    if (minDepth[k] === undefined) minDepth[k] = depth;
    verdicts[k] = props[k]!.kind === 'sometimes' ? 'reachable' : 'violated';
  };
  const visit = (a: Int32Array, depth: number) => {
    for (let k = 0; k < props.length; k++) {
      const p = props[k]!;
      if (p.kind === 'always' && !holds(cm, a, p.pred)) found(k, depth);
      if (p.kind === 'sometimes' && holds(cm, a, p.pred)) found(k, depth);
    }
  };

  const init = cm.init.slice();
  const reachable = new Set<string>([stateKey(init)]);
  const stateList: Int32Array[] = [init];
  const terminals = new Map<string, boolean>();
  let transitions = 0;
  let depth = 0;
  let level: Int32Array[] = [init];
  visit(init, 0);
  const scratch = new Int32Array(init.length);
  let nextLevel: Int32Array[] = [];
  let tooMany = false;
  const discovered = (b: Int32Array) => {
    const key = stateKey(b);
    if (reachable.has(key)) return;
    reachable.add(key);
    const copy = b.slice();
    stateList.push(copy);
    nextLevel.push(copy);
    visit(copy, depth + 1);
    if (reachable.size > maxStates) tooMany = true;
  };
  while (level.length > 0) {
    nextLevel = [];
    for (const a of level) {
      const n = forEachSuccessor(cm, a, scratch, discovered);
      if (tooMany) return undefined;
      transitions += n;
      if (n === 0) {
        const done = allDone(cm, a);
        terminals.set(stateKey(a), !done);
        props.forEach((p, k) => {
          if (p.kind === 'deadlock' && !done) found(k, depth);
          if (p.kind === 'final' && done && !holds(cm, a, p.pred)) found(k, depth);
        });
      }
    }
    if (nextLevel.length > 0) depth++;
    level = nextLevel;
  }
  return { states: reachable.size, transitions, maxDepth: depth, stateList, terminals, verdicts, minDepth };
}

// ---- symmetry: orbits counted by brute force --------------------------------------------------

function permutations(n: number): number[][] {
  if (n <= 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  return out;
}

/**
 * The number of classes the reachable states fall into when the instances of each named group may be
 * permuted: an instance's own fields move with it, and every value that names a thread (a lock owner,
 * tid + 1; a mask of threads, bit tid) is renamed. A sound symmetry reduction stores at least this many.
 */
export function orbitCount(cm: CompiledModel, groups: readonly string[], reachable: Iterable<Int32Array>): number {
  const owners = cm.leaves.filter((l) => l.ref === 'tid+1').map((l) => l.off);
  const masks = cm.leaves.filter((l) => l.ref === 'tid-mask').map((l) => l.off);
  // every combination of one permutation p per group (instance i becomes instance p[i]): where each
  // instance field goes, and each thread's new name (by tid); the groups are disjoint, so one
  // combination is applied in one pass
  let combos: { moves: [number, number][]; rename: number[] }[] = [{ moves: [], rename: cm.threads.map((t) => t.tid) }];
  for (const g of groups) {
    const inst = cm.threads.filter((t) => t.group === g);
    const fields = inst.map((t) => cm.leaves.filter((l) => l.path.startsWith(`${t.name}.`)).map((l) => l.off));
    combos = combos.flatMap((c) =>
      permutations(inst.length).map((p) => {
        const moves = [...c.moves];
        fields.forEach((offs, i) => offs.forEach((o, j) => moves.push([o, fields[p[i]!]![j]!])));
        const rename = [...c.rename];
        inst.forEach((t, i) => (rename[t.tid] = inst[p[i]!]!.tid));
        return { moves, rename };
      }),
    );
  }
  const permute = (a: Int32Array, p: (typeof combos)[number], b: Int32Array): void => {
    b.set(a);
    for (const [from, to] of p.moves) b[to] = a[from]!;
    for (const o of owners) if (b[o]! > 0) b[o] = p.rename[b[o]! - 1]! + 1;
    for (const o of masks) {
      const v = b[o]!;
      let w = v & ~0x3fffffff;
      for (let t = 0; t < p.rename.length; t++) if (v & (1 << t)) w |= 1 << p.rename[t]!;
      b[o] = w;
    }
  };
  // the class's key: the least (lexicographically) of the state's permuted forms
  const less = (x: Int32Array, y: Int32Array): boolean => {
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
    return false;
  };
  const classes = new Set<string>();
  const form = new Int32Array(cm.W);
  const least = new Int32Array(cm.W);
  for (const a of reachable) {
    least.set(a);
    for (const p of combos) {
      permute(a, p, form);
      if (less(form, least)) least.set(form);
    }
    classes.add(stateKey(least));
  }
  return classes.size;
}
