// Page-table pages and pmd entries. A table's lifecycle is unused -> live -> freed (never reused: any
// touch after free is already the bug). Every access goes through here, so use-after-free, double free,
// freeing a non-empty or still-linked table, and PTE writes without the ptl or into a detached table are
// detected in one place. pmd entries are cells tagged 'pmd': 0 = none, -1 = huge, t >= 1 = table Tt.
// A table's split ptlock lives and dies with it unless the model asks for its own lifetime
// (ALLOC_SPLIT_PTLOCKS: ptlock_alloc/ptlock_free); PTE values 0 = none, >0 = a page, <0 = a marker.

import { array, cell, enumOf, int, record, type ArraySpec, type Cell, type CellSpec, type EnumSpec, type IntSpec, type RecordSpec, type ScalarArray } from '../model/schema.ts';
import { cellsOf } from '../model/cells.ts';
import { ModelError } from '../model/errors.ts';
import { Fault, raise } from './faults.ts';
import { holds, lock, spinLock, spinUnlock } from './spinlock.ts';
import { addTo, obsLog, wordAbove, wordIs } from '../model/observe.ts';

/** The value of a none pmd entry (pmd_none()). */
export const PMD_NONE = 0;
/** The value of a pmd entry mapping a huge page (pmd_leaf()): no table behind it. */
export const PMD_HUGE = -1;
/** The most page-table pages a model may declare. */
export const MAX_TABLES = 63;

/** Prints a pmd value: none, huge, or the table Tt it links. */
export function formatPmd(v: number): string {
  return v === PMD_NONE ? 'none' : v === PMD_HUGE ? 'huge' : `T${v}`;
}

/** A pmd entry: none, huge, or a table id. */
export function pmdEntry(init = PMD_NONE): CellSpec<'pmd'> {
  return cell('pmd', int(PMD_HUGE, MAX_TABLES, init, formatPmd));
}

/** A table id held in a local (none = no table). */
export function tableRef(init = PMD_NONE): IntSpec {
  return int(PMD_HUGE, MAX_TABLES, init, formatPmd);
}

/**
 * Non-present, non-none PTE values (pte markers and swap-like entries). They are not pte_none, so a
 * table holding one is not empty (ptEmpty), and they print by name.
 */
export const PTE_MARKER = {
  /** PTE_MARKER_GUARD: MADV_GUARD_INSTALL's guard region marker */
  GUARD: -1,
  /** PTE_MARKER_UFFD_WP: userfaultfd write-protect marker on a none pte */
  UFFD_WP: -2,
  /** a swap (or migration / device-private) entry: not present, not none, names a page elsewhere */
  SWAP: -3,
} as const;
const PTE_MIN = PTE_MARKER.SWAP;
const MARKER_NAMES: Readonly<Record<number, string>> = {
  [PTE_MARKER.GUARD]: 'guard-marker',
  [PTE_MARKER.UFFD_WP]: 'uffd-wp-marker',
  [PTE_MARKER.SWAP]: 'swap-entry',
};

/** Prints a PTE value: none, pageN, or a marker by name. */
export function formatPte(v: number): string {
  return v === 0 ? 'none' : v > 0 ? `page${v}` : (MARKER_NAMES[v] ?? `marker${v}`);
}

/** pte_none(): only the empty value; a marker or swap entry is not none. */
export function pteNone(v: number): boolean {
  return v === 0;
}

/** pte_present(): maps a page (markers and swap entries are not present). */
export function ptePresent(v: number): boolean {
  return v > 0;
}

/** is_pte_marker() / is_guard_pte_marker() / pte_marker_uffd_wp() on a value. */
export function pteMarker(v: number): 'guard' | 'uffd-wp' | 'swap' | undefined {
  return v === PTE_MARKER.GUARD ? 'guard' : v === PTE_MARKER.UFFD_WP ? 'uffd-wp' : v === PTE_MARKER.SWAP ? 'swap' : undefined;
}

/** Lifetime of a split ptlock allocated apart from its table (ALLOC_SPLIT_PTLOCKS). */
export type PtlockState = 'none' | 'live' | 'freed';

