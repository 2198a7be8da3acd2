/*
 * gup-fast-table-free.pml — the SPIN twin of models/gup-fast-table-free.ts, variant `rcu-table-free`,
 * one Promela statement per ptcheck step, so that with every reduction off both tools explore the same
 * state graph and store the same number of distinct states.
 *
 *   spin -o1 -o2 -o3 -DWALKERS=2 -a gup-fast-table-free.pml
 *   gcc -O2 -DNOREDUCE -DSAFETY -DNOCLAIM -DNOFAIR -o pan pan.c -w && ./pan -m100000 -w20
 *     "states, stored" == `ptcheck verify gup-fast-table-free --variant rcu-table-free
 *     --param walkers=2 --no-por`'s distinct states
 *
 * Unlike the other twins, whose steps are `d_step` options of one loop over a global pc array, this one
 * is written as a SPIN user writes Promela: each thread is a proctype with its own control flow and its
 * own local variables, so that SPIN's partial-order reduction and statement merging see which
 * statements touch only a process's locals (the walkers' local work) and can reduce on them. It is
 * the twin the benchmark uses to compare the reductions (bench/README.md).
 *
 * How the twin corresponds to the model
 *
 *   Threads.  gup_fast0..gup_fast{W-1} (tid 0..W-1), munmap (tid W), rcu (tid W+1): `active`
 *   proctypes in that order, so _pid equals tid. There is no init process. rcu never ends, and a
 *   process only dies once every process created after it has, so no process ever leaves the state
 *   vector: a finished thread sits at the end of its proctype.
 *
 *   pc.  ptcheck's pc of a thread is SPIN's control state of its process, up to one rule: where a
 *   ptcheck step chooses its next label from a value it has just stored in a local (pmdp_get_lockless
 *   from the pmd snapshot, `addr != end` and ptep_get_and_clear_full from the index), SPIN stays at one
 *   control state and the next step's options test that local. The control state and that local
 *   together name the label, and the label and the local name the control state, so the two state
 *   spaces correspond one to one. Where two paths reach one label (gup_put_folio, pte_unmap,
 *   local_irq_restore) they jump to one control state; gotos, breaks and if/fi joins are not
 *   transitions in SPIN, so they add no state. pte_unmap and local_irq_restore also have a second
 *   control state each (the loop head with idx == PTES; the first `if` with a none snapshot), reached
 *   only with a value of idx or of the snapshot that the other cannot have.
 *
 *   Steps.  A step that reads or writes shared state is one `d_step` or one assignment; a step whose
 *   only effect is on the pc is the condition (or `else`, or `skip`) that SPIN takes as one transition;
 *   a step that only writes a local is one assignment. A step that chooses among labels by a shared
 *   value it does not store (the pmd and pte rechecks) is one option per outcome, each a d_step (or a
 *   condition) whose first statement is the outcome's test.
 *
 *   State.  Every field of ptcheck's state vector has its value in SPIN's: the globals are the kernel
 *   fields (faults, nr_ptes, T1's state, ptl and entries, rcu_head[0], *pmd) and the per-thread kernel
 *   fields as arrays by tid (rcu_nesting, irqs_off, gp_wait, ipi_wait, preempt_count); the thread locals
 *   are the processes' locals, with ptcheck's initial values. The constant rcu_spinlock_not_reader is
 *   left out (the same in every state). gp_wait and ipi_wait stay 0 here (no synchronize_rcu, no IPI)
 *   and are kept and read where ptcheck reads them.
 *
 *   Kernel primitives.  The inlines transcribe src/kernel/*.ts as the model uses them: ptTouch (a
 *   garbage table id is BAD_PMD_DEREF, a freed one UAF), readPte, setPte (WRITE_UNLOCKED,
 *   WRITE_DETACHED), ptlLock/ptlUnlock, ptFree (FREE_GARBAGE, DOUBLE_FREE, FREE_NONEMPTY,
 *   FREE_ATTACHED), mm_dec_nr_ptes (NR_PTES_NEGATIVE), local_irq_disable/enable (RCU_UNBALANCED; enable
 *   takes pending IPIs), rcu_read_lock/unlock, the consolidated-RCU quiescent point (no rcu_read_lock,
 *   IRQs on, no spinlock held: the thread's bit leaves every rcu_head's wait and every gp_wait),
 *   call_rcu (RCU_HEAD_REQUEUED; wait = the current readers), the rcu thread's rcu_do_batch, and the exit
 *   hooks run on DONE (LOCK_HELD_AT_EXIT, RCU_UNBALANCED for a read section, IRQs off or a preempt_count
 *   that held locks do not account for).
 *
 * Counts (bench/spin-count.ts and test/spin/twins.test.ts check them), with `spin -o1 -o2 -o3` (no
 * dataflow optimisation, which would reset dead locals; write-only variables kept; no statement
 * merging) and pan built with -DNOREDUCE: pan's "states, stored" equals ptcheck's distinct states with
 * --no-por; pan's "transitions" is ptcheck's + 1; built with -DREVERSE, pan's "depth reached" equals
 * ptcheck's maxDepth. Properties are not checked here: the twin compares state-space sizes and speed.
 */

