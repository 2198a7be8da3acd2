// Vacuity guards that mean what they say: for a shipped `sometimes` guard, a mutant of the model that
// removes what the guard describes must make it unreachable (a guard that stays reachable tests
// something else). Also variants the spec headers argue about without giving them a row.

import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, replaceThreads } from '../../src/model/model.ts';
import { instantiateUserVariant } from '../../src/model/compile.ts';
import { defineVariant, type UserVariant } from '../../src/model/variant-file.ts';
import { verify } from '../../src/explore/verify.ts';
import type { SpecModule } from '../../src/spec/property.ts';

import ppc, { PTE_FREE_DEFERRED, fragRefcount, state as ppcState } from '../../models/ppc-pte-free-defer.ts';
import ppcSpec from '../../specs/ppc-pte-free-defer.ts';
import pteOffsetMapLock from '../../models/pte-offset-map-lock.ts';
import pteOffsetMapLockSpec from '../../specs/pte-offset-map-lock.ts';
import retract from '../../models/retract-page-tables.ts';
import retractSpec from '../../specs/retract-page-tables.ts';
import { sometimes } from '../../src/spec/property.ts';
import pteRefcount, { state as pteRefcountState } from '../../models/pte-refcount.ts';
import pteRefcountSpec from '../../specs/pte-refcount.ts';
import ptReclaim from '../../models/pt-reclaim-rcu-free.ts';
import ptReclaimSpec from '../../specs/pt-reclaim-rcu-free.ts';
import { ptlLock, rcuReadUnlock, rcuThread, readPte } from '../../src/kernel/index.ts';
import gupFast from '../../models/gup-fast-table-free.ts';
import gupFastSpec from '../../specs/gup-fast-table-free.ts';
import asyncFree from '../../models/kernel-pgtable-async-free.ts';
import asyncFreeSpec from '../../specs/kernel-pgtable-async-free.ts';
import tryToFree, { state as tryToFreeState } from '../../models/try-to-free-user-pte.ts';
import tryToFreeSpec from '../../specs/try-to-free-user-pte.ts';
import { invalidateWalkerCaches } from '../../src/kernel/walker-cache.ts';

function verdicts(uv: UserVariant<any, any>, spec: SpecModule, params: Record<string, number> = {}): Record<string, string> {
  const r = verify(instantiateUserVariant(uv, 'test', params), spec, { stopAtFirst: false });
  expect(r.outcome.kind).toBe('complete');
  return Object.fromEntries(r.properties.map((p) => [p.name, p.status]));
}

describe('ppc-pte-free-defer', () => {
  it("deferrals-fold is unreachable when pte_free_now's while loop never runs, though three deferrals still pile up", () => {
    // the loop's entry removed: after atomic_sub_return(PTE_FREE_DEFERRED - 1) go straight to atomic_dec
    const noLoop = defineVariant(ppc, {
      name: 'no-fold-loop',
      summary: 'pte_free_now never folds: its while loop is gone',
      base: 'pte-free-deferred',
      apply: (d) => {
        (d.threads.rcu.steps as Record<string, unknown>)['atomic_sub_return(PTE_FREE_DEFERRED - 1)'] = (s: any) => {
          s.pt_frag_refcount.deferred -= 1;
          s.pt_frag_refcount.frag += 1;
          return fragRefcount(s) < PTE_FREE_DEFERRED ? 'atomic_read' : 'atomic_dec';
        };
      },
    });
    const v = verdicts(noLoop, ppcSpec);
    expect(v['deferrals-fold']).toBe('unreachable');
    // what the old guard tested (three deferrals pending at once) is still reachable in this mutant
    expect(v['deferral-piggy-backs']).toBe('reachable');
  });

  it('page-marked-active is unreachable when pte_free_defer does not SetPageActive', () => {
    const noActive = defineVariant(ppc, {
      name: 'no-set-page-active',
      summary: 'pte_free_defer without SetPageActive',
      apply: (d) => {
        (d.threads.collapser.steps as Record<string, unknown>)['SetPageActive'] = () => 'atomic_read';
      },
    });
    expect(verdicts(noActive, ppcSpec)['page-marked-active']).toBe('unreachable');
  });

  it('grace-period-waits-for-walker is unreachable when the walker takes no read section', () => {
    const noRcu = defineVariant(ppc, {
      name: 'walker-without-rcu',
      summary: 'the walker reads without rcu_read_lock',
      apply: (d) => {
        const steps = d.threads.walker.steps as Record<string, unknown>;
        steps['rcu_read_lock'] = () => 'pmdp_get_lockless';
        steps['rcu_read_unlock'] = (_s: any, me: any) => {
          me.pte.v = -1;
          return DONE;
        };
      },
    });
    const v = verdicts(noRcu, ppcSpec);
    expect(v['grace-period-waits-for-walker']).toBe('unreachable');
    expect(v['no-use-after-free']).toBe('violated');
  });

  it('pte-free-deferred holds with fragments cached at mm exit (a pending deferral keeps the count above zero)', () => {
    const v2Exit = defineVariant(ppc, { name: 'pte-free-deferred-exit', summary: 'v2 with the mm exiting', base: 'pte-free-deferred', params: { cached: 1 }, apply: () => {} });
    const v = verdicts(v2Exit, ppcSpec);
    expect(v['no-use-after-free']).toBe('holds');
    expect(v['page-freed-not-active']).toBe('holds');
    expect(v['everything-freed']).toBe('holds');
    expect(v['exit-drops-last-reference']).toBe('reachable');
  });
});

