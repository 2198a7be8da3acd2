/*
 * Properties and expected verdicts for models/retract-page-tables.ts (protocols.md §2, §3, P-* list;
 * seed 003). Expectations are for the default parameters (faults=1, anon=1, uffd_wp=0, guard=0,
 * shared_copy=0) except where a row fixes others (the marker-writer and shared-copy rows: faults=0,
 * anon=0 and their writer). The rows that leave the writers free (upstream, pre-recheck,
 * checks-before-locks-only, no-anon-vma-recheck, spin-lock-pml) are functions of them (byWriters):
 * fault-maps-file-page needs a fault and uffdio-copy-maps-anon-page the uffdio_copy thread; with no
 * writer at all (none of those two, no marker writer, no uffdio_copy_shared), nothing but MADV_DONTNEED
 * and khugepaged touches T1: no second table is ever installed, so retract and zap cannot both free,
 * and zap's slow path frees nothing (its trylock of pml fails only
 * while khugepaged holds pml, and khugepaged then retracts T1 itself, so try_to_free_pte finds *pmd
 * none). checks-before-locks-only and no-anon-vma-recheck miss the anon_vma of UFFDIO_COPY (B2.4):
 * with anon=0 no writer passes their missing recheck (faults wait for new_folio), so they hold.
 * uffd_wp, guard and shared_copy on these variants add their writer: its guard becomes reachable
 * (uffd-wp-marker-installed, guard-marker-installed; shared_copy's empty T2 is retracted, so
 * khugepaged-retracts-other-table, as in upstream-shared-copy), and a variant whose recheck misses that
 * writer's flag frees its marker with the table (checks-before-locks-only rechecks nothing;
 * no-anon-vma-recheck still rechecks userfaultfd_wp and VMA_MAYBE_GUARD).
 *
 * upstream: everything holds. Every clear of *pmd holds pml, and retract and try_to_free_pte read the
 *   table from *pmd under pml after check_pmd_state / pte_offset_map_rw_nolock saw a table, so a table
 *   is cleared at most once and freed by whoever cleared it (no double free, no garbage, nr_ptes
 *   decremented once per cleared table). The retracted table is empty: faults cannot install a pte while
 *   khugepaged holds new_folio (seed 003: "we will be blocked in the page fault path"), and UFFDIO_COPY
 *   sets anon_vma before it takes ptl to write, so retract's recheck under ptl either runs before that
 *   ptl section (then UFFDIO_COPY's pmd_same fails and it finds the pmd none) or sees anon_vma and skips
 *   (B2.4 "Fixed"). check_pmd_state only asks that *pmd still hold a table, not the same one (Qi's
 *   comment in 6c18ec9af86c: a new table "is still empty and can be removed"); in this model the only
 *   thread that can install one while khugepaged holds new_folio is UFFDIO_COPY, so such a table is
 *   then skipped by the anon_vma recheck. The zap path locks ptl -> pml only by trylock, so the
 *   pml -> ptl order of retract and try_to_free_pte cannot deadlock with it.
 * pre-recheck (B2.7): khugepaged's lockless find_pmd_or_thp_or_none sees T1; madvise zaps T1 and
 *   try_get_and_clear_pmd clears *pmd and frees it; khugepaged takes pml and, with no check_pmd_state,
 *   computes pte_lockptr from a none pmd (pmd-none dereference), pmdp_collapse_flush returns none, and it
 *   calls mm_dec_nr_ptes (second decrement for one table: nr_ptes goes below zero, and the final count
 *   no longer matches the linked tables) and pte_free_defer(pmd_pgtable(none)): free of garbage.
 *   protocols.md's analysis also names an "already-queued table (double free)". That cannot happen in
 *   this code: pgt_pmd comes from pmdp_collapse_flush, which reads *pmd under pml, and every clear of
 *   *pmd holds pml, so retract frees either the table linked at that moment (never yet freed: tables are
 *   freed only after being cleared) or a none pmd. So no-double-free holds, and the none-pmd garbage is
 *   the double-free shaped bug (in the kernel pmd_pgtable(none) is the struct page of pfn 0, whose
 *   rcu_head is then queued). No use-after-free either: every lock of the garbage pointer is recorded as
 *   the pmd-none dereference, not as a touch of a real table.
 * checks-before-locks-only (B2.4): khugepaged tests anon_vma (false) before its locks; UFFDIO_COPY runs
 *   anon_vma_prepare, maps the table under ptl and installs its anon pte; khugepaged takes pml and ptl
 *   and, without the recheck, detaches and frees the table with the live anon pte (P-EMPTY: the anon
 *   page is leaked, "Bad rss-counter"). Only no-free-of-non-empty-table is violated: UFFDIO_COPY wrote
 *   under ptl into an attached table, and the freeing itself is still RCU-deferred and single.
 * checks-before-locks-only and the no-*-recheck rows also reach khugepaged-retracts-other-table: the
 *   writer can install T2 after MADV_DONTNEED reclaimed T1, fill it, and the broken recheck retracts T2.
 * upstream-uffd-wp / upstream-guard (mainline, one marker writer): everything holds. The writer sets
 *   its flag (VM_UFFD_WP by UFFDIO_REGISTER; VMA_MAYBE_GUARD by madvise_guard_install, atomically)
 *   before it takes the ptl that installs the marker, and retract rechecks the flag under that ptl:
 *   either retract's ptl section comes first (the writer's pte_offset_map_lock then finds *pmd changed
 *   or none and installs into a fresh table, or gives up) or the recheck sees the flag and skips.
 *   Lorenzo Stoakes (2025): "Guard marker installation acquires page table lock after setting
 *   VM_MAYBE_GUARD, which raced and didn't pick this up in the initial optimistic check, blocking page
 *   table retraction until the guard regions are installed - the second VM_MAYBE_GUARD check will
 *   prevent page table retraction. Either way we're safe." MADV_DONTNEED keeps markers (any_skipped),
 *   so it reclaims no table holding one; the zap guards stay reachable through runs where it goes
 *   before the marker.
 * upstream-shared-copy (mainline): everything holds, and khugepaged-retracts-other-table is reachable:
 *   MADV_DONTNEED reclaims T1, UFFDIO_COPY on the shared vma installs an empty T2 (mfill_atomic's
 *   __pte_alloc) and fails -EEXIST; check_pmd_state sees a table and retract frees T2, which is empty
 *   ("a new PTE page is filled into the pmd entry, it is still empty and can be removed", 6c18ec9af86c).
 *   In every other mainline row it is unreachable: faults wait for new_folio, and the other writers
 *   set a flag the recheck sees before they install a table.
 * no-anon-vma-recheck / no-uffd-wp-recheck / no-guard-recheck (analysis): the recheck under ptl leaves
 *   one condition out (the optimistic check keeps it). The writer of that condition passes between the
 *   optimistic check and retract's pml: it sets its flag, installs its anon pte / uffd-wp marker /
 *   guard marker under ptl and unlocks; retract takes pml and ptl, its recheck misses the flag, and the
 *   table is detached and freed with the entry in it: no-free-of-non-empty-table is violated (the anon
 *   page leaks, "Bad rss-counter"; the uffd-wp protection or the guard region silently disappears, and
 *   the next access faults in a fresh table instead of trapping). Nothing else: the writes were under
 *   ptl into an attached table, and the free is single and RCU-deferred.
 * spin-lock-pml: madvise holds T1's ptl and waits for pml; khugepaged holds pml (check_pmd_state passed)
 *   and waits for T1's ptl: ABBA deadlock. Nothing else changes, except that the zap path never takes its
 *   slow path (spin_lock does not fail), so that guard is unreachable.
 */

