// Measures how much dynamic independence the shipped models offer (the room a sleep set would have):
// for every reachable state, the pairs of enabled transitions of different threads whose recorded
// footprints do not conflict (neither writes a word the other touches).
//   node --import tsx bench/probe-independence.ts pte-offset-map-lock upstream faults=3
import { loadModel } from '../src/cli/registry.ts';
import { instantiate } from '../src/model/compile.ts';
import { Engine } from '../src/explore/engine.ts';

const [name = 'pte-offset-map-lock', variant = 'upstream', ...kv] = process.argv.slice(2);
const params = Object.fromEntries(kv.map((p) => p.split('=')).map(([k, v]) => [k!, Number(v)]));
const lm = await loadModel(name);
const inst = instantiate(lm.module, variant, params);
const e = new Engine(inst.compiled, lm.spec.properties);
const W = e.W;
const h = inst.compiled.holder;
const seen = new Set<string>();
const stack: Int32Array[] = [Int32Array.from(inst.compiled.init)];
seen.add(stack[0]!.join(','));
const rec = new Int32Array(4096);
const out = new Int32Array(W);
let states = 0, trans = 0, pairs = 0, indep = 0, statesWithIndep = 0;
while (stack.length) {
  const s = stack.pop()!;
  states++;
  const fp: { tid: number; touch: Set<number>; write: Set<number> }[] = [];
  for (let tid = 0; tid < e.T; tid++) {
    for (let alt = 0; alt < e.alts(s, 0, tid); alt++) {
      h.rec = rec; h.rn = 0;
      const ok = e.successor(s, 0, tid, alt, out);
      h.rec = null;
      if (!ok) continue;
      trans++;
      const touch = new Set<number>(Array.from(rec.subarray(0, Math.min(h.rn, rec.length))));
      const write = new Set<number>();
      for (let i = 0; i < W; i++) if (out[i] !== s[i]) write.add(i);
      fp.push({ tid, touch, write });
      const k = out.join(',');
      if (!seen.has(k)) { seen.add(k); stack.push(Int32Array.from(out)); }
    }
  }
  let any = false;
  for (let i = 0; i < fp.length; i++) for (let j = i + 1; j < fp.length; j++) {
    const a = fp[i]!, b = fp[j]!;
    if (a.tid === b.tid) continue;
    pairs++;
    let ok = true;
    for (const w of a.write) if (b.touch.has(w) || b.write.has(w)) { ok = false; break; }
    if (ok) for (const w of b.write) if (a.touch.has(w)) { ok = false; break; }
    if (ok) { indep++; any = true; }
  }
  if (any) statesWithIndep++;
}
console.log(`${name} [${variant}] ${JSON.stringify(params)}: ${states} states, ${trans} transitions, ` +
  `${pairs} pairs of enabled transitions of different threads, ${indep} independent (${((100 * indep) / Math.max(1, pairs)).toFixed(1)}%), ` +
  `${statesWithIndep} states (${((100 * statesWithIndep) / states).toFixed(1)}%) with at least one independent pair`);
