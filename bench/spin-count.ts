// Checks that each Promela twin explores the same state graph as its ptcheck model: for every
// parameter value listed in bench/harness.ts, ptcheck's distinct states must equal pan's "states,
// stored" with reductions off (ptcheck --no-symmetry --no-por --workers 1; spin -o2, pan -DNOREDUCE).
// Transitions and the DFS depth are compared too:
//   - pan counts transitions as stored + matched, which includes the initial state (reached by no
//     transition), so ptcheck's transitions == pan's - 1;
//   - pan built with -DREVERSE tries processes in ascending _pid order, as ptcheck tries threads in
//     ascending tid order, so both depth-first searches visit states in the same order and reach the
//     same maximum depth.
// Usage: node --import tsx bench/spin-count.ts        (exit 0 = every twin matches)

import {
  CFLAGS_NOREDUCE,
  PTCHECK_REDUCTIONS_OFF,
  SPIN_FLAGS_NO_MERGE,
  TWINS,
  buildPan,
  ensureSpin,
  hashBitsLike,
  removeScratch,
  runPan,
  runPtcheck,
  scratchDir,
} from './harness.ts';

ensureSpin();
const scratch = scratchDir();
let bad = 0;
const notes: string[] = [];
const rows: string[] = [
  '| model (variant) | param | states: ptcheck / SPIN | transitions: ptcheck / SPIN − 1 | max DFS depth: ptcheck / SPIN -DREVERSE | |',
  '| --- | --- | --- | --- | --- | --- |',
];
try {
  for (const t of TWINS) {
    for (const v of t.counts) {
      const p = runPtcheck(t, v, PTCHECK_REDUCTIONS_OFF);
      const w = Math.max(18, hashBitsLike(p.tableBytes) + 1);
      const s = runPan(buildPan(t, v, CFLAGS_NOREDUCE, scratch, [], SPIN_FLAGS_NO_MERGE), w);
      const r = runPan(buildPan(t, v, CFLAGS_NOREDUCE, scratch, ['-DREVERSE'], SPIN_FLAGS_NO_MERGE), w);
      const ok = p.states === s.stored && p.transitions === s.transitions - 1 && p.maxDepth === r.depth && r.stored === s.stored;
      if (!ok) bad++;
      if (p.unreachableHere.length > 0) {
        notes.push(`- ${t.model} ${t.param}=${v}: ptcheck exits 1 only for a spec expectation made at the default ` +
          `parameters: unreachable here, expected reachable: ${p.unreachableHere.join(', ')} (the search is complete).`);
      }
      rows.push(
        `| ${t.model} (${t.variant}) | ${t.param}=${v} | ${p.states} / ${s.stored} | ${p.transitions} / ${s.transitions - 1} ` +
          `| ${p.maxDepth} / ${r.depth} | ${ok ? 'match' : '**MISMATCH**'} |`,
      );
    }
  }
} finally {
  removeScratch(scratch);
}
console.log(rows.join('\n'));
if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
if (bad > 0) {
  console.error(`spin-count: ${bad} twin run(s) differ from ptcheck`);
  process.exitCode = 1;
}
