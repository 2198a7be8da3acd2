// Properties: `always` (every reachable state), `final` (every state where all non-daemon threads are
// done and nothing is enabled), `sometimes` (some reachable state: vacuity guards), and the built-in
// deadlock freedom. Plus the expect matrix a spec file carries.

import type { ModelDef, ModelModule, StateView } from '../model/model.ts';

export type PropertyKind = 'always' | 'final' | 'sometimes' | 'deadlock';

export interface Property<S = any> {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly doc: string;
  readonly pred: (s: S) => boolean;
  /**
   * Optional fast form of `pred` for an `always` property: it holds iff (state[field] & bits) === 0.
   * The engine then checks it with one AND instead of a call; `pred` must agree.
   */
  readonly noBits?: { readonly field: string; readonly bits: number };
}

/** For `always`/`final`/`deadlock`: holds or violated. For `sometimes`: reachable or unreachable. */
export type Verdict = 'holds' | 'violated' | 'reachable' | 'unreachable';

export const DEADLOCK_FREE = 'deadlock-free';

function checkName(name: string): void {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) throw new Error(`property name '${name}' must be kebab-case`);
}

export function always<S>(name: string, doc: string, pred: (s: S) => boolean): Property<S> {
  checkName(name);
  return { name, kind: 'always', doc, pred };
}
export function final<S>(name: string, doc: string, pred: (s: S) => boolean): Property<S> {
  checkName(name);
  return { name, kind: 'final', doc, pred };
}
export function sometimes<S>(name: string, doc: string, pred: (s: S) => boolean): Property<S> {
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

export interface SpecModule {
  /** The model this spec is for (its name). */
  readonly model: string;
  /** Properties, in report order; deadlock freedom is appended automatically. */
  readonly properties: readonly Property[];
  /** variant -> property -> expected verdict; every variant and every property must appear. */
  readonly expect: Readonly<Record<string, Readonly<Record<string, Verdict>>>>;
}

type ModelState<M> = M extends ModelModule<any, infer D> ? (D extends ModelDef ? StateView<D['state']> : never) : never;

/** Declares a spec for `model`; properties are typed against the model's state. */
export function defineSpec<M extends ModelModule<any, any>>(
  model: M,
  spec: {
    properties: readonly Property<ModelState<M>>[];
    expect: { readonly [V in keyof M['variants'] & string]: Readonly<Record<string, Verdict>> };
  },
): SpecModule {
  const props: Property[] = [...(spec.properties as readonly Property[]), deadlockFree];
  const names = new Set<string>();
  for (const p of props) {
    if (names.has(p.name)) throw new Error(`spec for '${model.name}': property '${p.name}' declared twice`);
    names.add(p.name);
  }
  return { model: model.name, properties: props, expect: spec.expect };
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
