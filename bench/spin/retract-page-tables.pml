/*
 * retract-page-tables.pml — the SPIN twin of models/retract-page-tables.ts, variant `upstream`
 * (khugepaged's retract_page_tables() with check_pmd_state under pml and the retractable recheck
 * under ptl, against MADV_DONTNEED with PT_RECLAIM, read faults and UFFDIO_COPY), written at the same
 * atomicity so that, with reductions off, SPIN and ptcheck explore the same state graph and store the
 * same number of distinct states.
 *
 *   spin -o2 -DFAULTS=1 -a retract-page-tables.pml
 *   gcc -O2 -DNOREDUCE -DSAFETY -DNOCLAIM -DNOFAIR -o pan pan.c -w && ./pan -m100000 -w22
 *     "states, stored" == `ptcheck verify retract-page-tables --variant upstream --param faults=1
 *     --no-symmetry --no-por --workers 1`'s distinct states (6579 / 96497 for FAULTS = 0 / 1,
 *     with consolidated RCU). -o2 keeps the variables no statement reads
 *     (the ghost flags, ipi_wait) in the state vector, as ptcheck does (the count happens to be the
 *     same without it: the ghost flags are functions of the other fields in every reachable state).
 *
 * How the twin corresponds to the model (the rules of bench/spin/pte-offset-map-lock.pml's header)
 *
 *   Threads.  ptcheck's threads, in declaration order, are khugepaged (tid 0), madvise (tid 1),
 *   fault0..fault{F-1} (tid 2..F+1; with F = 1 the instance is named `fault`), uffdio_copy (tid F+2)
 *   and rcu (tid F+3). Each is an `active proctype` whose _pid equals its tid (with FAULTS = 0 the
 *   fault proctype is left out, as ptcheck's group of 0 instances); there is no init process.
 *
 *   pc.  pc[tid] is the index of the label in the thread's `steps` declaration order, -1 once the
 *   thread returned DONE: K_* (khugepaged), M_* (madvise), L_* (fault: folio_lock, then pteAlloc's
 *   six steps, then the rest), U_* (uffdio_copy: anon_vma_prepare, pteAlloc's steps, the rest), C_*
 *   (rcu).
 *
 *   Steps.  One ptcheck step = one `d_step { guard -> body }` option of the thread's single
 *   `end: do ... od` loop; the guard is `pc[tid] == L` plus the exact condition under which the step
 *   does not return BLOCKED (a blocked step's writes are discarded in ptcheck: madvise's `pmd_lock`
 *   sets `slow` only when it gets pml; khugepaged's `spin_lock_nested(ptl)` sets `ptl` only when it
 *   gets the lock). The rcu thread's `rcu_do_batch` has one alternative per rcu_head (one per table,
 *   2 + 2F of them): one d_step per head h, in ascending h, enabled when it is queued and its grace
 *   period is over; both callbacks (pte_free_now, tlb_remove_table_rcu) are ptFree(arg).
 *
 *   State.  Every field of ptcheck's state vector is a Promela global holding the same value:
 *     faults                 int    the fault bitmask (bits as in src/kernel/faults.ts)
 *     nr_ptes                short  (1 at init)
 *     anon_vma               bit
 *     pt_state[], T[].ptl, T[].pte[]   tables T1..T{2+2F} with F+1 entries each (index t-1 is
 *                                   ptcheck's Tt; state 0 unused, 1 live, 2 freed; T1 live at init);
 *                                   pte 0 none, 1 the file page, 2 UFFDIO_COPY's anon page
 *     rcu_head[0..2+2F-1]    queued bit, wait byte (reader mask), cb byte (1 pte_free_now,
 *                            2 tlb_remove_table_rcu), arg short (-1 = none)
 *     pmd short (0 none, t = Tt; T1 at init), pml byte, new_folio byte (lock cells: owner tid + 1;
 *     new_folio = 1 at init: khugepaged holds it), ghost_retracted/zap_fast/zap_slow bits (ghost
 *     state that no step reads, stored all the same)
 *     per thread (by tid)    pc short, rcu_nesting byte, irqs_off bit, gp_wait byte, ipi_wait byte,
 *                             preempt_count byte (spinlocks held: consolidated RCU makes a holder a
 *                             reader, and its last spin_unlock its quiescent point, as rcu.ts does)
 *     khugepaged locals      k_ptl, k_pgt short (table refs), k_success bit
 *     madvise locals         m_pmdval short, m_cleared bit, m_slow bit
 *     fault locals           f_new[i], f_pmdval[i] short, f_refault[i] bit (i = tid - 2)
 *     uffdio_copy locals     u_new, u_pmdval short
 *   The masks fit a byte because there are at most 7 threads (FAULTS <= 3). Scratch variables used
 *   inside a d_step are `hidden`, so they are not part of the state vector.
 *
 *   init.  ptcheck's initial state is the Promela initial state, set by the declarations'
 *   initialisers; there is no initialising step.
 *
 *   Kernel primitives.  The inlines below transcribe src/kernel/{spinlock,rcu,pgtable,state}.ts, as
 *   in pte-offset-map-lock.pml: spin_lock/trylock/unlock, ptTouch, ptlLock/ptlUnlock/ptlHeld,
 *   readPte, setPte (WRITE_UNLOCKED, WRITE_DETACHED), ptEmpty, ptAlloc (first unused table; running
 *   out is a model error in ptcheck, an assertion here), ptFree, mm_inc/dec_nr_ptes, rcu_read_lock/
 *   unlock, call_rcu, rcuDoBatch, and the exit hooks (LOCK_HELD_AT_EXIT for any table ptl, pml or
 *   new_folio the thread owns; RCU_UNBALANCED inside a read section).
 *
 * Counts (bench/spin-count.ts checks them): pan's "states, stored" equals ptcheck's distinct states,
 * its "transitions" is ptcheck's + 1, and built with -DREVERSE its "depth reached" equals ptcheck's
 * maxDepth.
 *
 * Known differences
 *   - Properties are not checked here (the twin compares state-space size and speed); the fault
 *     branches are transcribed all the same, so the graphs are the same by construction.
 *   - ptcheck's range checks on writes and its model errors (no rcu_head for a table id, a pool of
 *     tables run dry) are assertions or absent here; ptcheck stops with an error if one happens.
 *   - The twin takes FAULTS up to 3, as ptcheck's parameter does.
 */

