/*
 * try-to-free-user-pte — is the 2022 percpu_ref RFC's empty-PTE-table reclaim safe against the page
 * fault and the page-table walkers it races with?
 *
 * Kernel code followed (protocols.md §4a; seed 000; Qi Zheng, "[RFC PATCH 00/18] Try to free user PTE
 * page table pages", Apr 29 2022, 20220429133552.33768-1-zhengqi.arch@bytedance.com, on v5.18-rc2):
 *   02/18 lib/percpu-refcount.c  percpu_ref_switch_to_atomic_sync() drops its own reference only after
 *                                wait_event() (src/kernel/percpu-ref.ts)
 *   08/18 mm/pte_ref.c           pte_ref_init(): a percpu_ref per PTE table, percpu mode, count put to 0
 *   09/18 mm/pte_ref.c           pte_tryget(): rcu_read_lock, READ_ONCE(*pmd), none/leaf -> false,
 *                                !percpu_ref_tryget -> rcu_read_unlock, free_user_pte() ("prevent missed
 *                                reclaim"), false; __pte_put(); pte_put(ptep) puts pte_to_page(ptep)
 *   10/18 include/linux/pgtable.h pte_tryget_map_lock(): pte_tryget, then pte_lockptr(*pmd) and
 *                                pte_offset_map(*pmd) (both read *pmd again), spin_lock; no recheck
 *   11/18 mm/memory.c            zap_pte_range(), do_anonymous_page() converted to pte_tryget_map_lock
 *   13/18 mm/pte_ref.c           try_to_free_user_pte(), free_user_pte()                     (seed 000)
 *   14/18 mm/memory.c            zap_pte_range() ends with try_to_free_user_pte(mm, pmd, start, true)
 *   15/18 mm/madvise.c           madvise_free_pte_range(): try_to_free_user_pte(.., !have_lazyfree)
 *   16/18, 17/18                 set_pte_at() calls track_pte_set() (BUG_ON(percpu_ref_is_zero); get on
 *                                none -> !none) before the store; ptep_get_and_clear*() call
 *                                track_pte_clear() (BUG_ON(is_zero); put) after it
 *
 * Threads:
 *   madvise   MADV_DONTNEED of the page at address 0: zap_pte_range (pte_tryget_map_lock,
 *             ptep_get_and_clear_full + track_pte_clear, pte_unmap_unlock = spin_unlock + pte_put), then
 *             try_to_free_user_pte(mm, pmd, start, switch_back): pte_tryget, pte = pmd_pgtable(*pmd),
 *             percpu_ref_switch_to_atomic_sync(pte->pte_ref), rcu_read_lock, __pte_put(pte),
 *             percpu_ref_is_zero -> free_user_pte; else, with switch_back, pte_tryget again and
 *             percpu_ref_switch_to_percpu(pte->pte_ref), __pte_put(pte) on the `pte` derived at the start.
 *   walker<i> a pte_tryget_map_lock user that only reads (smaps_pte_range, walk_pte_range, ...): when
 *             the ref is in atomic mode at zero its tryget fails, pte_tryget calls free_user_pte, and the
 *             walk returns.
 *   fault<i>  do_anonymous_page at address i+1: pte_alloc (pmd_install of a fresh table, ref in percpu
 *             mode at zero) when *pmd is none, pte_tryget_map_lock, set_pte_at (track_pte_set), unlock,
 *             pte_put. A failed pte_tryget_map_lock returns 0 and the access faults again (retry).
 *   rcu       runs pte_free_rcu (pgtable dtor frees the pte_ref too) and percpu_ref_switch_to_atomic_rcu
 *             once their grace periods end.
 *
 * Steps and the code they follow (the RFC's patches as numbered above; never merged):
 *   madvise   pte_tryget, percpu_ref_tryget: pte_tryget() (09/18); pte_lockptr, pte_offset_map,
 *             spin_lock(ptl): pte_tryget_map_lock() (10/18); ptep_get_and_clear_full, track_pte_clear:
 *             zap_pte_range() (11/18) with track_pte_clear() (17/18); spin_unlock(ptl), pte_put:
 *             pte_unmap_unlock + pte_put() (09/18); pmd_pgtable(*pmd) .. '__pte_put(pte)':
 *             try_to_free_user_pte() (13/18), its percpu_ref_switch_to_atomic_sync() as the switch and
 *             wait_event(confirm_switch) (02/18); pmd_lock .. call_rcu: free_user_pte() (13/18)
 *   walker<i> pte_tryget .. spin_lock(ptl) as madvise; ptep_get: the walker's read (smaps_pte_range,
 *             walk_pte_range, converted in 11/18); spin_unlock(ptl), pte_put as madvise; pmd_lock ..
 *             call_rcu: free_user_pte() from pte_tryget()'s failure path (09/18)
 *   fault<i>  pmd_none .. pte_free: pte_alloc() -> __pte_alloc() -> pmd_install(), the new table's
 *             pte_ref_init() (08/18); pte_tryget .. spin_lock(ptl): pte_tryget_map_lock() in
 *             do_anonymous_page() (11/18); track_pte_set, set_pte_at: 16/18; spin_unlock(ptl), pte_put as
 *             madvise; pmd_lock .. call_rcu: free_user_pte() on a failed pte_tryget (09/18)
 *   rcu       pte_free_rcu (the pgtable destructor frees the pte_ref with its table, 08/18) and
 *             percpu_ref_switch_to_atomic_rcu (lib/percpu-refcount.c, in 02/18's order)
 *
 * Variants (expected results at the default parameters; the traces are in specs/try-to-free-user-pte.ts):
 *   rfc              try_to_free_user_pte(.., switch_back = false): the helper as posted, called as
 *                    MADV_FREE calls it when it marked lazyfree pages, and as Qi's own review of 13/18
 *                    (Apr 30 2022) says MADV_DONTNEED should call it.                         VIOLATED
 *   rfc-switch-back  switch_back = true, as 14/18 passes from zap_pte_range.                 VIOLATED
 *   Both because free_user_pte() clears and frees whatever table *pmd holds when it gets pml, without
 *   looking at that table's pte_ref: called from pte_tryget's failure path (or after
 *   percpu_ref_is_zero of a table that a failed tryget has already freed), it frees the new table a
 *   fault installed and is using. rfc-switch-back also switches back and puts the stale `pte` after its
 *   second pte_tryget took a reference on a different table: use-after-free of the old table's pte_ref
 *   and a leaked reference on the new one (a bug of its own: see the spec header).
 *
 * Abstracted, and why that is sound here:
 *   - one pmd entry and its pml; PTE slot 0 is the page MADV_DONTNEED zaps, slot i+1 fault i's page, so
 *     no two threads race on one entry; no THP (pmd_leaf never true), no GUP-fast;
 *   - the RCU read section of pte_tryget starts with READ_ONCE(*pmd) and ends with percpu_ref_tryget, and
 *     try_to_free_user_pte's starts with __pte_put and ends with percpu_ref_is_zero: rcu_read_lock and
 *     rcu_read_unlock are merged into the neighbouring step. The thread does nothing else inside the
 *     section, so this only removes interleavings where a grace period starts (or ends) next to a step
 *     with no effect of its own, and those behave like the ones where it starts on the other side;
 *   - free_user_pte's pmdval = *pmd and the none/leaf test are merged into pmd_lock, and pmd_clear with
 *     flush_tlb_range: every writer of *pmd holds pml (no hardware walker is modelled, so no TLB);
 *   - handle_pte_fault's own pte_tryget_map/pte_unmap look at the entry before do_anonymous_page is left
 *     out: it is another reader like the walker;
 *   - percpu_ref: the sum of the per-CPU counters stands for all of them, since each this_cpu op is
 *     atomic and only the sum is ever read (by the switch, after its grace period);
 *   - pte_free_debug (CONFIG_DEBUG_VM) is left to the free itself, which checks emptiness;
 *   - tables are never reused after free (the first touch after free is already the fault). RCU is
 *     consolidated (mainline since v4.20; the RFC was on v5.18-rc2): holding pml or a ptl is a
 *     read-side section, so pte_free_rcu and the switch-to-atomic callback also wait for spinlock
 *     holders. The traces in the spec hold with it: each fault there happens with the victim holding no
 *     lock and no rcu_read_lock when the free is queued (see the spec header).
 *   - the split ptlock has its own lifetime (kernelState separatePtlock, ALLOC_SPLIT_PTLOCKS):
 *     it is freed where mainline frees it, in the same step as its table: pte_free_rcu() / pte_free() (pgtable_pte_page_dtor, then __free_page).
 */