import model, { ANON_PAGE, FILE_PAGE } from '../models/retract-page-tables.ts';
import { Fault, PTE_MARKER, noFault, pteWriteAttached, nrPtesConsistent } from '../src/kernel/index.ts';
import { defineSpec, sometimes, type ExpectRow, type Verdict } from '../src/spec/property.ts';

const holdsAll = {
  'no-use-after-free': 'holds',
  'no-double-free': 'holds',
  'no-free-of-non-empty-table': 'holds',
  'no-free-of-pmd-none-garbage': 'holds',
  'no-pmd-none-dereference': 'holds',
  'pte-write-attached': 'holds',
  'pte-write-under-its-ptl': 'holds',
  'nr-ptes-never-negative': 'holds',
  'locks-balanced': 'holds',
  'nr-ptes-consistent': 'holds',
  'khugepaged-retracts-table': 'reachable',
  'zap-frees-by-fast-path': 'reachable',
  'zap-frees-by-slow-path': 'reachable',
  'retract-and-zap-both-free': 'reachable',
  'uffdio-copy-maps-anon-page': 'reachable',
  'fault-maps-file-page': 'reachable',
  'uffd-wp-marker-installed': 'unreachable',
  'guard-marker-installed': 'unreachable',
  'khugepaged-retracts-other-table': 'unreachable',
  'deadlock-free': 'holds',
} as const;