#ifndef FAULTS
#define FAULTS 1
#endif

#define NT     (FAULTS + 4)       /* threads: khugepaged, madvise, fault0..fault{F-1}, uffdio_copy, rcu */
#define NTAB   (2 + 2 * FAULTS)   /* tables: T1, one for UFFDIO_COPY, two per fault */
#define NPTE   (FAULTS + 1)       /* entries per table: fault i writes entry i, UFFDIO_COPY entry F */
#define NHEAD  NTAB               /* rcu_heads: one per table (head t-1 for table t) */
#define KH     0                  /* khugepaged's tid */
#define MA     1                  /* madvise's tid */
#define FT0    2                  /* fault0's tid */
#define UF     (FAULTS + 2)       /* uffdio_copy's tid */
#define RCU    (FAULTS + 3)       /* the rcu thread's tid */
#define ADDR   FAULTS             /* the PTE slot UFFDIO_COPY writes */

#define DONE     (-1)
#define PMD_NONE 0

/* table state (enumOf(['unused', 'live', 'freed'])) */
#define UNUSED 0
#define LIVE   1
#define FREED  2

/* callback ids, 1-based in the order given to kernelState */
#define PTE_FREE_NOW         1
#define TLB_REMOVE_TABLE_RCU 2

#define FILE_PAGE 1
#define ANON_PAGE 2

/* src/kernel/faults.ts */
#define F_UAF                 1
#define F_DOUBLE_FREE         2
#define F_FREE_NONEMPTY       4
#define F_FREE_GARBAGE        8
#define F_WRITE_DETACHED      16
#define F_WRITE_UNLOCKED      32
#define F_UNLOCK_NOT_OWNER    64
#define F_LOCK_HELD_AT_EXIT   128
#define F_RCU_HEAD_REQUEUED   256
#define F_RCU_UNBALANCED      512
#define F_FREE_ATTACHED       1024
#define F_NR_PTES_NEGATIVE    4096
#define F_BAD_PMD_DEREF       16384

/* khugepaged labels */
#define K_FIND_PMD_OR_THP_OR_NONE       0
#define K_FILE_BACKED_VMA_IS_RETRACTABLE 1
#define K_PMD_LOCK                      2
#define K_CHECK_PMD_STATE               3
#define K_SPIN_LOCK_NESTED_PTL          4
#define K_LIKELY_RETRACTABLE            5
#define K_PMDP_COLLAPSE_FLUSH           6
#define K_SPIN_UNLOCK_PTL               7
#define K_DROP_PML                      8
#define K_MM_DEC_NR_PTES                9
#define K_PTE_FREE_DEFER                10
#define K_FOLIO_UNLOCK                  11

/* madvise labels */
#define M_PMD_NONE                      0
#define M_RCU_READ_LOCK                 1
#define M_PMDP_GET_LOCKLESS             2
#define M_RCU_READ_UNLOCK               3
#define M_SPIN_LOCK_PTL                 4
#define M_PMD_SAME                      5
#define M_UNLOCK_GOTO_AGAIN             6
#define M_DO_ZAP_PTE_RANGE              7
#define M_TRY_GET_AND_CLEAR_PMD         8
#define M_PTE_UNMAP_UNLOCK              9
#define M_PMD_LOCK                      10
#define M_PTE_OFFSET_MAP_RW_NOLOCK      11
#define M_SPIN_LOCK_NESTED_PTL          12
#define M_PTEP_GET                      13
#define M_PMD_CLEAR                     14
#define M_SPIN_UNLOCK_PTL               15
#define M_OUT_PTL                       16
#define M_SPIN_UNLOCK_PML               17
#define M_PTE_FREE_TLB                  18
#define M_MM_DEC_NR_PTES                19

