// Derived thread futures as data (JSON), the form the derivation cache stores them in and the
// coordinator hands its worker threads: writing one, and reading one back only once its shape, bounds
// and word indices fit the compiled model it is for. Never code; a text that does not fit gives nothing.

import { createHash } from 'node:crypto';
import type { CompiledModel, DerivedFutures } from '../model/compile.ts';
import { gaveUpFutures } from './derive-futures.ts';

/** the entry format; bump it when what an entry means changes */
export const DERIVED_FORMAT = 1;
/** a gave-up reason longer than this is not one the derivation writes */
const MAX_REASON = 1000;

/** What identifies a compiled model's layout: its words and its threads' labels (an entry must match it). */
function layoutOf(cm: CompiledModel): string {
  const h = createHash('sha256').update(`${cm.W}\0`);
  for (const l of cm.leaves) h.update(`${l.off}:${l.path}\0`);
  for (const th of cm.threads) h.update(`\0${th.name}:${th.labels.join(',')}`);
  return h.digest('hex');
}

interface Entry {
  readonly v: number;
  readonly layout: string;
  readonly runs: number;
  readonly nodes: number;
  readonly gaveUp?: string;
  /** per tid, per pc: the bitset's ints, or null */
  readonly touch?: readonly (readonly (readonly number[] | null)[])[];
  readonly change?: readonly (readonly (readonly number[] | null)[])[];
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** One side (touch or change) of an entry as bitsets, or undefined if it does not fit `cm`. */
function bitsetsOf(cm: CompiledModel, side: unknown): (Int32Array | null)[][] | undefined {
  const K = (cm.W + 31) >>> 5;
  // bits past the last word would name words the model does not have
  const lastMask = cm.W % 32 === 0 ? -1 : (1 << cm.W % 32) - 1;
  if (!Array.isArray(side) || side.length !== cm.threads.length) return undefined;
  const out: (Int32Array | null)[][] = [];
  for (let t = 0; t < cm.threads.length; t++) {
    const per: unknown = side[t];
    if (!Array.isArray(per) || per.length !== cm.threads[t]!.labels.length) return undefined;
    const bs: (Int32Array | null)[] = [];
    for (const b of per as unknown[]) {
      if (b === null) {
        bs.push(null);
        continue;
      }
      if (!Array.isArray(b) || b.length !== K) return undefined;
      const a = new Int32Array(K);
      for (let i = 0; i < K; i++) {
        const x: unknown = b[i];
        if (typeof x !== 'number' || !Number.isInteger(x) || (x | 0) !== x) return undefined;
        if (i === K - 1 && (x & ~lastMask) !== 0) return undefined;
        a[i] = x;
      }
      bs.push(a);
    }
    out.push(bs);
  }
  return out;
}

/**
 * The derivation an entry holds, if it is a well-formed entry for `cm`; undefined otherwise. `cached`
 * is set (it was read, not run); runs and nodes are those of the run that made it.
 */
export function entryFor(cm: CompiledModel, text: string): DerivedFutures | undefined {
  let e: Entry;
  try {
    e = JSON.parse(text) as Entry;
  } catch {
    return undefined;
  }
  if (typeof e !== 'object' || e === null || e.v !== DERIVED_FORMAT || e.layout !== layoutOf(cm) || !isCount(e.runs) || !isCount(e.nodes)) return undefined;
  if (e.gaveUp !== undefined) {
    if (typeof e.gaveUp !== 'string' || e.gaveUp.length > MAX_REASON) return undefined;
    return { ...gaveUpFutures(cm, e.gaveUp, e.runs, e.nodes, 0), cached: true };
  }
  const touch = bitsetsOf(cm, e.touch);
  const change = bitsetsOf(cm, e.change);
  if (!touch || !change) return undefined;
  // a label is unknown on both sides or on neither (as the derivation gives them)
  for (let t = 0; t < touch.length; t++) for (let pc = 0; pc < touch[t]!.length; pc++) if ((touch[t]![pc] === null) !== (change[t]![pc] === null)) return undefined;
  return { touch, change, runs: e.runs, nodes: e.nodes, ms: 0, cached: true };
}

/** `d`, the derivation of `cm`, as an entry's text (what entryFor reads back). */
export function entryOf(cm: CompiledModel, d: DerivedFutures): string {
  const side = (s: DerivedFutures['touch']) => s.map((per) => per.map((b) => (b === null ? null : Array.from(b))));
  const e: Entry =
    d.gaveUp !== undefined
      ? { v: DERIVED_FORMAT, layout: layoutOf(cm), runs: d.runs, nodes: d.nodes, gaveUp: d.gaveUp }
      : { v: DERIVED_FORMAT, layout: layoutOf(cm), runs: d.runs, nodes: d.nodes, touch: side(d.touch), change: side(d.change) };
  return JSON.stringify(e);
}