/** The marker-writer rows fix faults=0 and anon=0: no fault or UFFDIO_COPY thread, so those guards are unreachable. */
const markerWriter = { ...holdsAll, 'uffdio-copy-maps-anon-page': 'unreachable', 'fault-maps-file-page': 'unreachable' } as const;

/** A dropped recheck: a table a writer filled (often one it installed after T1 was reclaimed) is retracted. */
const retractsNonEmpty = { 'no-free-of-non-empty-table': 'violated', 'khugepaged-retracts-other-table': 'reachable' } as const;

type Writers = { readonly faults: number; readonly anon: number; readonly uffd_wp: number; readonly guard: number; readonly shared_copy: number };
type Flag = 'anon' | 'uffd_wp' | 'guard';

/**
 * A row of a variant that leaves the writers free, at these parameters (header). `missed`: the writers
 * whose flag the variant's recheck under ptl does not look at.
 */
function byWriters(p: Writers, row: Readonly<Record<keyof typeof holdsAll, Verdict>>, missed: readonly Flag[] = []): ExpectRow {
  const none = p.faults + p.anon + p.uffd_wp + p.guard + p.shared_copy === 0;
  const filled = missed.some((f) => p[f] >= 1);
  return {
    ...row,
    'fault-maps-file-page': p.faults >= 1 ? 'reachable' : 'unreachable',
    'uffdio-copy-maps-anon-page': p.anon >= 1 ? 'reachable' : 'unreachable',
    'uffd-wp-marker-installed': p.uffd_wp >= 1 ? 'reachable' : 'unreachable',
    'guard-marker-installed': p.guard >= 1 ? 'reachable' : 'unreachable',
    'no-free-of-non-empty-table': filled ? 'violated' : 'holds',
    'khugepaged-retracts-other-table': filled || p.shared_copy >= 1 ? 'reachable' : 'unreachable',
    ...(none ? { 'zap-frees-by-slow-path': 'unreachable', 'retract-and-zap-both-free': 'unreachable' } : {}),
  };
}