import { BLOCKED, DONE, defineModel, thread, replaceThreads } from '../src/model/model.ts';
import { array, bool, int } from '../src/model/schema.ts';
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
import {
  percpuRef,
  percpuRefGet,
  percpuRefInit,
  percpuRefIsZero,
  percpuRefPut,
  percpuRefSwitchToAtomic,
  percpuRefSwitchToAtomicRcu,
  percpuRefSwitchToAtomicWait,
  percpuRefSwitchToPercpu,
  percpuRefTryget,
  type PercpuRefView,
} from '../src/kernel/percpu-ref.ts';

const PTE_FREE_RCU = 1; // rcu callback ids, 1-based, in the order given to kernelState
const SWITCH_TO_ATOMIC_RCU = 2;

interface Params {
  readonly faults: number;
  readonly walkers: number;
}

/**
 * Table pool: T1 plus every table a fault may allocate. A fault allocates once per pass that finds *pmd
 * none; it passes again only after a failed pte_tryget, and every failure needs a free_user_pte or an
 * atomic-mode ref at zero, of which there are boundedly many. Too small a pool is a model error, never a
 * silent cut.
 */
function tablesFor(p: Params): number {
  return 1 + p.faults * (3 + p.faults + p.walkers);
}

export function state(p: Params) {
  const tables = tablesFor(p);
  return kernelState(
    {
      tables,
      ptes: 1 + p.faults,
      rcuHeads: 2 * tables, // head t-1: the page's rcu_head; head tables+t-1: pte_ref->data->rcu
      rcuCallbacks: ['pte_free_rcu', 'percpu_ref_switch_to_atomic_rcu'],
      separatePtlock: true,
    },
    {
      pmd: pmdEntry(),
      pml: lock(),
      pte_ref: array(tables, percpuRef(), (i) => `T${i + 1}.pte_ref`),
      /** observation only (no step reads them): a percpu_ref_tryget failed; switch_back ran; MADV_DONTNEED's own free_user_pte queued T1 */
      seen_tryget_fail: bool(),
      seen_switch_back: bool(),
      seen_madvise_frees_t1: bool(),
    },
  );
}
export type St = ReturnType<typeof state>;

