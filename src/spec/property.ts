// Properties: `always` (every reachable state), `final` (every state where all non-daemon threads are
// done and nothing is enabled), `sometimes` (some reachable state: vacuity guards), and the built-in
// deadlock freedom. Plus the expect matrix a spec file carries.

import type { InstalledThreads, ModelDef, ModelModule, ParamValues, StateView, ThreadDef, ThreadSelf } from '../model/model.ts';

/** always (every reachable state), final (every final state), sometimes (some reachable state: a vacuity guard), deadlock (built in). */
export type PropertyKind = 'always' | 'final' | 'sometimes' | 'deadlock';

/** A named property of a model's states, with its kind and the predicate that decides it. */
export interface Property<S = any, T = any> {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly doc: string;
  /**
   * The predicate. `t` says where each thread instance is, by name (`t.remover.at('drop_pml')`,
   * `t.fault0.pmdval`): reads go through the state's views, so the engine sees what a property reads.
   */
  readonly pred: (s: S, t: T) => boolean;
  /**
   * Optional fast form of `pred` for an `always` property: it holds iff (state[field] & bits) === 0.
   * The engine then checks it with one AND instead of a call; `pred` must agree.
   */
  readonly noBits?: { readonly field: string; readonly bits: number };
}

/** A thread instance as a property sees it: its locals and per-thread fields, and where it is. */
export type ThreadAt<L extends string, M> = Readonly<Omit<M, keyof ThreadSelf>> & {
  /** the thread's next step is `label` (it has not run it yet) */
  at(label: L): boolean;
  /** the thread has finished */
  readonly done: boolean;
};

type LabelsOfDef<TD> = TD extends ThreadDef<infer L, any, any> ? L : never;
type MeOfDef<TD> = TD extends ThreadDef<any, any, infer M> ? M : never;
/** Every shape a thread group has across the model's variants (labels of all of them). */
type GroupDefs<M> = M extends ModelModule<any, infer D, infer V> ? { [K in keyof D['threads']]: D['threads'][K] | InstalledThreadsOf<V>[K & keyof InstalledThreadsOf<V>] } : never;
type InstalledThreadsOf<V> = { [K in keyof V]: InstalledThreads<V[K]> }[keyof V] extends infer U ? (U extends object ? U : {}) : {};

/**
 * The threads of a model as a property's second argument sees them, by instance name: a group of one is
 * named as declared (`remover`), a group of several by index (`fault0`, `fault1`).
 */
export type ModelThreads<M> = {
  readonly [K in keyof GroupDefs<M> & string as K | `${K}${number}`]: ThreadAt<LabelsOfDef<GroupDefs<M>[K]>, MeOfDef<GroupDefs<M>[K]>>;
};

/** For `always`/`final`/`deadlock`: holds or violated. For `sometimes`: reachable or unreachable. */
export type Verdict = 'holds' | 'violated' | 'reachable' | 'unreachable';

/** The name of the built-in deadlock-freedom property every spec carries. */
export const DEADLOCK_FREE = 'deadlock-free';