export default defineSpec(model, {
  properties: [
    noFault('no-use-after-free', Fault.UAF, 'no load, store or ptlock of a table after it is freed (P-UAF)'),
    noFault('no-double-free', Fault.DOUBLE_FREE | Fault.RCU_HEAD_REQUEUED, 'no table freed, or queued for freeing, twice (P-RCUHEAD)'),
    noFault('no-free-of-non-empty-table', Fault.FREE_NONEMPTY | Fault.FREE_ATTACHED, 'a table is freed only when every entry is pte_none and it is unlinked (P-EMPTY)'),
    noFault('no-free-of-pmd-none-garbage', Fault.FREE_GARBAGE, 'pte_free_defer / pte_free_tlb never get the "table" of a none pmd'),
    noFault('no-pmd-none-dereference', Fault.BAD_PMD_DEREF, 'pte_lockptr / pte_offset_map never computed from a none pmd'),
    pteWriteAttached(),
    noFault('pte-write-under-its-ptl', Fault.WRITE_UNLOCKED, "a PTE is written only under its own table's ptl"),
    noFault('nr-ptes-never-negative', Fault.NR_PTES_NEGATIVE, 'mm_dec_nr_ptes never takes nr_ptes below zero'),
    noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT | Fault.RCU_UNBALANCED, 'every lock and RCU section released exactly once, by its owner (P-LOCK)'),
    nrPtesConsistent(),
    sometimes('khugepaged-retracts-table', 'pmdp_collapse_flush really detaches a table', (s) => s.ghost.retracted),
    sometimes('zap-frees-by-fast-path', 'try_get_and_clear_pmd under ptl clears the pmd and the table is freed', (s, t: any) => s.ghost.zap_fast && zapFreed(s, t)),
    sometimes('zap-frees-by-slow-path', 'after a failed trylock, try_to_free_pte clears the pmd and the table is freed', (s, t: any) => s.ghost.zap_slow && zapFreed(s, t)),
    sometimes('retract-and-zap-both-free', 'khugepaged retracts one table and MADV_DONTNEED frees another in the same run', (s, t: any) => s.ghost.retracted && (s.ghost.zap_fast || s.ghost.zap_slow) && zapFreed(s, t)),
    sometimes('uffdio-copy-maps-anon-page', "UFFDIO_COPY's anon pte is written", (s) => s.pt.some((t) => hasValue(t.pte, ANON_PAGE))),
    sometimes('fault-maps-file-page', "a fault's pte is written", (s) => s.pt.some((t) => hasValue(t.pte, FILE_PAGE))),
    sometimes('khugepaged-retracts-other-table', 'pmdp_collapse_flush detaches a table other than T1 (installed after T1 was reclaimed)', (s) => s.ghost.retracted_other),
    sometimes('uffd-wp-marker-installed', 'UFFDIO_WRITEPROTECT really installs a uffd-wp marker', (s) => s.pt.some((t) => hasValue(t.pte, PTE_MARKER.UFFD_WP))),
    sometimes('guard-marker-installed', 'MADV_GUARD_INSTALL really installs a guard marker', (s) => s.pt.some((t) => hasValue(t.pte, PTE_MARKER.GUARD))),
  ],
  expect: {
    upstream: (p) => byWriters(p, holdsAll),
    'pre-recheck': (p) =>
      byWriters(p, {
        ...holdsAll,
        'no-free-of-pmd-none-garbage': 'violated',
        'no-pmd-none-dereference': 'violated',
        'nr-ptes-never-negative': 'violated',
        'nr-ptes-consistent': 'violated',
      }),
    'checks-before-locks-only': (p) => byWriters(p, holdsAll, ['anon', 'uffd_wp', 'guard']),
    'spin-lock-pml': (p) => byWriters(p, { ...holdsAll, 'zap-frees-by-slow-path': 'unreachable', 'deadlock-free': 'violated' }),
    'upstream-uffd-wp': { ...markerWriter, 'uffd-wp-marker-installed': 'reachable' },
    'upstream-guard': { ...markerWriter, 'guard-marker-installed': 'reachable' },
    'upstream-shared-copy': { ...markerWriter, 'khugepaged-retracts-other-table': 'reachable' },
    'no-anon-vma-recheck': (p) => byWriters(p, holdsAll, ['anon']),
    'no-uffd-wp-recheck': { ...markerWriter, ...retractsNonEmpty, 'uffd-wp-marker-installed': 'reachable' },
    'no-guard-recheck': { ...markerWriter, ...retractsNonEmpty, 'guard-marker-installed': 'reachable' },
  },
});

/** The table MADV_DONTNEED queued for freeing (its pmdval) has really been freed. */
function zapFreed(s: { readonly pt: readonly { readonly state: string }[] }, t: any): boolean {
  const v: number = t.madvise.pmdval;
  return v > 0 && s.pt[v - 1]!.state === 'freed';
}

function hasValue(a: { readonly length: number; get(i: number): number }, v: number): boolean {
  for (let i = 0; i < a.length; i++) if (a.get(i) === v) return true;
  return false;
}