const isTable = (v: number) => v > 0;

/** page->pte_ref of table t: touching it is touching the table (it is freed by the table's dtor). */
function refOf(s: any, t: number): PercpuRefView | undefined {
  if (!ptTouch(s, t)) return undefined; // pmd_pgtable() of a none pmd: fault recorded
  return s.pte_ref[t - 1] as PercpuRefView;
}

function refHead(s: any, t: number): number {
  return s.pt.length + t - 1;
}

/** track_pte_set / track_pte_clear: BUG_ON(percpu_ref_is_zero(page->pte_ref)). */
function bugOnZero(s: any, r: PercpuRefView | undefined): void {
  if (r && percpuRefIsZero(r)) raise(s, Fault.BUG);
}

/**
 * pte_tryget() (09/18) as two steps. `pte_tryget`: rcu_read_lock, pmdval = READ_ONCE(*pmd); none or leaf
 * -> rcu_read_unlock, false. `percpu_ref_tryget` on pmd_pgtable(pmdval), then rcu_read_unlock; a failure
 * calls free_user_pte(mm, pmd, addr & PMD_MASK), which starts at `pmd_lock`.
 */
function pteTryget<const OK extends string, const NO extends string | typeof DONE>(ok: (me: any) => OK, no: NO) {
  return {
    pte_tryget: (s: any, me: any) => {
      const v = s.pmd.v;
      if (!isTable(v)) return no;
      rcuReadLock(me);
      me.pmdval = v;
      return 'percpu_ref_tryget' as const;
    },
    percpu_ref_tryget: (s: any, me: any) => {
      const r = refOf(s, me.pmdval);
      const got = r !== undefined && percpuRefTryget(r);
      rcuReadUnlock(s, me);
      me.pmdval = PMD_NONE;
      if (got) return ok(me);
      s.seen_tryget_fail = true;
      me.in_free = true;
      return 'pmd_lock' as const; // free_user_pte(): "prevent missed reclaim due to race condition"
    },
  };
}

