import { loadModel } from '../src/cli/registry.ts';
import { instantiate } from '../src/model/compile.ts';
import { DEFAULT_OPTIONS, Verification } from '../src/explore/verify.ts';
import { closePools } from '../src/parallel/coordinator.ts';
import { parallelHandOff } from '../src/parallel/handoff.ts';
const [name, variant, kv, w] = process.argv.slice(2);
const [k, val] = kv!.split('=');
const workers = Number(w ?? 2);
const lm = await loadModel(name!);
const inst = instantiate(lm.module, variant!, { [k!]: Number(val) });
const ref = { modelPath: lm.path, specPath: lm.specPath, variant: variant!, params: inst.params };
const t0 = performance.now();
let marks: string[] = [];
let next = 100_000;
const v = new Verification(inst, lm.spec, { ...DEFAULT_OPTIONS, stopAtFirst: false });
const r = await v.run((s) => { if (s >= next) { marks.push(`${(s/1000).toFixed(0)}k@${(performance.now()-t0).toFixed(0)}`); next += 100_000; } },
  workers > 1 ? parallelHandOff(workers, ref, undefined, false, (p) => console.log(JSON.stringify(p))) : undefined);
console.log(r.stats.states, (performance.now() - t0).toFixed(0), 'ms', marks.join(' '));
await closePools();