/** The fields of one page-table page: its state (unused, live, freed), its split ptlock, its entries. */
export type PageTableFields = {
  state: EnumSpec<'unused' | 'live' | 'freed'>;
  ptl: CellSpec<'lock'>;
  pte: ArraySpec<IntSpec>;
};

/** How page-table pages behave in a model (e.g. a split ptlock with its own lifetime). */
export interface PageTableOpts {
  /**
   * The split ptlock gets its own lifetime (ALLOC_SPLIT_PTLOCKS, e.g. with lockdep or on PREEMPT_RT):
   * ptAlloc/ptInitLive allocate it (ptlock_alloc, as pagetable_pte_ctor does), ptFree leaves it, and the
   * model frees it where its kernel code does: ptlockFree / pagetableDtor (in pte_free, in an RCU
   * callback, or early). Off (default): the ptlock is part of the table and dies with it.
   */
  readonly separatePtlock?: boolean;
}

/** `n` PTE-table pages T1..Tn with `ptes` entries each (0 = pte_none). */
export function pageTables(n: number, ptes = 1, o: PageTableOpts = {}): ArraySpec<RecordSpec<PageTableFields>> {
  if (n > MAX_TABLES) throw new Error(`at most ${MAX_TABLES} page tables`);
  const fields = {
    state: enumOf(['unused', 'live', 'freed'] as const, 'unused'),
    ptl: lock(),
    pte: array(ptes, int(PTE_MIN, 15, 0, formatPte)),
  };
  const withPtlock = o.separatePtlock ? { ...fields, ptlock: enumOf(['none', 'live', 'freed'] as const, 'none') } : fields;
  return array(n, record(withPtlock as PageTableFields), (i) => `T${i + 1}`);
}

/** One page-table page as steps see it (see PageTableFields). */
export interface PtView {
  state: 'unused' | 'live' | 'freed';
  readonly ptl: Cell;
  readonly pte: ScalarArray<number>;
  /** present only with separatePtlock */
  ptlock?: PtlockState;
}
/** The part of a model's state the page-table primitives use: faults, nr_ptes and the tables. */
export interface PtState {
  faults: number;
  nr_ptes: number;
  readonly pt: readonly PtView[];
}
interface Me {
  readonly tid: number;
}

function table(s: PtState, t: number): PtView {
  const pt = s.pt[t - 1];
  if (!pt) throw new ModelError(`no page table T${t} (the model declares ${s.pt.length})`);
  return pt;
}

/** Is table t linked from any pmd entry? */
export function attached(s: PtState, t: number): boolean {
  const pmds = cellsOf(s, 'pmd');
  if (obsLog.h === null) {
    // a search: by name (see spinlock.ts); the derivation hears each compare through wordIs()
    for (let i = 0; i < pmds.length; i++) if (pmds[i]!.v === t) return true;
    return false;
  }
  for (let i = 0; i < pmds.length; i++) if (wordIs(pmds[i]!, 'v', t)) return true;
  return false;
}

/** A load/store through table t: a fault if t is not a table or is freed. Returns false for garbage. */
export function ptTouch(s: PtState, t: number): boolean {
  if (t <= 0) {
    raise(s, Fault.BAD_PMD_DEREF);
    return false;
  }
  if (table(s, t).state === 'freed') raise(s, Fault.UAF);
  return true;
}

/** Does table `pt` have a ptlock with its own lifetime (separatePtlock)? */
function separate(pt: PtView): boolean {
  return 'ptlock' in pt;
}

/** pte_alloc_one: a fresh, empty, unlinked table (and, with separatePtlock, its ptlock: pagetable_pte_ctor). */
export function ptAlloc(s: PtState): number {
  for (let i = 0; i < s.pt.length; i++) {
    const pt = s.pt[i]!;
    if (pt.state === 'unused') {
      pt.state = 'live';
      if (separate(pt)) pt.ptlock = 'live';
      return i + 1;
    }
  }
  throw new ModelError(`page-table pool exhausted (${s.pt.length} tables): the model allocates more than it declares`);
}