describe('pte-offset-map-lock', () => {
  it('remover-frees-table is unreachable when the remover never frees, though a fault losing the pmd_install race still frees a table', () => {
    const noFree = defineVariant(pteOffsetMapLock, {
      name: 'remover-never-frees',
      summary: 'pte_free_defer queues nothing',
      apply: (d) => {
        (d.threads.remover.steps as Record<string, unknown>)['pte_free_defer'] = () => DONE;
      },
    });
    const r = verify(instantiateUserVariant(noFree as UserVariant<any, any>, 'test', {}), pteOffsetMapLockSpec, { stopAtFirst: false });
    const v = Object.fromEntries(r.properties.map((p) => [p.name, p.status]));
    expect(v['remover-frees-table']).toBe('unreachable');
    // what the old guard ("some table is freed") looked at is still reachable: pteAlloc's pte_free
    const someFreed = sometimes('some-table-freed', 'any table is freed', (s: any) => s.pt.some((t: any) => t.state === 'freed'));
    const r2 = verify(instantiateUserVariant(noFree as UserVariant<any, any>, 'test', {}), { ...pteOffsetMapLockSpec, properties: [someFreed], expect: {} }, { stopAtFirst: false });
    expect(r2.properties.find((p) => p.name === 'some-table-freed')!.status).toBe('reachable');
  });

  it('fault-writes-pte is unreachable when the faults never write', () => {
    const noWrite = defineVariant(pteOffsetMapLock, {
      name: 'faults-never-write',
      summary: 'set_pte_at writes nothing',
      apply: (d) => {
        (d.threads.fault.steps as Record<string, unknown>)['set_pte_at'] = () => 'pte_unmap_unlock';
      },
    });
    expect(verdicts(noWrite, pteOffsetMapLockSpec)['fault-writes-pte']).toBe('unreachable');
  });
});

describe('retract-page-tables', () => {
  it('the zap guards are unreachable when pte_free_tlb queues nothing (the ghost flag alone would still be set)', () => {
    const noZapFree = defineVariant(retract, {
      name: 'zap-never-frees',
      summary: 'pte_free_tlb records the path but queues no free',
      apply: (d) => {
        (d.threads.madvise.steps as Record<string, unknown>)['pte_free_tlb'] = (s: any, me: any) => {
          if (me.slow) s.ghost.zap_slow = true;
          else s.ghost.zap_fast = true;
          return 'mm_dec_nr_ptes';
        };
      },
    });
    const v = verdicts(noZapFree, retractSpec);
    expect(v['zap-frees-by-fast-path']).toBe('unreachable');
    expect(v['zap-frees-by-slow-path']).toBe('unreachable');
    expect(v['retract-and-zap-both-free']).toBe('unreachable');
  });

  it('khugepaged-retracts-table is unreachable when the recheck under ptl always refuses', () => {
    const neverRetract = defineVariant(retract, {
      name: 'never-retract',
      summary: 'the recheck under ptl always says not retractable',
      apply: (d) => {
        d.threads.khugepaged.steps['likely(file_backed_vma_is_retractable)'] = () => 'spin_unlock(ptl)';
      },
    });
    expect(verdicts(neverRetract, retractSpec)['khugepaged-retracts-table']).toBe('unreachable');
  });

  it('khugepaged-retracts-other-table is unreachable in upstream-shared-copy when UFFDIO_COPY installs no table', () => {
    const noInstall = defineVariant(retract, {
      name: 'shared-copy-installs-nothing',
      summary: 'uffdio_copy_shared fails before __pte_alloc',
      base: 'upstream-shared-copy',
      apply: (d) => {
        (d.threads.uffdio_copy_shared.steps as Record<string, unknown>)['pmd_none'] = () => DONE;
      },
    });
    expect(verdicts(noInstall, retractSpec)['khugepaged-retracts-other-table']).toBe('unreachable');
  });
});

