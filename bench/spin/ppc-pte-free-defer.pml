/*
 * ppc-pte-free-defer.pml — the SPIN twin of models/ppc-pte-free-defer.ts, variant `pte-free-deferred`
 * (Hugh Dickins' v2: the PTE_FREE_DEFERRED heightened pt_frag_refcount, the first deferral queues the
 * page's one rcu_head, pte_free_now folds the deferrals that came in meanwhile and re-queues the head),
 * with walkers = 1, written at the same atomicity so that, with reductions off, SPIN and ptcheck
 * explore the same state graph and store the same number of distinct states.
 *
 *   spin -o2 -DNFRAG=3 -a ppc-pte-free-defer.pml
 *   gcc -O2 -DNOREDUCE -DSAFETY -DNOCLAIM -DNOFAIR -o pan pan.c -w && ./pan -m100000 -w20
 *     "states, stored" == `ptcheck verify ppc-pte-free-defer --variant pte-free-deferred
 *     --param nfrag=3 --no-symmetry --no-por --workers 1`'s distinct states
 *     (45 / 347 / 2291 / 13143 for NFRAG = 1 / 2 / 3 / 4). -o2 keeps the
 *     fields no statement reads (page_active, nr_ptes, ipi_wait) in the state vector, as ptcheck
 *     does; they are constant here, so the count is the same without it.
 *
 * How the twin corresponds to the model (the rules of bench/spin/pte-offset-map-lock.pml's header)
 *
 *   Threads.  ptcheck's threads, in declaration order, are collapser0..collapser{N-1} (tid 0..N-1),
 *   walker (tid N; walkers = 1, so its instance is named `walker`) and rcu (tid N+1). Each is an
 *   `active proctype` whose _pid equals its tid; there is no init process.
 *
 *   pc.  pc[tid] is the index of the label in the thread's `steps` declaration order, -1 once the
 *   thread returned DONE: K_* (collapserDeferred), W_* (walker) and C_* (rcuDeferred: rcu_do_batch,
 *   the v2 pte_free_now's atomic steps, then fragmentFreeSteps spread after them).
 *
 *   Steps.  One ptcheck step = one `d_step { guard -> body }` option of the thread's single
 *   `end: do ... od` loop; the guard is `pc[tid] == L` plus the exact condition under which the step
 *   does not return BLOCKED. The walker's `pmdp_get_lockless` has one alternative per fragment
 *   (alts = N): one d_step per fragment k, in ascending k. The rcu thread's `rcu_do_batch` has one
 *   alternative (one rcu_head): enabled when the head is queued and its grace period is over; it
 *   dequeues the head and goes on to the callback's first atomic step (it does not free anything by
 *   itself: pte_free_now runs as the rcu thread's next steps, interleaved with the collapsers).
 *
 *   State.  Every field of ptcheck's state vector is a Promela global holding the same value:
 *     faults                 int    the fault bitmask (bits as in src/kernel/faults.ts)
 *     nr_ptes                short  (0 here: the model never sets it)
 *     pt_state, T1.ptl, T1.pte[]    the page, table T1 (state 0 unused, 1 live, 2 freed: live at
 *                                   init); ptl 0 (never locked here); pte[i] = fragment i's entry (0)
 *     rcu_head               the page's one rcu_head: queued, wait (reader mask), cb, arg (-1 = none)
 *     pmd[]                  short  pmd[i] maps fragment i: 1 (T1) while linked, 0 once cleared
 *     deferred, frag         short  pt_frag_refcount = deferred * PTE_FREE_DEFERRED + frag, as the
 *                                   model holds it (frag = N at init)
 *     page_active            bit    (v3 only; constant false in this variant, kept as ptcheck keeps it)
 *     ghost_folded           bit    the model's ghost.folded (set by the fold loop's step, for the
 *                                   deferrals-fold guard); ghost_exit_last_ref is constant (cached = 0)
 *     per thread (by tid)    pc short, rcu_nesting byte, irqs_off bit, gp_wait byte, ipi_wait byte
 *                            (no spinlock is taken here, so ptcheck's preempt_count stays 0 and is left out)
 *     walker local           w_pte short (-1 = none, k = fragment k)
 *   The masks fit a byte because there are at most 8 threads (NFRAG <= 6). Scratch variables used
 *   inside a d_step are `hidden`, so they are not part of the state vector. The twin reads what the
 *   steps read even where the value is unused (readPte's load of T1.pte[pte], rcuDoBatch's read of
 *   the head's arg): SPIN hides a variable no statement reads, and w_pte, which tells apart states
 *   ptcheck keeps apart, would otherwise be dropped from the state vector.
 *
 *   init.  ptcheck's initial state (T1 live, every pmd[i] = T1, frag = N, every pc at label 0, the
 *   rcu_head's arg -1) is the Promela initial state, set by the declarations' initialisers.
 *
 *   Refcount.  atomic_add_return(d * PTE_FREE_DEFERRED + f) adds d to `deferred` and f to `frag` and
 *   returns deferred * 0x10000 + frag, the exact integer the kernel's counter would hold (an int
 *   here), which the steps compare with the kernel's own constants; a negative result is
 *   REFCOUNT_UNDERFLOW, as in the model.
 *
 *   Kernel primitives.  The inlines below transcribe src/kernel/{rcu,pgtable,state}.ts as used here:
 *   ptTouch (readPte of a freed page is UAF), ptFree (FREE_GARBAGE, DOUBLE_FREE, FREE_NONEMPTY,
 *   FREE_ATTACHED: some pmd[i] still maps T1), rcu_read_lock/unlock (RCU_UNBALANCED; leaving the last
 *   read section clears the thread's bit in the rcu_head's wait and in every thread's gp_wait),
 *   call_rcu (RCU_HEAD_REQUEUED; wait = mask of current readers), rcuDoBatch's dequeue, and the exit
 *   hooks run on DONE (LOCK_HELD_AT_EXIT if the thread owns T1's ptl, RCU_UNBALANCED inside a read
 *   section).
 *
 * Counts (bench/spin-count.ts checks them): pan's "states, stored" equals ptcheck's distinct states,
 * its "transitions" is ptcheck's + 1, and built with -DREVERSE its "depth reached" equals ptcheck's
 * maxDepth.
 *
 * Known differences
 *   - Properties are not checked here (the twin compares state-space size and speed); the fault
 *     branches are transcribed all the same, so the graphs are the same by construction.
 *   - ptcheck's symmetry reduction (collapsers are declared interchangeable) has no counterpart: with
 *     reductions on, ptcheck stores one state per permutation class of the collapsers, SPIN explores
 *     the full graph with its partial-order reduction, which removes nothing here (every d_step
 *     touches globals).
 *   - walkers is fixed at 1 (ptcheck's default); ptcheck's range checks on writes (a model error)
 *     have no counterpart.
 */

