// The model API: threads of labeled atomic steps over a declared state, parameters, and named
// variants derived from the base with immer. Types only plus the small `define*` helpers;
// compilation to the engine's flat form lives in compile.ts.

import type { Fields, RecordView } from './schema.ts';

/** Returned by a step: the thread has finished. */
export const DONE: unique symbol = Symbol('DONE');
/** Returned by a step: not enabled in this state (it must not have changed anything that matters:
 *  the engine discards the state it was run on). */
export const BLOCKED: unique symbol = Symbol('BLOCKED');

export type Next<L extends string> = NoInfer<L> | typeof DONE | typeof BLOCKED;

/** Identity of the running thread instance, available on `me` beside its locals. */
export interface ThreadSelf {
  /** Engine-wide thread id, 0-based, in declaration order. */
  readonly tid: number;
  /** Instance name, e.g. "collapser1" (or the group name when count is 1). */
  readonly name: string;
  /** Index within its group (0 when count is 1). */
  readonly index: number;
  /** The views of every thread instance, by tid (kernel primitives use this, e.g. for RCU). */
  readonly all: readonly ThreadView[];
}
export type ThreadView = ThreadSelf & Record<string, unknown>;

/** One atomic step: runs on the state, mutates it in place, returns the next label. */
export type StepFn<S, M, L extends string> = (s: S, me: M, alt: number) => Next<L>;

/** A step with several alternatives (nondeterministic choice): alternative `alt` of `alts`. */
export interface MultiStep<S, M, L extends string> {
  readonly alts: number;
  readonly run: StepFn<S, M, L>;
  /** Text shown in traces for this alternative (default: the label). */
  readonly show?: (alt: number, s: S, me: M) => string;
}
export type StepDef<S, M, L extends string> = StepFn<S, M, L> | MultiStep<S, M, L>;

/** Called when a thread returns DONE (the kernel checks for locks and RCU sections still held). */
export type ExitHook = (s: any, me: ThreadView) => void;

/** The declared state: global fields, fields every thread carries, and exit checks. */
export interface StateDef<F extends Fields = Fields, PT extends Fields = Fields> {
  readonly fields: F;
  readonly perThread: PT;
  readonly onExit: readonly ExitHook[];
}

/**
 * Declares a group of identical threads (count > 1) interchangeable: permuting the instances, together
 * with what each owns and every value that names one, maps reachable states to reachable states and
 * leaves every property unchanged. The explorer may then store one state per permutation class.
 */
export interface SymmetryDecl {
  /** leaves each instance owns besides its locals, as paths with {i} for its index: 'pmd[{i}]', 'T1.pte[{i}]' */
  readonly owns?: readonly string[];
  /** leaves whose value names an instance (value = index + offset; other values are left alone); '*' matches anything */
  readonly refs?: readonly { readonly leaves: string; readonly offset?: number }[];
}

/**
 * What a thread may still touch from a label on (that label's step and every later one): `reads`, the
 * leaves it may read or store a value they already hold; `writes`, the leaves it may change (writes
 * imply reads). Leaf paths as the layout names them, '*' any run of characters, 'me.x' this instance's
 * field or local x, '{i}' its index. Its own pc and locals are always allowed. Checked on every step
 * (src/por/footprint-check.ts); used by the reduction (src/por/reduction.ts). See README, "Declared futures".
 */
export interface FutureDecl {
  readonly reads?: readonly string[];
  readonly writes?: readonly string[];
}

/**
 * A thread: its locals and its steps by label. `S` and `M` are the types its steps see as the state and
 * as `me` (kept so that a variant file editing the thread is typed as the model is).
 */
export interface ThreadDef<L extends string = string, S = any, M = any> {
  readonly locals: Fields;
  readonly steps: { readonly [K in L]: StepDef<S, M, L> };
  /** First label (default: the first key of `steps`). */
  readonly start?: L;
  /** Identical instances of this thread (default 1). */
  readonly count?: number;
  /** A daemon (rcu, workqueue, hardware walker) may stay unfinished in a final state. */
  readonly daemon?: boolean;
  /** The instances are interchangeable (see SymmetryDecl). */
  readonly symmetric?: SymmetryDecl;
  /** Per label, what the thread may still touch from there on (see FutureDecl); a label without one is unrestricted. */
  readonly future?: { readonly [K in L]?: FutureDecl };
}

export interface ModelDef {
  readonly state: StateDef;
  readonly threads: { readonly [name: string]: ThreadDef<string> };
  /** Sets the initial state beyond the declared defaults. */
  readonly init?: (s: any) => void;
}

