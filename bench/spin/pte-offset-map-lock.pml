/*
 * pte-offset-map-lock.pml — the SPIN twin of models/pte-offset-map-lock.ts, variant `upstream`,
 * written at the same atomicity so that, with reductions off, SPIN and ptcheck explore the same
 * state graph and store the same number of distinct states.
 *
 *   spin -DFAULTS=2 -a pte-offset-map-lock.pml
 *   gcc -O2 -DNOREDUCE -DSAFETY -DNOCLAIM -DNOFAIR -o pan pan.c -w && ./pan -m100000 -w24
 *     "states, stored" == `ptcheck verify pte-offset-map-lock --variant upstream --param faults=2`'s
 *     distinct states (141 / 3057 / 99840 for FAULTS = 1 / 2 / 3 with consolidated RCU; the twin also
 *     takes FAULTS = 4, 5, beyond ptcheck's bound for this parameter)
 *
 * How the twin corresponds to the model
 *
 *   Threads.  ptcheck's threads, in declaration order, are fault0..fault{F-1} (tid 0..F-1), remover
 *   (tid F) and rcu (tid F+1). Each is an `active proctype` whose _pid equals its tid (fault is
 *   declared first with `active [FAULTS]`, then remover, then rcu; there is no init process).
 *
 *   pc.  Every thread's ptcheck pc is the Promela global pc[tid], numbered as ptcheck numbers it: the
 *   index of the label in the thread's `steps` declaration order, -1 (DONE) once the thread returned
 *   DONE. The label numbers are the #defines L_* (fault), R_* (remover) and C_* (rcu)
 *   below; F_* are the fault bits.
 *
 *   Steps.  One ptcheck step = one `d_step { guard -> body }` option of the thread's single
 *   `end: do ... od` loop. The guard is `pc[tid] == L` plus, for a step that can return BLOCKED, the
 *   exact condition under which it does not (BLOCKED discards the step's writes in ptcheck, so a
 *   blocked step has no effect in either tool). The body does what the step and the kernel
 *   primitives it calls do, field by field, and ends by setting pc[tid] to the label the step
 *   returns. SPIN's own control state never changes: every process sits at its `do` for ever, and a
 *   finished thread (pc == -1) simply has no enabled option. Its proctype frame holds no variable.
 *
 *   rcu.  rcuThread's single step `rcu_do_batch` has one alternative per rcu_head (F+1 of them); here
 *   each alternative h is its own d_step, enabled when rcu_head[h] is queued and its wait mask is 0.
 *
 *   State.  Every field of ptcheck's state vector is a Promela global holding the same value:
 *     faults                  int    the fault bitmask (bits as in src/kernel/faults.ts)
 *     nr_ptes                 short
 *     pt_state[], T[].ptl, T[].pte[]   byte   page tables T1..T{F+1} (index t-1 is ptcheck's Tt);
 *                             state 0 unused, 1 live, 2 freed; ptl = owner tid + 1, 0 = free. The
 *                             state is an array of its own because Promela initialises an array
 *                             element by element but not one field of an array of records (T1 is
 *                             live at init, the others unused)
 *     rcu_head[0..F]          queued bit, wait byte (reader mask), cb byte, arg short (-1 = none)
 *     pmd, pml                short (0 none, t = Tt) / byte (owner tid + 1)
 *     per thread (by tid)     pc short, rcu_nesting byte, irqs_off bit, gp_wait byte, ipi_wait byte,
 *                             preempt_count byte (spinlocks held: consolidated RCU makes a holder a
 *                             reader, and its last spin_unlock its quiescent point, as rcu.ts does)
 *     fault locals            new[i], pmdval[i]  (short, table refs)
 *     remover locals          r_pmdval short, r_cleared bit
 *   gp_wait, ipi_wait and irqs_off are constant in this model (no synchronize_rcu, no IPI, no
 *   local_irq_disable) but are kept, as ptcheck keeps them, and are read where ptcheck reads them.
 *   The masks fit a byte because there are at most 7 threads (FAULTS <= 5). Scratch variables used
 *   inside a d_step are `hidden`, so they are not part of the state vector.
 *
 *   init.  ptcheck's initial state (T1 live, *pmd = T1, nr_ptes = 1, every pc at label 0, every
 *   rcu_head arg -1) is the Promela initial state, set by the declarations' initialisers: there is no
 *   init process and no initialising step, so both tools start from the same state and count it once.
 *
 *   Kernel primitives.  The inlines below transcribe src/kernel/{spinlock,rcu,pgtable,state}.ts:
 *   spin_lock/unlock (unlock by a non-owner is UNLOCK_NOT_OWNER), ptlLock/ptlUnlock through ptTouch
 *   (a garbage table id is BAD_PMD_DEREF and then does nothing; a freed table is UAF and then the
 *   access goes ahead), setPte (WRITE_UNLOCKED, WRITE_DETACHED), ptEmpty, ptAlloc (first unused table;
 *   running out is a model error in ptcheck, an assertion here), ptFree (FREE_GARBAGE, DOUBLE_FREE,
 *   FREE_NONEMPTY, FREE_ATTACHED), mm_dec_nr_ptes (NR_PTES_NEGATIVE), rcu_read_unlock (RCU_UNBALANCED;
 *   leaving the last read section clears the thread's bit in every rcu_head's wait and every thread's
 *   gp_wait), call_rcu (RCU_HEAD_REQUEUED; wait = mask of current readers), and the exit hooks run on
 *   DONE (LOCK_HELD_AT_EXIT for any lock cell the thread owns, RCU_UNBALANCED inside a read section).
 *
 * Counts (bench/spin-count.ts checks them): pan's "states, stored" equals ptcheck's distinct states;
 * pan's "transitions (= stored+matched)" is ptcheck's transitions + 1 (pan counts the initial state,
 * which no transition reaches); built with -DREVERSE, pan tries processes in ascending _pid order as
 * ptcheck tries threads in ascending tid order, and its "depth reached" equals ptcheck's maxDepth.
 * SPIN's partial-order reduction (built without -DNOREDUCE) removes nothing here: every d_step reads
 * or writes globals, and SPIN reduces only on statements that touch nothing but local variables or
 * exclusive channels.
 *
 * Known differences
 *   - Properties are not checked here: the twin exists to compare state-space size and speed, and the
 *     upstream variant violates nothing: faults stays 0 on every reachable state (checked for FAULTS =
 *     1..3 with an extra process asserting it), but the fault-raising branches are transcribed all
 *     the same so that the two graphs are the same by construction, not by that accident.
 *   - ptcheck's range checks on writes (a model error) have no counterpart; in this model no write
 *     leaves its declared range, and ptcheck would have stopped with an error if one did.
 *   - The remover's `pte_free` step (label 9) is unreachable in `upstream` (it is the no-rcu variant's
 *     free path) and is transcribed only to keep the label numbering.
 */