/* fault labels (folio_lock, pteAlloc('rcu_read_lock'), then __pte_offset_map_lock ...) */
#define L_FOLIO_LOCK                    0
#define L_PMD_NONE                      1
#define L_PTE_ALLOC_ONE                 2
#define L_PMD_LOCK                      3
#define L_PMD_INSTALL                   4
#define L_SPIN_UNLOCK_PML               5
#define L_PTE_FREE                      6
#define L_RCU_READ_LOCK                 7
#define L_PMDP_GET_LOCKLESS             8
#define L_RCU_READ_UNLOCK               9
#define L_SPIN_LOCK_PTL                 10
#define L_PMD_SAME                      11
#define L_UNLOCK_GOTO_AGAIN             12
#define L_SET_PTE_AT                    13
#define L_PTE_UNMAP_UNLOCK              14
#define L_FOLIO_UNLOCK                  15

/* uffdio_copy labels (anon_vma_prepare, pteAlloc('rcu_read_lock'), then mfill_atomic_install_pte) */
#define U_ANON_VMA_PREPARE              0
#define U_PMD_NONE                      1
#define U_PTE_ALLOC_ONE                 2
#define U_PMD_LOCK                      3
#define U_PMD_INSTALL                   4
#define U_SPIN_UNLOCK_PML               5
#define U_PTE_FREE                      6
#define U_RCU_READ_LOCK                 7
#define U_PMDP_GET_LOCKLESS             8
#define U_RCU_READ_UNLOCK               9
#define U_SPIN_LOCK_PTL                 10
#define U_PMD_SAME                      11
#define U_UNLOCK_GOTO_AGAIN             12
#define U_SET_PTE_AT                    13
#define U_PTE_UNMAP_UNLOCK              14

/* rcu label */
#define C_RCU_DO_BATCH                  0


/* ---- the state (every field of ptcheck's state vector, same values) ---------------------------- */

int   faults;
short nr_ptes = 1;                 /* init: nr_ptes = 1 */
bit   anon_vma;

/* T1..T{2+2F}: T[t-1] and pt_state[t-1] are ptcheck's Tt (init: T1 live, the others unused) */
typedef PageTable {
  byte ptl;                        /* owner tid + 1, 0 = free */
  byte pte[NPTE]                   /* 0 = pte_none, 1 = file page, 2 = anon page */
};
PageTable T[NTAB];
#if FAULTS == 0
byte pt_state[NTAB] = { LIVE, UNUSED };
#elif FAULTS == 1
byte pt_state[NTAB] = { LIVE, UNUSED, UNUSED, UNUSED };
#elif FAULTS == 2
byte pt_state[NTAB] = { LIVE, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED };
#elif FAULTS == 3
byte pt_state[NTAB] = { LIVE, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED };
#else
#error "FAULTS must be 0..3 (ptcheck's parameter allows 0..2)"
#endif

typedef RcuHead {
  bit   queued;
  byte  wait;                      /* mask of readers (by tid) still to pass a quiescent state */
  byte  cb;                        /* 0 = none, 1 = pte_free_now, 2 = tlb_remove_table_rcu */
  short arg = -1
};
RcuHead rcu_head[NHEAD];

short pmd = 1;                     /* init: *pmd = T1 */
byte  pml;                         /* owner tid + 1, 0 = free */
byte  new_folio = KH + 1;          /* PG_locked of the new folio: khugepaged holds it from the start */
bit   ghost_retracted;
bit   ghost_zap_fast;
bit   ghost_zap_slow;

/* per thread, indexed by tid: the pc and kernelState's per-thread RCU/IRQ fields */
short pc[NT];                      /* all start at label 0 */
byte  rcu_nesting[NT];
bit   irqs_off[NT];
byte  gp_wait[NT];
byte  ipi_wait[NT];
byte  preempt_count[NT];           /* spinlocks held (preempt.ts); a holder is an RCU reader */

/* thread locals */
short k_ptl;                       /* khugepaged.ptl */
short k_pgt;                       /* khugepaged.pgt */
bit   k_success;                   /* khugepaged.success */
short m_pmdval;                    /* madvise.pmdval */
bit   m_cleared;                   /* madvise.cleared */
bit   m_slow;                      /* madvise.slow */
#if FAULTS > 0
short f_new[FAULTS];               /* fault<i>.new */
short f_pmdval[FAULTS];            /* fault<i>.pmdval */
bit   f_refault[FAULTS];           /* fault<i>.refault */
#endif
short u_new;                       /* uffdio_copy.new */
short u_pmdval;                    /* uffdio_copy.pmdval */

/* scratch used inside a d_step: not part of the state vector */
hidden byte  i_;
hidden byte  j_;
hidden int   m_;
hidden byte  ok_;
hidden byte  v_;
hidden byte  cb_;
hidden short arg_;

/* ---- kernel primitives (src/kernel/*.ts), each used inside one d_step ------------------------- */

inline raise(f) { faults = faults | (f) }

/* spinlock.ts spinUnlock (spinLock / spinTrylock are written out where used: take it if free) */
inline spin_unlock(tid, l) {
  if
  :: l != (tid) + 1 -> raise(F_UNLOCK_NOT_OWNER)
  :: else -> l = 0; preempt_count[tid]--; rcu_maybe_quiescent(tid)
  fi
}

/* the model's folioUnlock: PG_locked is a sleeping lock, no preempt_count, no RCU reader */
inline folio_unlock(tid) {
  if
  :: new_folio != (tid) + 1 -> raise(F_UNLOCK_NOT_OWNER)
  :: else -> new_folio = 0
  fi
}