#ifndef NFRAG
#define NFRAG 3
#endif
#if NFRAG < 1 || NFRAG > 6
#error "NFRAG must be 1..6 (ptcheck's parameter allows 1..16; the twin's masks are bytes)"
#endif

#define NT     (NFRAG + 2)    /* threads: collapser0..collapser{N-1}, walker, rcu */
#define WK     NFRAG          /* the walker's tid */
#define RCU    (NFRAG + 1)    /* the rcu thread's tid */

#define DONE     (-1)
#define PMD_NONE 0
#define PAGE     1            /* the page holding the fragments: table T1 */
#define HEAD     0            /* the page's one rcu_head */

/* table state (enumOf(['unused', 'live', 'freed'])) */
#define UNUSED 0
#define LIVE   1
#define FREED  2

/* callback ids, 1-based in the order given to kernelState */
#define PTE_FREE_NOW 1

/* arch/powerpc/mm/pgtable-frag.c (v2) */
#define PTE_FREE_DEFERRED 65536

/* src/kernel/faults.ts */
#define F_UAF                 1
#define F_DOUBLE_FREE         2
#define F_FREE_NONEMPTY       4
#define F_FREE_GARBAGE        8
#define F_LOCK_HELD_AT_EXIT   128
#define F_RCU_HEAD_REQUEUED   256
#define F_RCU_UNBALANCED      512
#define F_FREE_ATTACHED       1024
#define F_REFCOUNT_UNDERFLOW  8192