export function defineState<const F extends Fields, const PT extends Fields = {}>(
  fields: F,
  perThread?: PT,
  onExit: readonly ExitHook[] = [],
): StateDef<F, PT> {
  return { fields, perThread: (perThread ?? {}) as PT, onExit };
}

/** Merges state definitions (a kernel part and a model part, say). Later fields win on clash: don't clash. */
export function mergeState<const A extends Fields, const APT extends Fields, const B extends Fields, const BPT extends Fields>(
  a: StateDef<A, APT>,
  b: StateDef<B, BPT>,
): StateDef<A & B, APT & BPT> {
  for (const k of Object.keys(b.fields)) if (k in a.fields) throw new Error(`state field '${k}' declared twice`);
  for (const k of Object.keys(b.perThread)) if (k in a.perThread) throw new Error(`per-thread field '${k}' declared twice`);
  return {
    fields: { ...a.fields, ...b.fields } as A & B,
    perThread: { ...a.perThread, ...b.perThread } as APT & BPT,
    onExit: [...a.onExit, ...b.onExit],
  };
}

export type StateView<SD> = SD extends StateDef<infer F, any> ? RecordView<F> : never;
export type MeView<SD, Loc extends Fields> = SD extends StateDef<any, infer PT> ? RecordView<PT & Loc> & ThreadSelf : never;

/**
 * Declares a thread. Labels are the keys of `steps`; a step returning a label that is not a key
 * is a compile error.
 */
export function thread<SD extends StateDef<any, any>, const L extends string, const Loc extends Fields = {}>(
  _state: SD,
  def: {
    locals?: Loc;
    count?: number;
    daemon?: boolean;
    symmetric?: SymmetryDecl;
    start?: NoInfer<L>;
    steps: { [P in L]: StepDef<StateView<SD>, MeView<SD, Loc>, L> };
    future?: { [P in NoInfer<L>]?: FutureDecl };
  },
): ThreadDef<L, StateView<SD>, MeView<SD, Loc>> {
  return {
    locals: def.locals ?? {},
    steps: def.steps,
    ...(def.start !== undefined ? { start: def.start } : {}),
    ...(def.count !== undefined ? { count: def.count } : {}),
    ...(def.daemon ? { daemon: true } : {}),
    ...(def.symmetric ? { symmetric: def.symmetric } : {}),
    ...(def.future !== undefined ? { future: def.future } : {}),
  };
}

// ---- parameters, variants, the model module -------------------------------------------------

export interface ParamDef {
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly doc: string;
}
export type ParamDefs = { readonly [name: string]: ParamDef };
export type ParamValues<P extends ParamDefs> = { readonly [K in keyof P]: number };

/** A thread as a variant's `apply` sees it: every part writable, steps typed by the thread's labels. */
export interface ThreadDraft<L extends string = string, S = any, M = any> {
  locals: Fields;
  steps: { [K in L]: StepDef<S, M, L> };
  start?: L;
  count?: number;
  daemon?: boolean;
  symmetric?: SymmetryDecl;
  future?: { [K in L]?: FutureDecl };
}

// a step assigned in a draft sees the draft's state (with any fields a variant file adds)
type WritableThread<TD, S> = TD extends ThreadDef<infer L, any, infer M> ? ThreadDraft<L, S, M> : TD;

/** What a variant's `apply` may change: whole threads, single steps, the init function, the state. */
export type VariantDraft<D extends ModelDef> = {
  -readonly [P in keyof D]: P extends 'threads'
    ? { -readonly [T in keyof D['threads']]: WritableThread<D['threads'][T], StateView<D['state']>> }
    : D[P];
};

/**
 * In a variant's apply(): replaces a whole thread by one with other steps (other labels). Overriding
 * single steps is plain assignment, `d.threads.x.steps.label = ...`, checked against the thread's labels.
 */
export function replaceThread<D extends ModelDef>(d: VariantDraft<D>, name: keyof D['threads'] & string, t: ThreadDef<string>): void {
  (d.threads as Record<string, ThreadDef<string>>)[name] = t;
}

declare const REPLACED: unique symbol;
/** What replaceThreads() returns: the new threads, by name, kept in the type (see BaseDef). */
export type Replaced<T> = T & { readonly [REPLACED]: T };

/**
 * In a shipped variant's apply(): replaces whole threads and returns them. Return its result from
 * apply (`apply: (d, p) => replaceThreads(d, {...})`) and a variant file based on this variant sees
 * these threads, with their labels, in its draft.
 */
