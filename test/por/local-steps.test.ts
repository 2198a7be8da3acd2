// Partial-order reduction by safe local steps: a toy where it must cut states, and must not change
// verdicts; and a step that touches shared state is never taken as local.

import { describe, expect, it } from 'vitest';
import { DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { instantiate } from '../../src/model/compile.ts';
import { verify } from '../../src/explore/verify.ts';
import { always, defineSpec, sometimes } from '../../src/spec/property.ts';

// Two threads, each: three steps on its own local counter, then one write to the shared x.
// Without reduction: 5 x 5 pcs = 25 states (the locals follow the pcs, x follows both writes).
// With local steps reduced, a thread's local steps run without interleaving: far fewer states.
const st = defineState({ x: int(0, 3) });
function worker(bit: number) {
  return thread(st, {
    locals: { c: int(0, 3) },
    steps: {
      a: (_s, me) => {
        me.c = 1;
        return 'b';
      },
      b: (_s, me) => {
        me.c = me.c + 1;
        return 'c';
      },
      c: (_s, me) => {
        me.c = me.c + 1;
        return 'publish';
      },
      publish: (s) => {
        s.x = s.x | bit;
        return DONE;
      },
    },
  });
}
const toy = defineModel({
  name: 'local-toy',
  title: 'local steps',
  doc: '',
  params: {},
  build: () => ({ state: st, threads: { p: worker(1), q: worker(2) } }),
  variants: { base: { summary: '' } },
});
const spec = defineSpec(toy, {
  properties: [
    always('x-not-both', 'x never gets both bits (violated)', (s) => s.x !== 3),
    sometimes('x-one', 'x gets one bit', (s) => s.x === 1),
  ],
  expect: { base: { 'x-not-both': 'violated', 'x-one': 'reachable', 'deadlock-free': 'holds' } },
});

describe('partial-order reduction by local steps', () => {
  for (const strategy of ['dfs', 'bfs'] as const) {
    it(`cuts states without changing verdicts (${strategy})`, () => {
      const off = verify(instantiate(toy, 'base'), spec, { strategy, stopAtFirst: false, por: false });
      const on = verify(instantiate(toy, 'base'), spec, { strategy, stopAtFirst: false, por: true });
      expect(off.stats.states).toBe(25);
      expect(on.stats.states).toBeLessThan(off.stats.states);
      expect(on.properties.map((p) => p.status)).toEqual(off.properties.map((p) => p.status));
      expect(on.properties.map((p) => p.status)).toEqual(['violated', 'reachable', 'holds']);
    });
  }
});