/* pgtable.ts ptTouch: ok_ = 0 for a garbage table id */
inline pt_touch(t) {
  if
  :: (t) <= 0 -> raise(F_BAD_PMD_DEREF); ok_ = 0
  :: else ->
     if
     :: pt_state[(t) - 1] == FREED -> raise(F_UAF)
     :: else -> skip
     fi;
     ok_ = 1
  fi
}

/* ptlLock's "not BLOCKED" condition: a garbage id does not block; else the ptl must be free */
#define PTL_LOCK_ENABLED(t)  ((t) <= 0 -> 1 : T[(t) - 1].ptl == 0)

/* pgtable.ts ptlLock, once PTL_LOCK_ENABLED holds */
inline ptl_lock(tid, t) {
  pt_touch(t);
  if
  :: ok_ -> T[(t) - 1].ptl = (tid) + 1; preempt_count[tid]++
  :: else -> skip
  fi
}

/* pgtable.ts ptlUnlock */
inline ptl_unlock(tid, t) {
  pt_touch(t);
  if
  :: ok_ -> spin_unlock(tid, T[(t) - 1].ptl)
  :: else -> skip
  fi
}

/* pgtable.ts readPte -> v_ (garbage reads as none) */
inline read_pte(t, i) {
  pt_touch(t);
  if
  :: ok_ -> v_ = T[(t) - 1].pte[i]
  :: else -> v_ = 0
  fi
}

/* pgtable.ts setPte: a store under the table's ptl into a linked table (the only pmd is `pmd`) */
inline set_pte(tid, t, i, v) {
  pt_touch(t);
  if
  :: ok_ ->
     if
     :: T[(t) - 1].ptl != (tid) + 1 -> raise(F_WRITE_UNLOCKED)
     :: else -> skip
     fi;
     if
     :: pmd != (t) -> raise(F_WRITE_DETACHED)
     :: else -> skip
     fi;
     T[(t) - 1].pte[i] = v
  :: else -> skip
  fi
}

/* pgtable.ts ptEmpty: ok_ = 1 iff every entry is pte_none (a garbage id counts as empty) */
inline pt_empty(t) {
  pt_touch(t);
  if
  :: ok_ ->
     for (i_ : 0 .. NPTE - 1) {
       if
       :: T[(t) - 1].pte[i_] != 0 -> ok_ = 0
       :: else -> skip
       fi
     }
  :: else -> ok_ = 1
  fi
}

/* pgtable.ts ptAlloc: the first unused table; running out is a model error in ptcheck */
inline pt_alloc(res) {
  res = PMD_NONE;
  for (i_ : 0 .. NTAB - 1) {
    if
    :: res == PMD_NONE && pt_state[i_] == UNUSED -> pt_state[i_] = LIVE; res = i_ + 1
    :: else -> skip
    fi
  }
  assert(res != PMD_NONE)
}

/* pgtable.ts ptFree */
inline pt_free(t) {
  if
  :: (t) <= 0 -> raise(F_FREE_GARBAGE)
  :: else ->
     if
     :: pt_state[(t) - 1] == FREED -> raise(F_DOUBLE_FREE)
     :: pt_state[(t) - 1] == UNUSED -> raise(F_FREE_GARBAGE)
     :: else ->
        ok_ = 0;
        for (i_ : 0 .. NPTE - 1) {
          if
          :: T[(t) - 1].pte[i_] != 0 -> ok_ = 1
          :: else -> skip
          fi
        }
        if
        :: ok_ -> raise(F_FREE_NONEMPTY)
        :: else -> skip
        fi;
        if
        :: pmd == (t) -> raise(F_FREE_ATTACHED)
        :: else -> skip
        fi;
        pt_state[(t) - 1] = FREED
     fi
  fi
}

/* pgtable.ts mmIncNrPtes / mmDecNrPtes */
inline mm_inc_nr_ptes() { nr_ptes++ }
inline mm_dec_nr_ptes() {
  if
  :: nr_ptes <= 0 -> raise(F_NR_PTES_NEGATIVE)
  :: else -> skip
  fi;
  nr_ptes--
}

/* rcu.ts rcuMaybeQuiescent -> quiescent: leaving the last read section (RCU or IRQs off) */
inline rcu_maybe_quiescent(tid) {
  if
  :: rcu_nesting[tid] == 0 && !irqs_off[tid] && preempt_count[tid] == 0 ->
     for (i_ : 0 .. NHEAD - 1) {
       rcu_head[i_].wait = rcu_head[i_].wait & ~(1 << (tid))
     }
     for (i_ : 0 .. NT - 1) {
       gp_wait[i_] = gp_wait[i_] & ~(1 << (tid))
     }
  :: else -> skip
  fi
}

/* rcu.ts rcuReadLock / rcuReadUnlock */
inline rcu_read_lock(tid) { rcu_nesting[tid]++ }
inline rcu_read_unlock(tid) {
  if
  :: rcu_nesting[tid] == 0 -> raise(F_RCU_UNBALANCED)
  :: else -> rcu_nesting[tid]--; rcu_maybe_quiescent(tid)
  fi
}

