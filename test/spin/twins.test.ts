// SPIN twins as oracles: with every reduction off, each Promela twin in bench/spin/ explores exactly
// the state graph of its ptcheck model (same distinct states, transitions + 1 for pan's initial state,
// same maximum DFS depth when pan tries processes in ptcheck's order). spin comes from Debian,
// found on PATH (npm test's pretest installs it where it can; otherwise these tests are skipped).

import { afterAll, describe, expect, it } from 'vitest';
import { haveOrSkip, spinReady } from '../helpers/test-deps.ts';
import {
  CFLAGS_NOREDUCE,
  PTCHECK_REDUCTIONS_OFF,
  SPIN_FLAGS_NO_MERGE,
  TWINS,
  buildPan,
  hashBitsLike,
  removeScratch,
  runPan,
  runPtcheck,
  scratchDir,
} from '../../bench/harness.ts';

const HAVE_SPIN = haveOrSkip(spinReady(), 'the SPIN twin tests (test/spin/twins.test.ts)', 'spin or a C compiler', 'apt-get install -y spin gcc (as root)');
const scratch = HAVE_SPIN ? scratchDir() : '';
afterAll(() => {
  if (HAVE_SPIN) removeScratch(scratch);
});

describe.skipIf(!HAVE_SPIN)('SPIN twins match their models exactly (reductions off)', () => {
  for (const t of TWINS) {
    for (const v of t.counts) {
      it(`${t.model} (${t.variant}) ${t.param}=${v}`, () => {
        const p = runPtcheck(t, v, PTCHECK_REDUCTIONS_OFF);
        const w = Math.max(18, hashBitsLike(p.tableBytes) + 1);
        const s = runPan(buildPan(t, v, CFLAGS_NOREDUCE, scratch, [], SPIN_FLAGS_NO_MERGE), w);
        expect(s.stored).toBe(p.states);
        expect(s.transitions - 1).toBe(p.transitions);
        const r = runPan(buildPan(t, v, CFLAGS_NOREDUCE, scratch, ['-DREVERSE'], SPIN_FLAGS_NO_MERGE), w);
        expect(r.depth).toBe(p.maxDepth);
      });
    }
  }
});
