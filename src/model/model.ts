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

export interface ThreadDef<L extends string = string> {
  readonly locals: Fields;
  readonly steps: { readonly [K in L]: StepDef<any, any, L> };
  /** First label (default: the first key of `steps`). */
  readonly start?: L;
  /** Identical instances of this thread (default 1). */
  readonly count?: number;
  /** A daemon (rcu, workqueue, hardware walker) may stay unfinished in a final state. */
  readonly daemon?: boolean;
  /** The instances are interchangeable (see SymmetryDecl). */
  readonly symmetric?: SymmetryDecl;
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
  },
): ThreadDef<L> {
  return {
    locals: def.locals ?? {},
    steps: def.steps as ThreadDef<L>['steps'],
    ...(def.start !== undefined ? { start: def.start } : {}),
    ...(def.count !== undefined ? { count: def.count } : {}),
    ...(def.daemon ? { daemon: true } : {}),
    ...(def.symmetric ? { symmetric: def.symmetric } : {}),
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

type WritableThread<TD> = TD extends ThreadDef<infer L>
  ? { -readonly [P in keyof TD]: P extends 'steps' ? { -readonly [K in L]: TD['steps'][K] } : TD[P] }
  : TD;

/** What a variant's `apply` may change: whole threads, single steps, the init function, the state. */
export type VariantDraft<D extends ModelDef> = {
  -readonly [P in keyof D]: P extends 'threads'
    ? { -readonly [T in keyof D['threads']]: WritableThread<D['threads'][T]> }
    : D[P];
};

/**
 * In a variant's apply(): replaces a whole thread by one with other steps (other labels). Overriding
 * single steps is plain assignment, `d.threads.x.steps.label = ...`, checked against the thread's labels.
 */
export function replaceThread<D extends ModelDef>(d: VariantDraft<D>, name: keyof D['threads'] & string, t: ThreadDef<string>): void {
  (d.threads as Record<string, ThreadDef<string>>)[name] = t;
}

export interface VariantDef<P extends ParamDefs, D extends ModelDef> {
  /** What this variant is, in one or two sentences. */
  readonly summary: string;
  /** The patch it applies or stands for: subject, author, date (or "analysis"). */
  readonly patch?: string;
  /** Parameter values this variant fixes (the user may not override them). */
  readonly params?: Partial<{ [K in keyof P]: number }>;
  /** Changes to the base model; runs on an immer draft, so the base is never mutated. */
  readonly apply?: (d: VariantDraft<D>, p: ParamValues<P>) => void;
}

export interface ModelModule<P extends ParamDefs = ParamDefs, D extends ModelDef = ModelDef> {
  /** kebab-case, matches the file name. */
  readonly name: string;
  readonly title: string;
  /** The litmus-style header: kernel code followed, what is abstracted, expected results. */
  readonly doc: string;
  readonly params: P;
  readonly build: (p: ParamValues<P>) => D;
  /** Named variants; the first is the default. */
  readonly variants: { readonly [name: string]: VariantDef<P, D> };
}

export function defineModel<const P extends ParamDefs, D extends ModelDef>(m: ModelModule<P, D>): ModelModule<P, D> {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(m.name)) throw new Error(`model name '${m.name}' must be kebab-case`);
  if (Object.keys(m.variants).length === 0) throw new Error(`model '${m.name}' declares no variants`);
  for (const [k, d] of Object.entries(m.params)) {
    if (!(Number.isInteger(d.min) && Number.isInteger(d.max) && d.min <= d.default && d.default <= d.max)) {
      throw new Error(`model '${m.name}': parameter '${k}' has bad bounds or default`);
    }
  }
  return m;
}
