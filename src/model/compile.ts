// Turns a model module + variant + parameters into the engine's flat form: one state vector
// layout, prebuilt views, and per-thread step tables indexed by pc. Nothing here runs steps.

import { enablePatches, produceWithPatches, type Patch } from 'immer';
import { InputError, ModelError } from './errors.ts';
import { LayoutBuilder, type Holder, type Leaf } from './layout.ts';
import { DONE, BLOCKED, variantEdits, type ExitHook, type FutureDecl, type ModelDef, type ModelModule, type ParamDefs, type StepFn, type ThreadView } from './model.ts';
import { int, type Cell, type Fields, type NameContext } from './schema.ts';
import { indexCells } from './cells.ts';
import { sealThreads } from './sealed.ts';
import { baseOf, type UserVariant } from './variant-file.ts';

enablePatches();

export { DONE, BLOCKED };

export interface CompiledThread {
  readonly tid: number;
  readonly name: string;
  readonly group: string;
  readonly index: number;
  readonly daemon: boolean;
  /** Offset of this thread's pc in the state vector; pc === -1 means done. */
  readonly pcOff: number;
  readonly labels: readonly string[];
  readonly steps: readonly StepFn<any, any, string>[];
  readonly alts: readonly number[];
  readonly shows: readonly (((alt: number, s: any, me: any) => string) | undefined)[];
  /** label -> pc (null prototype, so any string can be looked up). */
  readonly labelIndex: Readonly<Record<string, number>>;
  readonly start: number;
  readonly me: ThreadView;
  /** names of the thread's own locals (declared by the model, not the kernel's per-thread fields) */
  readonly locals: ReadonlySet<string>;
  /** the words private to this instance: its pc (first), then its declared locals' leaves (not cells) */
  readonly privateWords: readonly number[];
  /**
   * Declared futures (FutureDecl), per pc: a bitset over words (bit w of int w>>>5) of what the step
   * at that label and every later one may touch (reads and writes, plus the private words), or null
   * when the label declares none (unrestricted). All null when the thread declares no future.
   */
  readonly futTouch: readonly (Int32Array | null)[];
  /** ...of what they may change (writes, plus the private words); null where futTouch is */
  readonly futChange: readonly (Int32Array | null)[];
  /** per pc: per pc2, 1 if the future at pc2 is contained in the one at pc (a step may move there) */
  readonly futWithin: readonly Uint8Array[];
  /** per pc: the declaration as written, for messages (null: none) */
  readonly futDecl: readonly (FutureDecl | null)[];
  /** per pc: the future there was derived (src/por/derive-futures.ts), not declared */
  readonly futDerived: readonly boolean[];
}

/**
 * Futures derived from the steps themselves (src/por/derive-futures.ts): per tid, per pc, bitsets over
 * words (as CompiledThread.futTouch) of what the thread may touch / change from there on, or null
 * (unknown: unrestricted). Labels with a declared future keep it; the others take these.
 */
export interface DerivedFutures {
  readonly touch: readonly (readonly (Int32Array | null)[])[];
  readonly change: readonly (readonly (Int32Array | null)[])[];
  /** step runs and private states the derivation took, and its time in ms */
  readonly runs: number;
  readonly nodes: number;
  readonly ms: number;
  /** why it derived nothing (a budget it met), if it did */
  readonly gaveUp?: string;
  /** read from the derivation cache (src/cli/derive-cache.ts), not run; runs and nodes are the run's that made it */
  readonly cached?: boolean;
}

/** What the derivation did to a compiled model, for reports (-v, --json). */
export interface DeriveSummary {
  /** labels (over every thread instance) given a derived future */
  readonly derived: number;
  /** labels left unrestricted (no declaration, nothing derived) */
  readonly unrestricted: number;
  /** labels with a declared future */
  readonly declared: number;
  readonly runs: number;
  readonly nodes: number;
  readonly ms: number;
  readonly gaveUp?: string;
  readonly cached?: boolean;
}

