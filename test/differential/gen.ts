// Small random models for the differential tests: a fast-check arbitrary of model descriptions (plain
// data: threads of 2-6 instructions over shared bounded ints, locks, an RCU read section, alloc and free
// of a page table at once or through call_rcu, guards, jumps back) and the compiler that turns a
// description into a real ptcheck model and spec. The description alone determines the model.

import fc from 'fast-check';
import { BLOCKED, DONE, defineModel, thread, type ModelModule, type StepDef, type ThreadDef } from '../../src/model/model.ts';
import { array, bool, int, type FieldSpec } from '../../src/model/schema.ts';
import {
  Fault,
  PMD_NONE,
  callRcu,
  kernelState,
  lock,
  noFault,
  pmdEntry,
  ptAlloc,
  ptFree,
  ptInitLive,
  rcuReadLock,
  rcuReadUnlock,
  rcuThread,
  readPte,
  spinLock,
  spinTrylock,
  spinUnlock,
  tableRef,
} from '../../src/kernel/index.ts';
import { addTo, clearIn, orInto, wordAbove, wordBits, wordIs } from '../../src/model/observe.ts';
import { always, defineSpec, final, sometimes, type Property, type SpecModule } from '../../src/spec/property.ts';
import { exactFutures, mutate, type FutureDecl, type Mutant } from './future.ts';

// ---- descriptions ---------------------------------------------------------------------------

export type Cmp = '==' | '!=' | '<' | '>=';

/** `g<v> cmp c`, or with `reg` the thread's register: `r cmp c`. */
export interface Cond {
  readonly reg: boolean;
  readonly v: number;
  readonly cmp: Cmp;
  readonly c: number;
}

/** One instruction = one atomic step. Jump targets are instruction indices; the code length means "done". */
export type Instr =
  | { readonly op: 'set'; readonly v: number; readonly c: number }
  | { readonly op: 'inc'; readonly v: number } // wraps around at the bound
  | { readonly op: 'load'; readonly v: number } // r := g
  | { readonly op: 'store'; readonly v: number } // g := min(r, bound)
  | { readonly op: 'local' } // r := r + 1 (wrapping): work on the thread's own data only
  | { readonly op: 'peek' } // r := thread 0's r: a read of another thread's local (the reduction must see it)
  | { readonly op: 'choose'; readonly v: number; readonly n: number } // n alternatives: g := alt (blocked when alt > bound)
  | { readonly op: 'cas'; readonly v: number; readonly expect: number; readonly c: number } // writes g := c, then BLOCKED unless g was `expect`
  | { readonly op: 'await'; readonly cond: Cond } // BLOCKED unless cond
  | { readonly op: 'jump'; readonly cond: Cond | null; readonly to: number } // if cond (or always) goto `to`
  | { readonly op: 'lock'; readonly l: number }
  | { readonly op: 'trylock'; readonly l: number; readonly to: number } // on failure goto `to`
  | { readonly op: 'unlock'; readonly l: number }
  | { readonly op: 'rcu_read_lock' } // nesting capped at 2 (a no-op beyond)
  | { readonly op: 'rcu_read_unlock' }
  | { readonly op: 'alloc' } // pgt := a fresh table (once per thread: a second alloc is a no-op)
  | { readonly op: 'free' } // pte_free(pgt) now
  | { readonly op: 'free_rcu' } // call_rcu(rcu_head[pgt - 1], pte_free_now)
  | { readonly op: 'touch' } // a load through pgt
  | { readonly op: 'load_pmd' } // pgt := pmd (a walker's pmdp_get: the table may be another thread's)
  | { readonly op: 'link' } // pmd := pgt
  | { readonly op: 'unlink' } // pmd := none if it links pgt
  // through the kernel's tagged helpers (src/model/observe.ts), whose reads tell the step less than the value
  | { readonly op: 'or'; readonly bit: number } // flags |= 1 << bit (learns nothing)
  | { readonly op: 'clear'; readonly bit: number } // flags &= ~(1 << bit) (learns nothing)
  | { readonly op: 'testbit'; readonly bit: number; readonly to: number } // if (flags & 1 << bit) goto `to`
  | { readonly op: 'loadflags' } // r := flags & 3 (a plain read)
  | { readonly op: 'add'; readonly v: number; readonly d: number } // g += d (d = 1 or -1) unless at the bound: learns only that
  | { readonly op: 'is'; readonly v: number; readonly c: number; readonly to: number }; // if (g == c) goto `to`, learning only that

export interface GroupDesc {
  /** identical instances (1-3) */
  readonly count: number;
  /** declared `symmetric: {}` (only with count >= 2) */
  readonly symmetric: boolean;
  readonly daemon: boolean;
  readonly code: readonly Instr[];
}

export interface PropDesc {
  /** 'never': an `always` property that the conjunction is false (violated where the ints meet in an order) */
  readonly kind: 'always' | 'final' | 'sometimes' | 'never';
  readonly conds: readonly Cond[]; // a conjunction over the shared ints (never a register)
}

