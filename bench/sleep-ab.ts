// Sleep sets on and off in one process, alternating, each run with ptcheck's default reductions
// otherwise: the search time (ptcheck's own clock) per run and the best of each. Within one process
// both configurations run on a warm JIT, so this shows what sleep sets save per transition, which
// whole-process timings of small models hide under start-up and JIT warm-up.
//   node --import tsx bench/sleep-ab.ts pte-offset-map-lock upstream faults=3 [reps]
import { loadModel } from '../src/cli/registry.ts';
import { instantiate } from '../src/model/compile.ts';
import { verify } from '../src/explore/verify.ts';

const [name = 'pte-offset-map-lock', variant = 'upstream', kv = 'faults=3', reps = '5'] = process.argv.slice(2);
const params = Object.fromEntries([kv.split('=')].map(([k, v]) => [k!, Number(v)]));
const lm = await loadModel(name);
const ms: Record<'off' | 'on', number[]> = { off: [], on: [] };
const counts = new Set<string>();
for (let i = 0; i < Number(reps); i++) {
  for (const c of ['off', 'on'] as const) {
    const r = verify(instantiate(lm.module, variant, params), lm.spec, { stopAtFirst: false, sleep: c === 'on' });
    ms[c].push(r.stats.elapsedMs);
    counts.add(`${r.stats.states} states, ${r.stats.transitions} transitions`);
    if (c === 'on' && i === 0) console.log(`replayed ${r.stats.replayed} of ${r.stats.transitions} transitions`);
  }
}
for (const c of ['off', 'on'] as const) console.log(`sleep sets ${c}: best ${Math.min(...ms[c])} ms, runs ${ms[c].join(' ')}`);
console.log(`counts: ${[...counts].join(' | ')}${counts.size === 1 ? '' : '  <-- they differ'}`);