#ifndef FAULTS
#define FAULTS 2
#endif

#define NT     (FAULTS + 2)   /* threads: fault0..fault{F-1}, remover, rcu */
#define NTAB   (FAULTS + 1)   /* page tables T1..T{F+1} */
#define NPTE   FAULTS         /* entries per table: fault i writes entry i */
#define NHEAD  NTAB           /* rcu_heads: one per table (head t-1 for table t) */
#define RM     FAULTS         /* remover's tid */
#define RCU    (FAULTS + 1)   /* rcu thread's tid */

#define DONE     (-1)
#define PMD_NONE 0

/* table state (enumOf(['unused', 'live', 'freed'])) */
#define UNUSED 0
#define LIVE   1
#define FREED  2

/* callback ids, 1-based in the order given to kernelState */
#define PTE_FREE_NOW 1

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

/* fault labels, in faultUpstream's declaration order (pteAlloc's steps first) */
#define L_PMD_NONE            0
#define L_PTE_ALLOC_ONE       1
#define L_PMD_LOCK            2
#define L_PMD_INSTALL         3
#define L_SPIN_UNLOCK_PML     4
#define L_PTE_FREE            5
#define L_RCU_READ_LOCK       6
#define L_PMDP_GET_LOCKLESS   7
#define L_RCU_READ_UNLOCK     8
#define L_SPIN_LOCK_PTL       9
#define L_PMD_SAME            10
#define L_UNLOCK_GOTO_AGAIN   11
#define L_SET_PTE_AT          12
#define L_PTE_UNMAP_UNLOCK    13

