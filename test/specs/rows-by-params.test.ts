// The expect rows that are functions of the parameters, checked away from the defaults: at the small
// values where a thread a verdict needs is absent (no walker, no fault, one unmapper, one fragment...),
// a full search must give exactly the row expectRow() computes. Each spec header says why its row
// changes there; the larger values are the bench's and `npm start`'s. try-to-free-user-pte and
// pte-offset-map-lock have their own files.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { verify } from '../../src/explore/verify.ts';
import { expectRow } from '../../src/spec/property.ts';

/** A cell's key for the variants it is limited to. */
const ONLY = Symbol('only');
type Cell = Readonly<Record<string, number>> & { readonly [ONLY]?: readonly string[] };
const FREE_WRITERS = ['upstream', 'pre-recheck', 'checks-before-locks-only', 'no-anon-vma-recheck', 'spin-lock-pml'];

/** model -> parameter sets, each run on every variant that does not fix one of them (or those it names). */
const CELLS: Readonly<Record<string, readonly Cell[]>> = {
  'kernel-pgtable-async-free': [{ unmappers: 1 }],
  'gup-fast-table-free': [{ walkers: 1 }, { walkers: 1, ptes: 2 }],
  'pte-refcount': [
    { faults: 0, walkers: 0 },
    { faults: 1, walkers: 0 },
    { faults: 0, walkers: 1 },
  ],
  'pt-reclaim-rcu-free': [
    { faults: 0, gups: 0 },
    { faults: 1, gups: 0 },
    { faults: 0, gups: 1 },
    { gups: 0 },
  ],
  'ppc-pte-free-defer': [{ nfrag: 1 }, { nfrag: 2 }, { nfrag: 2, cached: 1 }],
  'retract-page-tables': [
    { faults: 0, anon: 0 },
    { faults: 1, anon: 0 },
    { faults: 0, anon: 1 },
    // a writer added to a row that leaves the writers free (the marker-writer rows fix theirs)
    { faults: 0, anon: 0, uffd_wp: 1, [ONLY]: FREE_WRITERS },
    { faults: 0, anon: 0, guard: 1, [ONLY]: FREE_WRITERS },
    { faults: 0, anon: 0, shared_copy: 1, [ONLY]: FREE_WRITERS },
  ],
};

describe('expect rows away from the default parameters', async () => {
  for (const [name, cells] of Object.entries(CELLS)) {
    const lm = await loadModel(name);
    for (const variant of Object.keys(lm.module.variants)) {
      const fixed = (lm.module.variants as Record<string, { params?: Record<string, number> }>)[variant]?.params ?? {};
      for (const cell of cells) {
        if (Object.keys(cell).some((k) => k in fixed && fixed[k] !== cell[k])) continue;
        if (cell[ONLY] && !cell[ONLY].includes(variant)) continue;
        const label = Object.entries(cell).map(([k, v]) => `${k}=${v}`).join(', ');
        it(`${name} [${variant}] (${label})`, () => {
          const inst = instantiate(lm.module, variant, cell);
          const r = verify(inst, lm.spec, { stopAtFirst: false });
          expect(r.outcome.kind).toBe('complete');
          expect(Object.fromEntries(r.properties.map((p) => [p.name, p.status]))).toEqual(expectRow(lm.spec, variant, inst.params));
        });
      }
    }
  }
});