export interface ModelDesc {
  /** upper bound of each shared int g0.. (each starts at 0) */
  readonly ints: readonly number[];
  readonly locks: number;
  /** T1 exists from the start, linked from pmd (threads reach it through load_pmd) */
  readonly linked: boolean;
  readonly groups: readonly GroupDesc[];
  readonly props: readonly PropDesc[];
  /** per group: its threads declare their futures, computed exactly (future.ts); absent: none does (the rcu thread never does) */
  readonly future?: readonly boolean[];
  /** ... with this one declaration broken (future.ts Mutant) */
  readonly mutant?: Mutant;
}

export const GROUP_NAMES = ['a', 'b', 'c', 'd'] as const;
const REG_MAX = 3;

// ---- printing -------------------------------------------------------------------------------

function condText(c: Cond): string {
  return `${c.reg ? 'r' : `g${c.v}`} ${c.cmp} ${c.c}`;
}

export function instrText(i: Instr): string {
  switch (i.op) {
    case 'set':
      return `g${i.v} := ${i.c}`;
    case 'inc':
      return `g${i.v}++`;
    case 'load':
      return `r := g${i.v}`;
    case 'store':
      return `g${i.v} := r`;
    case 'local':
      return 'r++';
    case 'peek':
      return 'r := a0.r';
    case 'choose':
      return `g${i.v} := choose(${i.n})`;
    case 'cas':
      return `cas(g${i.v}, ${i.expect}, ${i.c})`;
    case 'await':
      return `await ${condText(i.cond)}`;
    case 'jump':
      return i.cond ? `if ${condText(i.cond)} goto ${i.to}` : `goto ${i.to}`;
    case 'lock':
      return `spin_lock(L${i.l})`;
    case 'trylock':
      return `spin_trylock(L${i.l}) else goto ${i.to}`;
    case 'unlock':
      return `spin_unlock(L${i.l})`;
    case 'alloc':
      return 'pgt = pte_alloc_one';
    case 'free':
      return 'pte_free(pgt)';
    case 'free_rcu':
      return 'call_rcu(pgt, pte_free_now)';
    case 'touch':
      return 'ptep_get(pgt)';
    case 'load_pmd':
      return 'pgt = pmdp_get(pmd)';
    case 'link':
      return 'pmd := pgt';
    case 'unlink':
      return 'pmd := none if pgt';
    case 'or':
      return `flags |= ${1 << i.bit}`;
    case 'clear':
      return `flags &= ~${1 << i.bit}`;
    case 'testbit':
      return `if (flags & ${1 << i.bit}) goto ${i.to}`;
    case 'loadflags':
      return 'r := flags & 3';
    case 'add':
      return i.d > 0 ? `g${i.v}++ unless at max` : `g${i.v}-- unless 0`;
    case 'is':
      return `if g${i.v} is ${i.c} goto ${i.to}`;
    default:
      return i.op;
  }
}

function propName(p: PropDesc, k: number): string {
  const words: Record<Cmp, string> = { '==': 'eq', '!=': 'ne', '<': 'lt', '>=': 'ge' };
  return `p${k}-${p.kind}-` + p.conds.map((c) => `g${c.v}-${words[c.cmp]}-${c.c}`).join('-and-');
}

/** The description as people read it (fast-check prints this for a counterexample), then as JSON. */
export function renderDesc(d: ModelDesc): string {
  const lines = [`model: ints ${d.ints.map((m, v) => `g${v}<=${m}`).join(' ')}; locks ${d.locks}; tables ${tableCount(d)}${d.linked ? ' (T1 linked from pmd)' : ''}${usesRcu(d) ? '; rcu thread' : ''}`];
  d.groups.forEach((g, gi) => {
    const flags = [g.count > 1 ? `x${g.count}` : '', g.symmetric ? 'symmetric' : '', g.daemon ? 'daemon' : ''].filter(Boolean).join(' ');
    lines.push(`  thread ${GROUP_NAMES[gi]}${flags ? ` (${flags})` : ''}:`);
    g.code.forEach((ins, k) => lines.push(`    ${k}: ${instrText(ins)}`));
  });
  d.props.forEach((p, k) => lines.push(`  ${p.kind} ${propName(p, k)}: ${p.kind === 'never' ? '!(' : ''}${p.conds.map(condText).join(' && ')}${p.kind === 'never' ? ')' : ''}`));
  if (d.future) {
    const fut = declaredFutures(d);
    fut.forEach((g, gi) => {
      if (!d.future![gi]) lines.push(`  future ${GROUP_NAMES[gi]}: undeclared`);
      else g.forEach((f, k) => lines.push(`  future ${GROUP_NAMES[gi]} ${k}: ${f ? `reads [${f.reads.join(', ')}] writes [${f.writes.join(', ')}]` : 'unrestricted'}`));
    });
    if (d.mutant) lines.push(`  mutant: ${JSON.stringify(d.mutant)}`);
  }
  lines.push(`  json: ${JSON.stringify(d)}`);
  return lines.join('\n');
}

/** Attaches the readable form for fast-check's reports (and String()). */
export function printable(d: ModelDesc): ModelDesc {
  const text = (): string => renderDesc(d);
  Object.defineProperty(d, fc.toStringMethod, { value: text, enumerable: false });
  Object.defineProperty(d, 'toString', { value: text, enumerable: false });
  return d;
}

