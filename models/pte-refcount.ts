/*
 * pte-refcount — does the 2021 pte_refcount series keep a PTE table alive for everyone who uses it,
 * while MADV_DONTNEED drops the last reference and frees the table?
 *
 * Kernel code followed (protocols.md §4a; seed 002; Qi Zheng, "Free user PTE page table pages", v1
 * Jul 18 2021 20210718043034.76431-1, v2 Aug 19 2021, v3 Nov 10 2021 20211110105428.32458-1,
 * @bytedance.com; the v3-era core):
 *   mm/pte_ref.c   pte_get_unless_zero() = atomic_inc_not_zero(&pmd_pgtable(pmdval)->pte_refcount);
 *                  pte_try_get(): rcu_read_lock, pmdval = READ_ONCE(*pmd), none -> FAILED_NONE, huge ->
 *                  FAILED_HUGE_PMD, !pte_get_unless_zero -> FAILED_ZERO, rcu_read_unlock (no re-read);
 *                  free_user_pte_table(): pmd_lock, pmdp_huge_get_and_clear, flush_tlb_range,
 *                  spin_unlock, mm_dec_nr_ptes, call_rcu(pte_free_rcu)          (v3 13/15)
 *   pte_ref.h      pte_get(pmd) / pte_put(mm, pmd, addr): re-derive T = pmd_pgtable(*pmd), then
 *                  atomic_add / atomic_sub_and_test (-> free_user_pte_table at zero)
 *   mm/memory.c    pte_install_try_get() under pmd_lock: none -> populate, pte_ref_init(count 1);
 *                  leaf -> false; table -> pte_get_unless_zero or unlock and retry (v1 5/7)
 *                  do_anonymous_page: pte_alloc_try_get (pte_try_get, else __pte_alloc_try_get),
 *                  pte_offset_map_lock, set_pte_at + pte_get, pte_unmap_unlock, pte_put
 *                  zap_pmd_range: pte_try_get; zap_pte_range clears entries, pte_unmap_unlock,
 *                  pte_put_many(nr_put); then pte_put of its own reference
 *   include/linux/mm.h  pte_offset_map_lock(): the pre-2023 macro, pte_lockptr(*pmd) and
 *                  pte_offset_map(*pmd), spin_lock, no recheck (protocols.md §1b B1.1)
 *
 * Threads:
 *   madvise   MADV_DONTNEED of the page at address 0 (zap_pmd_range / zap_pte_range): pte_try_get,
 *             pte_offset_map_lock, ptep_get_and_clear_full, pte_unmap_unlock, pte_put_many(nr_put),
 *             pte_put; whoever brings the count to zero runs free_user_pte_table.
 *   walker<i> a page-table walker under mmap_lock(read) (smaps_pte_range, follow_page_pte, ...):
 *             pte_try_get, pte_offset_map_lock, read its entry, pte_unmap_unlock, pte_put.
 *   fault<i>  do_anonymous_page at address i+1: pte_alloc_try_get (pte_try_get; on failure allocate
 *             and pte_install_try_get under pml), pte_offset_map_lock, set_pte_at, pte_get,
 *             pte_unmap_unlock, pte_put.
 *   rcu       runs pte_free_rcu once the grace period of its call_rcu has ended.
 *
 * Steps and the code they follow (the series was never merged; v1 and v3 as above):
 *   madvise   pte_try_get, pte_get_unless_zero: pte_try_get() (mm/pte_ref.c, v3); pte_lockptr,
 *             pte_offset_map, spin_lock(ptl): the pre-2023 pte_offset_map_lock() (include/linux/mm.h);
 *             ptep_get_and_clear_full, pte_unmap_unlock: zap_pte_range() (mm/memory.c);
 *             pmd_pgtable(*pmd), atomic_add, atomic_sub_and_test: pte_put_many() / pte_put() (pte_ref.h,
 *             the table re-derived from *pmd); pmd_lock .. call_rcu: free_user_pte_table() (v3 13/15);
 *             pte_free: the immediate-free variant (v1 5/7's free_pte_table)
 *   walker<i> pte_try_get .. spin_lock(ptl) as madvise; ptep_get: the walker's read (smaps_pte_range,
 *             follow_page_pte); pte_unmap_unlock, pmd_pgtable(*pmd) .. call_rcu: pte_put() and, at zero,
 *             free_user_pte_table(); walker-without-tryget: pmd_trans_unstable() and the old macro
 *   fault<i>  pte_try_get .. pte_free(new): pte_alloc_try_get() -> __pte_alloc_try_get() ->
 *             pte_install_try_get() (mm/memory.c, v1 5/7); pte_lockptr .. spin_lock(ptl): the old macro;
 *             set_pte_at, pmd_pgtable(*pmd), atomic_add: do_anonymous_page()'s set_pte_at + pte_get();
 *             pte_unmap_unlock, atomic_sub_and_test .. call_rcu: pte_put() (free_user_pte_table at zero)
 *   rcu       pte_free_rcu: free_user_pte_table()'s RCU callback (v3 13/15)
 *
 * Variants (expected results at the default parameters; see specs/pte-refcount.ts):
 *   rcu-deferred           v3 13/15: lockless pte_try_get under rcu_read_lock, free at zero through
 *                          call_rcu (the deferral David Hildenbrand's review of v2 relies on). SAFE
 *   immediate-free         free_user_pte_table frees the table at once (pte_free, as v1 5/7's
 *                          free_pte_table did) while pte_try_get stays lockless: a walker that read
 *                          *pmd before the clear runs atomic_inc_not_zero on a freed table.  VIOLATED
 *                          (v1 itself took pmd_lock around pte_try_get's check, which excludes this;
 *                          the variant is the lockless pte_try_get without what makes it safe.)
 *   walker-without-tryget  the walker keeps the old pmd_trans_unstable() + pte_offset_map_lock() and
 *                          takes no reference: the v3 pte_ref.rst scenario ("broken!!"), a lock of a
 *                          freed table or of a none pmd.                                     VIOLATED
 *
 * Abstracted, and why that is sound here:
 *   - one pmd entry and its pml; PTE slot 0 is the page MADV_DONTNEED zaps, slot i+1 fault i's, so no
 *     two threads race on one entry; no THP (is_huge_pmd never true), no GUP-fast, no mremap;
 *   - pte_try_get's rcu_read_lock is merged into READ_ONCE(*pmd) and its rcu_read_unlock into
 *     pte_get_unless_zero (or into the none exit): the thread does nothing else inside the section, so
 *     only interleavings where a grace period starts or ends next to a step with no shared effect are
 *     removed, and they behave like those where it happens on the other side of it;
 *   - free_user_pte_table's pmdp_huge_get_and_clear and flush_tlb_range are one step (no hardware
 *     walker is modelled, so no TLB); pte_install_try_get's none test, populate and pte_ref_init (or
 *     get_unless_zero) are one step under pml, which every *pmd writer holds;
 *   - page->pte_refcount lives in the struct page of the table: an atomic on it after the table page
 *     was freed is counted as a use-after-free (the field is reused once the page is reallocated);
 *   - tables are never reused after free (the first touch after free is already the fault). RCU is
 *     consolidated (mainline since v4.20; the series ran on v5.14-v5.16): holding pml or a ptl is a
 *     read-side section, so pte_free_rcu also waits for spinlock holders. The violations do not depend
 *     on it: immediate-free waits for no grace period, and walker-without-tryget's walker holds no lock
 *     between its pte_lockptr and the spin_lock that faults.
 *   - the split ptlock has its own lifetime (kernelState separatePtlock, ALLOC_SPLIT_PTLOCKS):
 *     it is freed where mainline frees it, in the same step as its table: pte_free_rcu() / pte_free() (pgtable_pte_page_dtor, then __free_page).
 */

