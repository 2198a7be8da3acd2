// Vacuity guards that mean what they say: for a shipped `sometimes` guard, a mutant of the model that
// removes what the guard describes must make it unreachable (a guard that stays reachable tests
// something else). Also variants the spec headers argue about without giving them a row.

import { describe, expect, it } from 'vitest';
import { DONE, replaceThreads } from '../../src/model/model.ts';
import { instantiateUserVariant } from '../../src/model/compile.ts';
import { defineVariant, type UserVariant } from '../../src/model/variant-file.ts';
import { verify } from '../../src/explore/verify.ts';
import type { SpecModule } from '../../src/spec/property.ts';

import ppc, { PTE_FREE_DEFERRED, fragRefcount } from '../../models/ppc-pte-free-defer.ts';
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
import { rcuThread } from '../../src/kernel/index.ts';
import gupFast from '../../models/gup-fast-table-free.ts';
import gupFastSpec from '../../specs/gup-fast-table-free.ts';

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
