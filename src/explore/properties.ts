// Property evaluation for the engine (src/explore/engine.ts): `always` properties as calls or as one
// bit test, pending `sometimes` ones, `final` ones on terminal states; the words they read, recorded
// and checked against the reduction's owner map (src/por/footprint-check.ts) and added to its
// safe-watch sets; a memo per property. Runs no step, never prints.
//
// Why a property must be deterministic (a function of the words it reads through the model's views,
// as a step is): where every word its last evaluation read holds the value it held then, it would
// read the same words again and give the same answer, so check() takes that answer from its memo
// without running it. A property that depends on anything else (a clock, a counter kept outside the
// state) would be answered wrongly.

import type { CompiledModel } from '../model/compile.ts';
import { ModelError } from '../model/errors.ts';
import type { Property } from '../spec/property.ts';
import type { FootprintCheck } from '../por/footprint-check.ts';

export const MAX_PROPERTIES = 30;
/** words of one state the properties' reads are recorded for */
const REC_WORDS = 4096;
/** words a property's memo remembers at most (one that reads more is evaluated every time) */
const PROP_MEMO_WORDS = 256;

/** See Properties.safeWatch. */
export interface SafeWatch {
  /** words the `always` properties read */
  readonly reads: Int32Array;
  readonly changed: Int32Array;
  /** per property index: the words that `sometimes` property read while it was pending (a bitset each) */
  readonly readsBy: readonly Int32Array[];
}

export class Properties {
  /** property indices by kind (into `props`) */
  readonly alwaysIdx: readonly number[];
  readonly sometimesIdx: readonly number[];
  readonly finalIdx: readonly number[];
  readonly deadlockIdx: number;
  /** `always` properties checked by a call (those without a noBits fast form) */
  private readonly callIdx: readonly number[];
  /** bit-test properties: word offset, union of their bits, and each one's (index, bits) */
  private readonly bitsOff: number;
  private readonly bitsUnion: number;
  private readonly bitsProps: readonly (readonly [number, number])[];
  /** per property: [n (-1: nothing remembered), its bit, then n (word, value) pairs its last evaluation read] */
  private readonly propMemo: Int32Array[];
  private readonly propRec = new Int32Array(REC_WORDS);
  /** property evaluations run, and answered by the memo (counters) */
  propEvals = 0;
  propHits = 0;

  /**
   * Set while partial-order reduction is on: the properties' reads are checked against the owner map
   * `fc` holds (the engine sets both). Setting it forgets the memos: their reads were checked against
   * the map of their time.
   */
  get owner(): Int8Array | null {
    return this.owner_;
  }
  set owner(o: Int8Array | null) {
    this.owner_ = o;
    this.forgetMemos();
  }
  private owner_: Int8Array | null = null;

  /**
   * Set while the reduction may take shared-safe steps (src/por/reduction.ts; a model with declared
   * futures): bitsets of the words the properties read in any state of the search (added to here: the
   * `always` ones together, each `sometimes` one apart, while it is pending), and of the shared words
   * the steps the reduction chose changed (the reduction adds to it). A complete search in which they
   * meet starts again with those words visible. Each search sets it anew (after the sets were
   * emptied, if they were), which forgets the memos: a read answered by a memo was added to these
   * sets when it was made.
   */
  get safeWatch(): SafeWatch | null {
    return this.safeWatch_;
  }
  set safeWatch(w: SafeWatch | null) {
    this.safeWatch_ = w;
    this.forgetMemos();
  }
  private safeWatch_: SafeWatch | null = null;

  constructor(
    private readonly cm: CompiledModel,
    readonly props: readonly Property[],
    private readonly fc: FootprintCheck,
  ) {
    if (props.length > MAX_PROPERTIES) throw new ModelError(`at most ${MAX_PROPERTIES} properties per spec`);
    const by = (k: Property['kind']) => props.flatMap((p, i) => (p.kind === k ? [i] : []));
    this.alwaysIdx = by('always');
    this.sometimesIdx = by('sometimes');
    this.finalIdx = by('final');
    this.deadlockIdx = props.findIndex((p) => p.kind === 'deadlock');
    const fields = new Set(props.flatMap((p) => (p.kind === 'always' && p.noBits ? [p.noBits.field] : [])));
    const field = fields.size === 1 ? [...fields][0]! : undefined;
    const leaf = field === undefined ? undefined : cm.leaves.find((l) => l.path === field);
    const fast = (k: number) => leaf !== undefined && props[k]!.noBits?.field === field;
    this.bitsOff = leaf?.off ?? -1;
    this.bitsProps = this.alwaysIdx.filter(fast).map((k) => [k, props[k]!.noBits!.bits] as const);
    this.bitsUnion = this.bitsProps.reduce((u, [, b]) => u | b, 0);
    this.callIdx = this.alwaysIdx.filter((k) => !fast(k));
    this.propMemo = props.map(() => new Int32Array(2 + 2 * PROP_MEMO_WORDS).fill(-1, 0, 1));
  }

  /** The word a bit-test property reads without a view (so unrecorded), or -1. */
  get bitsWord(): number {
    return this.bitsOff;
  }

  /** Mask of all sometimes properties. */
  get sometimesMask(): number {
    let m = 0;
    for (const k of this.sometimesIdx) m |= 1 << k;
    return m;
  }

