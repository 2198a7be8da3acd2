// Profiles the explorer's hot loop on one model: runs a single-threaded DFS a few times, prints
// states/s, and (with --cpu-prof) lets node write a profile that bench/top-profile.ts summarises.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile.ts pte-offset-map-lock upstream faults=3
//   node --import tsx bench/top-profile.ts /tmp/prof
// Reductions are off unless asked for: `--sleep` adds sleep sets, POR=1 in the environment the
// safe-local-step reduction; ITER=n runs n times (default 6; the first run shows the cold JIT).

import { loadModel } from '../src/cli/registry.ts';
import { instantiate } from '../src/model/compile.ts';
import { verify } from '../src/explore/verify.ts';

const args = process.argv.slice(2);
// --sleep: with sleep sets (they are part of POR, which a reductions-off profile leaves out)
const sleep = args.includes('--sleep');
const [name = 'pte-offset-map-lock', variant = 'upstream', ...kv] = args.filter((a) => a !== '--sleep');
const params = Object.fromEntries(kv.map((p) => p.split('=')).map(([k, v]) => [k!, Number(v)]));
const lm = await loadModel(name);
for (let i = 0; i < Number(process.env.ITER ?? 6); i++) {
  const r = verify(instantiate(lm.module, variant, params), lm.spec, { stopAtFirst: false, symmetry: false, por: process.env.POR === '1', sleep });
  const s = r.stats;
  console.log(`${name} [${variant}] ${JSON.stringify(params)}: ${s.states} states, ${s.transitions} transitions, ` +
    `${s.elapsedMs} ms, ${Math.round((s.states / s.elapsedMs) * 1000)} states/s, ${Math.round((s.transitions / s.elapsedMs) * 1000)} transitions/s`);
}
