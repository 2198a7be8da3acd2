// Splitting one step of a base thread and reordering the calls: the fault's pte_unmap_unlock()
// becomes pte_unmap() (rcu_read_unlock) followed by spin_unlock(ptl). Still safe: while the fault
// holds the table's ptl the remover cannot clear *pmd (it takes that ptl first), so the table stays
// attached until the unlock, and after it the fault touches the table no more (protocols.md §1a).
//
//   npx ptcheck verify pte-offset-map-lock --variant-file examples/unmap-before-unlock.ts

import model from '../models/pte-offset-map-lock.ts';
import { defineVariant } from '../src/model/variant-file.ts';
import { DONE, editThread } from '../src/model/model.ts';
import { ptlUnlock, rcuReadUnlock, setPte } from '../src/kernel/index.ts';

export default defineVariant(model, {
  name: 'unmap-before-unlock',
  summary: 'pte_unmap (rcu_read_unlock) before spin_unlock(ptl), as two steps',
  base: 'upstream',
  apply: (d) => {
    editThread(d, 'fault', {
      steps: {
        // replaces the base step: it now goes to the new label
        set_pte_at: (s, me) => {
          setPte(s, me, me.pmdval, me.index, 1);
          return 'pte_unmap';
        },
        pte_unmap: (s, me) => {
          rcuReadUnlock(s, me);
          return 'spin_unlock(ptl)';
        },
        'spin_unlock(ptl)': (s, me) => {
          ptlUnlock(s, me, me.pmdval);
          return DONE;
        },
      },
      remove: ['pte_unmap_unlock'],
    });
  },
});
