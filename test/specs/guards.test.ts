// Vacuity guards that mean what they say: for a shipped `sometimes` guard, a mutant of the model that
// removes what the guard describes must make it unreachable (a guard that stays reachable tests
// something else). Also variants the spec headers argue about without giving them a row.

import { describe, expect, it } from 'vitest';
import { DONE } from '../../src/model/model.ts';
import { instantiateUserVariant } from '../../src/model/compile.ts';
import { defineVariant, type UserVariant } from '../../src/model/variant-file.ts';
import { verify } from '../../src/explore/verify.ts';
import type { SpecModule } from '../../src/spec/property.ts';

import ppc, { PTE_FREE_DEFERRED, fragRefcount } from '../../models/ppc-pte-free-defer.ts';
import ppcSpec from '../../specs/ppc-pte-free-defer.ts';

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