function checkName(name: string): void {
  // kebab-case words that may be kernel identifiers: `pte-free-defer-after-rcu_read_unlock`, `no-VM_BUG_ON`
  if (!/^[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*$/.test(name)) {
    throw new Error(`property name '${name}' must be words of letters, digits and underscores joined by single dashes`);
  }
}

/** An `always` property: `pred` holds in every reachable state. */
export function always<S, T = any>(name: string, doc: string, pred: (s: S, t: T) => boolean): Property<S, T> {
  checkName(name);
  return { name, kind: 'always', doc, pred };
}
/** A `final` property: `pred` holds in every state where all non-daemon threads are done and nothing can run. */
export function final<S, T = any>(name: string, doc: string, pred: (s: S, t: T) => boolean): Property<S, T> {
  checkName(name);
  return { name, kind: 'final', doc, pred };
}
/** A `sometimes` property (a vacuity guard): `pred` holds in some reachable state. */
export function sometimes<S, T = any>(name: string, doc: string, pred: (s: S, t: T) => boolean): Property<S, T> {
  checkName(name);
  return { name, kind: 'sometimes', doc, pred };
}

/** The built-in deadlock property: no state with nothing enabled while a non-daemon thread is unfinished. */
export const deadlockFree: Property = {
  name: DEADLOCK_FREE,
  kind: 'deadlock',
  doc: 'no reachable state where nothing can run but some thread has not finished',
  pred: () => true,
};

/** One variant's expected verdicts, by property name. */
export type ExpectRow = Readonly<Record<string, Verdict>>;

/** What a spec file exports (defineSpec builds it): the properties and the expect matrix. */
export interface SpecModule {
  /** The model this spec is for (its name). */
  readonly model: string;
  /** Properties, in report order; deadlock freedom is appended automatically. */
  readonly properties: readonly Property[];
  /**
   * variant -> property -> expected verdict at the variant's default parameters; every variant and
   * every property must appear.
   */
  readonly expect: Readonly<Record<string, ExpectRow>>;
  /** The rows that depend on parameters (see defineSpec); expectRow() consults them. */
  readonly expectAt?: Readonly<Record<string, (p: Readonly<Record<string, number>>) => ExpectRow>>;
}

type ModelState<M> = M extends ModelModule<any, infer D, any> ? (D extends ModelDef ? StateView<D['state']> : never) : never;
type ModelParams<M> = M extends ModelModule<infer P, any, any> ? ParamValues<P> : never;

/**
 * Declares a spec for `model`; properties are typed against the model's state and threads. A row of
 * `expect` may be a function of the parameters, for a verdict that differs with them (a deadlock that
 * needs a second fault: `(p) => ({ ...row, 'deadlock-free': p.faults >= 2 ? 'violated' : 'holds' })`).
 */
export function defineSpec<M extends ModelModule<any, any, any>>(
  model: M,
  spec: {
    properties: readonly Property<ModelState<M>, ModelThreads<M>>[];
    expect: { readonly [V in keyof M['variants'] & string]: ExpectRow | ((p: ModelParams<M>) => ExpectRow) };
  },
): SpecModule {
  const props: Property[] = [...(spec.properties as readonly Property[]), deadlockFree];
  const names = new Set<string>();
  for (const p of props) {
    if (names.has(p.name)) throw new Error(`spec for '${model.name}': property '${p.name}' declared twice`);
    names.add(p.name);
  }
  const expect: Record<string, ExpectRow> = {};
  const expectAt: Record<string, (p: Readonly<Record<string, number>>) => ExpectRow> = {};
  for (const [v, row] of Object.entries(spec.expect as Record<string, ExpectRow | ((p: Readonly<Record<string, number>>) => ExpectRow)>)) {
    if (typeof row !== 'function') {
      expect[v] = row;
      continue;
    }
    expectAt[v] = row;
    const defaults: Record<string, number> = {};
    for (const [k, d] of Object.entries(model.params as Record<string, { default: number }>)) defaults[k] = d.default;
    expect[v] = row({ ...defaults, ...((model.variants as Record<string, { params?: Record<string, number> }>)[v]?.params ?? {}) });
  }
  return { model: model.name, properties: props, expect, ...(Object.keys(expectAt).length ? { expectAt } : {}) };
}

/** The expected verdicts of `variant` at these (resolved) parameter values. */
export function expectRow(spec: SpecModule, variant: string, params: Readonly<Record<string, number>>): ExpectRow | undefined {
  const at = spec.expectAt?.[variant];
  return at ? at(params) : spec.expect[variant];
}

/** Problems with an expect matrix (missing/unknown variants or properties, verdicts of the wrong kind). */
export function expectProblems(spec: SpecModule, variants: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of variants) {
    const row = spec.expect[v];
    if (!row) {
      out.push(`variant '${v}' has no row in the expect matrix`);
      continue;
    }
    for (const p of spec.properties) {
      const e = row[p.name];
      if (e === undefined) out.push(`${v}: no expected verdict for '${p.name}'`);
      else if (p.kind === 'sometimes' ? e !== 'reachable' && e !== 'unreachable' : e !== 'holds' && e !== 'violated') {
        out.push(`${v}: '${p.name}' is a ${p.kind} property; '${e}' is not a verdict it can have`);
      }
    }
    for (const k of Object.keys(row)) if (!spec.properties.some((p) => p.name === k)) out.push(`${v}: unknown property '${k}'`);
  }
  for (const k of Object.keys(spec.expect)) if (!variants.includes(k)) out.push(`expect matrix names unknown variant '${k}'`);
  return out;
}