/* collapser labels (collapserDeferred) */
#define K_PMDP_COLLAPSE_FLUSH 0
#define K_ATOMIC_ADD_RETURN   1
#define K_CALL_RCU            2

/* walker labels */
#define W_RCU_READ_LOCK       0
#define W_PMDP_GET_LOCKLESS   1
#define W_PTEP_GET_LOCKLESS   2
#define W_RCU_READ_UNLOCK     3

/* rcu labels (rcuDeferred, then fragmentFreeSteps) */
#define C_RCU_DO_BATCH        0
#define C_SUB_DEFERRED_MINUS1 1   /* atomic_sub_return(PTE_FREE_DEFERRED - 1) */
#define C_SUB_DEFERRED        2   /* atomic_sub_return(PTE_FREE_DEFERRED) */
#define C_ATOMIC_DEC          3
#define C_CALL_RCU            4
#define C_ATOMIC_READ         5
#define C_ATOMIC_DEC_AND_TEST 6
#define C_FREE_PAGE           7   /* __free_page */


/* ---- the state (every field of ptcheck's state vector, same values) ---------------------------- */

int   faults;
short nr_ptes;

/* the page, T1 */
byte  pt_state = LIVE;
byte  pt_ptl;                      /* owner tid + 1, 0 = free */
byte  pt_pte[NFRAG];               /* fragment i's entry: 0 = pte_none */

/* the page's one rcu_head */
bit   rh_queued;
byte  rh_wait;                     /* mask of readers (by tid) still to pass a quiescent state */
byte  rh_cb;                       /* 0 = none, 1 = pte_free_now */
short rh_arg = -1;

short pmd[NFRAG] = PAGE;           /* every fragment linked at init */
short deferred;                    /* pt_frag_refcount = deferred * PTE_FREE_DEFERRED + frag */
short frag = NFRAG;
bit   page_active;
bit   ghost_folded;                /* ghost.folded: pte_free_now's while loop ran */
bit   ghost_exit_last_ref;         /* ghost.exit_last_ref: constant here (cached = 0, no exit_mmap) */

/* per thread, indexed by tid */
short pc[NT];                      /* all start at label 0 */
byte  rcu_nesting[NT];
bit   irqs_off[NT];
byte  gp_wait[NT];
byte  ipi_wait[NT];

/* walker local */
short w_pte = -1;

/* scratch used inside a d_step: not part of the state vector */
hidden byte i_;
hidden int  m_;
hidden int  v_;
hidden byte ok_;
hidden byte cb_;
hidden short arg_;

/* ---- kernel primitives (src/kernel/*.ts), each used inside one d_step ------------------------- */

inline raise(f) { faults = faults | (f) }

/* the model's atomicAddReturn: v_ = the counter's new value */
inline atomic_add_return(d, f) {
  deferred = deferred + (d);
  frag = frag + (f);
  v_ = deferred * PTE_FREE_DEFERRED + frag;
  if
  :: v_ < 0 -> raise(F_REFCOUNT_UNDERFLOW)
  :: else -> skip
  fi
}

/* pgtable.ts ptTouch of T1 (the only table: never a garbage id here) */
inline pt_touch_page() {
  if
  :: pt_state == FREED -> raise(F_UAF)
  :: else -> skip
  fi
}

