// SPIN twins as oracles: with every reduction off, each Promela twin in bench/spin/ explores exactly
// the state graph of its ptcheck model (same distinct states, transitions + 1 for pan's initial state,
// same maximum DFS depth when pan tries processes in ptcheck's order). spin comes from Debian,
// installed by scripts/ensure-spin.sh (npm test's pretest runs it).

import { afterAll, describe, expect, it } from 'vitest';
import {
  CFLAGS_NOREDUCE,
  PTCHECK_REDUCTIONS_OFF,
  TWINS,
  buildPan,
  ensureSpin,
  hashBitsLike,
  removeScratch,
  runPan,
  runPtcheck,
  scratchDir,
} from '../../bench/harness.ts';

ensureSpin();
const scratch = scratchDir();
afterAll(() => removeScratch(scratch));

describe('SPIN twins match their models exactly (reductions off)', () => {
  for (const t of TWINS) {
    for (const v of t.counts) {
      it(`${t.model} (${t.variant}) ${t.param}=${v}`, () => {
        const p = runPtcheck(t, v, PTCHECK_REDUCTIONS_OFF);
        const w = Math.max(18, hashBitsLike(p.tableBytes) + 1);
        const s = runPan(buildPan(t, v, CFLAGS_NOREDUCE, scratch), w);
        expect(s.stored).toBe(p.states);
        expect(s.transitions - 1).toBe(p.transitions);
        const r = runPan(buildPan(t, v, CFLAGS_NOREDUCE, scratch, ['-DREVERSE']), w);
        expect(r.depth).toBe(p.maxDepth);
      });
    }
  }
});