import { BLOCKED, DONE, defineModel, thread, replaceThreads } from '../src/model/model.ts';
import { array, bool, enumOf, int } from '../src/model/schema.ts';
import { addToElem, elemAbove, elemIs, obsLog, storeElem } from '../src/model/observe.ts';
import {
  PMD_NONE,
  callRcu,
  kernelState,
  lock,
  mmDecNrPtes,
  mmIncNrPtes,
  pmdEntry,
  ptAlloc,
  pagetableDtorFree,
  ptInitInstalled,
  ptTouch,
  ptlLock,
  ptlUnlock,
  raise,
  readPte,
  rcuReadLock,
  rcuReadUnlock,
  rcuThread,
  setPte,
  spinLock,
  spinUnlock,
  tableRef,
  Fault,
} from '../src/kernel/index.ts';

const PTE_FREE_RCU = 1; // rcu callback ids, 1-based

interface Params {
  readonly faults: number;
  readonly walkers: number;
}

export function state(p: Params) {
  return kernelState(
    { tables: 1 + p.faults, ptes: 1 + p.faults, rcuCallbacks: ['pte_free_rcu'], separatePtlock: true },
    {
      pmd: pmdEntry(),
      pml: lock(),
      /** page->pte_refcount of T1..Tn */
      pte_refcount: array(1 + p.faults, int(-4, 15), (i) => `T${i + 1}.pte_refcount`),
      /** observation only (no step reads it): a walker read an entry of a mapped table */
      seen_walker_read: bool(),
      /** observation only (no step reads it): MADV_DONTNEED's own free_user_pte_table freed T1 */
      seen_madvise_frees_t1: bool(),
    },
  );
}
export type St = ReturnType<typeof state>;