export function replaceThreads<D extends ModelDef, const T extends { readonly [K in keyof D['threads']]?: ThreadDef<string> }>(
  d: VariantDraft<D>,
  threads: T,
): Replaced<T> {
  for (const [name, t] of Object.entries(threads)) {
    if (!(name in d.threads)) throw new Error(`replaceThreads: the model has no thread '${name}'`);
    (d.threads as Record<string, unknown>)[name] = t;
  }
  return threads as Replaced<T>;
}

export interface VariantDef<P extends ParamDefs, D extends ModelDef, R = unknown> {
  /** What this variant is, in one or two sentences. */
  readonly summary: string;
  /** The patch it applies or stands for: subject, author, date (or "analysis"). */
  readonly patch?: string;
  /** Parameter values this variant fixes (the user may not override them). */
  readonly params?: Partial<{ [K in keyof P]: number }>;
  /** Changes to the base model; runs on an immer draft, so the base is never mutated. */
  readonly apply?: (d: VariantDraft<D>, p: ParamValues<P>) => R;
}

export type VariantDefs<P extends ParamDefs = ParamDefs, D extends ModelDef = ModelDef> = { readonly [name: string]: VariantDef<P, D, unknown> };

export interface ModelModule<P extends ParamDefs = ParamDefs, D extends ModelDef = ModelDef, V extends VariantDefs<P, D> = VariantDefs<P, D>> {
  /** kebab-case, matches the file name. */
  readonly name: string;
  readonly title: string;
  /** The litmus-style header: kernel code followed, what is abstracted, expected results. */
  readonly doc: string;
  readonly params: P;
  readonly build: (p: ParamValues<P>) => D;
  /** Named variants; the first is the default. */
  readonly variants: V;
}

/**
 * Declares a model. Each variant's apply() may return what it installs (replaceThreads) so that a
 * variant file based on it is typed with those threads; `R` keeps those return types by variant.
 */
export function defineModel<const P extends ParamDefs, D extends ModelDef, R extends { readonly [name: string]: unknown }>(
  m: Omit<ModelModule<P, D>, 'variants'> & { readonly variants: { readonly [K in keyof R]: VariantDef<P, D, R[K]> } },
): ModelModule<P, D, { readonly [K in keyof R]: VariantDef<P, D, R[K]> }> {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(m.name)) throw new Error(`model name '${m.name}' must be kebab-case`);
  if (Object.keys(m.variants).length === 0) throw new Error(`model '${m.name}' declares no variants`);
  for (const [k, d] of Object.entries(m.params)) {
    if (!(Number.isInteger(d.min) && Number.isInteger(d.max) && d.min <= d.default && d.default <= d.max)) {
      throw new Error(`model '${m.name}': parameter '${k}' has bad bounds or default`);
    }
  }
  return m;
}

// ---- the types a variant file works with ------------------------------------------------------

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The threads a variant's apply() installs (when it returns replaceThreads(...)); {} otherwise. */
export type InstalledThreads<VD> = VD extends { readonly apply?: (...a: any[]) => infer R } ? (R extends { readonly [REPLACED]: infer T } ? T : {}) : {};

/**
 * The model definition as variant `B` has it: the base build with the threads B's apply() installs.
 * `B = never` (no base named) is the model's first variant, which changes no thread type.
 */
export type BaseDef<D extends ModelDef, V, B extends string> = [B] extends [never]
  ? D
  : B extends keyof V
    ? Simplify<Omit<D, 'threads'> & { readonly threads: Simplify<Omit<D['threads'], keyof InstalledThreads<V[B]>> & InstalledThreads<V[B]>> }>
    : D;

/** The state definition with extra fields added by a variant file. */
export type WithFields<D extends ModelDef, X extends Fields> = [keyof X] extends [never]
  ? D
  : Simplify<Omit<D, 'state'> & { readonly state: D['state'] extends StateDef<infer F, infer PT> ? StateDef<F & X, PT> : never }>;

/** A model's state view type, e.g. `ModelState<typeof model>` for a helper written in a variant file. */
export type ModelState<M> = M extends ModelModule<any, infer D, any> ? StateView<D['state']> : never;

type DraftThreads<DR> = DR extends { threads: infer T } ? T : never;
type LabelsOf<TD> = TD extends ThreadDraft<infer L, any, any> ? L : TD extends ThreadDef<infer L, any, any> ? L : never;
type MeOf<TD> = TD extends ThreadDraft<any, any, infer M> ? M : TD extends ThreadDef<any, any, infer M> ? M : never;
type DraftState<DR> = DR extends { state: infer SD } ? StateView<SD> : never;

