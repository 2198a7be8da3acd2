import { loadModel } from '../src/cli/registry.ts';
import { instantiate } from '../src/model/compile.ts';
import { DEFAULT_OPTIONS, Verification } from '../src/explore/verify.ts';
const lm = await loadModel('retract-page-tables');
for (const f of [3]) {
const v = new Verification(instantiate(lm.module, 'upstream', { faults: f }), lm.spec, { ...DEFAULT_OPTIONS, stopAtFirst: false });
console.log('after ctor restarts', (v as any).restarts);
let n = 0; while (!v.step(1000)) { n++; if ((v as any).restarts > 0 && n < 1e9) { console.log('restart at step', n, v.search.states); n = 1e9; } if (n > 300 && n < 1e9) break; }
}