/**
 * free_user_pte() (13/18) after pmd_lock (which also reads pmdval = *pmd and tests none/leaf, see
 * the header): pmd_clear + flush_tlb_range, spin_unlock(pml), mm_dec_nr_ptes, call_rcu(pte_free_rcu).
 * `spin_unlock(pml)` is the thread's own (the fault shares it with pmd_install). `onFree` sees the table
 * just before call_rcu (observation only).
 */
function freeUserPteTail<const A extends string | typeof DONE>(after: A, onFree?: (s: any, me: any) => void) {
  return {
    pmd_clear: (s: any, me: any) => {
      s.pmd.v = PMD_NONE; // and flush_tlb_range(&vma, addr, addr + PMD_SIZE)
      return 'spin_unlock(pml)' as const;
    },
    mm_dec_nr_ptes: (s: any, me: any) => {
      mmDecNrPtes(s);
      return 'call_rcu' as const;
    },
    call_rcu: (s: any, me: any) => {
      onFree?.(s, me);
      callRcu(s, me, me.pmdval - 1, PTE_FREE_RCU, me.pmdval);
      me.pmdval = PMD_NONE;
      me.in_free = false;
      return after;
    },
  };
}

/** free_user_pte's pmd_lock for a thread that takes pml nowhere else. */
function freeUserPteLock() {
  return {
    pmd_lock: (s: any, me: any) => {
      if (!spinLock(me, s.pml)) return BLOCKED;
      me.pmdval = s.pmd.v; // under pml: every *pmd writer holds it
      return isTable(me.pmdval) ? ('pmd_clear' as const) : ('spin_unlock(pml)' as const);
    },
  };
}

