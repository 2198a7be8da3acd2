// Page-table pages and pmd entries. A table's lifecycle is unused -> live -> freed (never reused: any
// touch after free is already the bug). Every access goes through here, so use-after-free, double free,
// freeing a non-empty or still-linked table, and PTE writes without the ptl or into a detached table are
// detected in one place. pmd entries are cells tagged 'pmd': 0 = none, -1 = huge, t >= 1 = table Tt.

import { array, cell, enumOf, int, record, type ArraySpec, type Cell, type CellSpec, type EnumSpec, type IntSpec, type RecordSpec, type ScalarArray } from '../model/schema.ts';
import { cellsOf } from '../model/cells.ts';
import { ModelError } from '../model/errors.ts';
import { Fault, raise } from './faults.ts';
import { holds, lock, spinLock, spinUnlock } from './spinlock.ts';

export const PMD_NONE = 0;
export const PMD_HUGE = -1;
export const MAX_TABLES = 63;

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

export function formatPte(v: number): string {
  return v === 0 ? 'none' : `page${v}`;
}

export type PageTableFields = {
  state: EnumSpec<'unused' | 'live' | 'freed'>;
  ptl: CellSpec<'lock'>;
  pte: ArraySpec<IntSpec>;
};

/** `n` PTE-table pages T1..Tn with `ptes` entries each (0 = pte_none). */
export function pageTables(n: number, ptes = 1): ArraySpec<RecordSpec<PageTableFields>> {
  if (n > MAX_TABLES) throw new Error(`at most ${MAX_TABLES} page tables`);
  return array(
    n,
    record({
      state: enumOf(['unused', 'live', 'freed'] as const, 'unused'),
      ptl: lock(),
      pte: array(ptes, int(0, 15, 0, formatPte)),
    }),
    (i) => `T${i + 1}`,
  );
}

export interface PtView {
  state: 'unused' | 'live' | 'freed';
  readonly ptl: Cell;
  readonly pte: ScalarArray<number>;
}
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
  for (let i = 0; i < pmds.length; i++) if (pmds[i]!.v === t) return true;
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

/** pte_alloc_one: a fresh, empty, unlinked table. */
export function ptAlloc(s: PtState): number {
  for (let i = 0; i < s.pt.length; i++) {
    const pt = s.pt[i]!;
    if (pt.state === 'unused') {
      pt.state = 'live';
      return i + 1;
    }
  }
  throw new ModelError(`page-table pool exhausted (${s.pt.length} tables): the model allocates more than it declares`);
}

/** Marks t live (for init: tables that exist before the threads start). */
export function ptInitLive(s: PtState, t: number): void {
  table(s, t).state = 'live';
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

export function ptState(s: PtState, t: number): 'unused' | 'live' | 'freed' | 'garbage' {
  return t <= 0 ? 'garbage' : table(s, t).state;
}

/** spin_lock(pte_lockptr(T)): false = must block. Locking a freed table's ptlock is a use-after-free. */
export function ptlLock(s: PtState, me: Me, t: number): boolean {
  if (!ptTouch(s, t)) return true; // garbage pointer: fault recorded, nothing to lock
  return spinLock(me, table(s, t).ptl);
}

export function ptlUnlock(s: PtState, me: Me, t: number): void {
  if (!ptTouch(s, t)) return;
  spinUnlock(s, me, table(s, t).ptl);
}

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

/** Are all entries of t pte_none? (A scan: touches the table.) */
export function ptEmpty(s: PtState, t: number): boolean {
  if (!ptTouch(s, t)) return true;
  const pt = table(s, t);
  for (let i = 0; i < pt.pte.length; i++) if (pt.pte.get(i) !== 0) return false;
  return true;
}

export function nrPtesField(): IntSpec {
  return int(-8, MAX_TABLES, 0);
}

export function mmIncNrPtes(s: PtState): void {
  s.nr_ptes = s.nr_ptes + 1;
}

export function mmDecNrPtes(s: PtState): void {
  if (s.nr_ptes <= 0) raise(s, Fault.NR_PTES_NEGATIVE);
  s.nr_ptes = s.nr_ptes - 1;
}

/** Number of tables currently linked from pmd entries (for the nr_ptes accounting check). */
export function linkedTables(s: PtState): number {
  let n = 0;
  for (const c of cellsOf(s, 'pmd')) if (c.v > 0) n++;
  return n;
}