#ifndef WALKERS
#define WALKERS 2
#endif
#ifndef PTES
#define PTES 1
#endif

#define NT    (WALKERS + 2)   /* threads: gup_fast0.., munmap, rcu */
#define MM    WALKERS         /* munmap's tid */
#define RCU   (WALKERS + 1)   /* rcu's tid */

#define PMD_NONE 0
#define T1       1

/* table state (enumOf(['unused', 'live', 'freed'])) */
#define UNUSED 0
#define LIVE   1
#define FREED  2

/* callback ids, 1-based in the order given to kernelState */
#define TLB_REMOVE_TABLE_RCU 1

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

/* ---- the state ------------------------------------------------------------------------------------ */

int   faults;
short nr_ptes = 1;                 /* init: ptInitInstalled counts T1 */

/* T1 (ptcheck's pt[0]): live and linked at init, entry i maps page i+1 */
byte  pt_state = LIVE;
byte  pt_ptl;                      /* owner tid + 1, 0 = free */
#if PTES == 1
byte  pt_pte[PTES] = { 1 };
#elif PTES == 2
byte  pt_pte[PTES] = { 1, 2 };
#elif PTES == 3
byte  pt_pte[PTES] = { 1, 2, 3 };
#else
#error "PTES must be 1..3 (the model's ptes parameter)"
#endif

/* rcu_head[0]: the mmu_table_batch page's head */
bit   rh_queued;
byte  rh_wait;                     /* mask of readers (by tid) still to pass a quiescent state */
byte  rh_cb;                       /* 0 = none, 1 = tlb_remove_table_rcu */
short rh_arg = -1;

short pmd = T1;                    /* init: *pmd = T1 */

/* per thread, by tid */
byte  rcu_nesting[NT];
bit   irqs_off[NT];
byte  gp_wait[NT];
byte  ipi_wait[NT];
byte  preempt_count[NT];

/* scratch used inside a d_step: not part of the state vector */
hidden byte  i_;
hidden byte  ok_;
hidden int   m_;
hidden short arg_;

/* ---- kernel primitives (src/kernel/*.ts), each used inside one d_step ------------------------- */

inline raise(f) { faults = faults | (f) }

/* pgtable.ts ptTouch: ok_ = 0 for a garbage table id */
inline pt_touch(t) {
  if
  :: (t) <= 0 -> raise(F_BAD_PMD_DEREF); ok_ = 0
  :: else ->
     if
     :: pt_state == FREED -> raise(F_UAF)
     :: else -> skip
     fi;
     ok_ = 1
  fi
}

/* pgtable.ts readPte into v (garbage reads as none) */
inline read_pte(t, i, v) {
  pt_touch(t);
  if
  :: ok_ -> v = pt_pte[i]
  :: else -> v = 0
  fi
}
/* the value readPte returns, without its touch (a recheck's test; its d_step then touches) */
#define PTE_VALUE(t, i)  ((t) <= 0 -> 0 : pt_pte[i])

/* rcu.ts: leaving the last read section (rcu_read_lock, IRQs off, preemption off) */
inline rcu_maybe_quiescent(tid) {
  if
  :: rcu_nesting[tid] == 0 && !irqs_off[tid] && preempt_count[tid] == 0 ->
     rh_wait = rh_wait & ~(1 << (tid));
     for (i_ : 0 .. NT - 1) {
       gp_wait[i_] = gp_wait[i_] & ~(1 << (tid))
     }
  :: else -> skip
  fi
}