/** pte_tryget_map_lock after a successful pte_tryget: *pmd read twice more, then spin_lock, no recheck. */
function mapLock<const N extends string>(next: N) {
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

/** pte_unmap_unlock: spin_unlock(ptl), then pte_put(ptep) = __pte_put(pte_to_page(ptep)). */
function unmapUnlock<const N extends string | typeof DONE>(next: (me: any) => N) {
  return {
    'spin_unlock(ptl)': (s: any, me: any) => {
      ptlUnlock(s, me, me.ptlT);
      me.ptlT = PMD_NONE;
      return 'pte_put' as const;
    },
    pte_put: (s: any, me: any) => {
      const r = refOf(s, me.mapT);
      if (r) percpuRefPut(s, r);
      me.mapT = PMD_NONE;
      return next(me);
    },
  };
}

const mapLocals = { pmdval: tableRef(), ptlT: tableRef(), mapT: tableRef(), in_free: bool() };

const ZAP = 0;
const TRY_FREE = 1;
const SWITCH_BACK = 2;

/** MADV_DONTNEED: zap_pte_range (11/18, 14/18) then try_to_free_user_pte (13/18). */
export function madvise(st: St, switchBack: boolean) {
  return thread(st, {
    locals: { ...mapLocals, site: int(ZAP, SWITCH_BACK, ZAP, (v) => ['zap', 'try_free', 'switch_back'][v]!), old: int(0, 15), pte: tableRef() },
    steps: {
      ...pteTryget(
        (me) => (me.site === ZAP ? 'pte_lockptr' : me.site === TRY_FREE ? 'pmd_pgtable(*pmd)' : 'percpu_ref_switch_to_percpu'),
        DONE, // zap_pte_range returns end (no try_to_free_user_pte); try_to_free_user_pte returns
      ),
      ...mapLock('ptep_get_and_clear_full'),
      ptep_get_and_clear_full: (s, me) => {
        me.old = readPte(s, me.mapT, 0);
        if (me.old !== 0) setPte(s, me, me.mapT, 0, 0);
        return 'track_pte_clear';
      },
      track_pte_clear: (s, me) => {
        const r = refOf(s, me.mapT);
        bugOnZero(s, r);
        if (r && me.old !== 0) percpuRefPut(s, r);
        me.old = 0;
        return 'spin_unlock(ptl)';
      },
      ...unmapUnlock((me) => {
        me.site = TRY_FREE; // zap_pte_range: if (free_pte) try_to_free_user_pte(mm, pmd, start, true)
        return 'pte_tryget' as const;
      }),
      'pmd_pgtable(*pmd)': (s, me) => {
        me.pte = s.pmd.v; // pte = pmd_pgtable(*pmd): *pmd read again after pte_tryget
        return 'percpu_ref_switch_to_atomic';
      },
      percpu_ref_switch_to_atomic: (s, me) => {
        const r = refOf(s, me.pte);
        if (r && !percpuRefSwitchToAtomic(s, me, r, refHead(s, me.pte), SWITCH_TO_ATOMIC_RCU, me.pte)) return BLOCKED;
        return 'wait_event(confirm_switch)';
      },
      'wait_event(confirm_switch)': (s, me) => {
        const r = refOf(s, me.pte);
        if (r && !percpuRefSwitchToAtomicWait(s, r)) return BLOCKED;
        return '__pte_put';
      },
      __pte_put: (s, me) => {
        rcuReadLock(me); // rcu_read_lock(); __pte_put(pte);
        const r = refOf(s, me.pte);
        if (r) percpuRefPut(s, r);
        return 'percpu_ref_is_zero';
      },
      percpu_ref_is_zero: (s, me) => {
        const r = refOf(s, me.pte);
        const zero = r !== undefined && percpuRefIsZero(r);
        rcuReadUnlock(s, me);
        if (zero) {
          me.pte = PMD_NONE;
          return 'pmd_lock'; // free_user_pte(mm, pmd, addr & PMD_MASK)
        }
        if (!switchBack) {
          me.pte = PMD_NONE;
          return DONE;
        }
        me.site = SWITCH_BACK;
        return 'pte_tryget';
      },
      percpu_ref_switch_to_percpu: (s, me) => {
        s.seen_switch_back = true;
        const r = refOf(s, me.pte); // the `pte` derived before the switch, not what pte_tryget just got
        if (r && !percpuRefSwitchToPercpu(r)) return BLOCKED;
        return '__pte_put(pte)';
      },
      '__pte_put(pte)': (s, me) => {
        const r = refOf(s, me.pte);
        if (r) percpuRefPut(s, r);
        me.pte = PMD_NONE;
        return DONE;
      },
      ...freeUserPteLock(),
      'spin_unlock(pml)': (s, me) => {
        spinUnlock(s, me, s.pml);
        if (isTable(me.pmdval)) return 'mm_dec_nr_ptes';
        me.in_free = false;
        return DONE;
      },
      ...freeUserPteTail(DONE, (s, me) => {
        if (me.pmdval === 1) s.seen_madvise_frees_t1 = true;
      }),
    },
  });
}

/** A read-only pte_tryget_map_lock user: map, read its entry, unmap. */
export function walker(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: mapLocals,
    steps: {
      ...pteTryget(() => 'pte_lockptr', DONE), // if (!pte) return: the walk skips this pmd
      ...mapLock('ptep_get'),
      ptep_get: (s, me) => {
        readPte(s, me.mapT, 0);
        return 'spin_unlock(ptl)';
      },
      ...unmapUnlock(() => DONE),
      ...freeUserPteLock(),
      'spin_unlock(pml)': (s, me) => {
        spinUnlock(s, me, s.pml);
        if (isTable(me.pmdval)) return 'mm_dec_nr_ptes';
        me.in_free = false;
        return DONE;
      },
      ...freeUserPteTail(DONE),
    },
  });
}