/** How to compile: `deriveFutures` derives the futures of undeclared labels (src/por/derive-futures.ts). */
export interface CompileOptions {
  readonly deriveFutures?: (cm: CompiledModel) => DerivedFutures;
}

/** A symmetric thread group resolved to state-vector offsets (see SymmetryDecl). */
export interface SymmetryGroup {
  readonly name: string;
  /** engine tids of the instances, by index */
  readonly tids: readonly number[];
  /** first offset of each instance's own block (pc, per-thread fields, locals) */
  readonly blockStart: readonly number[];
  readonly blockLen: number;
  /** per instance: offsets of the leaves it owns, in declaration order */
  readonly owns: readonly (readonly number[])[];
  /** leaves whose value names an instance, with the value of instance 0 */
  readonly refs: readonly { readonly off: number; readonly offset: number }[];
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

export class CompiledModel implements NameContext {
  readonly W: number;
  readonly leaves: readonly Leaf[];
  readonly holder: Holder;
  readonly root: any;
  readonly threads: readonly CompiledThread[];
  readonly init: Int32Array;
  readonly exitHooks: readonly ExitHook[];
  readonly cells: readonly Cell[];
  readonly symmetry: readonly SymmetryGroup[];
  /** Every thread instance by name, as properties see it (locals, `at(label)`, `done`); see threadsAt(). */
  readonly threadsAt: Readonly<Record<string, unknown>>;

  /** the model's name, for error messages */
  readonly name: string;
  /** some thread declares (or was derived) a future at some label (then every step is checked against it) */
  readonly hasFutures: boolean;
  /** set when the futures were derived (CompileOptions.deriveFutures) */
  readonly derived: DeriveSummary | undefined;