/* remover labels */
#define R_PMD_LOCK            0
#define R_PTE_OFFSET_MAP      1
#define R_SPIN_LOCK_PTL       2
#define R_PTE_NONE            3
#define R_PMD_CLEAR           4
#define R_SPIN_UNLOCK_PTL     5
#define R_SPIN_UNLOCK_PML     6
#define R_MM_DEC_NR_PTES      7
#define R_PTE_FREE_DEFER      8
#define R_PTE_FREE            9

/* rcu label */
#define C_RCU_DO_BATCH        0


/* ---- the state (every field of ptcheck's state vector, same values) ---------------------------- */

int   faults;
short nr_ptes = 1;                 /* init: nr_ptes = 1 */

/* T1..T{F+1}: T[t-1] and pt_state[t-1] are ptcheck's Tt (init: T1 live, the others unused) */
typedef PageTable {
  byte ptl;                        /* owner tid + 1, 0 = free */
  byte pte[NPTE]                   /* 0 = pte_none, 1 = page1 */
};
PageTable T[NTAB];
#if FAULTS == 1
byte pt_state[NTAB] = { LIVE, UNUSED };
#elif FAULTS == 2
byte pt_state[NTAB] = { LIVE, UNUSED, UNUSED };
#elif FAULTS == 3
byte pt_state[NTAB] = { LIVE, UNUSED, UNUSED, UNUSED };
#elif FAULTS == 4
byte pt_state[NTAB] = { LIVE, UNUSED, UNUSED, UNUSED, UNUSED };
#elif FAULTS == 5
byte pt_state[NTAB] = { LIVE, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED };
#else
#error "FAULTS must be 1..5 (ptcheck's parameter allows 1..3)"
#endif

typedef RcuHead {
  bit   queued;
  byte  wait;                      /* mask of readers (by tid) still to pass a quiescent state */
  byte  cb;                        /* 0 = none, 1 = pte_free_now */
  short arg = -1
};
RcuHead rcu_head[NHEAD];

short pmd = 1;                     /* init: *pmd = T1 */
byte  pml;                         /* owner tid + 1, 0 = free */

/* per thread, indexed by tid: the pc and kernelState's per-thread RCU/IRQ fields */
short pc[NT];                      /* all start at label 0 */
byte  rcu_nesting[NT];
bit   irqs_off[NT];
byte  gp_wait[NT];
byte  ipi_wait[NT];
byte  preempt_count[NT];           /* spinlocks held (preempt.ts); a holder is an RCU reader */

/* thread locals */
short f_new[FAULTS];               /* fault<i>.new */
short f_pmdval[FAULTS];            /* fault<i>.pmdval */
short r_pmdval;                    /* remover.pmdval */
bit   r_cleared;                   /* remover.cleared */

/* scratch used inside a d_step: not part of the state vector */
hidden byte  i_;
hidden int   m_;
hidden byte  ok_;
hidden byte  cb_;
hidden short arg_;

/* ---- kernel primitives (src/kernel/*.ts), each used inside one d_step ------------------------- */

inline raise(f) { faults = faults | (f) }