/* pgtable.ts ptFree(T1) */
inline pt_free_page() {
  if
  :: pt_state == FREED -> raise(F_DOUBLE_FREE)
  :: pt_state == UNUSED -> raise(F_FREE_GARBAGE)
  :: else ->
     ok_ = 0;
     for (i_ : 0 .. NFRAG - 1) {
       if
       :: pt_pte[i_] != 0 -> ok_ = 1
       :: else -> skip
       fi
     }
     if
     :: ok_ -> raise(F_FREE_NONEMPTY)
     :: else -> skip
     fi;
     ok_ = 0;
     for (i_ : 0 .. NFRAG - 1) {   /* attached: some pmd cell links T1 */
       if
       :: pmd[i_] == PAGE -> ok_ = 1
       :: else -> skip
       fi
     }
     if
     :: ok_ -> raise(F_FREE_ATTACHED)
     :: else -> skip
     fi;
     pt_state = FREED
  fi
}

/* rcu.ts rcuMaybeQuiescent -> quiescent */
inline rcu_maybe_quiescent(tid) {
  if
  :: rcu_nesting[tid] == 0 && !irqs_off[tid] ->
     rh_wait = rh_wait & ~(1 << (tid));
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
    :: rcu_nesting[i_] > 0 || irqs_off[i_] -> m_ = m_ | (1 << i_)
    :: else -> skip
    fi
  }
}

/* rcu.ts callRcu on the page's head */
inline call_rcu(fn, a) {
  if
  :: rh_queued -> raise(F_RCU_HEAD_REQUEUED)
  :: else -> skip
  fi;
  rh_queued = 1;
  rh_cb = fn;
  rh_arg = a;
  readers_mask();
  rh_wait = m_
}

/* state.ts exit hooks, run when a step returns DONE: lockExitHook (T1's ptl is the model's only lock
 * cell) then rcuExitHook */
inline thread_exit(tid) {
  if
  :: pt_ptl == (tid) + 1 -> raise(F_LOCK_HELD_AT_EXIT)
  :: else -> skip
  fi;
  if
  :: rcu_nesting[tid] != 0 || irqs_off[tid] -> raise(F_RCU_UNBALANCED)
  :: else -> skip
  fi
}

/* ---- threads ----------------------------------------------------------------------------------- */

/* collapser<i> (collapserDeferred), tid = _pid = i: owns pmd[i] and fragment i */
active [NFRAG] proctype collapser() {
end:
  do
  /* pmd_lock; spin_lock(ptl); pmdp_collapse_flush; spin_unlock(ptl); spin_unlock(pml) */
  :: d_step { pc[_pid] == K_PMDP_COLLAPSE_FLUSH ->
       pmd[_pid] = PMD_NONE;
       pc[_pid] = K_ATOMIC_ADD_RETURN }
  /* atomic_add_return(PTE_FREE_DEFERRED - 1, ...) < PTE_FREE_DEFERRED + PTE_FREE_DEFERRED */
  :: d_step { pc[_pid] == K_ATOMIC_ADD_RETURN ->
       atomic_add_return(1, -1);
       if
       :: v_ < PTE_FREE_DEFERRED + PTE_FREE_DEFERRED -> pc[_pid] = K_CALL_RCU
       :: else -> pc[_pid] = DONE; thread_exit(_pid)
       fi }
  :: d_step { pc[_pid] == K_CALL_RCU ->
       call_rcu(PTE_FREE_NOW, PAGE);
       pc[_pid] = DONE;
       thread_exit(_pid) }
  od
}

