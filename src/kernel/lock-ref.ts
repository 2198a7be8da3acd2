// `spinlock_t *ptl` locals: a value that names a lock (a named global lock such as pml, or a table's
// split ptlock), NULL, or garbage; pte_lockptr()/pmd_lockptr() under split and non-split ptlocks
// (non-split: every PTE table shares the pmd's lock, so ptl == pml); lock/unlock through the reference;
// and uninitialised locals whose first value is a nondeterministic choice. Owns the encoding only.

import { int, type Cell, type IntSpec } from '../model/schema.ts';
import { ModelError } from '../model/errors.ts';
import { BLOCKED, type DONE, type MultiStep } from '../model/model.ts';
import { Fault, raise } from './faults.ts';
import { MAX_TABLES, ptlLock, ptlUnlock, type PtState } from './pgtable.ts';
import { spinLock, spinUnlock } from './spinlock.ts';

/** NULL. */
export const LOCK_REF_NULL = 0;
/** A pointer computed from garbage (a none or huge pmd, freed memory, an uninitialised local's junk). */
export const LOCK_REF_GARBAGE = -1;
/** Not yet written: the first read picks one of the declared choices (see uninitRead). */
export const LOCK_REF_UNINIT = MAX_TABLES + 1;

/** What a lock reference may point to besides page-table ptlocks: the global lock cells, by field name. */
export interface LockRefSpace {
  /** the global lock cells a reference may name, by field name (e.g. ['pml']) */
  readonly named: readonly string[];
}

/**
 * The encoding: 0 = NULL, t >= 1 = &Tt.ptl, -1 = garbage, -2 - k = &named[k] (so &pml is -2 with
 * named = ['pml']), LOCK_REF_UNINIT = not yet written.
 */
export function lockRefs(space: LockRefSpace) {
  const K = space.named.length;
  const named = (k: number) => -2 - k;
  const name = (v: number): string => {
    if (v === LOCK_REF_NULL) return 'NULL';
    if (v === LOCK_REF_GARBAGE) return 'garbage';
    if (v > 0 && v <= MAX_TABLES) return `&T${v}.ptl`;
    const k = -2 - v;
    if (k >= 0 && k < K) return `&${space.named[k]}`;
    return `lockref#${v}`;
  };
  const cellOf = (s: any, v: number): Cell | undefined => {
    const k = -2 - v;
    if (k < 0 || k >= K) return undefined;
    const field = space.named[k]!;
    const c = field in s ? (s[field] as Cell | undefined) : undefined;
    if (!c || typeof c !== 'object' || !('v' in c)) throw new ModelError(`lock reference: the state has no lock field '${space.named[k]}'`);
    return c;
  };
  /** A spin_lock/unlock through a NULL, garbage or uninitialised pointer: BAD_LOCK_REF; false = nothing to lock. */
  const usable = (s: { faults: number }, v: number): boolean => {
    if (v === LOCK_REF_NULL || v === LOCK_REF_GARBAGE || v === LOCK_REF_UNINIT || (v < 0 && -2 - v >= K) || v > MAX_TABLES) {
      raise(s, Fault.BAD_LOCK_REF);
      return false;
    }
    return true;
  };

  const ref = (lockName: string): number => {
    const k = space.named.indexOf(lockName);
    if (k < 0) throw new ModelError(`lock reference: '${lockName}' is not one of ${space.named.join(', ')}`);
    return named(k);
  };

  return {
    /** &named lock (e.g. ref('pml')). */
    ref,
    /** &Tt.ptl. */
    table: (t: number): number => t,
    name,
    /**
     * A local holding a lock reference, initially `init` (default NULL). With `uninit` choices it starts
     * unwritten and prints as `<uninit: &pml|&T1.ptl|garbage>` until its first read (uninitRead) picks one.
     */
    local(init: number = LOCK_REF_NULL, uninit?: readonly number[]): IntSpec {
      const fmt = (v: number) => (v === LOCK_REF_UNINIT ? `<uninit: ${(uninit ?? []).map(name).join('|')}>` : name(v));
      return int(-2 - Math.max(K - 1, 0), LOCK_REF_UNINIT, uninit ? LOCK_REF_UNINIT : init, fmt);
    },
    /**
     * pte_lockptr(mm, pmdval) for table t: with split ptlocks, &Tt.ptl; without (non-split: mm's
     * page_table_lock for every level) the pmd's lock `pml`, so that ptl == pml. A garbage t
     * (none/huge pmd) gives a garbage pointer and records BAD_PMD_DEREF.
     */
    pteLockptr(s: { faults: number }, t: number, split: boolean, pml: string): number {
      if (t <= 0) {
        raise(s, Fault.BAD_PMD_DEREF);
        return LOCK_REF_GARBAGE;
      }
      return split ? t : ref(pml);
    },
    /** spin_lock(ref): false = must block. Through NULL/garbage/uninit: BAD_LOCK_REF (nothing locked, continues). */
    lock(s: PtState, me: { readonly tid: number }, v: number): boolean {
      if (!usable(s, v)) return true;
      const c = cellOf(s, v);
      return c ? spinLock(me, c) : ptlLock(s, me, v);
    },
    /** spin_unlock(ref). Through NULL/garbage/uninit: BAD_LOCK_REF. */
    unlock(s: PtState, me: { readonly tid: number }, v: number): void {
      if (!usable(s, v)) return;
      const c = cellOf(s, v);
      if (c) spinUnlock(s, me, c);
      else ptlUnlock(s, me, v);
    },
    /** `ptl != pml` and friends: pointer comparison (an uninitialised value must be read first). */
    same(a: number, b: number): boolean {
      if (a === LOCK_REF_UNINIT || b === LOCK_REF_UNINIT) throw new ModelError('lock reference compared before its first read (use uninitRead)');
      return a === b;
    },
  };
}

/** The lock-reference primitives bound to one LockRefSpace (what lockRefs() returns). */
export type LockRefs = ReturnType<typeof lockRefs>;

/**
 * Wraps the step at `label` that first reads local `local`: while the local is unwritten (`sentinel`,
 * LOCK_REF_UNINIT by default) the step is a nondeterministic choice of its first value among `choices`
 * (alternative i writes choices[i], then runs the step); once written only alternative 0 runs. Traces
 * show the choice, e.g. `spin_unlock(ptl) [ptl = &pml]`, with `name` rendering a value.
 */
export function uninitRead<S, M extends Record<string, any>, L extends string>(
  o: { readonly label: string; readonly local: string; readonly choices: readonly number[]; readonly name?: (v: number) => string; readonly sentinel?: number },
  step: (s: S, me: M) => L | typeof BLOCKED | typeof DONE,
): MultiStep<S, M, L> {
  if (o.choices.length === 0) throw new Error('uninitRead: needs at least one choice');
  const sentinel = o.sentinel ?? LOCK_REF_UNINIT;
  const name = o.name ?? String;
  return {
    alts: o.choices.length,
    run: (s: S, me: M, alt: number) => {
      if (me[o.local] === sentinel) (me as Record<string, number>)[o.local] = o.choices[alt]!;
      else if (alt !== 0) return BLOCKED;
      return step(s, me);
    },
    show: (alt: number, _s: S, me: M) => (me[o.local] === sentinel ? `${o.label} [${o.local} = ${name(o.choices[alt]!)}]` : o.label),
  };
}