/* rcu.ts readersMask -> m_ */
inline readers_mask() {
  m_ = 0;
  for (i_ : 0 .. NT - 1) {
    if
    :: rcu_nesting[i_] > 0 || irqs_off[i_] || preempt_count[i_] > 0 -> m_ = m_ | (1 << i_)
    :: else -> skip
    fi
  }
}

/* rcu.ts callRcu (a head index outside the array is a model error in ptcheck) */
inline call_rcu(h, fn, a) {
  assert((h) >= 0 && (h) < NHEAD);
  if
  :: rcu_head[h].queued -> raise(F_RCU_HEAD_REQUEUED)
  :: else -> skip
  fi;
  rcu_head[h].queued = 1;
  rcu_head[h].cb = fn;
  rcu_head[h].arg = a;
  readers_mask();
  rcu_head[h].wait = m_
}

/* rcu.ts rcuDoBatch, alternative h: enabled when the head is queued and its grace period is over */
#define RCU_HEAD_READY(h)  (rcu_head[h].queued && rcu_head[h].wait == 0)
inline rcu_invoke(h) {
  rcu_head[h].queued = 0;
  cb_ = rcu_head[h].cb;
  arg_ = rcu_head[h].arg;
  rcu_head[h].cb = 0;
  rcu_head[h].arg = -1;
  assert(cb_ == PTE_FREE_NOW || cb_ == TLB_REMOVE_TABLE_RCU);
  pt_free(arg_)                    /* pte_free_now and tlb_remove_table_rcu both free the table */
}

/* state.ts exit hooks, run when a step returns DONE: lockExitHook then rcuExitHook */
inline thread_exit(tid) {
  for (j_ : 0 .. NTAB - 1) {
    if
    :: T[j_].ptl == (tid) + 1 -> raise(F_LOCK_HELD_AT_EXIT)
    :: else -> skip
    fi
  }
  if
  :: pml == (tid) + 1 -> raise(F_LOCK_HELD_AT_EXIT)
  :: else -> skip
  fi;
  if
  :: new_folio == (tid) + 1 -> raise(F_LOCK_HELD_AT_EXIT)
  :: else -> skip
  fi;
  if
  :: rcu_nesting[tid] != 0 || irqs_off[tid] -> raise(F_RCU_UNBALANCED)
  :: else -> skip
  fi
}

/* ---- threads ----------------------------------------------------------------------------------- */

/* khugepaged: retract_page_tables() for the one vma, then collapse_file's folio_unlock(new_folio) */
active proctype khugepaged() {
end:
  do
  :: d_step { pc[KH] == K_FIND_PMD_OR_THP_OR_NONE ->
       if
       :: pmd > 0 -> pc[KH] = K_FILE_BACKED_VMA_IS_RETRACTABLE
       :: else -> pc[KH] = K_FOLIO_UNLOCK
       fi }
  :: d_step { pc[KH] == K_FILE_BACKED_VMA_IS_RETRACTABLE ->
       if
       :: anon_vma -> pc[KH] = K_FOLIO_UNLOCK
       :: else -> pc[KH] = K_PMD_LOCK
       fi }
  :: d_step { pc[KH] == K_PMD_LOCK && pml == 0 ->
       pml = KH + 1; preempt_count[KH]++;
       pc[KH] = K_CHECK_PMD_STATE }
  :: d_step { pc[KH] == K_CHECK_PMD_STATE ->
       if
       :: pmd > 0 -> pc[KH] = K_SPIN_LOCK_NESTED_PTL
       :: else -> pc[KH] = K_DROP_PML
       fi }
  /* ptl = pte_lockptr(mm, pmd); spin_lock_nested(ptl) */
  :: d_step { pc[KH] == K_SPIN_LOCK_NESTED_PTL && PTL_LOCK_ENABLED(pmd) ->
       k_ptl = pmd;
       ptl_lock(KH, k_ptl);
       pc[KH] = K_LIKELY_RETRACTABLE }
  :: d_step { pc[KH] == K_LIKELY_RETRACTABLE ->
       if
       :: anon_vma -> pc[KH] = K_SPIN_UNLOCK_PTL
       :: else -> pc[KH] = K_PMDP_COLLAPSE_FLUSH
       fi }
  :: d_step { pc[KH] == K_PMDP_COLLAPSE_FLUSH ->
       k_pgt = pmd;
       pmd = PMD_NONE;
       k_success = 1;
       if
       :: k_pgt > 0 -> ghost_retracted = 1
       :: else -> skip
       fi;
       pc[KH] = K_SPIN_UNLOCK_PTL }
  :: d_step { pc[KH] == K_SPIN_UNLOCK_PTL ->
       ptl_unlock(KH, k_ptl);
       pc[KH] = K_DROP_PML }
  :: d_step { pc[KH] == K_DROP_PML ->
       spin_unlock(KH, pml);
       if
       :: k_success -> pc[KH] = K_MM_DEC_NR_PTES
       :: else -> pc[KH] = K_FOLIO_UNLOCK
       fi }
  :: d_step { pc[KH] == K_MM_DEC_NR_PTES ->
       mm_dec_nr_ptes();
       pc[KH] = K_PTE_FREE_DEFER }
  /* pte_free_defer: call_rcu(pte_free_now) on the table's own rcu_head (a none pmd: ptFree's fault) */
  :: d_step { pc[KH] == K_PTE_FREE_DEFER ->
       if
       :: k_pgt <= 0 -> pt_free(k_pgt)
       :: else -> call_rcu(k_pgt - 1, PTE_FREE_NOW, k_pgt)
       fi;
       pc[KH] = K_FOLIO_UNLOCK }
  :: d_step { pc[KH] == K_FOLIO_UNLOCK ->
       folio_unlock(KH);
       pc[KH] = DONE;
       thread_exit(KH) }
  od
}