  /**
   * The words the `always` and `sometimes` properties read on state a[off..], written to rec; returns
   * how many (more than rec.length: not all are known).
   */
  reads(a: Int32Array, off: number, rec: Int32Array): number {
    const cm = this.cm;
    const h = cm.holder;
    h.b = a;
    h.o = off;
    h.rec = rec;
    h.rn = 0;
    let k = -1;
    try {
      for (const i of [...this.callIdx, ...this.sometimesIdx]) {
        k = i;
        this.props[i]!.pred(cm.root, cm.threadsAt);
      }
    } catch (e) {
      throw this.propertyError(e, k);
    } finally {
      h.rec = null;
    }
    return h.rn;
  }

  /**
   * Evaluates `always` properties (bit set = violated) and the still-pending `sometimes` properties
   * (bit set = reached) on state a (length W). Returns the bitmask over property indices.
   *
   * A property is a deterministic function of the words it reads (as a step is), so where every word
   * its last evaluation read holds the value it held then, it reads the same words again and gives
   * the same answer: that answer is taken from its memo (propMemo), without running it. Exact, and
   * what the reads are checked against needs nothing more: they were checked against the owner map,
   * and added to the safe-watch sets, when they were read, and both setters above forget the memos.
   */
  check(a: Int32Array, pendingSometimes: number, off: number): number {
    const cm = this.cm;
    const h = cm.holder;
    h.b = a;
    h.o = off;
    let m = 0;
    const al = this.callIdx;
    if (this.bitsOff >= 0) {
      const f = a[off + this.bitsOff]!;
      if (f & this.bitsUnion) for (const [k, bits] of this.bitsProps) if (f & bits) m |= 1 << k;
    }
    let k = -1; // the property being evaluated, to name it if it throws
    let nAlways = 0;
    const rec = this.propRec;
    h.rec = rec;
    h.rn = 0;
    try {
      for (let i = 0; i < al.length; i++) {
        k = al[i]!;
        m |= this.evalProp(k, a, off, true);
      }
      nAlways = h.rn;
      if (pendingSometimes !== 0) {
        const so = this.sometimesIdx;
        const sw = this.safeWatch_;
        for (let i = 0; i < so.length; i++) {
          k = so[i]!;
          if (pendingSometimes & (1 << k)) {
            const r0 = h.rn;
            m |= this.evalProp(k, a, off, false);
            if (sw !== null && h.rn > r0) watchReads(sw.readsBy[k]!, rec, r0, h.rn);
          }
        }
      }
    } catch (e) {
      throw this.propertyError(e, k);
    } finally {
      h.rec = null;
    }
    if (h.rn > 0) {
      if (this.owner_ !== null) this.fc.propertyReads(rec, h.rn);
      if (this.safeWatch_ !== null && nAlways > 0) watchReads(this.safeWatch_.reads, rec, 0, nAlways);
    }
    return m;
  }

  /**
   * Property k's bit (1 << k: an `always` one violated, a `sometimes` one reached, or 0) on state
   * a[off..], from its memo where the words it last read hold the values they held (nothing recorded),
   * else evaluated with its reads recorded after the holder's record so far, and remembered.
   */
  private evalProp(k: number, a: Int32Array, off: number, always: boolean): number {
    const pm = this.propMemo[k]!;
    const n = pm[0]!;
    if (n >= 0) {
      let same = true;
      for (let j = 2, end = 2 + 2 * n; j < end && same; j += 2) same = a[off + pm[j]!] === pm[j + 1];
      if (same) {
        this.propHits++;
        return pm[1]!;
      }
    }
    this.propEvals++;
    const cm = this.cm;
    const h = cm.holder;
    const r0 = h.rn;
    const bit = this.props[k]!.pred(cm.root, cm.threadsAt) !== always ? 1 << k : 0;
    const r1 = h.rn;
    const rn = r1 - r0;
    if (rn > PROP_MEMO_WORDS || r1 > this.propRec.length) {
      pm[0] = -1;
      return bit;
    }
    const rec = this.propRec;
    for (let i = 0; i < rn; i++) {
      const w = rec[r0 + i]!;
      pm[2 + 2 * i] = w;
      pm[3 + 2 * i] = a[off + w]!;
    }
    pm[0] = rn;
    pm[1] = bit;
    return bit;
  }

  /** The violated `final` properties on the state at a[off..] (a terminal one where every thread is done). */
  finals(a: Int32Array, off: number): number {
    const cm = this.cm;
    cm.holder.b = a;
    cm.holder.o = off;
    let m = 0;
    let at = -1; // the property being evaluated, to name it if it throws
    try {
      for (const k of this.finalIdx) {
        at = k;
        if (!this.props[k]!.pred(cm.root, cm.threadsAt)) m |= 1 << k;
      }
    } catch (e) {
      throw this.propertyError(e, at);
    }
    return m;
  }

  private forgetMemos(): void {
    for (let i = 0; i < this.propMemo.length; i++) this.propMemo[i]![0] = -1;
  }

  /** A property's predicate threw (an undeclared field read, say): name the property and the model. */
  private propertyError(e: unknown, k: number): ModelError {
    const msg = e instanceof Error ? e.message : String(e);
    const p = this.props[k];
    return new ModelError(`model '${this.cm.name}': property ${p?.name ?? '?'} threw: ${msg}`);
  }
}

/**
 * Adds the words rec[from..to) to the bitset (those past rec's end are not known: the reduction's
 * owner check has already refused so many, src/por/footprint-check.ts).
 */
function watchReads(bits: Int32Array, rec: Int32Array, from: number, to: number): void {
  const n = Math.min(to, rec.length);
  for (let i = from; i < n; i++) {
    const w = rec[i]!;
    bits[w >>> 5]! |= 1 << (w & 31);
  }
}
