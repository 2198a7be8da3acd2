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
  ) {
    super(`${access} of undeclared field '${field}' (declared: ${known.length ? known.join(', ') : 'none'})`);
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
export function sealPrototype(proto: object, pathOf: (self: any) => string): void {
  const base = Object.getPrototypeOf(proto) as object;
  const end: object = new Proxy(base, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || PASS.has(key) || Object.isExtensible(receiver)) return Reflect.get(target, key, receiver);
      const p = pathOf(receiver);
      throw new FieldError('read', p ? `${p}.${key}` : key, declared(receiver, end));
    },
    set(target, key, value, receiver) {
      if (Object.isExtensible(receiver)) {
        // a constructor's own field: define it on the instance, as an ordinary assignment would
        return Reflect.defineProperty(receiver, key, { value, writable: true, enumerable: true, configurable: true });
      }
      if (typeof key === 'symbol') return Reflect.set(target, key, value, receiver);
      const p = pathOf(receiver);
      throw new FieldError('write', p ? `${p}.${key}` : key, declared(receiver, end));
    },
  });
  Object.setPrototypeOf(proto, end);
}

/** Closes a view built on a sealed prototype: from now on undeclared names throw. */
export function sealView<T extends object>(view: T): T {
  return Object.preventExtensions(view);
}

/** True when the view declares `name`: the one way to probe a field some models have and others lack. */
export function hasField(view: object, name: string): boolean {
  return name in view && !PASS.has(name);
}