  constructor(def: ModelDef, name = 'model', opts: CompileOptions = {}) {
    this.name = name;
    const holder: Holder = { b: new Int32Array(0), o: 0, hi: 0, lo: 0, rec: null, rn: 0, undo: null, un: 0 };
    const lb = new LayoutBuilder(holder);
    this.holder = holder;
    this.root = lb.record(def.state.fields, '');
    const threads: CompiledThread[] = [];
    const allViews: ThreadView[] = [];
    let tid = 0;
    const groups = Object.entries(def.threads);
    if (groups.length === 0) throw new ModelError('model declares no threads');
    for (const [group, td] of groups) {
      const labels = Object.keys(td.steps);
      if (labels.length === 0) throw new ModelError(`thread '${group}' has no steps`);
      const count = td.count ?? 1;
      if (!Number.isInteger(count) || count < 0) throw new ModelError(`thread '${group}': count must be a natural number`);
      const labelIndex: Record<string, number> = Object.create(null);
      labels.forEach((l, i) => (labelIndex[l] = i));
      for (const k of Object.keys(td.future ?? {})) {
        if (labelIndex[k] === undefined) throw new ModelError(`model ${name}: thread '${group}' declares a future at '${k}', which is not one of its labels (${labels.join(', ')})`);
      }
      const start = td.start !== undefined ? labelIndex[td.start] : 0;
      if (start === undefined) throw new ModelError(`thread '${group}': start label '${td.start}' is not one of its steps`);
      const steps: StepFn<any, any, string>[] = [];
      const alts: number[] = [];
      const shows: (((alt: number, s: any, me: any) => string) | undefined)[] = [];
      for (const l of labels) {
        const sd = td.steps[l]!;
        if (typeof sd === 'function') {
          steps.push(sd);
          alts.push(1);
          shows.push(undefined);
        } else {
          if (!(Number.isInteger(sd.alts) && sd.alts >= 1)) throw new ModelError(`${group}.${l}: alts must be a positive integer`);
          steps.push(sd.run);
          alts.push(sd.alts);
          shows.push(sd.show);
        }
      }
      for (const k of Object.keys(td.locals)) {
        if (k === 'pc' || k in def.state.perThread) throw new ModelError(`thread '${group}': local '${k}' clashes with a built-in per-thread field`);
      }
      const pcSpec = int(-1, labels.length - 1, start, (v) => (v < 0 ? 'done' : labels[v]!));
      const fields: Fields = { pc: pcSpec, ...def.state.perThread, ...td.locals };
      for (let i = 0; i < count; i++) {
        const name = count === 1 ? group : `${group}${i}`;
        const view = lb.record(fields, name) as unknown as ThreadView & { $o: number };
        Object.defineProperties(view, {
          tid: { value: tid, enumerable: false },
          name: { value: name, enumerable: false },
          index: { value: i, enumerable: false },
          all: { value: allViews, enumerable: false },
        });
        allViews.push(view);
        threads.push({
          tid,
          name,
          group,
          index: i,
          daemon: !!td.daemon,
          pcOff: view.$o,
          labels,
          steps,
          alts,
          shows,
          labelIndex,
          start,
          me: view,
          locals: new Set(Object.keys(td.locals)),
          privateWords: [],
          futTouch: [],
          futChange: [],
          futWithin: [],
          futDecl: labels.map((l) => (td.future as Record<string, FutureDecl | undefined> | undefined)?.[l] ?? null),
          futDerived: labels.map(() => false),
        });
        tid++;
      }
    }
    Object.freeze(allViews);
    this.threads = threads;
    this.threadsAt = threadsAt(threads, groups.map(([g]) => g));
    this.leaves = lb.leaves;
    let hasFutures = resolveFutures(name, threads, lb.leaves, lb.size);
    this.symmetry = this.resolveSymmetry(def, threads, lb.leaves);
    this.cells = lb.cells;
    this.W = lb.size;
    this.exitHooks = def.state.onExit;
    Object.defineProperty(this.root, '$cells', { value: indexCells(this.cells), enumerable: false });
    lb.seal();
    const init = new Int32Array(this.W);
    for (const leaf of this.leaves) init[leaf.off] = leaf.init;
    holder.b = init;
    holder.o = 0;
    try {
      def.init?.(this.root);
    } catch (e) {
      throw new ModelError(`model init failed: ${(e as Error).message}`);
    }
    this.init = init;
    if (opts.deriveFutures !== undefined) {
      const d = opts.deriveFutures(this);
      hasFutures = installDerived(threads, d) || hasFutures;
      let derived = 0;
      let declared = 0;
      let unrestricted = 0;
      for (const th of threads) {
        for (let pc = 0; pc < th.labels.length; pc++) {
          if (th.futDecl[pc] !== null) declared++;
          else if (th.futDerived[pc]) derived++;
          else unrestricted++;
        }
      }
      this.derived = { derived, declared, unrestricted, runs: d.runs, nodes: d.nodes, ms: d.ms, ...(d.gaveUp !== undefined ? { gaveUp: d.gaveUp } : {}), ...(d.cached ? { cached: true } : {}) };
    } else this.derived = undefined;
    this.hasFutures = hasFutures;
  }

  private resolveSymmetry(def: ModelDef, threads: readonly CompiledThread[], leaves: readonly Leaf[]): SymmetryGroup[] {
    const byPath = new Map(leaves.map((l) => [l.path, l.off]));
    const out: SymmetryGroup[] = [];
    for (const [group, td] of Object.entries(def.threads)) {
      const sym = td.symmetric;
      if (!sym) continue;
      const members = threads.filter((t) => t.group === group);
      if (members.length < 2) continue;
      const starts = members.map((t) => t.pcOff);
      const len = (members[1]!.pcOff - members[0]!.pcOff);
      for (let i = 1; i < members.length; i++) {
        if (starts[i]! - starts[i - 1]! !== len) throw new ModelError(`symmetric thread '${group}': instance blocks are not contiguous`);
      }
      const owns = members.map((_, i) =>
        (sym.owns ?? []).map((pat) => {
          const path = pat.replaceAll('{i}', String(i));
          const off = byPath.get(path);
          if (off === undefined) throw new ModelError(`symmetric thread '${group}': no state field '${path}' (from '${pat}')`);
          return off;
        }),
      );
      const refs: { off: number; offset: number }[] = [];
      for (const r of sym.refs ?? []) {
        const re = globToRegExp(r.leaves);
        const hits = leaves.filter((l) => re.test(l.path));
        if (hits.length === 0) throw new ModelError(`symmetric thread '${group}': no state field matches '${r.leaves}'`);
        for (const l of hits) refs.push({ off: l.off, offset: r.offset ?? 0 });
      }
      out.push({ name: group, tids: members.map((t) => t.tid), blockStart: starts, blockLen: len, owns, refs });
    }
    return out;
  }

