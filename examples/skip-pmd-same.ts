// A patch variant as a reviewer writes one: start from the shipped `upstream` variant of
// pte-offset-map-lock and change one step. Here __pte_offset_map_lock() "optimises away" its pmd_same()
// recheck -- reintroducing the race the recheck exists for (protocols.md B1.1).
//
//   npx ptcheck verify pte-offset-map-lock --variant-file examples/skip-pmd-same.ts
//   npx ptcheck diff pte-offset-map-lock upstream --variant-file examples/skip-pmd-same.ts

import model from '../models/pte-offset-map-lock.ts';
import { defineVariant } from '../src/model/variant-file.ts';

export default defineVariant(model, {
  name: 'skip-pmd-same',
  summary: 'take the ptl of the snapshot table and go straight to set_pte_at, without the pmd_same recheck',
  base: 'upstream',
  apply: (d) => {
    d.threads.fault.steps.pmd_same = () => 'set_pte_at';
  },
});
