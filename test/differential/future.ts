// Declared thread futures for generated models (FUTURE-API: `future` per label), computed exactly from
// a description: what each instruction (and the kernel primitive it calls, and the exit checks of a
// finishing step) may read and change, united over every instruction reachable from a label. Also the
// mutants that break one declaration, and an engine-independent check that a declaration covers every
// step a model can run (recorded through the state views, over every reachable state).

import type { CompiledModel } from '../../src/model/compile.ts';
import { BLOCKED, DONE } from '../../src/model/compile.ts';
import type { ModelDesc, Instr, GroupDesc } from './gen.ts';

/** One label's declared future: leaf patterns it may read, and leaf patterns it may change. */
export interface FutureDecl {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
}

/** A thread group's futures by instruction index (the label of instruction k). */
export type GroupFuture = readonly FutureDecl[];

/**
 * A broken declaration, made from an exact one:
 * - `drop`: one leaf taken out of label k's future (reads or writes);
 * - `widen`: label k's future given one more leaf (its predecessors' are not: moving there is wider);
 * - `unwrite`: one leaf of label k's writes kept only in its reads;
 * - `unrestrict`: label k declares nothing (unrestricted), its predecessors stay restricted.
 * `leaf` picks the leaf (modulo the candidates), `group` and `label` likewise.
 */
export interface Mutant {
  readonly kind: 'drop' | 'widen' | 'unwrite' | 'unrestrict';
  readonly group: number;
  readonly label: number;
  readonly leaf: number;
}

// ---- leaf names, as the layout names them ------------------------------------------------------

/** Instance names of group gi (the group's name alone when it has one instance). */
export function instanceNames(d: ModelDesc, gi: number, name: string): string[] {
  const n = d.groups[gi]!.count;
  return n === 1 ? [name] : Array.from({ length: n }, (_, i) => `${name}${i}`);
}

interface Names {
  tables: number;
  rcu: boolean;
  /** every thread instance (the rcu thread included) */
  threads: string[];
  /** the instance name of thread 0 (what `peek` reads) */
  first: string;
  locks: number;
}

function names(d: ModelDesc, groupNames: readonly string[], tables: number, rcu: boolean): Names {
  const threads = d.groups.flatMap((_, gi) => instanceNames(d, gi, groupNames[gi]!));
  if (rcu) threads.push('rcu');
  return { tables, rcu, threads, first: threads[0]!, locks: d.locks };
}

const range = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));

/** What one instruction may read (or store unchanged) and may change, with `me.` for the running instance's fields. */
interface Foot {
  reads: Set<string>;
  writes: Set<string>;
}

/** The words rcuMaybeQuiescent may touch: the flavour, the caller's reader fields, every head's wait, every thread's gp_wait. */
function quiescent(f: Foot, n: Names): void {
  f.reads.add('rcu_spinlock_not_reader');
  f.reads.add('me.rcu_nesting');
  f.reads.add('me.irqs_off');
  f.reads.add('me.preempt_count');
  for (const h of range(n.tables, (i) => `rcu_head[${i}].wait`)) (n.rcu ? f.writes : f.reads).add(h);
  for (const t of n.threads) f.reads.add(`${t}.gp_wait`); // gp_wait is set by synchronize_rcu only: never here
}

/** ptFree / readPte / ptTouch of any table the thread may hold (or none: a fault). */
function tableTouch(f: Foot, n: Names, free: boolean): void {
  f.writes.add('faults');
  for (let t = 1; t <= n.tables; t++) {
    (free ? f.writes : f.reads).add(`T${t}.state`);
    f.reads.add(`T${t}.pte[0]`);
  }
  if (free && n.tables > 0) f.reads.add('pmd'); // attached(): every pmd cell
}