/** do_anonymous_page (11/18): pte_alloc, pte_tryget_map_lock (fail: return 0, fault again), set_pte_at. */
export function fault(st: St, n: number) {
  return thread(st, {
    count: n,
    locals: { ...mapLocals, new: tableRef() },
    steps: {
      pmd_none: (s, me) => (s.pmd.v === PMD_NONE ? 'pte_alloc_one' : 'pte_tryget'),
      pte_alloc_one: (s, me) => {
        me.new = ptAlloc(s);
        const r = s.pte_ref[me.new - 1]!;
        percpuRefInit(r); // pgtable_pte_page_ctor -> pte_ref_init: percpu_ref_init, then
        percpuRefPut(s, r); //   percpu_ref_put "to start with the refcount at zero"
        return 'pmd_lock';
      },
      pmd_lock: (s, me) => {
        if (!spinLock(me, s.pml)) return BLOCKED;
        if (!me.in_free) return 'pmd_install';
        me.pmdval = s.pmd.v; // free_user_pte: under pml, every *pmd writer holds it
        return isTable(me.pmdval) ? 'pmd_clear' : 'spin_unlock(pml)';
      },
      pmd_install: (s, me) => {
        if (s.pmd.v === PMD_NONE) {
          mmIncNrPtes(s);
          s.pmd.v = me.new; // pmd_populate
          me.new = PMD_NONE;
        }
        return 'spin_unlock(pml)';
      },
      'spin_unlock(pml)': (s, me) => {
        spinUnlock(s, me, s.pml);
        if (me.in_free) {
          if (isTable(me.pmdval)) return 'mm_dec_nr_ptes';
          me.in_free = false;
          return 'pmd_none'; // pte_tryget failed: return 0, the access faults again
        }
        return me.new !== PMD_NONE ? 'pte_free' : 'pte_tryget';
      },
      pte_free: (s, me) => {
        pagetableDtorFree(s, me.new); // lost the race: another fault installed a table
        me.new = PMD_NONE;
        return 'pte_tryget';
      },
      ...pteTryget(() => 'pte_lockptr', 'pmd_none'),
      ...mapLock('track_pte_set'),
      track_pte_set: (s, me) => {
        const r = refOf(s, me.mapT);
        bugOnZero(s, r);
        if (r && readPte(s, me.mapT, me.index + 1) === 0) percpuRefGet(r);
        return 'set_pte_at';
      },
      set_pte_at: (s, me) => {
        setPte(s, me, me.mapT, me.index + 1, me.index + 2);
        return 'spin_unlock(ptl)';
      },
      ...unmapUnlock(() => DONE),
      ...freeUserPteTail('pmd_none'),
    },
  });
}

export default defineModel({
  name: 'try-to-free-user-pte',
  title: 'try_to_free_user_pte(): 2022 percpu_ref RFC reclaim vs faults and pte_tryget walkers',
  doc: 'protocols.md §4 (seed 000): MADV_DONTNEED switches the PTE table percpu_ref to atomic mode and frees the table at zero; walkers and faults take the ref with pte_tryget, which calls free_user_pte itself when the tryget fails.',
  params: {
    faults: { min: 1, max: 2, default: 1, doc: 'page-fault threads (each maps its own address, installing a table if *pmd is none)' },
    walkers: { min: 0, max: 2, default: 1, doc: 'read-only pte_tryget_map_lock walkers' },
  },
  build: (p) => {
    const st = state(p);
    const tables = tablesFor(p);
    return {
      state: st,
      init: (s: any) => {
        ptInitInstalled(s, s.pmd, 1);
        s.pt[0].pte.set(0, 1); // the page MADV_DONTNEED will zap
        const r = s.pte_ref[0] as PercpuRefView;
        percpuRefInit(r); // pte_ref_init: init at 1, put to 0 ...
        percpuRefPut(s, r);
        percpuRefGet(r); // ... and track_pte_set's get for the page
      },
      threads: {
        madvise: madvise(st, false),
        walker: walker(st, p.walkers),
        fault: fault(st, p.faults),
        rcu: rcuThread(
          st,
          ['pte_free_rcu', 'percpu_ref_switch_to_atomic_rcu'],
          {
            pte_free_rcu: (s, t) => pagetableDtorFree(s, t), // pgtable_pte_page_dtor frees the pte_ref with it
            percpu_ref_switch_to_atomic_rcu: (s, t) => {
              const r = refOf(s, t);
              if (r) percpuRefSwitchToAtomicRcu(s, r);
            },
          },
          2 * tables,
        ),
      },
    };
  },
  variants: {
    rfc: {
      summary: 'try_to_free_user_pte with switch_back = false: leave the ref in atomic mode when it is not zero',
      patch: 'Qi Zheng, "[RFC PATCH 13/18] mm: add try_to_free_user_pte() helper", Apr 29 2022 (review of it, Apr 30 2022)',
    },
    'rfc-switch-back': {
      summary: 'switch_back = true (zap_pte_range in 14/18): pte_tryget again, switch the old `pte` back to percpu and put it',
      patch: 'Qi Zheng, "[RFC PATCH 14/18] mm: use try_to_free_user_pte() in MADV_DONTNEED case", Apr 29 2022',
      apply: (d, p) => replaceThreads(d, { madvise: madvise(state(p), true) }),
    },
  },
});