/* madvise: MADV_DONTNEED over the pmd range, with PT_RECLAIM */
active proctype madvise() {
end:
  do
  :: d_step { pc[MA] == M_PMD_NONE ->
       if
       :: pmd > 0 -> pc[MA] = M_RCU_READ_LOCK
       :: else -> pc[MA] = DONE; thread_exit(MA)
       fi }
  :: d_step { pc[MA] == M_RCU_READ_LOCK ->
       rcu_read_lock(MA);
       pc[MA] = M_PMDP_GET_LOCKLESS }
  :: d_step { pc[MA] == M_PMDP_GET_LOCKLESS ->
       m_pmdval = pmd;
       if
       :: m_pmdval > 0 -> pc[MA] = M_SPIN_LOCK_PTL
       :: else -> pc[MA] = M_RCU_READ_UNLOCK
       fi }
  :: d_step { pc[MA] == M_RCU_READ_UNLOCK ->
       rcu_read_unlock(MA);
       pc[MA] = M_PMD_NONE }
  :: d_step { pc[MA] == M_SPIN_LOCK_PTL && PTL_LOCK_ENABLED(m_pmdval) ->
       ptl_lock(MA, m_pmdval);
       pc[MA] = M_PMD_SAME }
  :: d_step { pc[MA] == M_PMD_SAME ->
       if
       :: pmd == m_pmdval -> pc[MA] = M_DO_ZAP_PTE_RANGE
       :: else -> pc[MA] = M_UNLOCK_GOTO_AGAIN
       fi }
  :: d_step { pc[MA] == M_UNLOCK_GOTO_AGAIN ->
       ptl_unlock(MA, m_pmdval);
       rcu_read_unlock(MA);
       pc[MA] = M_RCU_READ_LOCK }
  /* every pte of the range: clear each one that is not none */
  :: d_step { pc[MA] == M_DO_ZAP_PTE_RANGE ->
       for (j_ : 0 .. NPTE - 1) {
         read_pte(m_pmdval, j_);
         if
         :: v_ != 0 -> set_pte(MA, m_pmdval, j_, 0)
         :: else -> skip
         fi
       }
       pc[MA] = M_TRY_GET_AND_CLEAR_PMD }
  /* spin_trylock(pml); pmdval = *pmd; pmd_clear; spin_unlock(pml) */
  :: d_step { pc[MA] == M_TRY_GET_AND_CLEAR_PMD ->
       if
       :: pml != 0 -> skip             /* the trylock fails */
       :: else ->
          pml = MA + 1; preempt_count[MA]++;
          m_pmdval = pmd;
          pmd = PMD_NONE;
          spin_unlock(MA, pml);
          m_cleared = 1
       fi;
       pc[MA] = M_PTE_UNMAP_UNLOCK }
  :: d_step { pc[MA] == M_PTE_UNMAP_UNLOCK ->
       ptl_unlock(MA, m_pmdval);
       rcu_read_unlock(MA);
       if
       :: m_cleared -> pc[MA] = M_PTE_FREE_TLB
       :: else -> pc[MA] = M_PMD_LOCK
       fi }
  /* try_to_free_pte (slow path) */
  :: d_step { pc[MA] == M_PMD_LOCK && pml == 0 ->
       m_slow = 1;
       pml = MA + 1; preempt_count[MA]++;
       pc[MA] = M_PTE_OFFSET_MAP_RW_NOLOCK }
  :: d_step { pc[MA] == M_PTE_OFFSET_MAP_RW_NOLOCK ->
       m_pmdval = pmd;
       if
       :: m_pmdval > 0 -> pc[MA] = M_SPIN_LOCK_NESTED_PTL
       :: else -> pc[MA] = M_OUT_PTL
       fi }
  :: d_step { pc[MA] == M_SPIN_LOCK_NESTED_PTL && PTL_LOCK_ENABLED(m_pmdval) ->
       ptl_lock(MA, m_pmdval);
       pc[MA] = M_PTEP_GET }
  :: d_step { pc[MA] == M_PTEP_GET ->
       pt_empty(m_pmdval);
       if
       :: ok_ -> pc[MA] = M_PMD_CLEAR
       :: else -> pc[MA] = M_OUT_PTL
       fi }
  :: d_step { pc[MA] == M_PMD_CLEAR ->
       pmd = PMD_NONE;
       m_cleared = 1;
       pc[MA] = M_SPIN_UNLOCK_PTL }
  :: d_step { pc[MA] == M_SPIN_UNLOCK_PTL ->
       ptl_unlock(MA, m_pmdval);
       pc[MA] = M_SPIN_UNLOCK_PML }
  /* pte_unmap_unlock if the ptl is held (ptlHeld: a table id whose ptl we own) */
  :: d_step { pc[MA] == M_OUT_PTL ->
       if
       :: m_pmdval > 0 && T[m_pmdval - 1].ptl == MA + 1 -> ptl_unlock(MA, m_pmdval)
       :: else -> skip
       fi;
       pc[MA] = M_SPIN_UNLOCK_PML }
  :: d_step { pc[MA] == M_SPIN_UNLOCK_PML ->
       spin_unlock(MA, pml);
       if
       :: m_cleared -> pc[MA] = M_PTE_FREE_TLB
       :: else -> pc[MA] = DONE; thread_exit(MA)
       fi }
  /* free_pte: pte_free_tlb (its call_rcu), then mm_dec_nr_ptes */
  :: d_step { pc[MA] == M_PTE_FREE_TLB ->
       call_rcu(m_pmdval - 1, TLB_REMOVE_TABLE_RCU, m_pmdval);
       if
       :: m_slow -> ghost_zap_slow = 1
       :: else -> ghost_zap_fast = 1
       fi;
       pc[MA] = M_MM_DEC_NR_PTES }
  :: d_step { pc[MA] == M_MM_DEC_NR_PTES ->
       mm_dec_nr_ptes();
       pc[MA] = DONE;
       thread_exit(MA) }
  od
}