describe('pte-refcount and pt-reclaim-rcu-free', () => {
  it("pte-refcount's madvise-frees-table is unreachable when pte_free_rcu frees nothing, though faults still free their spare tables", () => {
    const noFree = defineVariant(pteRefcount, {
      name: 'pte-free-rcu-frees-nothing',
      summary: 'the RCU callback drops the table instead of freeing it',
      apply: (d, p) => replaceThreads(d, { rcu: rcuThread(pteRefcountState(p), ['pte_free_rcu'], { pte_free_rcu: () => {} }, 1 + p.faults) }),
    });
    const v = verdicts(noFree, pteRefcountSpec);
    expect(v['madvise-frees-table']).toBe('unreachable');
    const someFreed = sometimes('some-table-freed', 'any table is freed', (s: any) => s.pt.some((t: any) => t.state === 'freed'));
    const r = verify(instantiateUserVariant(noFree as UserVariant<any, any>, 'test', {}), { ...pteRefcountSpec, properties: [someFreed], expect: {} }, { stopAtFirst: false });
    expect(r.properties.find((p) => p.name === 'some-table-freed')!.status).toBe('reachable');
  });

  it("pt-reclaim-rcu-free's single-table-path-frees is unreachable when the fallback queues nothing", () => {
    const noFallbackFree = defineVariant(ptReclaim, {
      name: 'fallback-frees-nothing',
      summary: '__tlb_remove_table_one queues no free',
      apply: (d) => {
        (d.threads.madvise.steps as Record<string, unknown>)['__tlb_remove_table_one'] = () => DONE;
      },
    });
    const v = verdicts(noFallbackFree, ptReclaimSpec);
    expect(v['single-table-path-frees']).toBe('unreachable');
    expect(v['batch-path-frees']).toBe('reachable');
  });
});

describe('gup-fast-table-free', () => {
  it('table-freed is unreachable when tlb_table_flush queues no free, and the walkers still see the table detached', () => {
    const noFree = defineVariant(gupFast, {
      name: 'tlb-table-flush-frees-nothing',
      summary: 'tlb_table_flush drops the table instead of queueing its free',
      base: 'rcu-table-free',
      apply: (d) => {
        (d.threads.munmap.steps as Record<string, unknown>)['tlb_table_flush'] = () => DONE;
      },
    });
    const v = verdicts(noFree, gupFastSpec);
    expect(v['table-freed']).toBe('unreachable');
    expect(v['walker-holds-detached-table']).toBe('reachable');
  });

  it('walker-holds-detached-table is unreachable when the walkers never disable IRQs, though the table is still freed', () => {
    const irqsOn = defineVariant(gupFast, {
      name: 'walkers-with-irqs-on',
      summary: 'local_irq_save and local_irq_restore do nothing',
      base: 'rcu-table-free',
      apply: (d) => {
        const steps = d.threads.gup_fast.steps as Record<string, unknown>;
        steps['local_irq_save'] = () => 'pmdp_get_lockless';
        steps['local_irq_restore'] = () => DONE;
      },
    });
    const v = verdicts(irqsOn, gupFastSpec);
    expect(v['walker-holds-detached-table']).toBe('unreachable');
    expect(v['table-freed']).toBe('reachable');
  });
});

