// Patch variants written outside the model file: each names the shipped model, the variant it starts
// from (the code it replaces) and its change, applied through immer so nothing shipped is mutated.
// One file may hold one variant (defineVariant) or several (defineVariants: a bug/fix matrix).

import type { Fields } from './schema.ts';
import type { BaseDef, ModelDef, ModelModule, ParamDefs, ParamValues, VariantDefs, VariantDraft, WithFields } from './model.ts';

export type ExpectedVerdict = 'holds' | 'violated' | 'reachable' | 'unreachable';
export type ExpectRow = Readonly<Record<string, ExpectedVerdict>>;

export interface UserVariant<P extends ParamDefs = any, D extends ModelDef = any> {
  readonly kind: 'ptcheck-variant';
  readonly model: ModelModule<P, D, any>;
  /** kebab-case name shown in reports */
  readonly name: string;
  readonly summary: string;
  /** the patch this stands for: subject, author, date */
  readonly patch?: string;
  /** the shipped variant it starts from (default: the model's first) */
  readonly base?: string;
  readonly params?: Partial<{ [K in keyof P]: number }>;
  /** state fields the variant adds (a ghost flag, a new lock) before its apply() runs */
  readonly fields?: Fields;
  readonly apply: (d: any, p: ParamValues<P>) => void;
  /**
   * Expected verdicts, over the base variant's row of the spec (a property not named keeps the base's
   * verdict); a function of the parameters when they differ with them.
   */
  readonly expect?: ExpectRow | ((p: ParamValues<P>) => ExpectRow);
}

/** A file's several variants, in declaration order. */
export interface UserVariantSet<P extends ParamDefs = any, D extends ModelDef = any> {
  readonly kind: 'ptcheck-variants';
  readonly model: ModelModule<P, D, any>;
  readonly variants: readonly UserVariant<P, D>[];
}

/** What a variant file declares for one variant; `d` is typed as the base variant has the model. */
export interface VariantSpec<P extends ParamDefs, D extends ModelDef, B extends string, X extends Fields> {
  readonly summary: string;
  readonly patch?: string;
  readonly base?: B;
  readonly params?: Partial<{ [K in keyof P]: number }>;
  readonly fields?: X;
  readonly apply: (d: VariantDraft<D>, p: ParamValues<P>) => void;
  readonly expect?: ExpectRow | ((p: ParamValues<P>) => ExpectRow);
}

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;

function make<P extends ParamDefs, D extends ModelDef>(model: ModelModule<P, D, any>, name: string, v: VariantSpec<P, any, string, Fields>): UserVariant<P, D> {
  if (!KEBAB.test(name)) throw new Error(`variant name '${name}' must be kebab-case`);
  if (v.base !== undefined && !(v.base in model.variants)) throw new Error(`variant '${name}': base '${v.base}' is not a variant of '${model.name}'`);
  return { kind: 'ptcheck-variant', model, name, ...v } as UserVariant<P, D>;
}

/**
 * One patch variant. `base` names the shipped variant it starts from, and `d` in apply() is typed as
 * that variant has the model: its threads, their labels, the state (with `fields` added).
 */
export function defineVariant<P extends ParamDefs, D extends ModelDef, V extends VariantDefs<P, D>, const B extends keyof V & string = never, const X extends Fields = {}>(
  model: ModelModule<P, D, V>,
  v: { readonly name: string } & VariantSpec<P, WithFields<BaseDef<D, V, B>, X>, B, X>,
): UserVariant<P, D> {
  const { name, ...rest } = v;
  return make(model, name, rest as VariantSpec<P, any, string, Fields>);
}

/**
 * Several variants of one model in one file, by name (a bug and its fix, say): `verify --variant-file`
 * checks them all as a matrix, `--variant NAME` picks one, `diff` compares two.
 */
export function defineVariants<
  P extends ParamDefs,
  D extends ModelDef,
  V extends VariantDefs<P, D>,
  const BS extends { readonly [name: string]: keyof V & string },
  const XS extends { readonly [K in keyof BS]?: Fields } = {},
>(
  model: ModelModule<P, D, V>,
  vs: { readonly [K in keyof BS]: VariantSpec<P, WithFields<BaseDef<D, V, BS[K]>, XS[K] extends Fields ? XS[K] : {}>, BS[K], XS[K] extends Fields ? XS[K] : {}> },
): UserVariantSet<P, D> {
  const names = Object.keys(vs);
  if (names.length === 0) throw new Error('defineVariants: no variants');
  return { kind: 'ptcheck-variants', model, variants: names.map((n) => make(model, n, vs[n] as VariantSpec<P, any, string, Fields>)) };
}

export function isUserVariant(x: unknown): x is UserVariant {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'ptcheck-variant';
}

export function isUserVariantSet(x: unknown): x is UserVariantSet {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'ptcheck-variants' && Array.isArray((x as UserVariantSet).variants);
}

/** The variants a variant file's default export holds (one or several); undefined if it holds none. */
export function userVariantsOf(x: unknown): readonly UserVariant[] | undefined {
  if (isUserVariant(x)) return [x];
  if (isUserVariantSet(x)) return x.variants;
  return undefined;
}

/** The base variant's name (the model's first variant when the file names none). */
export function baseOf(uv: UserVariant): string {
  return uv.base ?? Object.keys(uv.model.variants)[0]!;
}

/** The expected verdicts a variant file states, at these parameter values (only the ones it names). */
export function userExpect(uv: UserVariant, params: Readonly<Record<string, number>>): ExpectRow {
  const e = uv.expect;
  if (e === undefined) return {};
  return typeof e === 'function' ? e(params as ParamValues<ParamDefs>) : e;
}
