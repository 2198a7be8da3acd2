// The derivation cache: derived thread futures (or why the derivation gave up) per model, variant file,
// variant, parameters and ptcheck build, in the per-user cache folder. An entry is data: its shape,
// bounds and word indices are checked against the compiled model before use; a bad one is derived again.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { CompiledModel, DerivedFutures } from '../model/compile.ts';
import { DEFAULT_DERIVE_BUDGET, deriveFutures } from '../por/derive-futures.ts';
import { cacheDir, ROOT } from './compiled.ts';
import { typecheckKey } from './typecheck.ts';

/** the entry format; bump it when what an entry means changes */
const FORMAT = 1;
/** a gave-up reason longer than this is not one the derivation writes */
const MAX_REASON = 1000;

/** What a derivation's result depends on, besides the files: the target within them. */
export interface DeriveTarget {
  readonly modelPath: string;
  readonly variantFile?: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, number>>;
}

/**
 * The key of a target's derivation: the content of the model (and variant) file and of every source
 * they import, transitively, and of the derivation's own sources (or the compiled build's id, which
 * stands for them), the variant, the parameters, the budgets and the entry format.
 */
export function deriveKey(t: DeriveTarget): string {
  const files = [t.modelPath, ...(t.variantFile !== undefined ? [t.variantFile] : []), join(ROOT, 'src', 'por', 'derive-futures.ts')].map((f) => resolve(f));
  const params = Object.keys(t.params)
    .sort()
    .map((k) => `${k}=${t.params[k]}`)
    .join(',');
  return createHash('sha256')
    .update(`ptcheck-derive ${FORMAT}\0${typecheckKey(files, 'derive')}\0${t.variant}\0${params}\0${JSON.stringify(DEFAULT_DERIVE_BUDGET)}`)
    .digest('hex');
}

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

/** The derivation an entry holds, if it is a well-formed entry for `cm`; undefined otherwise. */
export function entryFor(cm: CompiledModel, text: string): DerivedFutures | undefined {
  let e: Entry;
  try {
    e = JSON.parse(text) as Entry;
  } catch {
    return undefined;
  }
  if (typeof e !== 'object' || e === null || e.v !== FORMAT || e.layout !== layoutOf(cm) || !isCount(e.runs) || !isCount(e.nodes)) return undefined;
  if (e.gaveUp !== undefined) {
    if (typeof e.gaveUp !== 'string' || e.gaveUp.length > MAX_REASON) return undefined;
    const none = cm.threads.map((th) => th.labels.map(() => null));
    return { touch: none, change: none, runs: e.runs, nodes: e.nodes, ms: 0, gaveUp: e.gaveUp, cached: true };
  }
  const touch = bitsetsOf(cm, e.touch);
  const change = bitsetsOf(cm, e.change);
  if (!touch || !change) return undefined;
  // a label is unknown on both sides or on neither (as the derivation gives them)
  for (let t = 0; t < touch.length; t++) for (let pc = 0; pc < touch[t]!.length; pc++) if ((touch[t]![pc] === null) !== (change[t]![pc] === null)) return undefined;
  return { touch, change, runs: e.runs, nodes: e.nodes, ms: 0, cached: true };
}

function entryOf(cm: CompiledModel, d: DerivedFutures): string {
  const side = (s: DerivedFutures['touch']) => s.map((per) => per.map((b) => (b === null ? null : Array.from(b))));
  const e: Entry =
    d.gaveUp !== undefined
      ? { v: FORMAT, layout: layoutOf(cm), runs: d.runs, nodes: d.nodes, gaveUp: d.gaveUp }
      : { v: FORMAT, layout: layoutOf(cm), runs: d.runs, nodes: d.nodes, touch: side(d.touch), change: side(d.change) };
  return JSON.stringify(e);
}

/**
 * The derivation of `t`'s compiled model, from the cache when it holds a good entry for it, else run
 * (src/por/derive-futures.ts) and stored. No cache folder: derived every time.
 */
export function cachedDerivation(t: DeriveTarget): (cm: CompiledModel) => DerivedFutures {
  return (cm) => {
    const t0 = performance.now();
    const dir = cacheDir();
    let file: string | undefined;
    if (dir) {
      try {
        file = join(dir, 'derive', `${deriveKey(t)}.json`);
        const hit = entryFor(cm, readFileSync(file, 'utf8'));
        if (hit) return { ...hit, ms: Math.round(performance.now() - t0) };
      } catch {
        /* no entry, or an unreadable one (or a file the key could not read): derive */
      }
    }
    const d = deriveFutures(cm);
    if (file) {
      const tmp = `${file}.tmp-${process.pid}-${threadId}`;
      try {
        mkdirSync(join(dir!, 'derive'), { recursive: true });
        writeFileSync(tmp, entryOf(cm, d));
        renameSync(tmp, file);
      } catch {
        /* a cache that cannot be written only costs time */
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    return d;
  };
}
