import model from '../models/pte-offset-map-lock.ts';
import spec from '../specs/pte-offset-map-lock.ts';
import { instantiate } from '../src/model/compile.ts';
import { verify } from '../src/explore/verify.ts';
for (let i = 0; i < 4; i++) {
  const r = verify(instantiate(model, 'upstream', { faults: 3 }), spec, { stopAtFirst: false });
  console.log(r.stats.states, r.stats.elapsedMs, Math.round(r.stats.states / r.stats.elapsedMs * 1000) + ' st/s');
}