function instrFoot(ins: Instr, n: Names, self: readonly string[]): Foot {
  const f: Foot = { reads: new Set(), writes: new Set() };
  const g = 'v' in ins ? `g${ins.v}` : '';
  switch (ins.op) {
    case 'set':
    case 'inc':
    case 'store':
    case 'choose':
    case 'cas':
      f.writes.add(g);
      break;
    case 'load':
      f.reads.add(g);
      break;
    case 'local':
      break;
    case 'peek':
      // thread 0's register (its own local, never listed, when the group is thread 0 alone)
      if (self.length > 1 || self[0] !== n.first) f.reads.add(`${n.first}.r`);
      break;
    case 'await':
    case 'jump': {
      const c = ins.op === 'await' ? ins.cond : ins.cond;
      if (c && !c.reg) f.reads.add(`g${c.v}`);
      break;
    }
    case 'lock':
    case 'trylock':
      f.writes.add(`L${ins.l}`);
      f.writes.add('me.preempt_count');
      break;
    case 'unlock':
      f.writes.add(`L${ins.l}`);
      f.writes.add('me.preempt_count');
      f.writes.add('faults');
      quiescent(f, n);
      break;
    case 'rcu_read_lock':
      f.writes.add('me.rcu_nesting');
      break;
    case 'rcu_read_unlock':
      f.writes.add('me.rcu_nesting');
      f.writes.add('faults');
      quiescent(f, n);
      break;
    case 'alloc':
      for (let t = 1; t <= n.tables; t++) f.writes.add(`T${t}.state`);
      break;
    case 'free':
      tableTouch(f, n, true);
      break;
    case 'free_rcu':
      tableTouch(f, n, true); // no table: ptFree of garbage (a fault only; tables stay as they are)
      for (let t = 1; t <= n.tables; t++) f.writes.delete(`T${t}.state`), f.reads.delete(`T${t}.state`), f.reads.delete(`T${t}.pte[0]`);
      f.reads.delete('pmd');
      for (let h = 0; h < n.tables; h++) for (const x of ['queued', 'wait', 'cb', 'arg']) f.writes.add(`rcu_head[${h}].${x}`);
      f.reads.add('rcu_spinlock_not_reader');
      for (const t of n.threads) for (const x of ['rcu_nesting', 'irqs_off', 'preempt_count']) f.reads.add(`${t}.${x}`);
      break;
    case 'touch':
      tableTouch(f, n, false);
      break;
    case 'load_pmd':
      f.reads.add('pmd');
      break;
    case 'link':
    case 'unlink':
      f.writes.add('pmd');
      break;
    case 'or':
    case 'clear':
      f.writes.add('flags');
      break;
    case 'testbit':
    case 'loadflags':
      f.reads.add('flags');
      break;
    case 'add':
      f.writes.add(g);
      break;
    case 'is':
      f.reads.add(g);
      break;
  }
  return f;
}

/** The exit checks a finishing step runs: every lock cell (held by me?), my reader and preemption state; a fault. */
function exitFoot(n: Names): Foot {
  const f: Foot = { reads: new Set(), writes: new Set(['faults']) };
  for (let l = 0; l < n.locks; l++) f.reads.add(`L${l}`);
  for (let t = 1; t <= n.tables; t++) f.reads.add(`T${t}.ptl`);
  f.reads.add('me.rcu_nesting');
  f.reads.add('me.irqs_off');
  f.reads.add('me.preempt_count');
  return f;
}

/** Successor instruction indices of instruction k (code.length = done). */
export function successorsOf(code: readonly Instr[], k: number): number[] {
  const ins = code[k]!;
  const out = new Set<number>();
  if (ins.op === 'jump') {
    out.add(ins.to);
    if (ins.cond !== null) out.add(k + 1);
  } else if (ins.op === 'trylock' || ins.op === 'testbit' || ins.op === 'is') {
    out.add(ins.to);
    out.add(k + 1);
  } else out.add(k + 1);
  return [...out];
}

/** Instructions reachable from k (k included), and whether the thread can finish from there. */
function reachable(code: readonly Instr[], k: number): { instrs: number[]; done: boolean } {
  const seen = new Set<number>([k]);
  const todo = [k];
  let done = false;
  while (todo.length > 0) {
    const i = todo.pop()!;
    for (const j of successorsOf(code, i)) {
      if (j >= code.length) done = true;
      else if (!seen.has(j)) {
        seen.add(j);
        todo.push(j);
      }
    }
  }
  return { instrs: [...seen].sort((a, b) => a - b), done };
}

