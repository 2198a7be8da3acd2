// Sealed views: a read or write of a name a view's schema does not declare throws a FieldError instead
// of giving `undefined` or landing on the JS object outside the state vector. The check sits at the end
// of the view's prototype chain, which only a miss reaches, so declared fields cost nothing extra.

import { ModelError } from './errors.ts';

/** A step or property read or wrote a field its state (or thread) does not declare. */
export class FieldError extends ModelError {
  override name = 'FieldError';
  constructor(
    readonly access: 'read' | 'write',
    /** display path of the field, e.g. "collapser1.typo" or "obj.uafx" */
    readonly field: string,
    /** the names the view does declare */
    readonly known: readonly string[],
    /** what the name should have been: a field, or a thread (the `t` argument of a property) */
    noun: 'field' | 'thread' = 'field',
    /** the message, when it is not about an undeclared name */
    message?: string,
  ) {
    super(message ?? `${access} of undeclared ${noun} '${field}' (declared: ${known.length ? known.join(', ') : 'none'})`);
  }
}

/** A step or property indexed an array of records outside its bounds. */
export class IndexError extends FieldError {
  override name = 'IndexError';
  constructor(access: 'read' | 'write', path: string, index: string, length: number) {
    super(access, `${path}[${index}]`, [], 'field', `${access} of '${path}[${index}]': index out of bounds (${path} has ${length} elements)`);
  }
}

/**
 * Names every object answers to without declaring them: Object.prototype's, and the probes of common
 * protocols (promises, JSON, test matchers, inspection), so a view can still be printed or compared.
 */
const PASS: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'then',
  'toJSON',
  'asymmetricMatch',
  '$$typeof',
  'nodeType',
  'tagName',
  '@@__IMMUTABLE_ITERABLE__@@',
  '@@__IMMUTABLE_RECORD__@@',
  '@@__IMMUTABLE_KEYED__@@',
  '@@__IMMUTABLE_ORDERED__@@',
  '_isMockFunction',
]);

/** Declared names of a view: every name on its own object and its prototypes before the sealed end. */
function declared(self: object, end: object): string[] {
  const out = new Set<string>();
  for (let o: object | null = self; o !== null && o !== end; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor' && !k.startsWith('$')) out.add(k);
  }
  return [...out];
}

/**
 * Ends `proto`'s chain in a sealed end (in place of Object.prototype). Instances stay open while
 * their constructor runs; once sealView() made one non-extensible, any undeclared name read or written
 * on it throws a FieldError. `pathOf` gives the instance's display path ('' for the state root).
 */
export function sealPrototype(proto: object, pathOf: (self: any) => string, noun: 'field' | 'thread' = 'field'): void {
  const base = Object.getPrototypeOf(proto) as object;
  const end: object = new Proxy(base, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || PASS.has(key) || Object.isExtensible(receiver)) return Reflect.get(target, key, receiver);
      const p = pathOf(receiver);
      throw new FieldError('read', p ? `${p}.${key}` : key, declared(receiver, end), noun);
    },
    set(target, key, value, receiver) {
      if (Object.isExtensible(receiver)) {
        // a constructor's own field: define it on the instance, as an ordinary assignment would
        return Reflect.defineProperty(receiver, key, { value, writable: true, enumerable: true, configurable: true });
      }
      if (typeof key === 'symbol') return Reflect.set(target, key, value, receiver);
      const p = pathOf(receiver);
      throw new FieldError('write', p ? `${p}.${key}` : key, declared(receiver, end), noun);
    },
  });
  Object.setPrototypeOf(proto, end);
}

/**
 * The `t` argument of properties, sealed: `instances` by name, frozen. A name no thread group of the
 * model can give (a typo) throws; an instance of a declared group that is absent at these parameters
 * (a count of 0, or an index past the count) reads `undefined`, so `t.walker?.done` still works where a
 * parameter removes the walker.
 */
export function sealThreads(instances: Readonly<Record<string, unknown>>, groups: readonly string[]): Readonly<Record<string, unknown>> {
  const esc = (g: string) => g.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const absent = new RegExp(`^(?:${groups.map(esc).join('|') || '(?!)'})\\d*$`);
  const end: object = new Proxy(Object.prototype, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || PASS.has(key) || Object.isExtensible(receiver)) return Reflect.get(target, key, receiver);
      if (absent.test(key)) return undefined;
      throw new FieldError('read', `t.${key}`, declared(receiver, end), 'thread');
    },
    set(target, key, value, receiver) {
      if (typeof key === 'symbol' || Object.isExtensible(receiver)) return Reflect.set(target, key, value, receiver);
      throw new FieldError('write', `t.${key}`, declared(receiver, end), 'thread');
    },
  });
  const out = Object.create(end) as Record<string, unknown>;
  for (const [name, view] of Object.entries(instances)) Object.defineProperty(out, name, { value: view, enumerable: true });
  return Object.freeze(out);
}

// Arrays of records: a plain frozen array reads `undefined` at an index past its end. Their prototype
// holds Array.prototype's own methods (so `some`, `length`, iteration find them first, at no cost) and
// ends in a sealed end that only a miss reaches: an index out of bounds or a name arrays lack.
const arrayPaths = new WeakMap<object, string>();
const isIndex = (key: string) => /^-?\d+$/.test(key);
const arrayEnd: object = new Proxy(Array.prototype, {
  get(target, key, receiver) {
    if (typeof key === 'symbol' || PASS.has(key) || Object.isExtensible(receiver)) return Reflect.get(target, key, receiver);
    const p = arrayPaths.get(receiver) ?? '?';
    if (isIndex(key)) throw new IndexError('read', p, key, (receiver as unknown[]).length);
    throw new FieldError('read', `${p}.${key}`, ['length', 'and the methods of arrays']);
  },
  set(target, key, value, receiver) {
    if (typeof key === 'symbol' || Object.isExtensible(receiver)) return Reflect.set(target, key, value, receiver);
    const p = arrayPaths.get(receiver) ?? '?';
    if (isIndex(key)) throw new IndexError('write', p, key, (receiver as unknown[]).length);
    throw new FieldError('write', `${p}.${key}`, ['length']);
  },
});
const sealedArrayProto: object = Object.create(arrayEnd);
for (const key of Reflect.ownKeys(Array.prototype)) {
  if (key !== 'length') Object.defineProperty(sealedArrayProto, key, Object.getOwnPropertyDescriptor(Array.prototype, key)!);
}

/** Freezes an array of record views under `path`: from now on an index out of bounds throws an IndexError. */
export function sealArray<T>(items: T[], path: string): readonly T[] {
  arrayPaths.set(items, path);
  Object.setPrototypeOf(items, sealedArrayProto);
  return Object.freeze(items);
}

/** Closes a view built on a sealed prototype: from now on undeclared names throw. */
export function sealView<T extends object>(view: T): T {
  return Object.preventExtensions(view);
}

/** True when the view declares `name`: the one way to probe a field some models have and others lack. */
export function hasField(view: object, name: string): boolean {
  return name in view && !PASS.has(name);
}