/* walker (the lockless RCU walker), tid = WK */
active proctype walker() {
end:
  do
  :: d_step { pc[WK] == W_RCU_READ_LOCK ->
       rcu_read_lock(WK);
       pc[WK] = W_PMDP_GET_LOCKLESS }
  /* pmdp_get_lockless(pmd[k]): alternative k, ascending */
#define GET_LOCKLESS(k) \
  :: d_step { pc[WK] == W_PMDP_GET_LOCKLESS -> \
       if \
       :: pmd[k] != PAGE -> pc[WK] = W_RCU_READ_UNLOCK \
       :: else -> w_pte = k; pc[WK] = W_PTEP_GET_LOCKLESS \
       fi }
  GET_LOCKLESS(0)
#if NFRAG > 1
  GET_LOCKLESS(1)
#endif
#if NFRAG > 2
  GET_LOCKLESS(2)
#endif
#if NFRAG > 3
  GET_LOCKLESS(3)
#endif
#if NFRAG > 4
  GET_LOCKLESS(4)
#endif
#if NFRAG > 5
  GET_LOCKLESS(5)
#endif
  /* readPte(T1, pte): a load from the fragment (its value is not used) */
  :: d_step { pc[WK] == W_PTEP_GET_LOCKLESS ->
       pt_touch_page();
       v_ = pt_pte[w_pte];
       pc[WK] = W_RCU_READ_UNLOCK }
  :: d_step { pc[WK] == W_RCU_READ_UNLOCK ->
       rcu_read_unlock(WK);
       w_pte = -1;
       pc[WK] = DONE;
       thread_exit(WK) }
  od
}

/* rcu (rcuDeferred): a daemon, never finishes */
active proctype rcu() {
end:
  do
  /* rcuDoBatch, alternative 0 (the one head): dequeue, enter pte_free_now */
  :: d_step { pc[RCU] == C_RCU_DO_BATCH && rh_queued && rh_wait == 0 ->
       rh_queued = 0;
       cb_ = rh_cb;
       arg_ = rh_arg;                /* pte_free_now ignores it: it frees page PAGE */
       rh_cb = 0;
       rh_arg = -1;
       assert(cb_ == PTE_FREE_NOW);  /* the model's only callback */
       pc[RCU] = C_SUB_DEFERRED_MINUS1 }
  :: d_step { pc[RCU] == C_SUB_DEFERRED_MINUS1 ->
       atomic_add_return(-1, 1);
       if
       :: v_ < PTE_FREE_DEFERRED -> pc[RCU] = C_ATOMIC_READ      /* pte_fragment_free(page_address(page), 0) */
       :: v_ >= PTE_FREE_DEFERRED + PTE_FREE_DEFERRED -> pc[RCU] = C_SUB_DEFERRED
       :: else -> pc[RCU] = C_ATOMIC_DEC
       fi }
  /* while (refcount >= PTE_FREE_DEFERRED + PTE_FREE_DEFERRED) refcount = atomic_sub_return(PTE_FREE_DEFERRED, ...) */
  :: d_step { pc[RCU] == C_SUB_DEFERRED ->
       ghost_folded = 1;
       atomic_add_return(-1, 0);
       if
       :: v_ >= PTE_FREE_DEFERRED + PTE_FREE_DEFERRED -> pc[RCU] = C_SUB_DEFERRED
       :: else -> pc[RCU] = C_ATOMIC_DEC
       fi }
  :: d_step { pc[RCU] == C_ATOMIC_DEC ->
       atomic_add_return(0, -1);
       pc[RCU] = C_CALL_RCU }
  :: d_step { pc[RCU] == C_CALL_RCU ->
       call_rcu(PTE_FREE_NOW, PAGE);
       pc[RCU] = C_RCU_DO_BATCH }
  /* fragmentFreeSteps: pte_fragment_free(table, 0) */
  :: d_step { pc[RCU] == C_ATOMIC_READ ->
       if
       :: deferred * PTE_FREE_DEFERRED + frag <= 0 -> raise(F_REFCOUNT_UNDERFLOW)
       :: else -> skip
       fi;
       pc[RCU] = C_ATOMIC_DEC_AND_TEST }
  :: d_step { pc[RCU] == C_ATOMIC_DEC_AND_TEST ->
       atomic_add_return(0, -1);
       if
       :: v_ == 0 -> pc[RCU] = C_FREE_PAGE
       :: else -> pc[RCU] = C_RCU_DO_BATCH
       fi }
  :: d_step { pc[RCU] == C_FREE_PAGE ->
       pt_free_page();
       pc[RCU] = C_RCU_DO_BATCH }
  od
}