  threadName(tid: number): string {
    return this.threads[tid]?.name ?? `thread${tid}`;
  }

  /** Field path and formatted value of every leaf, for people. */
  format(leaf: Leaf, v: number): string {
    return leaf.format(v, this);
  }
}

/**
 * Fills each thread's private words and declared futures (see CompiledThread.futTouch): patterns to
 * word bitsets, and per thread which label's future contains which. A pattern matching no leaf is a
 * model error naming model, thread, label and pattern. True if any thread declares a future.
 */
function resolveFutures(model: string, threads: CompiledThread[], leaves: readonly Leaf[], W: number): boolean {
  const K = (W + 31) >>> 5;
  let any = false;
  for (const th of threads) {
    const priv: number[] = [th.pcOff];
    const prefix = `${th.name}.`;
    for (const leaf of leaves) {
      if (!leaf.path.startsWith(prefix) || leaf.tag !== undefined || leaf.off === th.pcOff) continue;
      const field = leaf.path.slice(prefix.length).split(/[.[]/)[0]!;
      if (th.locals.has(field)) priv.push(leaf.off);
    }
    const resolve = (label: string, pats: readonly string[] | undefined, into: Int32Array): void => {
      for (const pat of pats ?? []) {
        if (typeof pat !== 'string') throw new ModelError(`model ${model}: thread '${th.group}' future at '${label}': a pattern must be a string`);
        const full = (pat.startsWith('me.') ? `${th.name}.${pat.slice(3)}` : pat).replaceAll('{i}', String(th.index));
        const re = globToRegExp(full);
        let hit = false;
        for (const leaf of leaves) {
          if (!re.test(leaf.path)) continue;
          into[leaf.off >>> 5]! |= 1 << (leaf.off & 31);
          hit = true;
        }
        if (!hit) throw new ModelError(`model ${model}: thread '${th.group}' future at '${label}': pattern '${pat}' matches no state field`);
      }
    };
    const touch: (Int32Array | null)[] = [];
    const change: (Int32Array | null)[] = [];
    for (let pc = 0; pc < th.labels.length; pc++) {
      const d = th.futDecl[pc] ?? null;
      if (d === null) {
        touch.push(null);
        change.push(null);
        continue;
      }
      any = true;
      const wr = new Int32Array(K);
      for (const w of priv) wr[w >>> 5]! |= 1 << (w & 31);
      resolve(th.labels[pc]!, d.writes, wr);
      const rd = Int32Array.from(wr);
      resolve(th.labels[pc]!, d.reads, rd);
      touch.push(rd);
      change.push(wr);
    }
    Object.assign(th, { privateWords: priv, futTouch: touch, futChange: change, futWithin: withinOf(th.labels, touch, change) });
  }
  return any;
}

/**
 * Gives every label that declares no future its derived one (its private words added), and works out
 * again which label's future contains which. True if any label got one.
 */
function installDerived(threads: readonly CompiledThread[], d: DerivedFutures): boolean {
  let any = false;
  for (const th of threads) {
    const touch = th.futTouch.slice();
    const change = th.futChange.slice();
    const derived = th.futDerived.slice();
    for (let pc = 0; pc < th.labels.length; pc++) {
      const dt = d.touch[th.tid]?.[pc] ?? null;
      const dc = d.change[th.tid]?.[pc] ?? null;
      if (th.futDecl[pc] !== null || dt === null || dc === null) continue;
      const rd = Int32Array.from(dt);
      const wr = Int32Array.from(dc);
      for (const w of th.privateWords) {
        rd[w >>> 5]! |= 1 << (w & 31);
        wr[w >>> 5]! |= 1 << (w & 31);
      }
      // writes imply reads
      for (let i = 0; i < rd.length; i++) rd[i]! |= wr[i]!;
      touch[pc] = rd;
      change[pc] = wr;
      derived[pc] = true;
      any = true;
    }
    Object.assign(th, { futTouch: touch, futChange: change, futDerived: derived, futWithin: withinOf(th.labels, touch, change) });
  }
  return any;
}

function withinOf(labels: readonly string[], touch: readonly (Int32Array | null)[], change: readonly (Int32Array | null)[]): Uint8Array[] {
  return labels.map((_, pc) =>
    Uint8Array.from(labels, (_l, pc2) => (contains(touch[pc] ?? null, touch[pc2] ?? null) && contains(change[pc] ?? null, change[pc2] ?? null) ? 1 : 0)),
  );
}

/** Whether bitset b is within bitset a (null: every word). */
function contains(a: Int32Array | null, b: Int32Array | null): boolean {
  if (a === null) return true;
  if (b === null) return false;
  for (let i = 0; i < a.length; i++) if ((b[i]! & ~a[i]!) !== 0) return false;
  return true;
}

/**
 * The second argument of a property: each thread instance by name, reading through the thread's own
 * view (so every read is a noted read of the state, as a step's are), plus `at(label)` and `done`,
 * which read its pc. Built once per model; nothing here allocates per state.
 */
function threadsAt(threads: readonly CompiledThread[], groups: readonly string[]): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const th of threads) {
    const me = th.me as ThreadView & { pc: number };
    const index = th.labelIndex;
    out[th.name] = Object.freeze(
      Object.create(me, {
        // a label this variant's thread does not have: the thread is never there
        at: { value: (label: string) => me.pc === (index[label] ?? -2), enumerable: false },
        done: { get: () => me.pc === -1, enumerable: false },
      }),
    );
  }
  // sealed like a state view: a name no thread group can give throws, never reads undefined
  return sealThreads(out, groups);
}