// ---- the arbitrary ----------------------------------------------------------------------------

// Raw values are generated loosely (any small index, any target) and normalised against the rest of
// the description afterwards, so that shrinking never produces an invalid model.

const rawCond = fc.record({
  reg: fc.integer({ min: 0, max: 3 }).map((x) => x === 3),
  v: fc.nat(2),
  cmp: fc.constantFrom<Cmp>('==', '!=', '<', '>='),
  c: fc.nat(3),
});

const rawInstr: fc.Arbitrary<Instr> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), v: fc.nat(2), c: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('inc' as const), v: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('load' as const), v: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('store' as const), v: fc.nat(2) }) },
  { weight: 4, arbitrary: fc.constant({ op: 'local' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'peek' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('choose' as const), v: fc.nat(2), n: fc.integer({ min: 2, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cas' as const), v: fc.nat(2), expect: fc.nat(3), c: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('await' as const), cond: rawCond }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('jump' as const), cond: fc.option(rawCond, { freq: 4 }), to: fc.nat(6) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('lock' as const), l: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('trylock' as const), l: fc.nat(1), to: fc.nat(6) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('unlock' as const), l: fc.nat(1) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'rcu_read_lock' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'rcu_read_unlock' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'alloc' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'free' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'free_rcu' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'touch' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'load_pmd' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'link' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'unlink' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('or' as const), bit: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const), bit: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('testbit' as const), bit: fc.nat(2), to: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'loadflags' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), v: fc.nat(2), d: fc.constantFrom(1, -1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('is' as const), v: fc.nat(2), c: fc.nat(3), to: fc.nat(6) }) },
);

/**
 * Short kernel idioms, so that the races the kernel cares about come up often rather than by luck: a
 * walker reading the table pmd links (under RCU or not), a remover unlinking and freeing it (deferred
 * through call_rcu or at once), a table being populated, a counter bumped under a lock.
 */
const rawIdiom: fc.Arbitrary<Instr[]> = fc.oneof(
  fc.constant<Instr[]>([{ op: 'rcu_read_lock' }, { op: 'load_pmd' }, { op: 'touch' }, { op: 'rcu_read_unlock' }]),
  fc.constant<Instr[]>([{ op: 'load_pmd' }, { op: 'touch' }]),
  fc.constant<Instr[]>([{ op: 'load_pmd' }, { op: 'unlink' }, { op: 'free_rcu' }]),
  fc.constant<Instr[]>([{ op: 'load_pmd' }, { op: 'unlink' }, { op: 'free' }]),
  fc.constant<Instr[]>([{ op: 'alloc' }, { op: 'link' }]),
  fc.record({ l: fc.nat(1), v: fc.nat(2) }).map(({ l, v }): Instr[] => [{ op: 'lock', l }, { op: 'inc', v }, { op: 'unlock', l }]),
  // local work, for the partial-order reduction to merge: a chain, and a loop on the register (which
  // may run round forever: the cycle proviso's trap)
  fc.constant<Instr[]>([{ op: 'local' }, { op: 'local' }, { op: 'local' }]),
  fc.record({ c: fc.nat(3), to: fc.nat(6) }).map(({ c, to }): Instr[] => [{ op: 'local' }, { op: 'jump', cond: { reg: true, v: 0, cmp: '!=', c }, to }]),
);

const rawCode = fc
  .array(fc.oneof({ weight: 3, arbitrary: rawInstr.map((i) => [i]) }, { weight: 1, arbitrary: rawIdiom }), { minLength: 2, maxLength: 6 })
  .map((chunks) => chunks.flat().slice(0, 6));

const rawGroup = fc.record({
  count: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 4, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(3) }),
  symmetric: fc.integer({ min: 0, max: 2 }).map((x) => x === 2),
  daemon: fc.integer({ min: 0, max: 9 }).map((x) => x === 9),
  code: rawCode,
});

const rawProp = fc.record({
  kind: fc.constantFrom('always' as const, 'final' as const, 'sometimes' as const),
  conds: fc.array(rawCond, { minLength: 1, maxLength: 2 }),
});

function normCond(c: Cond, ints: readonly number[], allowReg: boolean): Cond {
  const reg = allowReg && c.reg;
  const v = reg ? 0 : c.v % ints.length;
  const hi = reg ? REG_MAX : ints[v]!;
  return { reg, v, cmp: c.cmp, c: c.c % (hi + 1) };
}

function normInstr(i: Instr, d: { ints: readonly number[]; locks: number }, n: number): Instr {
  const v = 'v' in i ? i.v % d.ints.length : 0;
  const max = d.ints[v]!;
  switch (i.op) {
    case 'set':
      return { op: 'set', v, c: i.c % (max + 1) };
    case 'inc':
    case 'load':
    case 'store':
      return { op: i.op, v };
    case 'choose':
      return { op: 'choose', v, n: i.n };
    case 'cas':
      return { op: 'cas', v, expect: i.expect % (max + 1), c: i.c % (max + 1) };
    case 'await':
      return { op: 'await', cond: normCond(i.cond, d.ints, true) };
    case 'jump':
      return { op: 'jump', cond: i.cond ? normCond(i.cond, d.ints, true) : null, to: i.to % (n + 1) };
    case 'lock':
    case 'unlock':
      return { op: i.op, l: i.l % d.locks };
    case 'trylock':
      return { op: 'trylock', l: i.l % d.locks, to: i.to % (n + 1) };
    case 'testbit':
      return { op: 'testbit', bit: i.bit, to: i.to % (n + 1) };
    case 'add':
      return { op: 'add', v, d: i.d };
    case 'is':
      return { op: 'is', v, c: i.c % (max + 1), to: i.to % (n + 1) };
    default:
      return i;
  }
}

/** A description as generated, before `normalize`: `threads` is the number of threads wanted (2-4). */
export type RawDesc = ModelDesc & { readonly threads: number };

/**
 * Makes a raw description valid: `threads` threads in all (the rcu thread aside), indices in range,
 * symmetry only where count >= 2, code no longer than the thread count allows.
 */
export function normalize(raw: RawDesc): ModelDesc {
  const ints = raw.ints;
  const locks = Math.max(1, raw.locks);
  const want = Math.min(4, Math.max(2, raw.threads));
  const groups: GroupDesc[] = [];
  let total = 0;
  for (const g of raw.groups) {
    const count = Math.min(g.count, want - total);
    if (count <= 0) break;
    total += count;
    groups.push({ ...g, count });
  }
  // too few: more instances of the groups there are (at most 3 each), then a copy of the first group
  for (let i = 0; i < groups.length && total < want; i++) {
    const more = Math.min(3 - groups[i]!.count, want - total);
    groups[i] = { ...groups[i]!, count: groups[i]!.count + more };
    total += more;
  }
  if (total < want) groups.push({ ...groups[0]!, count: want - total, symmetric: false });
  // more threads, shorter code: 6 steps with 2 threads, 4 with 3, 3 with 4 (keeps state spaces small)
  const maxSteps = want === 2 ? 6 : want === 3 ? 4 : 3;
  const out = groups.map((g): GroupDesc => {
    const code = g.code.slice(0, maxSteps);
    return {
      count: g.count,
      symmetric: g.symmetric && g.count >= 2,
      daemon: g.daemon,
      code: code.map((i) => normInstr(i, { ints, locks }, code.length)),
    };
  });
  const props = raw.props.map((p): PropDesc => ({ kind: p.kind, conds: p.conds.map((c) => normCond(c, ints, false)) }));
  // a read of thread 0's register names a thread by its position: no group is symmetric then
  const peeks = out.some((g) => g.code.some((i) => i.op === 'peek'));
  return printable({ ints, locks, linked: raw.linked, groups: peeks ? out.map((g) => ({ ...g, symmetric: false })) : out, props });
}

/** An int's upper bound: mostly 1, sometimes 2 or 3. */
const intBounds = fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(3) });