const isTable = (v: number) => v > 0;

/**
 * atomic_inc_not_zero(&pmd_pgtable(pmdval)->pte_refcount). In a search the count is read once; while
 * the derivation of futures listens (src/model/observe.ts), through helpers that hand the step only
 * "is it zero?", so the derivation runs it once per answer, not once per count.
 */
function getUnlessZero(s: any, t: number): boolean {
  if (!ptTouch(s, t)) return false;
  const a = s.pte_refcount;
  if (obsLog.h !== null) {
    if (elemIs(a, t - 1, 0)) return false;
    addToElem(a, t - 1, 1);
    return true;
  }
  const c = a.get(t - 1);
  if (c === 0) return false;
  a.set(t - 1, c + 1);
  return true;
}

/**
 * atomic_add / atomic_sub_and_test on T's count; true when it reached zero. The count is kept at -4 or
 * above (an underflow is recorded; the count below it is the model's bound, not the kernel's). As
 * getUnlessZero: read once in a search; while the derivation listens, asked "below zero?", "zero?"
 * and "at or above the bound?" after the addition, then added to (or set to the bound).
 */
function addRef(s: any, t: number, n: number): boolean {
  if (!ptTouch(s, t)) return false;
  const a = s.pte_refcount;
  if (obsLog.h !== null) {
    const under = !elemAbove(a, t - 1, -n - 1);
    const zero = n < 0 && elemIs(a, t - 1, -n);
    if (under) raise(s, Fault.REFCOUNT_UNDERFLOW);
    if (elemAbove(a, t - 1, -5 - n)) addToElem(a, t - 1, n);
    else storeElem(a, t - 1, -4);
    return zero;
  }
  const c = a.get(t - 1) + n;
  if (c < 0) raise(s, Fault.REFCOUNT_UNDERFLOW);
  a.set(t - 1, Math.max(c, -4));
  return n < 0 && c === 0;
}

/** pte_try_get(): `pte_try_get` = rcu_read_lock + READ_ONCE(*pmd); then `pte_get_unless_zero` + rcu_read_unlock. */
function pteTryGet<const OK extends string, const NO extends string | typeof DONE>(ok: OK, no: NO) {
  return {
    pte_try_get: (s: any, me: any) => {
      const v = s.pmd.v;
      if (!isTable(v)) return no; // TRYGET_FAILED_NONE (rcu_read_unlock)
      rcuReadLock(me);
      me.pmdval = v;
      return 'pte_get_unless_zero' as const;
    },
    pte_get_unless_zero: (s: any, me: any) => {
      const got = getUnlessZero(s, me.pmdval);
      rcuReadUnlock(s, me);
      me.pmdval = PMD_NONE;
      return got ? ok : no; // TRYGET_SUCCESSED : TRYGET_FAILED_ZERO
    },
  };
}