#if FAULTS > 0
/* fault<i>: a read fault on page i (do_read_fault -> __do_fault -> finish_fault), tid = _pid = 2 + i */
#define ME  (_pid - FT0)
active [FAULTS] proctype fault() {
end:
  do
  :: d_step { pc[_pid] == L_FOLIO_LOCK && new_folio == 0 ->
       new_folio = _pid + 1;
       pc[_pid] = L_PMD_NONE }
  /* pteAlloc('rcu_read_lock') */
  :: d_step { pc[_pid] == L_PMD_NONE ->
       if
       :: pmd == PMD_NONE -> pc[_pid] = L_PTE_ALLOC_ONE
       :: else -> pc[_pid] = L_RCU_READ_LOCK
       fi }
  :: d_step { pc[_pid] == L_PTE_ALLOC_ONE ->
       pt_alloc(f_new[ME]);
       pc[_pid] = L_PMD_LOCK }
  :: d_step { pc[_pid] == L_PMD_LOCK && pml == 0 ->
       pml = _pid + 1; preempt_count[_pid]++;
       pc[_pid] = L_PMD_INSTALL }
  :: d_step { pc[_pid] == L_PMD_INSTALL ->
       if
       :: pmd == PMD_NONE -> mm_inc_nr_ptes(); pmd = f_new[ME]; f_new[ME] = PMD_NONE
       :: else -> skip
       fi;
       pc[_pid] = L_SPIN_UNLOCK_PML }
  :: d_step { pc[_pid] == L_SPIN_UNLOCK_PML ->
       spin_unlock(_pid, pml);
       if
       :: f_new[ME] != PMD_NONE -> pc[_pid] = L_PTE_FREE
       :: else -> pc[_pid] = L_RCU_READ_LOCK
       fi }
  :: d_step { pc[_pid] == L_PTE_FREE ->
       pt_free(f_new[ME]);
       f_new[ME] = PMD_NONE;
       pc[_pid] = L_RCU_READ_LOCK }
  /* pte_offset_map_lock */
  :: d_step { pc[_pid] == L_RCU_READ_LOCK ->
       rcu_read_lock(_pid);
       pc[_pid] = L_PMDP_GET_LOCKLESS }
  :: d_step { pc[_pid] == L_PMDP_GET_LOCKLESS ->
       f_pmdval[ME] = pmd;
       if
       :: f_pmdval[ME] > 0 -> pc[_pid] = L_SPIN_LOCK_PTL
       :: else -> pc[_pid] = L_RCU_READ_UNLOCK
       fi }
  /* pte_offset_map_lock returned NULL: VM_FAULT_NOPAGE, the CPU refaults */
  :: d_step { pc[_pid] == L_RCU_READ_UNLOCK ->
       rcu_read_unlock(_pid);
       f_refault[ME] = 1;
       pc[_pid] = L_FOLIO_UNLOCK }
  :: d_step { pc[_pid] == L_SPIN_LOCK_PTL && PTL_LOCK_ENABLED(f_pmdval[ME]) ->
       ptl_lock(_pid, f_pmdval[ME]);
       pc[_pid] = L_PMD_SAME }
  :: d_step { pc[_pid] == L_PMD_SAME ->
       if
       :: pmd == f_pmdval[ME] -> pc[_pid] = L_SET_PTE_AT
       :: else -> pc[_pid] = L_UNLOCK_GOTO_AGAIN
       fi }
  :: d_step { pc[_pid] == L_UNLOCK_GOTO_AGAIN ->
       ptl_unlock(_pid, f_pmdval[ME]);
       rcu_read_unlock(_pid);
       pc[_pid] = L_RCU_READ_LOCK }
  :: d_step { pc[_pid] == L_SET_PTE_AT ->
       set_pte(_pid, f_pmdval[ME], ME, FILE_PAGE);
       pc[_pid] = L_PTE_UNMAP_UNLOCK }
  :: d_step { pc[_pid] == L_PTE_UNMAP_UNLOCK ->
       ptl_unlock(_pid, f_pmdval[ME]);
       rcu_read_unlock(_pid);
       pc[_pid] = L_FOLIO_UNLOCK }
  :: d_step { pc[_pid] == L_FOLIO_UNLOCK ->
       folio_unlock(_pid);
       if
       :: !f_refault[ME] -> pc[_pid] = DONE; thread_exit(_pid)
       :: else -> f_refault[ME] = 0; pc[_pid] = L_FOLIO_LOCK
       fi }
  od
}
#endif