inline rcu_read_lock(tid) { rcu_nesting[tid]++ }
inline rcu_read_unlock(tid) {
  if
  :: rcu_nesting[tid] == 0 -> raise(F_RCU_UNBALANCED)
  :: else -> rcu_nesting[tid]--; rcu_maybe_quiescent(tid)
  fi
}

/* irq.ts localIrqDisable / localIrqEnable */
inline local_irq_disable(tid) {
  if
  :: irqs_off[tid] -> raise(F_RCU_UNBALANCED)
  :: else -> skip
  fi;
  irqs_off[tid] = 1
}
inline local_irq_enable(tid) {
  if
  :: !irqs_off[tid] -> raise(F_RCU_UNBALANCED)
  :: else ->
     irqs_off[tid] = 0;
     for (i_ : 0 .. NT - 1) {
       ipi_wait[i_] = ipi_wait[i_] & ~(1 << (tid))
     }
     rcu_maybe_quiescent(tid)
  fi
}

/* ptlLock's "not BLOCKED" condition: a garbage id does not block; else the ptl must be free */
#define PTL_LOCK_ENABLED(t)  ((t) <= 0 -> 1 : pt_ptl == 0)
inline ptl_lock(tid, t) {
  pt_touch(t);
  if
  :: ok_ -> pt_ptl = (tid) + 1; preempt_count[tid]++
  :: else -> skip
  fi
}
inline ptl_unlock(tid, t) {
  pt_touch(t);
  if
  :: ok_ ->
     if
     :: pt_ptl != (tid) + 1 -> raise(F_UNLOCK_NOT_OWNER)
     :: else -> pt_ptl = 0; preempt_count[tid]--; rcu_maybe_quiescent(tid)
     fi
  :: else -> skip
  fi
}

/* pgtable.ts setPte: under the table's ptl, into a linked table (the only pmd is `pmd`) */
inline set_pte(tid, t, i, v) {
  pt_touch(t);
  if
  :: ok_ ->
     if
     :: pt_ptl != (tid) + 1 -> raise(F_WRITE_UNLOCKED)
     :: else -> skip
     fi;
     if
     :: pmd != (t) -> raise(F_WRITE_DETACHED)
     :: else -> skip
     fi;
     pt_pte[i] = v
  :: else -> skip
  fi
}