// The rest of the shipped guards (issue #16 item 9: every `sometimes` guard against a mutant that removes
// what it describes). Guards a matrix row already shows unreachable in a variant that removes their
// subject are not repeated here: kernel-pgtable-async-free's kick-while-running (drop-kick-while-running
// never kicks a running work item) and try-to-free-user-pte's switch-back-runs (rfc: switch_back = false).

describe('ppc-pte-free-defer: the rest of its guards', () => {
  it('page-freed is unreachable when neither pte_free_now frees the page, and the walker still holds off the grace period', () => {
    const noFree = defineVariant(ppc, {
      name: 'nothing-frees-the-page',
      summary: "pte_fragment_free's and the RCU callback's pte_free_now free nothing",
      apply: (d, p) => {
        (d.threads.collapser.steps as Record<string, unknown>)['pte_free_now'] = () => DONE;
        return replaceThreads(d, { rcu: rcuThread(ppcState(p.nfrag, p.cached), ['pte_free_now'], { pte_free_now: () => {} }, 1) });
      },
    });
    const v = verdicts(noFree, ppcSpec);
    expect(v['page-freed']).toBe('unreachable');
    expect(v['grace-period-waits-for-walker']).toBe('reachable');
  });

  it('walker-holds-detached-fragment is unreachable when the walker loads from the fragment in the step that reads *pmd', () => {
    // no step between the lockless snapshot and ptep_get_lockless: a collapser cannot clear the pmd of
    // a fragment the walker holds
    const noWindow = defineVariant(ppc, {
      name: 'walker-without-window',
      summary: 'pmdp_get_lockless and ptep_get_lockless as one step',
      apply: (d, p) => {
        (d.threads.walker.steps as Record<string, unknown>)['pmdp_get_lockless'] = {
          alts: p.nfrag,
          run: (s: any, _me: any, alt: number) => {
            if (s.pmd[alt].v === 1) readPte(s, 1, alt);
            return 'rcu_read_unlock';
          },
        };
      },
    });
    const v = verdicts(noWindow, ppcSpec);
    expect(v['walker-holds-detached-fragment']).toBe('unreachable');
    expect(v['grace-period-waits-for-walker']).toBe('reachable');
  });

  it('deferral-piggy-backs (and deferrals-fold) are unreachable when each pte_free_defer waits until no deferral is pending', () => {
    // a deferral never finds the rcu_head in use: the PTE_FREE_DEFERRED count is back to zero first
    const oneAtATime = defineVariant(ppc, {
      name: 'one-deferral-at-a-time',
      summary: 'v2 whose pte_free_defer waits for the previous deferral to be folded',
      base: 'pte-free-deferred',
      apply: (d) => {
        (d.threads.collapser.steps as Record<string, unknown>)['atomic_add_return'] = (s: any) => {
          if (s.pt_frag_refcount.deferred > 0) return BLOCKED;
          s.pt_frag_refcount.deferred += 1;
          s.pt_frag_refcount.frag -= 1;
          return fragRefcount(s) < PTE_FREE_DEFERRED + PTE_FREE_DEFERRED ? 'call_rcu' : DONE;
        };
      },
    });
    const v = verdicts(oneAtATime, ppcSpec);
    expect(v['deferral-piggy-backs']).toBe('unreachable');
    expect(v['deferrals-fold']).toBe('unreachable');
    expect(v['page-freed']).toBe('reachable');
  });

  it("exit-drops-last-reference is unreachable when pte_frag_destroy drops no reference, and mm-exit's use-after-free goes with it", () => {
    const noDrop = defineVariant(ppc, {
      name: 'exit-drops-nothing',
      summary: "pte_frag_destroy's atomic_sub_and_test removed",
      base: 'mm-exit',
      apply: (d) => {
        (d.threads.exit_mmap.steps as Record<string, unknown>)['pte_frag_destroy'] = () => DONE;
      },
    });
    const v = verdicts(noDrop, ppcSpec, { cached: 1 });
    expect(v['exit-drops-last-reference']).toBe('unreachable');
    // the mm-exit violation is the page freed by that drop while a walker reads it (the spec header)
    expect(v['no-use-after-free']).toBe('holds');
  });
});