/* uffdio_copy: UFFDIO_COPY of one page into PTE slot ADDR (mfill_atomic), tid = UF */
active proctype uffdio_copy() {
end:
  do
  :: d_step { pc[UF] == U_ANON_VMA_PREPARE ->
       anon_vma = 1;
       pc[UF] = U_PMD_NONE }
  /* pteAlloc('rcu_read_lock') */
  :: d_step { pc[UF] == U_PMD_NONE ->
       if
       :: pmd == PMD_NONE -> pc[UF] = U_PTE_ALLOC_ONE
       :: else -> pc[UF] = U_RCU_READ_LOCK
       fi }
  :: d_step { pc[UF] == U_PTE_ALLOC_ONE ->
       pt_alloc(u_new);
       pc[UF] = U_PMD_LOCK }
  :: d_step { pc[UF] == U_PMD_LOCK && pml == 0 ->
       pml = UF + 1; preempt_count[UF]++;
       pc[UF] = U_PMD_INSTALL }
  :: d_step { pc[UF] == U_PMD_INSTALL ->
       if
       :: pmd == PMD_NONE -> mm_inc_nr_ptes(); pmd = u_new; u_new = PMD_NONE
       :: else -> skip
       fi;
       pc[UF] = U_SPIN_UNLOCK_PML }
  :: d_step { pc[UF] == U_SPIN_UNLOCK_PML ->
       spin_unlock(UF, pml);
       if
       :: u_new != PMD_NONE -> pc[UF] = U_PTE_FREE
       :: else -> pc[UF] = U_RCU_READ_LOCK
       fi }
  :: d_step { pc[UF] == U_PTE_FREE ->
       pt_free(u_new);
       u_new = PMD_NONE;
       pc[UF] = U_RCU_READ_LOCK }
  /* mfill_atomic_install_pte: pte_offset_map_lock */
  :: d_step { pc[UF] == U_RCU_READ_LOCK ->
       rcu_read_lock(UF);
       pc[UF] = U_PMDP_GET_LOCKLESS }
  :: d_step { pc[UF] == U_PMDP_GET_LOCKLESS ->
       u_pmdval = pmd;
       if
       :: u_pmdval > 0 -> pc[UF] = U_SPIN_LOCK_PTL
       :: else -> pc[UF] = U_RCU_READ_UNLOCK
       fi }
  /* pte_offset_map_lock returned NULL: -EAGAIN to userspace */
  :: d_step { pc[UF] == U_RCU_READ_UNLOCK ->
       rcu_read_unlock(UF);
       pc[UF] = DONE;
       thread_exit(UF) }
  :: d_step { pc[UF] == U_SPIN_LOCK_PTL && PTL_LOCK_ENABLED(u_pmdval) ->
       ptl_lock(UF, u_pmdval);
       pc[UF] = U_PMD_SAME }
  :: d_step { pc[UF] == U_PMD_SAME ->
       if
       :: pmd == u_pmdval -> pc[UF] = U_SET_PTE_AT
       :: else -> pc[UF] = U_UNLOCK_GOTO_AGAIN
       fi }
  :: d_step { pc[UF] == U_UNLOCK_GOTO_AGAIN ->
       ptl_unlock(UF, u_pmdval);
       rcu_read_unlock(UF);
       pc[UF] = U_RCU_READ_LOCK }
  :: d_step { pc[UF] == U_SET_PTE_AT ->
       set_pte(UF, u_pmdval, ADDR, ANON_PAGE);
       pc[UF] = U_PTE_UNMAP_UNLOCK }
  :: d_step { pc[UF] == U_PTE_UNMAP_UNLOCK ->
       ptl_unlock(UF, u_pmdval);
       rcu_read_unlock(UF);
       pc[UF] = DONE;
       thread_exit(UF) }
  od
}

/* rcu (rcuThread): one d_step per rcu_head; pc stays at rcu_do_batch, the thread never finishes */
active proctype rcu() {
end:
  do
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(0) -> rcu_invoke(0) }
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(1) -> rcu_invoke(1) }
#if NHEAD > 2
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(2) -> rcu_invoke(2) }
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(3) -> rcu_invoke(3) }
#endif
#if NHEAD > 4
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(4) -> rcu_invoke(4) }
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(5) -> rcu_invoke(5) }
#endif
#if NHEAD > 6
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(6) -> rcu_invoke(6) }
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(7) -> rcu_invoke(7) }
#endif
  od
}
