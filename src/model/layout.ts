// Compiles a schema to a flat Int32Array layout and builds the typed views steps read and write
// through. Views are built once per model; they read `holder.b`, which the engine points at
// whichever state buffer is current, so nothing is allocated per state.

import type { Cell, Fields, FieldSpec, Formatter, NameContext, ScalarSpec, ThreadRef } from './schema.ts';

import { ModelError } from './errors.ts';
import { sealArray, sealPrototype, sealView } from './sealed.ts';
import { note, store, type FpHolder } from '../state/zobrist.ts';

/** The current state buffer and its running fingerprint: every write goes through store(). */
export type Holder = FpHolder;

/** One stored int of the state vector. */
export interface Leaf {
  readonly off: number;
  readonly path: string;
  readonly lo: number;
  readonly hi: number;
  readonly init: number;
  readonly tag: string | undefined;
  readonly format: (v: number, names: NameContext) => string;
  /** the value names a thread or a set of threads (renamed by symmetry reduction) */
  readonly ref: ThreadRef | undefined;
}

function scalarBounds(s: ScalarSpec): [number, number, number] {
  switch (s.kind) {
    case 'int':
      return [s.min, s.max, s.init];
    case 'bool':
      return [0, 1, s.init ? 1 : 0];
    case 'enum': {
      const i = s.values.indexOf(s.init);
      if (i < 0) throw new Error(`enum initial value '${s.init}' is not one of ${s.values.join(', ')}`);
      return [0, s.values.length - 1, i];
    }
  }
}

function scalarFormatter(s: ScalarSpec): (v: number, names: NameContext) => string {
  switch (s.kind) {
    case 'int': {
      const f: Formatter | undefined = s.fmt;
      return f ? f : (v) => String(v);
    }
    case 'bool':
      return (v) => (v ? 'true' : 'false');
    case 'enum': {
      const vals = s.values;
      return (v) => vals[v] ?? `?${v}`;
    }
  }
}

function rangeError(path: string, v: unknown, lo: number, hi: number): ModelError {
  return new ModelError(`write of ${String(v)} to ${path} is outside its declared range ${lo}..${hi}`);
}

class CellImpl implements Cell {
  constructor(
    private readonly h: Holder,
    readonly off: number,
    readonly tag: string,
    readonly path: string,
    private readonly lo: number,
    private readonly hi: number,
  ) {}
  get v(): number {
    note(this.h, this.off);
    return this.h.b[this.h.o + this.off]!;
  }
  set v(x: number) {
    if (!(x >= this.lo && x <= this.hi) || (x | 0) !== x) throw rangeError(this.path, x, this.lo, this.hi);
    store(this.h, this.off, x);
  }
}

function boolError(path: string, v: unknown): ModelError {
  const shown = typeof v === 'string' ? `'${v}'` : typeof v === 'object' && v !== null ? 'an object' : String(v);
  return new ModelError(`write of ${shown} to ${path}: a bool field takes true or false only`);
}

function indexError(path: string, i: number, n: number): ModelError {
  return new ModelError(`index ${i} out of bounds for ${path} (length ${n})`);
}