/** Random small model descriptions. */
export function modelDesc(): fc.Arbitrary<ModelDesc> {
  return fc
    .record({
      threads: fc.integer({ min: 2, max: 4 }),
      ints: fc.array(intBounds, { minLength: 1, maxLength: 3 }),
      locks: fc.integer({ min: 1, max: 2 }),
      linked: fc.boolean(),
      groups: fc.array(rawGroup, { minLength: 1, maxLength: 3 }),
      props: fc.array(rawProp, { minLength: 1, maxLength: 5 }),
    })
    .map(normalize);
}

// ---- models for declared futures -------------------------------------------------------------

/**
 * Idioms where a reduction from declared futures bites, and where it can go wrong (all on `v`, which
 * the group maps to its home int mostly): an early writer followed by local work (after it, readers of
 * the word are independent of it); a reader polling a word (its guard reads what another thread may
 * still write); a loop of steps on a word nobody else touches (the cycle proviso's trap); an RCU read
 * section (per-thread fields only); a counter bumped under a lock.
 */
const rawFutureIdiom: fc.Arbitrary<Instr[]> = fc.oneof(
  fc.record({ v: fc.nat(2), c: fc.nat(3) }).map(({ v, c }): Instr[] => [{ op: 'set', v, c }, { op: 'local' }, { op: 'local' }]),
  fc.record({ v: fc.nat(2), c: fc.nat(3) }).map(({ v, c }): Instr[] => [{ op: 'load', v }, { op: 'jump', cond: { reg: true, v: 0, cmp: '!=', c }, to: 0 }]),
  fc.record({ v: fc.nat(2), c: fc.nat(3) }).map(({ v, c }): Instr[] => [{ op: 'await', cond: { reg: false, v, cmp: '>=', c } }, { op: 'inc', v }]),
  fc.record({ v: fc.nat(2), to: fc.nat(6) }).map(({ v, to }): Instr[] => [{ op: 'inc', v }, { op: 'jump', cond: null, to }]),
  fc.record({ v: fc.nat(2), to: fc.nat(6) }).map(({ v, to }): Instr[] => [{ op: 'inc', v }, { op: 'jump', cond: { reg: false, v, cmp: '!=', c: 0 }, to }]),
  fc.constant<Instr[]>([{ op: 'rcu_read_lock' }, { op: 'local' }, { op: 'rcu_read_unlock' }]),
  fc.record({ l: fc.nat(1), v: fc.nat(2) }).map(({ l, v }): Instr[] => [{ op: 'lock', l }, { op: 'inc', v }, { op: 'unlock', l }]),
  // tagged reads and updates: a counter taken and tested, a bitmask word set and tested (a fault word's shape)
  fc.record({ v: fc.nat(2), c: fc.nat(3), to: fc.nat(6) }).map(({ v, c, to }): Instr[] => [{ op: 'add', v, d: 1 }, { op: 'is', v, c, to }, { op: 'add', v, d: -1 }]),
  fc.record({ bit: fc.nat(2), to: fc.nat(6) }).map(({ bit, to }): Instr[] => [{ op: 'or', bit }, { op: 'testbit', bit: (bit + 1) % 3, to }, { op: 'clear', bit }]),
);