/** Marks t live (for init: tables that exist before the threads start), with its ptlock if separate. */
export function ptInitLive(s: PtState, t: number): void {
  const pt = table(s, t);
  pt.state = 'live';
  if (separate(pt)) pt.ptlock = 'live';
}

/** For init: table t exists, is linked from `pmd` and counted in nr_ptes (as after pmd_install). */
export function ptInitInstalled(s: PtState, pmd: Cell, t: number): void {
  ptInitLive(s, t);
  pmd.v = t;
  mmIncNrPtes(s);
}

/** Frees table t now (pte_free / __free_page). */
export function ptFree(s: PtState, t: number): void {
  if (t <= 0) {
    raise(s, Fault.FREE_GARBAGE);
    return;
  }
  const pt = table(s, t);
  if (pt.state === 'freed') {
    raise(s, Fault.DOUBLE_FREE);
    return;
  }
  if (pt.state === 'unused') {
    raise(s, Fault.FREE_GARBAGE);
    return;
  }
  for (let i = 0; i < pt.pte.length; i++) {
    if (pt.pte.get(i) !== 0) {
      raise(s, Fault.FREE_NONEMPTY);
      break;
    }
  }
  if (attached(s, t)) raise(s, Fault.FREE_ATTACHED);
  pt.state = 'freed';
}

/** A table's lifecycle state, or 'garbage' for a none/huge value (reads nothing, records nothing). */
export function ptState(s: PtState, t: number): 'unused' | 'live' | 'freed' | 'garbage' {
  return t <= 0 ? 'garbage' : table(s, t).state;
}

/**
 * The ptlock of t is usable: a freed table (its ptdesc reused), or with separatePtlock a ptlock that
 * ptlock_free already returned to its slab, records UAF. False for a garbage t (BAD_PMD_DEREF).
 */
function ptlockTouch(s: PtState, t: number): boolean {
  if (!ptTouch(s, t)) return false;
  const pt = table(s, t);
  if (separate(pt) && pt.ptlock !== 'live') raise(s, Fault.UAF);
  return true;
}

/**
 * spin_lock(pte_lockptr(T)): false = must block. Locking the ptlock of a freed table, or (separate
 * lifetime) a ptlock already freed, records UAF.
 */
export function ptlLock(s: PtState, me: Me, t: number): boolean {
  if (!ptlockTouch(s, t)) return true; // garbage pointer: fault recorded, nothing to lock
  return spinLock(me, table(s, t).ptl);
}

/** spin_unlock(ptl) of T's ptlock: UAF as for ptlLock; UNLOCK_NOT_OWNER if `me` does not hold it. */
export function ptlUnlock(s: PtState, me: Me, t: number): void {
  if (!ptlockTouch(s, t)) return;
  spinUnlock(s, me, table(s, t).ptl);
}

/**
 * ptlock_alloc() (ALLOC_SPLIT_PTLOCKS): gives t a fresh ptlock. ptAlloc already does it; a model calls
 * this only to place the allocation elsewhere. A table without separatePtlock is a model error.
 */
export function ptlockAlloc(s: PtState, t: number): void {
  const pt = table(s, t);
  if (!separate(pt)) throw new ModelError(`ptlock_alloc on T${t}: the model's tables have no separate ptlock (pageTables separatePtlock)`);
  pt.ptlock = 'live';
}

/**
 * ptlock_free() (ALLOC_SPLIT_PTLOCKS, from pagetable_dtor): returns t's ptlock to its slab. Freeing it
 * twice records DOUBLE_FREE; freeing one never allocated records FREE_GARBAGE. Any later lock or unlock
 * through it records UAF. A table without separatePtlock is a model error.
 */