/** The pre-2023 pte_offset_map_lock macro: *pmd read twice, then spin_lock; no recheck. */
function offsetMapLock<const N extends string>(next: N) {
  return {
    pte_lockptr: (s: any, me: any) => {
      me.ptlT = s.pmd.v;
      return 'pte_offset_map' as const;
    },
    pte_offset_map: (s: any, me: any) => {
      me.mapT = s.pmd.v;
      return 'spin_lock(ptl)' as const;
    },
    'spin_lock(ptl)': (s: any, me: any) => (ptlLock(s, me, me.ptlT) ? next : BLOCKED),
  };
}

/**
 * pte_put(mm, pmd, addr) / pte_put_many(.., nr) and pte_get(pmd): `pmd_pgtable(*pmd)` re-derives the table
 * from *pmd, then `atomic_sub_and_test` (me.nr references; at zero free_user_pte_table, starting at
 * pmd_lock) or `atomic_add`. `after(me)` is where the caller goes once the put (or the get) is done.
 */
function putGet<const A extends string | typeof DONE>(after: (me: any) => A) {
  return {
    'pmd_pgtable(*pmd)': (s: any, me: any) => {
      me.pmdval = s.pmd.v;
      return me.op === 'get' ? ('atomic_add' as const) : ('atomic_sub_and_test' as const);
    },
    atomic_add: (s: any, me: any) => {
      addRef(s, me.pmdval, me.nr);
      me.pmdval = PMD_NONE;
      me.nr = 0;
      return after(me);
    },
    atomic_sub_and_test: (s: any, me: any) => {
      const zero = addRef(s, me.pmdval, -me.nr);
      me.pmdval = PMD_NONE;
      me.nr = 0;
      if (!zero) return after(me);
      me.in_free = true;
      return 'pmd_lock' as const; // free_user_pte_table(mm, pmd, addr & PMD_MASK)
    },
  };
}

/**
 * free_user_pte_table() after pmd_lock; `immediate` frees with pte_free instead of call_rcu. `onFree`
 * sees the table just before it is freed (observation only).
 */
function freeTail<const A extends string | typeof DONE>(immediate: boolean, after: (me: any) => A, onFree?: (s: any, me: any) => void) {
  const free = immediate ? ('pte_free' as const) : ('call_rcu' as const);
  return {
    pmdp_huge_get_and_clear: (s: any, me: any) => {
      me.pmdval = s.pmd.v; // and flush_tlb_range(&vma, addr, addr + PMD_SIZE)
      s.pmd.v = PMD_NONE;
      return 'spin_unlock(pml)' as const;
    },
    mm_dec_nr_ptes: (s: any, me: any) => {
      mmDecNrPtes(s);
      return free;
    },
    [free]: (s: any, me: any) => {
      onFree?.(s, me);
      if (immediate) pagetableDtorFree(s, me.pmdval);
      else if (me.pmdval > 0) callRcu(s, me, me.pmdval - 1, PTE_FREE_RCU, me.pmdval);
      else pagetableDtorFree(s, me.pmdval); // pmd_pgtable() of a none pmd: a garbage free
      me.pmdval = PMD_NONE;
      me.in_free = false;
      return after(me);
    },
  } as {
    pmdp_huge_get_and_clear: (s: any, me: any) => 'spin_unlock(pml)';
    mm_dec_nr_ptes: (s: any, me: any) => 'call_rcu' | 'pte_free';
    call_rcu: (s: any, me: any) => A;
    pte_free: (s: any, me: any) => A;
  };
}

const baseLocals = {
  pmdval: tableRef(),
  ptlT: tableRef(),
  mapT: tableRef(),
  op: enumOf(['put', 'get'] as const),
  nr: int(0, 2),
  in_free: bool(),
};

/** pmd_lock / spin_unlock(pml) of free_user_pte_table for threads that take pml nowhere else. */
function freeLock() {
  return {
    pmd_lock: (s: any, me: any) => (spinLock(me, s.pml) ? ('pmdp_huge_get_and_clear' as const) : BLOCKED),
    'spin_unlock(pml)': (s: any, me: any) => {
      spinUnlock(s, me, s.pml);
      return 'mm_dec_nr_ptes' as const;
    },
  };
}