/** The instructions on shared ints and the thread's own register alone. */
const INT_OPS: ReadonlySet<Instr['op']> = new Set(['set', 'inc', 'load', 'store', 'local', 'choose', 'cas', 'await', 'jump', 'add', 'is']);

/** Points an instruction's int (and its condition's) at `home`. */
function atHome(i: Instr, home: number): Instr {
  const cond = (c: Cond): Cond => (c.reg ? c : { ...c, v: home });
  if (i.op === 'await') return { ...i, cond: cond(i.cond) };
  if (i.op === 'jump') return { ...i, cond: i.cond && cond(i.cond) };
  return 'v' in i ? { ...i, v: home } : i;
}

const rawFutureGroup = fc.record({
  count: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 4, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(3) }),
  symmetric: fc.integer({ min: 0, max: 2 }).map((x) => x === 2),
  daemon: fc.integer({ min: 0, max: 9 }).map((x) => x === 9),
  home: fc.nat(2),
  // per instruction: keep to the home int (mostly), or touch the one generated
  stay: fc.array(fc.integer({ min: 0, max: 3 }).map((x) => x !== 0), { minLength: 6, maxLength: 6 }),
  code: fc
    .array(fc.oneof({ weight: 2, arbitrary: rawInstr.map((i) => [i]) }, { weight: 2, arbitrary: rawFutureIdiom }, { weight: 1, arbitrary: rawIdiom }), { minLength: 1, maxLength: 4 })
    .map((chunks) => chunks.flat().slice(0, 6)),
});

/**
 * Random models whose threads declare their futures: threads that mostly keep to an int of their own
 * (so that most steps are independent of the other threads' futures), the idioms above, properties
 * that read two ints (the second only when the first holds: a word becomes visible late). A group in
 * ten declares nothing (unrestricted), beside the rcu thread, which never does.
 */