describe('pte-refcount: the rest of its guards', () => {
  it("walker-reads-table is unreachable when the walker's pte_get_unless_zero always fails", () => {
    const refused = defineVariant(pteRefcount, {
      name: 'walker-never-gets-a-reference',
      summary: 'pte_try_get in the walker always returns FAILED_ZERO',
      apply: (d) => {
        (d.threads.walker.steps as Record<string, unknown>)['pte_get_unless_zero'] = (s: any, me: any) => {
          rcuReadUnlock(s, me);
          me.pmdval = 0;
          return DONE;
        };
      },
    });
    const v = verdicts(refused, pteRefcountSpec);
    expect(v['walker-reads-table']).toBe('unreachable');
    expect(v['fault-installs-new-table']).toBe('reachable');
  });

  it('fault-installs-new-table is unreachable when a fault never allocates a table', () => {
    const noAlloc = defineVariant(pteRefcount, {
      name: 'fault-never-allocates',
      summary: '__pte_alloc_try_get gives up instead of allocating',
      apply: (d) => {
        (d.threads.fault.steps as Record<string, unknown>)['pte_alloc_one'] = () => DONE;
      },
    });
    const v = verdicts(noAlloc, pteRefcountSpec);
    expect(v['fault-installs-new-table']).toBe('unreachable');
    expect(v['madvise-frees-table']).toBe('reachable');
  });
});

describe('madvise-frees-table means MADV_DONTNEED frees T1, not only that T1 is freed', () => {
  const t1Freed = sometimes('t1-freed', 'T1 is freed by anyone', (s: any) => s.pt[0].state === 'freed');
  const both = (uv: UserVariant<any, any>, spec: SpecModule) => {
    const r = verify(instantiateUserVariant(uv, 'test', {}), { ...spec, properties: [...spec.properties.filter((p) => p.name === 'madvise-frees-table'), t1Freed], expect: {} }, { stopAtFirst: false });
    return Object.fromEntries(r.properties.map((p) => [p.name, p.status]));
  };

  it("pte-refcount: with madvise's own free removed a walker's or fault's last pte_put still frees T1, and the guard is unreachable", () => {
    const madviseNeverFrees = defineVariant(pteRefcount, {
      name: 'madvise-never-frees',
      summary: "MADV_DONTNEED's free_user_pte_table queues no free",
      apply: (d) => {
        (d.threads.madvise.steps as Record<string, unknown>)['call_rcu'] = () => DONE;
      },
    });
    expect(both(madviseNeverFrees, pteRefcountSpec)).toMatchObject({ 'madvise-frees-table': 'unreachable', 't1-freed': 'reachable' });
  });

  it("try-to-free-user-pte: with madvise's own free removed a failed pte_tryget's free_user_pte still frees T1, and the guard is unreachable", () => {
    const madviseNeverFrees = defineVariant(tryToFree, {
      name: 'madvise-never-frees',
      summary: "MADV_DONTNEED's free_user_pte queues no free",
      apply: (d) => {
        (d.threads.madvise.steps as Record<string, unknown>)['call_rcu'] = (_s: any, me: any) => {
          me.pmdval = 0;
          me.in_free = false;
          return DONE;
        };
      },
    });
    expect(both(madviseNeverFrees, tryToFreeSpec)).toMatchObject({ 'madvise-frees-table': 'unreachable', 't1-freed': 'reachable' });
  });
});

