// A patch variant written outside the model file: it names the shipped model, the variant it starts
// from (the code it replaces) and its change, applied through immer so nothing shipped is mutated.

import type { ModelDef, ModelModule, ParamDefs, ParamValues, VariantDraft } from './model.ts';

export type ExpectedVerdict = 'holds' | 'violated' | 'reachable' | 'unreachable';

export interface UserVariant<P extends ParamDefs = ParamDefs, D extends ModelDef = ModelDef> {
  readonly kind: 'ptcheck-variant';
  readonly model: ModelModule<P, D>;
  /** kebab-case name shown in reports */
  readonly name: string;
  readonly summary: string;
  /** the patch this stands for: subject, author, date */
  readonly patch?: string;
  /** the shipped variant it starts from (default: the model's first) */
  readonly base?: string;
  readonly params?: Partial<{ [K in keyof P]: number }>;
  readonly apply: (d: VariantDraft<D>, p: ParamValues<P>) => void;
  /** expected verdicts; by default every safety property holds and every sometimes guard is reachable */
  readonly expect?: Readonly<Record<string, ExpectedVerdict>>;
}

export function defineVariant<P extends ParamDefs, D extends ModelDef, const B extends string>(
  model: ModelModule<P, D> & { readonly variants: { readonly [K in B]: unknown } },
  v: Omit<UserVariant<P, D>, 'kind' | 'model' | 'base'> & { readonly base?: NoInfer<B> },
): UserVariant<P, D> {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(v.name)) throw new Error(`variant name '${v.name}' must be kebab-case`);
  return { kind: 'ptcheck-variant', model, ...v };
}

export function isUserVariant(x: unknown): x is UserVariant {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'ptcheck-variant';
}