class IntArray {
  constructor(
    private readonly h: Holder,
    private readonly base: number,
    readonly length: number,
    private readonly lo: number,
    private readonly hi: number,
    private readonly path: string,
  ) {}
  get(i: number): number {
    if (!(i >= 0 && i < this.length)) throw indexError(this.path, i, this.length);
    note(this.h, this.base + i);
    return this.h.b[this.h.o + this.base + i]!;
  }
  set(i: number, v: number): void {
    if (!(i >= 0 && i < this.length)) throw indexError(this.path, i, this.length);
    if (!(v >= this.lo && v <= this.hi) || (v | 0) !== v) throw rangeError(`${this.path}[${i}]`, v, this.lo, this.hi);
    store(this.h, this.base + i, v);
  }
}
class BoolArray {
  constructor(
    private readonly h: Holder,
    private readonly base: number,
    readonly length: number,
    private readonly path: string,
  ) {}
  get(i: number): boolean {
    if (!(i >= 0 && i < this.length)) throw indexError(this.path, i, this.length);
    note(this.h, this.base + i);
    return this.h.b[this.h.o + this.base + i] !== 0;
  }
  set(i: number, v: boolean): void {
    if (!(i >= 0 && i < this.length)) throw indexError(this.path, i, this.length);
    if (v !== true && v !== false) throw boolError(`${this.path}[${i}]`, v);
    store(this.h, this.base + i, v ? 1 : 0);
  }
}
class EnumArray {
  constructor(
    private readonly h: Holder,
    private readonly base: number,
    readonly length: number,
    private readonly values: readonly string[],
    private readonly index: Readonly<Record<string, number>>,
    private readonly path: string,
  ) {}
  get(i: number): string {
    if (!(i >= 0 && i < this.length)) throw indexError(this.path, i, this.length);
    note(this.h, this.base + i);
    return this.values[this.h.b[this.h.o + this.base + i]!]!;
  }
  set(i: number, v: string): void {
    if (!(i >= 0 && i < this.length)) throw indexError(this.path, i, this.length);
    const x = this.index[v];
    if (x === undefined) throw new ModelError(`write of '${v}' to ${this.path}[${i}]: not one of ${this.values.join(', ')}`);
    store(this.h, this.base + i, x);
  }
}

// Handles a step holds (cells, scalar arrays) refuse undeclared names like record views do.
for (const C of [CellImpl, IntArray, BoolArray, EnumArray]) sealPrototype(C.prototype, (self: { path: string }) => self.path);

interface RecordInstance {
  $h: Holder;
  $o: number;
  $k: unknown[];
  $p: string;
}

/** Builds record view classes (one per record shape) and lays out leaves. */
export class LayoutBuilder {
  readonly leaves: Leaf[] = [];
  readonly cells: Cell[] = [];
  /** every view object built, sealed by seal() once the model has added its own names */
  private readonly views: object[] = [];
  private readonly classes = new WeakMap<Fields, new (h: Holder, o: number, p: string) => RecordInstance>();

  constructor(readonly holder: Holder) {}

  get size(): number {
    return this.leaves.length;
  }

  /** Seals every view built so far: reading or writing an undeclared name then throws (see sealed.ts). */
  seal(): void {
    for (const v of this.views) sealView(v);
  }

  /** Lays out `fields` at the end of the vector and returns the record view. */
  record(fields: Fields, path: string): Record<string, unknown> {
    return this.buildRecord(fields, path) as unknown as Record<string, unknown>;
  }

  private joinPath(path: string, name: string): string {
    return path === '' ? name : `${path}.${name}`;
  }

  private leaf(path: string, lo: number, hi: number, init: number, tag: string | undefined, format: Leaf['format'], ref?: ThreadRef): number {
    const off = this.leaves.length;
    this.leaves.push({ off, path, lo, hi, init, tag, format, ref });
    return off;
  }

  private buildRecord(fields: Fields, path: string): RecordInstance {
    const Cls = this.classFor(fields);
    const base = this.leaves.length;
    const inst = new Cls(this.holder, base, path);
    this.views.push(inst);
    // Scalars first (contiguous, matching the class's relative offsets), then structure.
    for (const [name, spec] of Object.entries(fields)) {
      if (spec.kind === 'int' || spec.kind === 'bool' || spec.kind === 'enum') {
        const [lo, hi, init] = scalarBounds(spec);
        this.leaf(this.joinPath(path, name), lo, hi, init, undefined, scalarFormatter(spec), spec.kind === 'int' ? spec.ref : undefined);
      }
    }
    for (const [name, spec] of Object.entries(fields)) {
      if (spec.kind !== 'int' && spec.kind !== 'bool' && spec.kind !== 'enum') {
        inst.$k.push(this.structural(spec, this.joinPath(path, name), name));
      }
    }
    return inst;
  }