describe('pt-reclaim-rcu-free: the rest of its guards', () => {
  it('batch-path-frees is unreachable when tlb_table_flush queues nothing', () => {
    const noBatchFree = defineVariant(ptReclaim, {
      name: 'batch-frees-nothing',
      summary: 'tlb_table_flush drops the batch',
      apply: (d) => {
        (d.threads.madvise.steps as Record<string, unknown>)['tlb_table_flush'] = () => DONE;
      },
    });
    const v = verdicts(noBatchFree, ptReclaimSpec);
    expect(v['batch-path-frees']).toBe('unreachable');
    expect(v['single-table-path-frees']).toBe('reachable');
  });

  it("walker-locks-detached-table is unreachable when the walker's snapshot and spin_lock are one step, and semi-rcu's use-after-free goes with it", () => {
    // madvise clears *pmd while holding the table's ptl, so a walker that locks only what *pmd names at
    // that instant never holds a detached table: B3.1 lives in the window between snapshot and lock
    const atomicLock = defineVariant(ptReclaim, {
      name: 'walker-locks-only-linked-table',
      summary: '__pte_offset_map_lock with no window between the *pmd snapshot and spin_lock',
      base: 'semi-rcu',
      apply: (d) => {
        (d.threads.fault.steps as Record<string, unknown>)['spin_lock(ptl)'] = (s: any, me: any) => {
          if (s.pmd.v !== me.pmdval) return 'rcu_read_unlock';
          return ptlLock(s, me, me.pmdval) ? 'pmd_same' : BLOCKED;
        };
      },
    });
    const v = verdicts(atomicLock, ptReclaimSpec);
    expect(v['walker-locks-detached-table']).toBe('unreachable');
    expect(v['no-use-after-free']).toBe('holds');
    expect(v['gup-fast-reads-detached-table']).toBe('reachable');
  });

  it('gup-fast-reads-detached-table is unreachable when GUP-fast reads a pte only while *pmd still names its table', () => {
    const linkedOnly = defineVariant(ptReclaim, {
      name: 'gup-reads-only-linked-table',
      summary: 'each pte load of GUP-fast is one step with a check of *pmd',
      apply: (d) => {
        const steps = d.threads.gup_fast.steps as Record<string, unknown>;
        steps['ptep_get_lockless'] = (s: any, me: any) => {
          if (s.pmd.v !== me.pmd) return 'pte_unmap';
          me.pte = readPte(s, me.pmd, 0);
          return me.pte !== 0 ? 'try_grab_folio_fast' : 'pte_unmap';
        };
        steps['pte_val != ptep_get_lockless(ptep)'] = (s: any, me: any) =>
          s.pmd.v !== me.pmd || readPte(s, me.pmd, 0) !== me.pte ? 'gup_put_folio' : 'pte_unmap';
      },
    });
    const v = verdicts(linkedOnly, ptReclaimSpec);
    expect(v['gup-fast-reads-detached-table']).toBe('unreachable');
    expect(v['walker-locks-detached-table']).toBe('reachable');
  });
});

describe('kernel-pgtable-async-free: the rest of its guards', () => {
  it('table-freed is unreachable when the worker frees nothing, and the IOMMU still caches unlinked tables', () => {
    const noFree = defineVariant(asyncFree, {
      name: 'worker-frees-nothing',
      summary: "kernel_pgtable_work_func's __pagetable_free loop drops its batch",
      apply: (d) => {
        (d.threads.kworker.steps as Record<string, unknown>)['__pagetable_free'] = (_s: any, me: any) => {
          for (let i = 0; i < me.page_list.length; i++) me.page_list.set(i, false);
          return 'process_one_work';
        };
      },
    });
    const v = verdicts(noFree, asyncFreeSpec);
    expect(v['table-freed']).toBe('unreachable');
    expect(v['iommu-caches-unlinked-table']).toBe('reachable');
  });

  it("iommu-caches-unlinked-table is unreachable when pmd_clear invalidates the IOMMU in the same step, and immediate-free's stale walk goes with it", () => {
    const syncInvalidate = defineVariant(asyncFree, {
      name: 'unlink-and-invalidate',
      summary: 'pmd_clear and an IOMMU invalidation as one step, then the immediate free',
      base: 'immediate-free',
      apply: (d) => {
        (d.threads.vmap.steps as Record<string, unknown>)['pmd_clear'] = (s: any, me: any) => {
          me.pt = s.pmd[me.index].v;
          s.pmd[me.index].v = 0;
          invalidateWalkerCaches(s, 'iommu');
          return 'flush_tlb_kernel_range';
        };
      },
    });
    const v = verdicts(syncInvalidate, asyncFreeSpec);
    expect(v['iommu-caches-unlinked-table']).toBe('unreachable');
    expect(v['no-stale-walk']).toBe('holds');
    expect(v['table-freed']).toBe('reachable');
  });
});