/** MADV_DONTNEED: zap_pmd_range + zap_pte_range. */
export function madvise(st: St, immediate: boolean) {
  return thread(st, {
    locals: { ...baseLocals, nr_put: int(0, 1), stage: enumOf(['zap', 'own'] as const) },
    steps: {
      ...pteTryGet('pte_lockptr', DONE), // pmd_trans_unstable_or_pte_try_get: goto next
      ...offsetMapLock('ptep_get_and_clear_full'),
      ptep_get_and_clear_full: (s, me) => {
        if (readPte(s, me.mapT, 0) !== 0) {
          setPte(s, me, me.mapT, 0, 0);
          me.nr_put = 1;
        }
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.ptlT);
        me.ptlT = PMD_NONE;
        me.mapT = PMD_NONE;
        me.op = 'put';
        if (me.nr_put) {
          me.nr = me.nr_put; // if (nr_put) pte_put_many(mm, pmd, start, nr_put)
          me.nr_put = 0;
        } else {
          me.stage = 'own';
          me.nr = 1;
        }
        return 'pmd_pgtable(*pmd)';
      },
      ...putGet((me) => {
        if (me.stage === 'own') return DONE;
        me.stage = 'own'; // zap_pmd_range: pte_put(tlb->mm, pmd, addr)
        me.nr = 1;
        return 'pmd_pgtable(*pmd)' as const;
      }),
      ...freeLock(),
      ...freeTail(
        immediate,
        (me) => {
          if (me.stage === 'own') return DONE;
          me.stage = 'own';
          me.nr = 1;
          return 'pmd_pgtable(*pmd)' as const;
        },
        (s, me) => {
          if (me.pmdval === 1) s.seen_madvise_frees_t1 = true;
        },
      ),
    },
  });
}

/** A walker that takes a reference first (smaps_pte_range, follow_page_pte, ... in the series). */
export function walker(st: St, n: number, immediate: boolean) {
  return thread(st, {
    count: n,
    locals: baseLocals,
    steps: {
      ...pteTryGet('pte_lockptr', DONE),
      ...offsetMapLock('ptep_get'),
      ptep_get: (s, me) => {
        readPte(s, me.mapT, 0);
        s.seen_walker_read = true;
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.ptlT);
        me.ptlT = PMD_NONE;
        me.mapT = PMD_NONE;
        me.op = 'put';
        me.nr = 1;
        return 'pmd_pgtable(*pmd)';
      },
      ...putGet(() => DONE),
      ...freeLock(),
      ...freeTail(immediate, () => DONE),
    },
  });
}

/** The walker as before the series: pmd_trans_unstable(), then pte_offset_map_lock() with no reference. */
export function walkerWithoutTryget(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: baseLocals,
    steps: {
      pmd_trans_unstable: (s, me) => (isTable(s.pmd.v) ? 'pte_lockptr' : DONE),
      ...offsetMapLock('ptep_get'),
      ptep_get: (s, me) => {
        readPte(s, me.mapT, 0);
        s.seen_walker_read = true;
        return 'pte_unmap_unlock';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.ptlT);
        me.ptlT = PMD_NONE;
        me.mapT = PMD_NONE;
        return DONE;
      },
    },
  });
}

