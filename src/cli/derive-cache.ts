// The derivation cache: derived thread futures (or why the derivation gave up) per model, variant file,
// variant, parameters and ptcheck build, in <cache folder>/derive/, bounded (the newest entries kept).
// An entry is data (src/por/derived-entry.ts), checked against the compiled model before use; a bad one is derived again.

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { CompiledModel, DerivedFutures } from '../model/compile.ts';
import { DEFAULT_DERIVE_BUDGET, deriveFutures, gaveUpFutures } from '../por/derive-futures.ts';
import { DERIVED_FORMAT, entryFor, entryOf } from '../por/derived-entry.ts';
import { cacheDir, ROOT } from './compiled.ts';
import { typecheckKey } from './typecheck.ts';

export { entryFor } from '../por/derived-entry.ts';

/**
 * Whether verify derives thread futures without being asked (--derive-futures / --no-derive-futures say
 * so either way; --no-por and --check-determinism imply none; the differential tests' default configuration
 * follows it). On: the reduction then reaches past purely local steps on a model that declares no futures,
 * and stores fewer states on most shipped variants at about the same time (README, "Derived futures").
 */
export const DERIVE_BY_DEFAULT: boolean = true;

/** The most entries the cache keeps (an entry is 1-10 KB on the shipped models); the least recently used go first. */
export const MAX_ENTRIES = 1000;
/** The most bytes the entries may take together. */
export const MAX_BYTES = 16 * 1024 * 1024;
/** A temporary file older than this is one a killed run left behind. */
const STALE_TMP_MS = 10 * 60 * 1000;

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
    .update(`ptcheck-derive ${DERIVED_FORMAT}\0${typecheckKey(files, 'derive')}\0${t.variant}\0${params}\0${JSON.stringify(DEFAULT_DERIVE_BUDGET)}`)
    .digest('hex');
}

/** The folder of the entries, or undefined when no cache folder can be made. */
export function deriveCacheDir(): string | undefined {
  const dir = cacheDir();
  return dir === undefined ? undefined : join(dir, 'derive');
}

let warned = false;
let pruned = false;
/** A cache that cannot be read or written costs time only: said once per process, never an error. */
function warnOnce(dir: string, e: unknown): void {
  if (warned) return;
  warned = true;
  const why = (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);
  process.stderr.write(`ptcheck: warning: the derivation cache ${dir} cannot be written (${why}): thread futures are derived again on every run (--no-derive-futures: not at all)\n`);
}

/** For tests: warn again. */
export function resetDeriveCacheWarning(): void {
  warned = false;
}

/**
 * Keeps the newest MAX_ENTRIES entries within MAX_BYTES (by modification time, which a hit renews),
 * and removes temporary files a killed run left. Failures are ignored: another run may be pruning too.
 */
export function pruneDeriveCache(dir: string, maxEntries = MAX_ENTRIES, maxBytes = MAX_BYTES): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  const entries: { file: string; at: number; size: number }[] = [];
  for (const n of names) {
    const file = join(dir, n);
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      if (n.includes('.tmp-')) {
        if (now - st.mtimeMs > STALE_TMP_MS) rmSync(file, { force: true });
      } else if (n.endsWith('.json')) entries.push({ file, at: st.mtimeMs, size: st.size });
    } catch {
      /* gone meanwhile */
    }
  }
  entries.sort((a, b) => b.at - a.at);
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += entries[i]!.size;
    if (i >= maxEntries || bytes > maxBytes) rmSync(entries[i]!.file, { force: true });
  }
}

/** The entry text of the derivation each compiled model got here, for the worker threads (src/parallel/worker.ts). */
const given = new WeakMap<CompiledModel, string>();

/** The derivation `cm` was compiled with (through cachedDerivation), as data a worker thread checks and uses. */
export function derivedEntryOf(cm: CompiledModel): string | undefined {
  return given.get(cm);
}

/**
 * Whether a search of `cm` runs the reduction's visible-set pre-pass (src/por/reduction.ts seedVisible;
 * without it the restarts alone learn the visible set, which is as sound: see its header). Not where
 * every future is derived and none declared: on the shipped models the pre-pass cost such a search
 * more than the restarts it saves (kernel-pgtable-async-free, 5 variants: ~0.25 s of CPU against none;
 * every variant stores as many states or fewer without it, with at most one restart). A derivation that
 * gave up installs nothing, so the search is then exactly the one without derivation.
 */
export function seedsVisible(cm: CompiledModel): boolean {
  const d = cm.derived;
  return d === undefined || d.derived === 0 || d.declared > 0;
}

/**
 * A derivation that gave up for `reason` without running (one that did not end within the step bound):
 * not cached, since it depends on time, but handed to the worker threads like any other.
 */
export function gaveUpDerivation(reason: string): (cm: CompiledModel) => DerivedFutures {
  return (cm) => {
    const d = gaveUpFutures(cm, reason, 0, 0, 0);
    given.set(cm, entryOf(cm, d));
    return d;
  };
}

/**
 * The derivation of `t`'s compiled model, from the cache when it holds a good entry for it, else run
 * (src/por/derive-futures.ts) and stored. No cache folder: derived every time.
 */
export function cachedDerivation(t: DeriveTarget): (cm: CompiledModel) => DerivedFutures {
  return (cm) => {
    const t0 = performance.now();
    const dir = deriveCacheDir();
    let file: string | undefined;
    if (dir) {
      try {
        file = join(dir, `${deriveKey(t)}.json`);
        const text = readFileSync(file, 'utf8');
        const hit = entryFor(cm, text);
        if (hit) {
          given.set(cm, text);
          try {
            // a hit is a use: pruning keeps the recently used
            const now = new Date();
            utimesSync(file, now, now);
          } catch {
            /* read-only: it may go first */
          }
          return { ...hit, ms: Math.round(performance.now() - t0) };
        }
      } catch {
        /* no entry, or an unreadable one (or a file the key could not read): derive */
      }
    }
    const d = deriveFutures(cm);
    const text = entryOf(cm, d);
    given.set(cm, text);
    if (dir && file) {
      const tmp = `${file}.tmp-${process.pid}-${threadId}`;
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(tmp, text);
        renameSync(tmp, file);
        // once a process (verify --all writes dozens): it may go past the bound by what one run writes
        if (!pruned) {
          pruned = true;
          pruneDeriveCache(dir);
        }
      } catch (e) {
        warnOnce(dir, e);
      } finally {
        try {
          rmSync(tmp, { force: true });
        } catch {
          /* nothing to remove */
        }
      }
    }
    return d;
  };
}