export interface Instance {
  readonly module: ModelModule<any, any>;
  readonly variant: string;
  readonly params: Readonly<Record<string, number>>;
  readonly def: ModelDef;
  /** What the variant changes relative to the base model (from immer's patches). */
  readonly changes: readonly string[];
  readonly compiled: CompiledModel;
}

function describePatch(p: Patch): string {
  const path = p.path.join('.');
  switch (p.op) {
    case 'replace':
      return `${path}: replaced`;
    case 'add':
      return `${path}: added`;
    case 'remove':
      return `${path}: removed`;
  }
}

/** Resolves parameter values: defaults, then the variant's fixed values, then the user's. */
export function resolveParams(mod: ModelModule<ParamDefs, ModelDef>, variant: string, user: Readonly<Record<string, number>>): Record<string, number> {
  // own names only: 'constructor' or '__proto__' from a command line or a trace is not a variant
  const v = Object.hasOwn(mod.variants, variant) ? mod.variants[variant] : undefined;
  if (!v) throw new InputError(`model '${mod.name}' has no variant '${variant}' (variants: ${Object.keys(mod.variants).join(', ')})`);
  const out: Record<string, number> = {};
  for (const [k, d] of Object.entries(mod.params)) out[k] = d.default;
  for (const [k, val] of Object.entries(v.params ?? {})) out[k] = val as number;
  for (const [k, val] of Object.entries(user)) {
    const d = Object.hasOwn(mod.params, k) ? mod.params[k] : undefined;
    if (!d) {
      const known = Object.keys(mod.params);
      throw new InputError(`model '${mod.name}' has no parameter '${k}' (parameters: ${known.length ? known.join(', ') : 'none'})`);
    }
    if (!Number.isInteger(val) || val < d.min || val > d.max) {
      throw new InputError(`parameter ${k}=${val} is out of range for model '${mod.name}' (${d.min}..${d.max})`);
    }
    const fixed = v.params?.[k];
    if (fixed !== undefined && fixed !== val) {
      throw new InputError(`variant '${variant}' fixes ${k}=${fixed}; it cannot be set to ${val}`);
    }
    out[k] = val;
  }
  return out;
}