/** do_anonymous_page with pte_alloc_try_get. */
export function fault(st: St, n: number, immediate: boolean) {
  return thread(st, {
    count: n,
    locals: { ...baseLocals, new: tableRef(), retry: bool() },
    steps: {
      ...pteTryGet('pte_lockptr', 'pte_alloc_one'), // pte_alloc_try_get: else __pte_alloc_try_get
      pte_alloc_one: (s, me) => {
        me.new = ptAlloc(s);
        return 'pmd_lock';
      },
      pmd_lock: (s, me) => {
        if (!spinLock(me, s.pml)) return BLOCKED;
        return me.in_free ? 'pmdp_huge_get_and_clear' : 'pte_install_try_get';
      },
      pte_install_try_get: (s, me) => {
        const v = s.pmd.v;
        if (v === PMD_NONE) {
          mmIncNrPtes(s); // __pte_install: mm_inc_nr_ptes, pmd_populate, pte_ref_init(pte, pmd, 1)
          s.pmd.v = me.new;
          s.pte_refcount.set(me.new - 1, 1);
          me.new = PMD_NONE;
        } else if (!getUnlessZero(s, v)) {
          me.retry = true; // spin_unlock(ptl); goto retry;
        }
        return 'spin_unlock(pml)';
      },
      'spin_unlock(pml)': (s, me) => {
        spinUnlock(s, me, s.pml);
        if (me.in_free) return 'mm_dec_nr_ptes';
        if (me.retry) {
          me.retry = false;
          return 'pmd_lock';
        }
        return me.new !== PMD_NONE ? 'pte_free(new)' : 'pte_lockptr';
      },
      'pte_free(new)': (s, me) => {
        pagetableDtorFree(s, me.new); // __pte_alloc_try_get: the new table was not needed
        me.new = PMD_NONE;
        return 'pte_lockptr';
      },
      ...offsetMapLock('set_pte_at'),
      set_pte_at: (s, me) => {
        setPte(s, me, me.mapT, me.index + 1, me.index + 2);
        me.op = 'get'; // pte_get(vmf->pmd)
        me.nr = 1;
        return 'pmd_pgtable(*pmd)';
      },
      pte_unmap_unlock: (s, me) => {
        ptlUnlock(s, me, me.ptlT);
        me.ptlT = PMD_NONE;
        me.mapT = PMD_NONE;
        me.op = 'put'; // pte_put(vma->vm_mm, vmf->pmd, vmf->address)
        me.nr = 1;
        return 'pmd_pgtable(*pmd)';
      },
      ...putGet((me) => (me.op === 'get' ? 'pte_unmap_unlock' : DONE)),
      ...freeTail(immediate, () => DONE),
    },
  });
}

export function threads(st: St, p: Params, immediate: boolean) {
  return {
    madvise: madvise(st, immediate),
    walker: walker(st, p.walkers, immediate),
    fault: fault(st, p.faults, immediate),
    rcu: rcuThread(st, ['pte_free_rcu'], { pte_free_rcu: (s, t) => pagetableDtorFree(s, t) }, 1 + p.faults),
  };
}

export default defineModel({
  name: 'pte-refcount',
  title: 'pte_refcount (2021): pte_try_get / pte_put against MADV_DONTNEED freeing at zero',
  doc: 'protocols.md §4a (seed 002): every user of a PTE table holds page->pte_refcount; the last pte_put clears *pmd under pml and frees the table through RCU.',
  params: {
    faults: { min: 0, max: 2, default: 2, doc: 'page-fault threads (each maps its own address, installing a table if needed)' },
    walkers: { min: 0, max: 2, default: 1, doc: 'page-table walkers (read one entry)' },
  },
  build: (p) => {
    const st = state(p);
    return {
      state: st,
      init: (s: any) => {
        ptInitInstalled(s, s.pmd, 1);
        s.pt[0].pte.set(0, 1); // the page MADV_DONTNEED will zap, holding one reference
        s.pte_refcount.set(0, 1);
      },
      threads: threads(st, p, false),
    };
  },
  variants: {
    'rcu-deferred': {
      summary: 'lockless pte_try_get under rcu_read_lock; the last pte_put frees the table through call_rcu',
      patch: 'Qi Zheng, "[PATCH v3 13/15] mm/pte_ref: free user PTE page table pages", Nov 10 2021',
    },
    'immediate-free': {
      summary: 'free_user_pte_table frees at once (pte_free) while pte_try_get still reads *pmd locklessly',
      patch: 'Qi Zheng, "[PATCH 5/7] mm: free user PTE page table pages" (free_pte_table -> pte_free), Jul 18 2021, with the v3 pte_try_get',
      apply: (d, p) => {
        const st = state(p);
        Object.assign(d.threads, threads(st, p, true));
      },
    },
    'walker-without-tryget': {
      summary: 'the walker keeps pmd_trans_unstable() + the old pte_offset_map_lock() and holds no reference',
      patch: 'Documentation/vm/pte_ref.rst ("broken!!" scenario), v3 Nov 10 2021',
      apply: (d, p) => replaceThreads(d, { walker: walkerWithoutTryget(state(p), p.walkers) }),
    },
  },
});