/* pgtable.ts ptFree */
inline pt_free(t) {
  if
  :: (t) <= 0 -> raise(F_FREE_GARBAGE)
  :: else ->
     if
     :: pt_state == FREED -> raise(F_DOUBLE_FREE)
     :: pt_state == UNUSED -> raise(F_FREE_GARBAGE)
     :: else ->
        ok_ = 0;
        for (i_ : 0 .. PTES - 1) {
          if
          :: pt_pte[i_] != 0 -> ok_ = 1
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
        pt_state = FREED
     fi
  fi
}

/* pgtable.ts mmDecNrPtes */
inline mm_dec_nr_ptes() {
  if
  :: nr_ptes <= 0 -> raise(F_NR_PTES_NEGATIVE)
  :: else -> skip
  fi;
  nr_ptes--
}

/* rcu.ts callRcu on rcu_head[0] */
inline call_rcu(fn, a) {
  if
  :: rh_queued -> raise(F_RCU_HEAD_REQUEUED)
  :: else -> skip
  fi;
  rh_queued = 1;
  rh_cb = fn;
  rh_arg = a;
  m_ = 0;
  for (i_ : 0 .. NT - 1) {
    if
    :: rcu_nesting[i_] > 0 || irqs_off[i_] || preempt_count[i_] > 0 -> m_ = m_ | (1 << i_)
    :: else -> skip
    fi
  }
  rh_wait = m_
}

/* state.ts exit hooks, run when a step returns DONE: locks, RCU / IRQs, preempt_count */
inline thread_exit(tid) {
  if
  :: pt_ptl == (tid) + 1 -> raise(F_LOCK_HELD_AT_EXIT)
  :: else -> skip
  fi;
  if
  :: rcu_nesting[tid] != 0 || irqs_off[tid] -> raise(F_RCU_UNBALANCED)
  :: else -> skip
  fi;
  if
  :: preempt_count[tid] > (pt_ptl == (tid) + 1 -> 1 : 0) -> raise(F_RCU_UNBALANCED)
  :: else -> skip
  fi
}

/* ---- threads ----------------------------------------------------------------------------------- */

/* gup_fast<i> (gupFast), tid = _pid */
active [WALKERS] proctype gup_fast() {
  short w_pmd = PMD_NONE;          /* me.pmd: the lockless snapshot of *pmd */
  byte  idx;                       /* me.idx: the pte ptep points at */
  byte  pte;                       /* me.pte: the lockless snapshot of *ptep */
  byte  folio;                     /* me.folio: the folio a reference is held on */
  byte  nr;                        /* me.nr: pages handed back */

  d_step { local_irq_disable(_pid) };                         /* local_irq_save */
  w_pmd = pmd;                                                /* pmdp_get_lockless */
  if
  :: d_step { w_pmd <= 0 ->                                   /* local_irq_restore (none snapshot) */
       local_irq_enable(_pid); thread_exit(_pid) }
  :: d_step { w_pmd > 0 -> rcu_read_lock(_pid) };             /* pte_offset_map */
     do
     :: d_step { idx < PTES -> read_pte(w_pmd, idx, pte) };   /* ptep_get_lockless */
        skip;                                                 /* pte_protnone */
        if
        :: pte > 0 ->                                         /* pte_access_permitted */
           skip;                                              /* pte_special */
           folio = pte;                                       /* try_grab_folio_fast */
           if
           :: pmd != w_pmd -> goto put                        /* pmd_val != pmdp_get_lockless(pmdp) */
           :: else ->
              if
              :: d_step { PTE_VALUE(w_pmd, idx) != pte ->     /* pte_val != ptep_get_lockless(ptep) */
                   pt_touch(w_pmd) }; goto put
              :: d_step { PTE_VALUE(w_pmd, idx) == pte -> pt_touch(w_pmd) };
                 (folio != 0);                                /* gup_fast_folio_allowed (two skips in a row would be one) */
                 skip;                                        /* folio_set_referenced */
                 nr++;                                        /* pages[*nr] = page */
                 idx++                                        /* addr != end */
              fi
           fi
        :: else -> goto unmap                                 /* pte_access_permitted: not present */
        fi
     :: d_step { idx >= PTES -> rcu_read_unlock(_pid) };      /* pte_unmap (the whole range walked) */
        goto restore
     od;
put:
     folio = 0;                                               /* gup_put_folio */
unmap:
     if :: d_step { rcu_read_unlock(_pid) } fi;               /* pte_unmap */
restore:
     if :: d_step { local_irq_enable(_pid);                   /* local_irq_restore */
                    thread_exit(_pid) } fi
  fi
}

/* munmap (munmapRcu), tid = MM */
active proctype munmap() {
  short pmdval = PMD_NONE;         /* me.pmdval */
  byte  idx;                       /* me.idx */

  d_step { PTL_LOCK_ENABLED(pmd) ->                           /* pte_offset_map_lock */
    pmdval = pmd; ptl_lock(MM, pmdval); rcu_read_lock(MM) };
  do
  :: d_step { idx < PTES ->                                   /* ptep_get_and_clear_full */
       set_pte(MM, pmdval, idx, 0); idx++ }
  :: d_step { idx >= PTES ->                                  /* pte_unmap_unlock */
       ptl_unlock(MM, pmdval); rcu_read_unlock(MM) };
     d_step { pmd = PMD_NONE; mm_dec_nr_ptes() };             /* free_pte_range */
     skip;                                                    /* flush_tlb_mm_range (waits for no CPU) */
     d_step { call_rcu(TLB_REMOVE_TABLE_RCU, pmdval);         /* tlb_table_flush */
       thread_exit(MM) };
     break
  od
}

/* rcu (rcuThread): rcu_do_batch on rcu_head[0] once its grace period is over; never finishes */
active proctype rcu() {
end:
  do
  :: d_step { rh_queued && rh_wait == 0 ->                    /* rcu_do_batch: tlb_remove_table_rcu */
       rh_queued = 0;
       arg_ = rh_arg;
       rh_cb = 0;
       rh_arg = -1;
       pt_free(arg_) }
  od
}