describe('try-to-free-user-pte: the rest of its guards', () => {
  /** free_user_pte's call_rcu(pte_free_rcu) in every thread, replaced by dropping the table. */
  const dropFree = (after: string | typeof DONE) => (_s: any, me: any) => {
    me.pmdval = 0;
    me.in_free = false;
    return after;
  };

  it('madvise-frees-table is unreachable when free_user_pte queues no free, though tables are still cleared', () => {
    const noFree = defineVariant(tryToFree, {
      name: 'free-user-pte-frees-nothing',
      summary: 'free_user_pte clears *pmd but never calls call_rcu(pte_free_rcu)',
      apply: (d) => {
        (d.threads.madvise.steps as Record<string, unknown>)['call_rcu'] = dropFree(DONE);
        (d.threads.walker.steps as Record<string, unknown>)['call_rcu'] = dropFree(DONE);
        (d.threads.fault.steps as Record<string, unknown>)['call_rcu'] = dropFree('pmd_none');
      },
    });
    const v = verdicts(noFree, tryToFreeSpec);
    expect(v['madvise-frees-table']).toBe('unreachable');
    expect(v['fault-installs-new-table']).toBe('reachable');
  });

  it('tryget-fails-on-atomic-zero is unreachable when try_to_free_user_pte never switches the ref to atomic mode', () => {
    const noSwitch = defineVariant(tryToFree, {
      name: 'never-switch-to-atomic',
      summary: 'percpu_ref_switch_to_atomic_sync left out: the ref stays in percpu mode',
      apply: (d) => {
        (d.threads.madvise.steps as Record<string, unknown>)['percpu_ref_switch_to_atomic'] = () => '__pte_put';
      },
    });
    const v = verdicts(noSwitch, tryToFreeSpec);
    expect(v['tryget-fails-on-atomic-zero']).toBe('unreachable');
  });

  it('fault-installs-new-table is unreachable when a fault never allocates a table', () => {
    const noAlloc = defineVariant(tryToFree, {
      name: 'fault-never-allocates',
      summary: 'do_anonymous_page gives up when *pmd is none',
      apply: (d) => {
        (d.threads.fault.steps as Record<string, unknown>)['pte_alloc_one'] = () => DONE;
      },
    });
    const v = verdicts(noAlloc, tryToFreeSpec);
    expect(v['fault-installs-new-table']).toBe('unreachable');
    expect(v['tryget-fails-on-atomic-zero']).toBe('reachable');
  });
});

describe('retract-page-tables: the writer guards', () => {
  /** set_pte_at of thread `name` writes nothing. */
  const noWrite = (base: string, name: string) =>
    defineVariant(retract, {
      name: `${name.replace(/_/g, "-")}-writes-nothing`,
      summary: `${name}'s set_pte_at writes nothing`,
      base: base as any,
      apply: (d) => {
        ((d.threads as any)[name].steps as Record<string, unknown>)['set_pte_at'] = () => 'pte_unmap_unlock';
      },
    });

  it("uffdio-copy-maps-anon-page is unreachable when UFFDIO_COPY writes no pte, and checks-before-locks-only's non-empty free goes with it", () => {
    const v = verdicts(noWrite('checks-before-locks-only', 'uffdio_copy'), retractSpec);
    expect(v['uffdio-copy-maps-anon-page']).toBe('unreachable');
    expect(v['no-free-of-non-empty-table']).toBe('holds');
    expect(v['fault-maps-file-page']).toBe('reachable');
  });

  it("fault-maps-file-page is unreachable when the faults write no pte", () => {
    const v = verdicts(noWrite('upstream', 'fault'), retractSpec);
    expect(v['fault-maps-file-page']).toBe('unreachable');
    expect(v['uffdio-copy-maps-anon-page']).toBe('reachable');
  });

  it("uffd-wp-marker-installed is unreachable when UFFDIO_WRITEPROTECT writes no marker, and no-uffd-wp-recheck's non-empty free goes with it", () => {
    const v = verdicts(noWrite('no-uffd-wp-recheck', 'uffdio_writeprotect'), retractSpec, { faults: 0, anon: 0, uffd_wp: 1 });
    expect(v['uffd-wp-marker-installed']).toBe('unreachable');
    expect(v['no-free-of-non-empty-table']).toBe('holds');
  });

  it("guard-marker-installed is unreachable when MADV_GUARD_INSTALL writes no marker, and no-guard-recheck's non-empty free goes with it", () => {
    const v = verdicts(noWrite('no-guard-recheck', 'madv_guard_install'), retractSpec, { faults: 0, anon: 0, guard: 1 });
    expect(v['guard-marker-installed']).toBe('unreachable');
    expect(v['no-free-of-non-empty-table']).toBe('holds');
  });
});
