// The state schema: the small vocabulary a model declares its state in (bounded ints, booleans,
// enums, cells, arrays, records) and the view types derived from it. Pure data; no engine here.

/** Renders one stored value for people (traces, diffs). `names` resolves thread ids. */
export type Formatter = (v: number, names: NameContext) => string;

export interface NameContext {
  /** Name of the thread instance with this id (0-based), e.g. "collapser1". */
  threadName(tid: number): string;
}

/** What an int's value names, so that symmetry reduction can rename it: a thread (tid + 1, 0 = none),
 *  or a set of threads (bit tid; bits 30 and up are flags). */
export type ThreadRef = 'tid+1' | 'tid-mask';

export interface IntSpec {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly init: number;
  readonly fmt?: Formatter;
  readonly ref?: ThreadRef;
}
export interface BoolSpec {
  readonly kind: 'bool';
  readonly init: boolean;
}
export interface EnumSpec<V extends string = string> {
  readonly kind: 'enum';
  readonly values: readonly V[];
  readonly init: V;
}
/** A scalar exposed as a handle object (locks, rcu heads...): kernel code passes the handle around. */
export interface CellSpec<Tag extends string = string> {
  readonly kind: 'cell';
  readonly tag: Tag;
  readonly of: IntSpec;
}
export interface ArraySpec<E extends FieldSpec = FieldSpec> {
  readonly kind: 'array';
  readonly length: number;
  readonly of: E;
  /** Display name of element i (default: `${field}[${i}]`). */
  readonly elementName?: (i: number) => string;
}
export interface RecordSpec<F extends Fields = Fields> {
  readonly kind: 'record';
  readonly fields: F;
}
export type ScalarSpec = IntSpec | BoolSpec | EnumSpec;
export type FieldSpec = ScalarSpec | CellSpec | ArraySpec<any> | RecordSpec<any>;
export type Fields = { readonly [name: string]: FieldSpec };

// ---- constructors -------------------------------------------------------------------------

export function int(min: number, max: number, init = min, fmt?: Formatter, ref?: ThreadRef): IntSpec {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min > max) {
    throw new Error(`int(${min}, ${max}): bounds must be integers with min <= max`);
  }
  if (init < min || init > max) throw new Error(`int(${min}, ${max}): initial value ${init} out of range`);
  return { kind: 'int', min, max, init, ...(fmt ? { fmt } : {}), ...(ref ? { ref } : {}) };
}
export function bool(init = false): BoolSpec {
  return { kind: 'bool', init };
}
export function enumOf<const V extends string>(values: readonly V[], init: V = values[0]!): EnumSpec<V> {
  if (values.length === 0) throw new Error('enumOf: needs at least one value');
  return { kind: 'enum', values, init };
}
export function cell<const Tag extends string>(tag: Tag, of: IntSpec): CellSpec<Tag> {
  return { kind: 'cell', tag, of };
}
export function array<E extends FieldSpec>(length: number, of: E, elementName?: (i: number) => string): ArraySpec<E> {
  if (!Number.isInteger(length) || length < 0) throw new Error(`array(${length}): length must be a natural number`);
  return elementName ? { kind: 'array', length, of, elementName } : { kind: 'array', length, of };
}
export function record<const F extends Fields>(fields: F): RecordSpec<F> {
  return { kind: 'record', fields };
}

// ---- view types ---------------------------------------------------------------------------

/** A handle onto one stored scalar (see CellSpec). */
export interface Cell {
  /** The stored value. Writes are range-checked. */
  v: number;
  readonly tag: string;
  /** Display path, e.g. "T1.ptl". */
  readonly path: string;
  /** Offset in the state vector (stable for the model's lifetime). */
  readonly off: number;
}

export interface ScalarArray<T> {
  readonly length: number;
  get(i: number): T;
  set(i: number, v: T): void;
}

type ScalarView<F> = F extends IntSpec ? number : F extends BoolSpec ? boolean : F extends EnumSpec<infer V> ? V : never;

export type ViewOf<F> = F extends ScalarSpec
  ? ScalarView<F>
  : F extends CellSpec
    ? Cell
    : F extends ArraySpec<infer E>
      ? E extends ScalarSpec
        ? ScalarArray<ScalarView<E>>
        : readonly ViewOf<E>[]
      : F extends RecordSpec<infer R>
        ? RecordView<R>
        : never;

export type RecordView<R extends Fields> = {
  -readonly [K in keyof R as R[K] extends ScalarSpec ? K : never]: ViewOf<R[K]>;
} & {
  readonly [K in keyof R as R[K] extends ScalarSpec ? never : K]: ViewOf<R[K]>;
};