  private structural(spec: FieldSpec, path: string, name: string): unknown {
    switch (spec.kind) {
      case 'cell': {
        const [lo, hi, init] = scalarBounds(spec.of);
        const off = this.leaf(path, lo, hi, init, spec.tag, scalarFormatter(spec.of), spec.of.ref);
        const c = new CellImpl(this.holder, off, spec.tag, path, lo, hi);
        this.cells.push(c);
        this.views.push(c);
        return c;
      }
      case 'record':
        return this.buildRecord(spec.fields, path);
      case 'array': {
        const el = spec.of;
        const elName = (i: number): string => {
          if (spec.elementName) {
            const own = spec.elementName(i);
            const dot = path.lastIndexOf('.');
            return dot < 0 ? own : `${path.slice(0, dot)}.${own}`;
          }
          return `${path}[${i}]`;
        };
        if (el.kind === 'int' || el.kind === 'bool' || el.kind === 'enum') {
          const [lo, hi, init] = scalarBounds(el);
          const fmt = scalarFormatter(el);
          const base = this.leaves.length;
          for (let i = 0; i < spec.length; i++) this.leaf(elName(i), lo, hi, init, undefined, fmt, el.kind === 'int' ? el.ref : undefined);
          let arr: object;
          if (el.kind === 'int') arr = new IntArray(this.holder, base, spec.length, lo, hi, path);
          else if (el.kind === 'bool') arr = new BoolArray(this.holder, base, spec.length, path);
          else {
            const index: Record<string, number> = Object.create(null);
            el.values.forEach((v: string, i: number) => (index[v] = i));
            arr = new EnumArray(this.holder, base, spec.length, el.values, index, path);
          }
          this.views.push(arr);
          return arr;
        }
        const out: unknown[] = [];
        for (let i = 0; i < spec.length; i++) out.push(this.structural(el, elName(i), name));
        return sealArray(out, path);
      }
      default:
        throw new Error(`unexpected field kind at ${path}`);
    }
  }

  private classFor(fields: Fields): new (h: Holder, o: number, p: string) => RecordInstance {
    const cached = this.classes.get(fields);
    if (cached) return cached;
    class View implements RecordInstance {
      $k: unknown[] = [];
      constructor(
        public $h: Holder,
        public $o: number,
        public $p: string,
      ) {}
    }
    let rel = 0;
    let k = 0;
    const proto = View.prototype as unknown as object;
    for (const [name, spec] of Object.entries(fields)) {
      if (name.startsWith('$')) throw new Error(`field name '${name}' may not start with '$'`);
      if (spec.kind === 'int') {
        const r = rel++;
        const { min, max } = spec;
        Object.defineProperty(proto, name, {
          get(this: RecordInstance) {
            note(this.$h, this.$o + r);
            return this.$h.b[this.$h.o + this.$o + r];
          },
          set(this: RecordInstance, v: number) {
            if (!(v >= min && v <= max) || (v | 0) !== v) throw rangeError(`${this.$p ? this.$p + '.' : ''}${name}`, v, min, max);
            store(this.$h, this.$o + r, v);
          },
          enumerable: true,
        });
      } else if (spec.kind === 'bool') {
        const r = rel++;
        Object.defineProperty(proto, name, {
          get(this: RecordInstance) {
            note(this.$h, this.$o + r);
            return this.$h.b[this.$h.o + this.$o + r] !== 0;
          },
          set(this: RecordInstance, v: boolean) {
            if (v !== true && v !== false) throw boolError(`${this.$p ? this.$p + '.' : ''}${name}`, v);
            store(this.$h, this.$o + r, v ? 1 : 0);
          },
          enumerable: true,
        });
      } else if (spec.kind === 'enum') {
        const r = rel++;
        const values = spec.values;
        const index: Record<string, number> = Object.create(null);
        values.forEach((v, i) => (index[v] = i));
        Object.defineProperty(proto, name, {
          get(this: RecordInstance) {
            note(this.$h, this.$o + r);
            return values[this.$h.b[this.$h.o + this.$o + r]!];
          },
          set(this: RecordInstance, v: string) {
            const x = index[v];
            if (x === undefined) {
              throw new ModelError(`write of '${v}' to ${this.$p ? this.$p + '.' : ''}${name}: not one of ${values.join(', ')}`);
            }
            store(this.$h, this.$o + r, x);
          },
          enumerable: true,
        });
      } else {
        const j = k++;
        Object.defineProperty(proto, name, {
          get(this: RecordInstance) {
            return this.$k[j];
          },
          enumerable: true,
        });
      }
    }
    sealPrototype(proto, (self: RecordInstance) => self.$p);
    this.classes.set(fields, View);
    return View;
  }
}