function applyVariant(base: ModelDef, apply: ((d: any, p: any) => void) | undefined, params: Record<string, number>): [ModelDef, Patch[]] {
  if (!apply) return [base, []];
  const [next, patches] = produceWithPatches(base, (d: any) => {
    apply(d, params);
  });
  return [next as ModelDef, patches];
}

/** Builds the base model, applies the variant through immer, and compiles it. */
export function instantiate(mod: ModelModule<any, any>, variant: string, userParams: Readonly<Record<string, number>> = {}, opts: CompileOptions = {}): Instance {
  const params = resolveParams(mod, variant, userParams);
  const [def, patches] = applyVariant(mod.build(params) as ModelDef, mod.variants[variant]!.apply, params);
  return { module: mod, variant, params, def, changes: patches.map(describePatch), compiled: new CompiledModel(def, mod.name, opts) };
}

/**
 * Instantiates a variant from a variant file: the shipped `base` variant first, then the file's change
 * on top; `changes` lists what the file changes relative to that base. Overriding a step at a label the
 * base thread does not have is an input error (a typo would otherwise add a dead step).
 */
export function instantiateUserVariant(uv: UserVariant, file: string, userParams: Readonly<Record<string, number>> = {}, opts: CompileOptions = {}): Instance {
  const mod = uv.model;
  const base = baseOf(uv);
  if (!mod.variants[base]) throw new InputError(`${file}: base variant '${base}' is not a variant of '${mod.name}'`);
  const params = resolveParams(mod, base, { ...(uv.params as Record<string, number>), ...userParams });
  const [baseDef] = applyVariant(mod.build(params) as ModelDef, mod.variants[base]!.apply, params);
  const fields = uv.fields ?? {};
  for (const k of Object.keys(fields)) {
    if (k in baseDef.state.fields) throw new InputError(`${file}: variant '${uv.name}' adds state field '${k}', which the model already has`);
  }
  let def: ModelDef;
  let patches: Patch[];
  const added = new Set<string>();
  variantEdits.added = added;
  try {
    [def, patches] = applyVariant(
      baseDef,
      (d: any, p: any) => {
        Object.assign(d.state.fields, fields);
        uv.apply(d, p);
      },
      params,
    );
  } catch (e) {
    throw new InputError(`${file}: ${uv.name}: its apply() failed: ${(e as Error).message}`);
  } finally {
    variantEdits.added = null;
  }
  for (const p of patches) {
    const [a, thread, b, label] = p.path as (string | number)[];
    if (a === 'threads' && b === 'steps' && p.op === 'add' && p.path.length === 4) {
      const t = baseDef.threads[thread as string];
      if (t && !(String(label) in t.steps) && !added.has(`${String(thread)}\0${String(label)}`)) {
        throw new InputError(
          `${file}: thread '${String(thread)}' has no step '${String(label)}' to override (its steps: ${Object.keys(t.steps).join(', ')}; add steps with editThread)`,
        );
      }
    }
  }
  return { module: mod, variant: uv.name, params, def, changes: patches.map(describePatch), compiled: new CompiledModel(def, mod.name, opts) };
}