/**
 * Labels that editThread() added during the apply() being run (thread\0label), so that compilation can
 * tell them from a misspelt override. Set by compile.ts around each apply(); null otherwise.
 */
export const variantEdits: { added: Set<string> | null } = { added: null };

/**
 * In a variant's apply(): edits one thread in place, typed against it. `steps` replaces steps or adds
 * new ones (a split step, a reordered call); every step may return the thread's labels and the new
 * ones. `locals` adds locals, `remove` deletes steps (nothing left may return them), `start` moves the
 * first label.
 *
 *   editThread(d, 'fault', {
 *     steps: {
 *       set_pte_at: (s, me) => { ...; return 'pte_unmap'; },      // was 'pte_unmap_unlock'
 *       pte_unmap: (s, me) => { ...; return 'spin_unlock'; },     // new
 *       spin_unlock: (s, me) => { ...; return DONE; },            // new
 *     },
 *     remove: ['pte_unmap_unlock'],
 *   });
 */
export function editThread<
  DR extends { threads: object; state: StateDef<any, any> },
  const N extends keyof DraftThreads<DR> & string,
  const L1 extends string = never,
  const Loc extends Fields = {},
>(
  d: DR,
  name: N,
  edit: {
    locals?: Loc;
    steps?: {
      [K in L1]: StepDef<DraftState<DR>, MeOf<DraftThreads<DR>[N]> & RecordView<Loc>, LabelsOf<DraftThreads<DR>[N]> | L1>;
    };
    remove?: readonly NoInfer<LabelsOf<DraftThreads<DR>[N]>>[];
    start?: NoInfer<LabelsOf<DraftThreads<DR>[N]> | L1>;
    /** declared futures to set (or, with null, drop) for labels old and new; see FutureDecl */
    future?: { [K in NoInfer<LabelsOf<DraftThreads<DR>[N]> | L1>]?: FutureDecl | null };
  },
): void {
  const t = (d.threads as Record<string, ThreadDraft | undefined>)[name];
  if (!t) throw new Error(`editThread: the model has no thread '${name}'`);
  const first = Object.keys(t.steps)[0];
  for (const [k, spec] of Object.entries(edit.locals ?? {})) {
    if (k in t.locals) throw new Error(`editThread(${name}): local '${k}' already exists`);
    (t.locals as Record<string, unknown>)[k] = spec;
  }
  for (const [label, step] of Object.entries((edit.steps ?? {}) as Record<string, StepDef<any, any, string>>)) {
    if (!(label in t.steps)) variantEdits.added?.add(`${name}\0${label}`);
    t.steps[label] = step;
  }
  for (const label of edit.remove ?? []) {
    if (!(label in t.steps)) throw new Error(`editThread(${name}): no step '${label}' to remove`);
    delete t.steps[label];
    // a removed label's future goes with it (compile rejects a future naming no label)
    if (t.future !== undefined && label in t.future) delete (t.future as Record<string, FutureDecl | undefined>)[label];
  }
  for (const [label, f] of Object.entries((edit.future ?? {}) as Record<string, FutureDecl | null | undefined>)) {
    if (f === undefined) continue;
    t.future ??= {};
    if (f === null) delete (t.future as Record<string, FutureDecl | undefined>)[label];
    else (t.future as Record<string, FutureDecl>)[label] = f;
  }
  if (edit.start !== undefined) t.start = edit.start;
  else if (t.start === undefined && first !== undefined && !(first in t.steps)) {
    throw new Error(`editThread(${name}): removes the first step '${first}'; say where the thread starts (start: ...)`);
  }
}

/** In a variant's apply(): adds a thread (build it with `thread(d.state, {...})` or a model's exported builder). */
export function addThread<DR extends { threads: object }>(d: DR, name: string, t: ThreadDef<any, any, any>): void {
  if (name in d.threads) throw new Error(`addThread: the model already has a thread '${name}' (replace it with replaceThread)`);
  (d.threads as Record<string, unknown>)[name] = t;
}

/** In a variant's apply(): removes a thread. */
export function removeThread<DR extends { threads: object }>(d: DR, name: keyof DraftThreads<DR> & string): void {
  if (!(name in d.threads)) throw new Error(`removeThread: the model has no thread '${name}'`);
  delete (d.threads as Record<string, unknown>)[name];
}
