// A bug and its fix in one file: a lockless page-table walker (GUP-fast style) added to
// pte-offset-map-lock, whose remover frees the table through RCU (pte_free_defer). RCU-deferred
// freeing protects only readers inside a read section (protocols.md §1a): without one, the grace
// period may end between the walker's snapshot of *pmd and its read of the pte: use-after-free.
//
//   npx ptcheck verify pte-offset-map-lock --variant-file examples/lockless-walker.ts            (the matrix)
//   npx ptcheck verify pte-offset-map-lock --variant-file examples/lockless-walker.ts --variant walker-without-rcu
//   npx ptcheck diff pte-offset-map-lock walker-with-rcu walker-without-rcu --variant-file examples/lockless-walker.ts

import model from '../models/pte-offset-map-lock.ts';
import { defineVariants } from '../src/model/variant-file.ts';
import { DONE, addThread, thread } from '../src/model/model.ts';
import { rcuReadLock, rcuReadUnlock, readPte, tableRef } from '../src/kernel/index.ts';

export default defineVariants(model, {
  'walker-without-rcu': {
    summary: 'a lockless walker reads *pmd, then the pte of the table it names, outside any RCU read section',
    base: 'upstream',
    apply: (d) => {
      addThread(
        d,
        'walker',
        thread(d.state, {
          locals: { pmdval: tableRef() },
          steps: {
            pmdp_get_lockless: (s, me) => {
              me.pmdval = s.pmd.v;
              return me.pmdval > 0 ? 'ptep_get' : DONE;
            },
            ptep_get: (s, me) => {
              readPte(s, me.pmdval, 0);
              return DONE;
            },
          },
        }),
      );
    },
    expect: { 'no-use-after-free': 'violated' },
  },
  'walker-with-rcu': {
    summary: 'the same walker inside rcu_read_lock()/rcu_read_unlock(), as GUP-fast runs with IRQs off',
    base: 'upstream',
    apply: (d) => {
      addThread(
        d,
        'walker',
        thread(d.state, {
          locals: { pmdval: tableRef() },
          steps: {
            rcu_read_lock: (s, me) => {
              rcuReadLock(me);
              return 'pmdp_get_lockless';
            },
            pmdp_get_lockless: (s, me) => {
              me.pmdval = s.pmd.v;
              return me.pmdval > 0 ? 'ptep_get' : 'rcu_read_unlock';
            },
            ptep_get: (s, me) => {
              readPte(s, me.pmdval, 0);
              return 'rcu_read_unlock';
            },
            rcu_read_unlock: (s, me) => {
              rcuReadUnlock(s, me);
              return DONE;
            },
          },
        }),
      );
    },
  },
});