export function ptlockFree(s: PtState, t: number): void {
  if (t <= 0) {
    raise(s, Fault.FREE_GARBAGE);
    return;
  }
  const pt = table(s, t);
  if (!separate(pt)) throw new ModelError(`ptlock_free on T${t}: the model's tables have no separate ptlock (pageTables separatePtlock)`);
  if (pt.ptlock === 'freed') raise(s, Fault.DOUBLE_FREE);
  else if (pt.ptlock === 'none') raise(s, Fault.FREE_GARBAGE);
  pt.ptlock = 'freed';
}

/**
 * pagetable_dtor_free() as mainline has it: pagetable_dtor (-> ptlock_free) then pagetable_free, with
 * every fault of ptFree. With the ptlock part of the table, the same as ptFree.
 */
export function pagetableDtorFree(s: PtState, t: number): void {
  if (t > 0 && separate(table(s, t))) ptlockFree(s, t);
  ptFree(s, t);
}

/**
 * pmd_populate(mm, pmd, table): links table t from `pmd`. Installing a none or huge value, or a table
 * never allocated (a pointer derived from a none pmd, as in mremap's move_normal_pmd on a pmd that became
 * none), records PMD_POPULATE_BAD and leaves the entry alone; installing a freed table records UAF.
 * nr_ptes is the caller's (pmd_install counts, a move does not).
 */
export function pmdPopulate(s: PtState, pmd: Cell, t: number): void {
  if (t <= 0 || table(s, t).state === 'unused') {
    raise(s, Fault.PMD_POPULATE_BAD);
    return;
  }
  if (table(s, t).state === 'freed') raise(s, Fault.UAF);
  pmd.v = t;
}

/** lockdep_is_held(pte_lockptr(T)) for `me`. */
export function ptlHeld(s: PtState, me: Me, t: number): boolean {
  return t > 0 && holds(me, table(s, t).ptl);
}

/** set_pte_at / pte_clear: a store to entry i of table t, which must be under that table's ptl and linked. */
export function setPte(s: PtState, me: Me, t: number, i: number, v: number): void {
  if (!ptTouch(s, t)) return;
  const pt = table(s, t);
  if (!holds(me, pt.ptl)) raise(s, Fault.WRITE_UNLOCKED);
  if (!attached(s, t)) raise(s, Fault.WRITE_DETACHED);
  pt.pte.set(i, v);
}

/** ptep_get: a load of entry i of table t (garbage reads as none). */
export function readPte(s: PtState, t: number, i: number): number {
  if (!ptTouch(s, t)) return 0;
  return table(s, t).pte.get(i);
}

/** Are all entries of t pte_none? Markers and swap entries are not none. (A scan: touches the table.) */
export function ptEmpty(s: PtState, t: number): boolean {
  if (!ptTouch(s, t)) return true;
  const pt = table(s, t);
  for (let i = 0; i < pt.pte.length; i++) if (pt.pte.get(i) !== 0) return false;
  return true;
}

/** mm->pgtables_bytes as a table count (mm_pgtables_bytes / PAGE_SIZE). */
export function nrPtesField(): IntSpec {
  return int(-8, MAX_TABLES, 0);
}

/** mm_inc_nr_ptes(). */
export function mmIncNrPtes(s: PtState): void {
  if (obsLog.h === null) s.nr_ptes = s.nr_ptes + 1; // by name in a search (see spinlock.ts)
  else addTo(s, 'nr_ptes', 1);
}

/** mm_dec_nr_ptes(): taking the count below zero records NR_PTES_NEGATIVE. */
export function mmDecNrPtes(s: PtState): void {
  if (obsLog.h === null) {
    // by name in a search (see spinlock.ts)
    if (s.nr_ptes <= 0) raise(s, Fault.NR_PTES_NEGATIVE);
    s.nr_ptes = s.nr_ptes - 1;
    return;
  }
  if (!wordAbove(s, 'nr_ptes', 0)) raise(s, Fault.NR_PTES_NEGATIVE);
  addTo(s, 'nr_ptes', -1);
}

/** Number of tables currently linked from pmd entries (for the nr_ptes accounting check). */
export function linkedTables(s: PtState): number {
  let n = 0;
  for (const c of cellsOf(s, 'pmd')) if (c.v > 0) n++;
  return n;
}