export function futureModelDesc(): fc.Arbitrary<ModelDesc> {
  return fc
    .record({
      threads: fc.integer({ min: 2, max: 4 }),
      ints: fc.array(intBounds, { minLength: 2, maxLength: 3 }),
      locks: fc.integer({ min: 1, max: 2 }),
      linked: fc.boolean(),
      groups: fc.array(rawFutureGroup, { minLength: 1, maxLength: 3 }),
      props: fc.array(
        fc.record({
          kind: fc.constantFrom('always' as const, 'final' as const, 'sometimes' as const, 'never' as const),
          conds: fc.array(rawCond, { minLength: 1, maxLength: 2 }),
          // on the groups' home ints (so that two threads' independent steps meet in the property)
          homes: fc.boolean(),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      declared: fc.array(fc.integer({ min: 0, max: 9 }).map((x) => x !== 0), { minLength: 4, maxLength: 4 }),
      // ints and local work only (no locks, RCU or tables, whose exit checks and rcu thread tie threads together)
      pure: fc.boolean(),
      // a race: ints only, at most two steps a thread, every property on the homes (each thread's
      // steps independent of the others', and the property telling the orders apart)
      race: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
      // a gate (gated()): the properties read past their first condition only where random walks rarely go
      gated: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
    })
    .map(({ declared, groups: raw1, props: props0, pure: pure0, race, gated: gate, ...raw }) => {
      const pure = pure0 || race;
      const raw0 = race ? raw1.map((g) => ({ ...g, code: g.code.filter((i) => INT_OPS.has(i.op)).slice(0, 2) })) : raw1;
      // in a race, a property that tells one order from the other: one home changed, another not yet
      const homes0 = raw1.map(({ home }, gi) => (home + gi) % raw.ints.length);
      const order = (p: (typeof props0)[number]): typeof p => {
        const [x, y] = p.conds[0]!.cmp === '<' || p.conds[0]!.cmp === '>=' ? [0, 1] : [1, 0];
        const first = homes0[x % homes0.length]!;
        const second = homes0[(y + (p.conds[0]!.v % Math.max(1, homes0.length - 1))) % homes0.length]!;
        return {
          kind: p.kind === 'always' ? 'never' : p.kind === 'final' ? 'sometimes' : p.kind,
          conds: [
            { reg: false, v: first, cmp: '!=', c: 0 },
            { reg: false, v: second, cmp: '==', c: 0 },
          ],
          homes: false,
        };
      };
      const props = race ? props0.map((p) => (homes0.length >= 2 && p.conds.length === 2 ? order(p) : { ...p, homes: true })) : props0;
      const groups = pure ? raw0.map((g) => ({ ...g, code: g.code.filter((i) => INT_OPS.has(i.op)) })).map((g) => (g.code.length > 0 ? g : { ...g, code: [{ op: 'inc' as const, v: 0 }] })) : raw0;
      // each group its own home int (distinct ones while there are enough)
      const homes = groups.map(({ home }, gi) => (home + gi) % raw.ints.length);
      const homed = groups.map(({ home: _h, stay, code, ...g }, gi): GroupDesc => ({ ...g, code: code.map((i, k) => (stay[k] ? atHome(i, homes[gi]!) : i)) }));
      // a property on two homes reads what two threads change independently: the visible set's trap
      const onHomes = props.map(({ homes: on, kind, conds }): PropDesc => ({
        kind,
        conds: on ? conds.map((c, j) => ({ ...c, reg: false, v: homes[(c.v + j) % homes.length]! })) : conds,
      }));
      const d0 = normalize({ ...raw, groups: homed, props: onHomes });
      const d = gate && race && d0.groups.length < GROUP_NAMES.length ? gated(d0) : d0;
      const future = d.groups.map((_, gi) => declared[gi] ?? true);
      return printable({ ...d, future: future.some((x) => x) ? future : future.map(() => true) });
    });
}

/** Levels of a gate: a random walk opens it with probability 2^-GATE_LEVELS. */
const GATE_LEVELS = 8;

/**
 * `d` with a gate: a thread that sets a new int G to 1 only after choosing 1 GATE_LEVELS times in a
 * row (any 0 ends it), and every `never` and `sometimes` property first asks G == 1. Such a property
 * reads its other ints only past the gate, a state the random walks of the reduction's pre-pass
 * (src/por/reduction.ts, seedVisible) seldom reach, while the other threads' shared-safe steps
 * change those ints: the visible set is then learnt by the restart alone (the trap it must catch).
 */
function gated(d: ModelDesc): ModelDesc {
  const G = d.ints.length;
  const tmp = G + 1;
  const end = 2 * GATE_LEVELS + 1;
  const code: Instr[] = [];
  for (let i = 0; i < GATE_LEVELS; i++) code.push({ op: 'choose', v: tmp, n: 2 }, { op: 'jump', cond: { reg: false, v: tmp, cmp: '==', c: 0 }, to: end });
  code.push({ op: 'set', v: G, c: 1 });
  const open: Cond = { reg: false, v: G, cmp: '==', c: 1 };
  return {
    ...d,
    ints: [...d.ints, 1, 1],
    groups: [...d.groups, { count: 1, symmetric: false, daemon: false, code }],
    props: d.props.map((p) => (p.kind === 'never' || p.kind === 'sometimes' ? { ...p, conds: [open, ...p.conds] } : p)),
  };
}

/**
 * RCU-heavy models: readers inside rcu_read_lock (or a spinlock, a read section in the consolidated
 * flavour) beside a remover that unlinks T1 and frees it through call_rcu, whose mask of readers the
 * kernel gathers from every thread (src/model/observe.ts storeBitsOf).
 */
export function rcuModelDesc(): fc.Arbitrary<ModelDesc> {
  const reader = fc.oneof(
    fc.constant<Instr[]>([{ op: 'rcu_read_lock' }, { op: 'load_pmd' }, { op: 'touch' }, { op: 'rcu_read_unlock' }]),
    fc.constant<Instr[]>([{ op: 'lock', l: 0 }, { op: 'load_pmd' }, { op: 'touch' }, { op: 'unlock', l: 0 }]),
    fc.constant<Instr[]>([{ op: 'rcu_read_lock' }, { op: 'local' }, { op: 'rcu_read_unlock' }, { op: 'load_pmd' }]),
  );
  return fc
    .record({ readers: fc.integer({ min: 1, max: 3 }), code: reader, props: fc.array(rawProp, { minLength: 1, maxLength: 2 }) })
    .map(({ readers, code, props }) =>
      normalize({
        threads: readers + 1,
        ints: [1],
        locks: 1,
        linked: true,
        groups: [
          { count: readers, symmetric: false, daemon: false, code },
          { count: 1, symmetric: false, daemon: false, code: [{ op: 'load_pmd' }, { op: 'unlink' }, { op: 'free_rcu' }] },
        ],
        props,
      }),
    );
}

/** Models that declare exact futures: mostly futureModelDesc()'s, and modelDesc()'s (kernel idioms) with every group declaring. */
export function declaredModelDesc(): fc.Arbitrary<ModelDesc> {
  return fc.oneof(
    { weight: 3, arbitrary: futureModelDesc() },
    { weight: 1, arbitrary: modelDesc().map((d) => printable({ ...d, future: d.groups.map(() => true) })) },
  );
}

/** Models whose declared futures carry one broken declaration (future.ts Mutant). */
export function mutantModelDesc(): fc.Arbitrary<ModelDesc> {
  const mutant = fc.record({
    kind: fc.constantFrom('drop' as const, 'widen' as const, 'unwrite' as const, 'unrestrict' as const),
    group: fc.nat(3),
    label: fc.nat(5),
    leaf: fc.nat(40),
  });
  return fc.tuple(declaredModelDesc(), mutant).map(([d, m]) => printable({ ...d, mutant: m }));
}

// ---- the compiler ---------------------------------------------------------------------------

/** Page tables: T1 when linked, and one per instance of each thread that can allocate (each allocates at most once). */
export function tableCount(d: ModelDesc): number {
  return d.groups.reduce((n, g) => n + (g.code.some((i) => i.op === 'alloc') ? g.count : 0), d.linked ? 1 : 0);
}

export function usesRcu(d: ModelDesc): boolean {
  return d.groups.some((g) => g.code.some((i) => i.op === 'free_rcu'));
}

/** The futures `d` declares, by group and instruction index (undefined: unrestricted); [] when it declares none. */
export function declaredFutures(d: ModelDesc): (FutureDecl | undefined)[][] {
  if (!d.future?.some((x) => x)) return [];
  const exact: (FutureDecl | undefined)[][] = exactFutures(d, GROUP_NAMES, tableCount(d), usesRcu(d)).map((g, gi) =>
    d.future![gi] ? [...g] : g.map(() => undefined),
  );
  return d.mutant ? mutate(d, exact, d.mutant, tableCount(d)) : exact;
}

/** Does the model declare a symmetric group (so that symmetry reduction has something to do)? */
export function isSymmetric(d: ModelDesc): boolean {
  return d.groups.some((g) => g.symmetric && g.count >= 2);
}

/** The condition as a function of the state and the running thread. */
function condFn(c: Cond): (s: any, me: any) => boolean {
  const g = `g${c.v}`;
  const k = c.c;
  const read = c.reg ? (_s: any, me: any): number => me.r : (s: any): number => s[g];
  switch (c.cmp) {
    case '==':
      return (s, me) => read(s, me) === k;
    case '!=':
      return (s, me) => read(s, me) !== k;
    case '<':
      return (s, me) => read(s, me) < k;
    case '>=':
      return (s, me) => read(s, me) >= k;
  }
}

type AnyStep = StepDef<any, any, string>;

/**
 * The steps of one thread. Instances of a group run the same code and never read `me.index`, so a
 * `symmetric` declaration is true: every choice depends on the state and the instance's own locals.
 */
function buildSteps(d: ModelDesc, code: readonly Instr[]): Record<string, AnyStep> {
  const n = code.length;
  const label = (k: number): string => `${k} ${instrText(code[k]!)}`;
  const at = (k: number): string | typeof DONE => (k < n ? label(k) : DONE);
  const steps: Record<string, AnyStep> = {};
  code.forEach((ins, k) => {
    const next = at(k + 1);
    const g = 'v' in ins ? `g${ins.v}` : '';
    const max = 'v' in ins ? d.ints[ins.v]! : 0;
    let step: AnyStep;
    switch (ins.op) {
      case 'set':
        step = (s) => ((s[g] = ins.c), next);
        break;
      case 'inc':
        step = (s) => ((s[g] = (s[g] + 1) % (max + 1)), next);
        break;
      case 'load':
        step = (s, me) => ((me.r = s[g]), next);
        break;
      case 'store':
        step = (s, me) => ((s[g] = Math.min(me.r, max)), next);
        break;
      case 'local':
        step = (_s, me) => ((me.r = (me.r + 1) % (REG_MAX + 1)), next);
        break;
      case 'peek':
        step = (_s, me) => ((me.r = me.all[0].r), next);
        break;
      case 'choose':
        step = {
          alts: ins.n,
          run: (s, _me, alt) => {
            if (alt > max) return BLOCKED;
            s[g] = alt;
            return next;
          },
        };
        break;
      case 'cas':
        step = (s) => {
          const old = s[g];
          s[g] = ins.c; // written before the decision: a BLOCKED step's writes must be discarded
          return old === ins.expect ? next : BLOCKED;
        };
        break;
      case 'await': {
        const cond = condFn(ins.cond);
        step = (s, me) => (cond(s, me) ? next : BLOCKED);
        break;
      }
      case 'jump': {
        const to = at(ins.to);
        const cond = ins.cond === null ? () => true : condFn(ins.cond);
        step = (s, me) => (cond(s, me) ? to : next);
        break;
      }
      case 'lock':
        step = (s, me) => (spinLock(me, s.locks[ins.l]) ? next : BLOCKED);
        break;
      case 'trylock': {
        const to = at(ins.to);
        step = (s, me) => (spinTrylock(me, s.locks[ins.l]) ? next : to);
        break;
      }
      case 'unlock':
        step = (s, me) => (spinUnlock(s, me, s.locks[ins.l]), next);
        break;
      case 'rcu_read_lock':
        step = (_s, me) => {
          if (me.rcu_nesting < 2) rcuReadLock(me);
          return next;
        };
        break;
      case 'rcu_read_unlock':
        step = (s, me) => (rcuReadUnlock(s, me), next);
        break;
      case 'alloc':
        step = (s, me) => {
          if (!me.allocated) {
            me.allocated = true;
            me.pgt = ptAlloc(s);
          }
          return next;
        };
        break;
      case 'free':
        step = (s, me) => (ptFree(s, me.pgt), next);
        break;
      case 'free_rcu':
        step = (s, me) => {
          if (me.pgt <= 0) ptFree(s, me.pgt); // no table: freeing garbage, recorded as such
          else callRcu(s, me, me.pgt - 1, 1, me.pgt);
          return next;
        };
        break;
      case 'touch':
        step = (s, me) => (readPte(s, me.pgt, 0), next);
        break;
      case 'load_pmd':
        step = (s, me) => ((me.pgt = s.pmd.v), next);
        break;
      case 'link':
        step = (s, me) => {
          if (me.pgt > 0) s.pmd.v = me.pgt;
          return next;
        };
        break;
      case 'unlink':
        step = (s, me) => {
          if (s.pmd.v === me.pgt) s.pmd.v = PMD_NONE;
          return next;
        };
        break;
      case 'or':
        step = (s) => (orInto(s, 'flags', 1 << ins.bit), next);
        break;
      case 'clear':
        step = (s) => (clearIn(s, 'flags', 1 << ins.bit), next);
        break;
      case 'testbit': {
        const to = at(ins.to);
        step = (s) => (wordBits(s, 'flags', 1 << ins.bit) !== 0 ? to : next);
        break;
      }
      case 'loadflags':
        step = (s, me) => ((me.r = s.flags & 3), next);
        break;
      case 'add':
        step = (s) => {
          if (ins.d > 0 ? !wordAbove(s, g, max - 1) : wordAbove(s, g, 0)) addTo(s, g, ins.d);
          return next;
        };
        break;
      case 'is': {
        const to = at(ins.to);
        step = (s) => (wordIs(s, g, ins.c) ? to : next);
        break;
      }
    }
    steps[label(k)] = step;
  });
  return steps;
}

function propPred(p: PropDesc): (s: any) => boolean {
  const conds = p.conds.map(condFn);
  return (s) => conds.every((c) => c(s, undefined));
}

export interface Compiled {
  readonly model: ModelModule<any, any>;
  readonly spec: SpecModule;
}

/** The ptcheck model and spec a description stands for. */
export function compileDesc(d: ModelDesc): Compiled {
  const tables = tableCount(d);
  const fields: Record<string, FieldSpec> = {};
  d.ints.forEach((m, v) => (fields[`g${v}`] = int(0, m)));
  fields.locks = array(d.locks, lock(), (i) => `L${i}`);
  fields.pmd = pmdEntry();
  fields.flags = int(0, 7);
  const st = kernelState({ tables, rcuCallbacks: ['pte_free_now'] }, fields);
  const futures = declaredFutures(d);
  const build = () => {
    const threads: Record<string, ThreadDef<string>> = {};
    d.groups.forEach((g, gi) => {
      const labels = g.code.map((ins, k) => `${k} ${instrText(ins)}`);
      const future: Record<string, FutureDecl> = {};
      futures[gi]?.forEach((f, k) => {
        if (f) future[labels[k]!] = f;
      });
      const declares = d.future?.[gi] === true;
      threads[GROUP_NAMES[gi]!] = thread(st, {
        locals: { r: int(0, REG_MAX), pgt: tableRef(), allocated: bool() },
        count: g.count,
        daemon: g.daemon,
        ...(g.symmetric ? { symmetric: {} } : {}),
        steps: buildSteps(d, g.code),
        ...(declares ? { future } : {}),
      });
    });
    if (usesRcu(d)) {
      threads.rcu = rcuThread(st, ['pte_free_now'], { pte_free_now: (s: any, t: number) => ptFree(s, t) }, tables);
    }
    const init = d.linked
      ? (s: any) => {
          ptInitLive(s, 1);
          s.pmd.v = 1;
        }
      : undefined;
    return { state: st, threads, ...(init ? { init } : {}) };
  };
  const model = defineModel({
    name: 'differential',
    title: 'a generated model',
    doc: renderDesc(d),
    params: {},
    build,
    variants: { base: { summary: 'the generated model' } },
  });
  const properties: Property[] = [
    noFault('no-use-after-free', Fault.UAF),
    noFault('no-double-free', Fault.DOUBLE_FREE),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT),
    noFault('rcu-balanced', Fault.RCU_UNBALANCED | Fault.RCU_HEAD_REQUEUED),
    noFault('frees-sane', Fault.FREE_GARBAGE | Fault.FREE_ATTACHED | Fault.BAD_PMD_DEREF),
    // the same kind of check through a predicate call (no bit-test fast form)
    always('no-fault-at-all', 'no fault of any kind', (s: { faults: number }) => s.faults === 0),
    ...d.props.map((p, k) => {
      const name = propName(p, k);
      const doc = p.conds.map(condText).join(' && ');
      if (p.kind === 'never') {
        const conj = propPred(p);
        return always(name, `!(${doc})`, (s: any) => !conj(s));
      }
      return p.kind === 'always' ? always(name, doc, propPred(p)) : p.kind === 'final' ? final(name, doc, propPred(p)) : sometimes(name, doc, propPred(p));
    }),
  ];
  const spec = defineSpec(model, { properties, expect: { base: {} } });
  return { model, spec };
}