/** A `me.x` pattern names this instance's field; written out for every instance it reads as `<name>.x`. */
function decl(f: Foot): FutureDecl {
  const writes = [...f.writes].sort();
  const reads = [...f.reads].filter((x) => !f.writes.has(x)).sort();
  return { reads, writes };
}

/**
 * The exact futures of every group of `d` (by group index, by instruction index). `groupNames` are the
 * thread names gen.ts gives the groups; `tables` and `rcu` the model's table count and rcu thread.
 */
export function exactFutures(d: ModelDesc, groupNames: readonly string[], tables: number, rcu: boolean): GroupFuture[] {
  const n = names(d, groupNames, tables, rcu);
  return d.groups.map((g: GroupDesc, gi) => {
    const self = instanceNames(d, gi, groupNames[gi]!);
    const foots = g.code.map((ins) => instrFoot(ins, n, self));
    const exit = exitFoot(n);
    return g.code.map((_, k) => {
      const r = reachable(g.code, k);
      const f: Foot = { reads: new Set(), writes: new Set() };
      for (const i of r.instrs) {
        for (const x of foots[i]!.reads) f.reads.add(x);
        for (const x of foots[i]!.writes) f.writes.add(x);
      }
      if (r.done) {
        for (const x of exit.reads) f.reads.add(x);
        for (const x of exit.writes) f.writes.add(x);
      }
      return decl(f);
    });
  });
}

/** Every global leaf a model of `d` has (candidates for a mutant's widened future). */
export function globalLeaves(d: ModelDesc, tables: number): string[] {
  return [
    'faults',
    ...d.ints.map((_, v) => `g${v}`),
    ...range(d.locks, (l) => `L${l}`),
    'pmd',
    ...range(tables, (t) => `T${t + 1}.state`),
    ...range(tables, (t) => `T${t + 1}.pte[0]`),
    'me.rcu_nesting',
    'me.preempt_count',
  ];
}

/** The futures with mutant `m` applied; undefined entries are unrestricted labels. */
export function mutate(d: ModelDesc, fut: readonly (readonly (FutureDecl | undefined)[])[], m: Mutant, tables: number): (FutureDecl | undefined)[][] {
  const out: (FutureDecl | undefined)[][] = fut.map((g) => [...g]);
  // among the groups that declare futures
  const declaring = out.flatMap((g, gi) => (g.length > 0 && g[0] !== undefined ? [gi] : []));
  if (declaring.length === 0) return out;
  const g = out[declaring[m.group % declaring.length]!]!;
  const k = m.label % g.length;
  const f = g[k]!;
  switch (m.kind) {
    case 'drop': {
      const all = [...f.reads, ...f.writes];
      if (all.length === 0) break;
      const x = all[m.leaf % all.length]!;
      g[k] = { reads: f.reads.filter((y) => y !== x), writes: f.writes.filter((y) => y !== x) };
      break;
    }
    case 'widen': {
      const extra = globalLeaves(d, tables).filter((x) => !f.reads.includes(x) && !f.writes.includes(x));
      if (extra.length === 0) break;
      g[k] = { reads: f.reads, writes: [...f.writes, extra[m.leaf % extra.length]!] };
      break;
    }
    case 'unwrite': {
      if (f.writes.length === 0) break;
      const x = f.writes[m.leaf % f.writes.length]!;
      g[k] = { reads: [...f.reads, x], writes: f.writes.filter((y) => y !== x) };
      break;
    }
    case 'unrestrict':
      g[k] = undefined;
      break;
  }
  return out;
}

// ---- an engine-independent check of a declaration --------------------------------------------------