/* spinlock.ts spinUnlock */
inline spin_unlock(tid, l) {
  if
  :: l != (tid) + 1 -> raise(F_UNLOCK_NOT_OWNER)
  :: else -> l = 0; preempt_count[tid]--; rcu_maybe_quiescent(tid)
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

/* rcu.ts callRcu */
inline call_rcu(h, fn, a) {
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

/* rcu.ts rcuThread, alternative h: enabled when the head is queued and its grace period is over */
#define RCU_HEAD_READY(h)  (rcu_head[h].queued && rcu_head[h].wait == 0)
inline rcu_invoke(h) {
  rcu_head[h].queued = 0;
  cb_ = rcu_head[h].cb;
  arg_ = rcu_head[h].arg;
  rcu_head[h].cb = 0;
  rcu_head[h].arg = -1;
  assert(cb_ == PTE_FREE_NOW);     /* the model's only callback */
  pt_free(arg_)                    /* pte_free_now */
}

/* state.ts exit hooks, run when a step returns DONE: lockExitHook then rcuExitHook */
inline thread_exit(tid) {
  for (i_ : 0 .. NTAB - 1) {
    if
    :: T[i_].ptl == (tid) + 1 -> raise(F_LOCK_HELD_AT_EXIT)
    :: else -> skip
    fi
  }
  if
  :: pml == (tid) + 1 -> raise(F_LOCK_HELD_AT_EXIT)
  :: else -> skip
  fi;
  if
  :: rcu_nesting[tid] != 0 || irqs_off[tid] -> raise(F_RCU_UNBALANCED)
  :: else -> skip
  fi
}

/* ---- threads ----------------------------------------------------------------------------------- */

/* fault<i> (faultUpstream), tid = _pid = i; writes PTE slot i (me.index) */
active [FAULTS] proctype fault() {
end:
  do
  /* pteAlloc('rcu_read_lock') */
  :: d_step { pc[_pid] == L_PMD_NONE ->
       if
       :: pmd == PMD_NONE -> pc[_pid] = L_PTE_ALLOC_ONE
       :: else -> pc[_pid] = L_RCU_READ_LOCK
       fi }
  :: d_step { pc[_pid] == L_PTE_ALLOC_ONE ->
       pt_alloc(f_new[_pid]);
       pc[_pid] = L_PMD_LOCK }
  :: d_step { pc[_pid] == L_PMD_LOCK && pml == 0 ->
       pml = _pid + 1; preempt_count[_pid]++;
       pc[_pid] = L_PMD_INSTALL }
  :: d_step { pc[_pid] == L_PMD_INSTALL ->
       if
       :: pmd == PMD_NONE -> mm_inc_nr_ptes(); pmd = f_new[_pid]; f_new[_pid] = PMD_NONE
       :: else -> skip
       fi;
       pc[_pid] = L_SPIN_UNLOCK_PML }
  :: d_step { pc[_pid] == L_SPIN_UNLOCK_PML ->
       spin_unlock(_pid, pml);
       if
       :: f_new[_pid] != PMD_NONE -> pc[_pid] = L_PTE_FREE
       :: else -> pc[_pid] = L_RCU_READ_LOCK
       fi }
  :: d_step { pc[_pid] == L_PTE_FREE ->
       pt_free(f_new[_pid]);
       f_new[_pid] = PMD_NONE;
       pc[_pid] = L_RCU_READ_LOCK }
  /* __pte_offset_map_lock */
  :: d_step { pc[_pid] == L_RCU_READ_LOCK ->
       rcu_read_lock(_pid);
       pc[_pid] = L_PMDP_GET_LOCKLESS }
  :: d_step { pc[_pid] == L_PMDP_GET_LOCKLESS ->
       f_pmdval[_pid] = pmd;
       if
       :: f_pmdval[_pid] > 0 -> pc[_pid] = L_SPIN_LOCK_PTL
       :: else -> pc[_pid] = L_RCU_READ_UNLOCK
       fi }
  :: d_step { pc[_pid] == L_RCU_READ_UNLOCK ->
       rcu_read_unlock(_pid);
       pc[_pid] = L_PMD_NONE }
  :: d_step { pc[_pid] == L_SPIN_LOCK_PTL && PTL_LOCK_ENABLED(f_pmdval[_pid]) ->
       ptl_lock(_pid, f_pmdval[_pid]);
       pc[_pid] = L_PMD_SAME }
  :: d_step { pc[_pid] == L_PMD_SAME ->
       if
       :: pmd == f_pmdval[_pid] -> pc[_pid] = L_SET_PTE_AT
       :: else -> pc[_pid] = L_UNLOCK_GOTO_AGAIN
       fi }
  :: d_step { pc[_pid] == L_UNLOCK_GOTO_AGAIN ->
       ptl_unlock(_pid, f_pmdval[_pid]);
       rcu_read_unlock(_pid);
       pc[_pid] = L_RCU_READ_LOCK }
  :: d_step { pc[_pid] == L_SET_PTE_AT ->
       set_pte(_pid, f_pmdval[_pid], _pid, 1);
       pc[_pid] = L_PTE_UNMAP_UNLOCK }
  :: d_step { pc[_pid] == L_PTE_UNMAP_UNLOCK ->
       ptl_unlock(_pid, f_pmdval[_pid]);
       rcu_read_unlock(_pid);
       pc[_pid] = DONE;
       thread_exit(_pid) }
  od
}

/* remover (try_to_free_pte shape, RCU-deferred free), tid = RM */
active proctype remover() {
end:
  do
  :: d_step { pc[RM] == R_PMD_LOCK && pml == 0 ->
       pml = RM + 1; preempt_count[RM]++;
       pc[RM] = R_PTE_OFFSET_MAP }
  :: d_step { pc[RM] == R_PTE_OFFSET_MAP ->
       r_pmdval = pmd;
       if
       :: r_pmdval > 0 -> pc[RM] = R_SPIN_LOCK_PTL
       :: else -> pc[RM] = R_SPIN_UNLOCK_PML
       fi }
  :: d_step { pc[RM] == R_SPIN_LOCK_PTL && PTL_LOCK_ENABLED(r_pmdval) ->
       ptl_lock(RM, r_pmdval);
       pc[RM] = R_PTE_NONE }
  :: d_step { pc[RM] == R_PTE_NONE ->
       pt_empty(r_pmdval);
       if
       :: ok_ -> pc[RM] = R_PMD_CLEAR
       :: else -> pc[RM] = R_SPIN_UNLOCK_PTL
       fi }
  :: d_step { pc[RM] == R_PMD_CLEAR ->
       pmd = PMD_NONE;
       r_cleared = 1;
       pc[RM] = R_SPIN_UNLOCK_PTL }
  :: d_step { pc[RM] == R_SPIN_UNLOCK_PTL ->
       ptl_unlock(RM, r_pmdval);
       pc[RM] = R_SPIN_UNLOCK_PML }
  :: d_step { pc[RM] == R_SPIN_UNLOCK_PML ->
       spin_unlock(RM, pml);
       if
       :: r_cleared -> pc[RM] = R_MM_DEC_NR_PTES
       :: else -> pc[RM] = DONE; thread_exit(RM)
       fi }
  :: d_step { pc[RM] == R_MM_DEC_NR_PTES ->
       mm_dec_nr_ptes();
       pc[RM] = R_PTE_FREE_DEFER }
  :: d_step { pc[RM] == R_PTE_FREE_DEFER ->
       call_rcu(r_pmdval - 1, PTE_FREE_NOW, r_pmdval);
       pc[RM] = DONE;
       thread_exit(RM) }
  :: d_step { pc[RM] == R_PTE_FREE ->          /* unreachable in upstream */
       pt_free(r_pmdval);
       pc[RM] = DONE;
       thread_exit(RM) }
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
#endif
#if NHEAD > 3
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(3) -> rcu_invoke(3) }
#endif
#if NHEAD > 4
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(4) -> rcu_invoke(4) }
#endif
#if NHEAD > 5
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && RCU_HEAD_READY(5) -> rcu_invoke(5) }
#endif
  od
}