/** Does leaf `path` match pattern `p` for instance `self` ('*' any run, 'me.' this instance)? */
export function matches(p: string, path: string, self: string): boolean {
  const q = p.startsWith('me.') ? `${self}.${p.slice(3)}` : p;
  const re = new RegExp(`^${q.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return re.test(path);
}

/** Per word, 1 if the declaration lets instance `self` touch it (or, with `write`, change it); null: unrestricted. */
function wordSet(cm: CompiledModel, f: FutureDecl | undefined, self: string, own: readonly number[], write: boolean): Uint8Array | null {
  if (f === undefined) return null;
  const pats = write ? f.writes : [...f.writes, ...f.reads];
  const set = Uint8Array.from(cm.leaves, (l) => (pats.some((p) => matches(p, l.path, self)) ? 1 : 0));
  for (const w of own) set[w] = 1;
  return set;
}

/**
 * Runs alternative `alt` of thread `t`'s step at `pc` on a copy of state `a` held in `b`, recording in
 * `rec` the words it touches through the views (exit hooks included when it finishes), as the engine
 * does. Returns the step's result and how many words it recorded (may exceed rec.length).
 */
export function runRecorded(cm: CompiledModel, t: CompiledModel['threads'][number], pc: number, alt: number, a: Int32Array, b: Int32Array, rec: Int32Array): { res: unknown; rn: number } {
  const h = cm.holder as unknown as { b: Int32Array; o: number; rec: Int32Array | null; rn: number };
  b.set(a);
  h.b = b;
  h.o = 0;
  h.rec = rec;
  h.rn = 0;
  try {
    const res = t.steps[pc]!(cm.root, t.me, alt);
    if (res === DONE) for (const hook of cm.exitHooks) hook(cm.root, t.me);
    return { res, rn: h.rn };
  } finally {
    h.rec = null;
  }
}

/**
 * Runs every step of every declaring thread in every state of `states`, recording the words it
 * touches, and returns the first breach of its label's future (a touch outside reads ∪ writes, a change
 * outside writes, a move to a label whose future is wider), as a line, or undefined: the engine's
 * run-time check of declared futures, written again without the engine.
 */
export function firstBreach(cm: CompiledModel, states: readonly Int32Array[], futures: ReadonlyMap<string, readonly (FutureDecl | undefined)[]>): string | undefined {
  const rec = new Int32Array(4096);
  const b = new Int32Array(cm.W);
  const decls = cm.threads.map((t) => {
    const fut = futures.get(t.group);
    if (!fut || fut.every((f) => f === undefined)) return undefined;
    const own = cm.leaves.flatMap((l) => {
      const field = l.path.startsWith(`${t.name}.`) ? l.path.slice(t.name.length + 1).split(/[.[]/)[0]! : undefined;
      return l.off === t.pcOff || (field !== undefined && l.tag === undefined && t.locals.has(field)) ? [l.off] : [];
    });
    const touch = t.labels.map((_, pc) => wordSet(cm, fut[pc], t.name, own, false));
    const change = t.labels.map((_, pc) => wordSet(cm, fut[pc], t.name, own, true));
    const sub = (a: Uint8Array | null, c: Uint8Array | null): boolean => a === null || (c !== null && c.every((x, w) => x === 0 || a[w] === 1));
    const within = t.labels.map((_, pc) => t.labels.map((_l, pc2) => sub(touch[pc]!, touch[pc2]!) && sub(change[pc]!, change[pc2]!)));
    return { touch, change, within };
  });
  for (const a of states) {
    for (const t of cm.threads) {
      const dt = decls[t.tid];
      const pc = a[t.pcOff]!;
      if (!dt || pc < 0) continue;
      const touch = dt.touch[pc]!;
      const change = dt.change[pc]!;
      if (touch === null) continue;
      for (let alt = 0; alt < t.alts[pc]!; alt++) {
        const { res, rn } = runRecorded(cm, t, pc, alt, a, b, rec);
        const where = `${t.name} at '${t.labels[pc]}' in [${a.join(',')}]`;
        if (rn > rec.length) return `${where} touched more than ${rec.length} words`;
        for (let i = 0; i < rn; i++) if (touch[rec[i]!] === 0) return `${where} touched ${cm.leaves[rec[i]!]!.path}`;
        if (res === BLOCKED) continue;
        for (let w = 0; w < cm.W; w++) if (b[w] !== a[w] && change![w] === 0) return `${where} changed ${cm.leaves[w]!.path}`;
        if (res !== DONE) {
          const next = t.labelIndex[res as string]!;
          if (next !== pc && !dt.within[pc]![next]) return `${where} moved to '${t.labels[next]}' whose future is wider`;
        }
      }
    }
  }
  return undefined;
}
