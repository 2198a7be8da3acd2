// A property's second argument: where each thread is (at(label), done) and its locals, read through
// the thread's own view, so the engine's footprint recording sees every read.

import { describe, expect, it } from 'vitest';
import { instantiate } from '../../src/model/compile.ts';
import { BLOCKED, DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { bool, int } from '../../src/model/schema.ts';
import { defineSpec, sometimes } from '../../src/spec/property.ts';
import { Engine } from '../../src/explore/engine.ts';

const st = defineState({ a: int(0, 2) });
const model = defineModel({
  name: 'where',
  title: 'two lock users',
  doc: 'test',
  params: {},
  build: () => ({
    state: st,
    threads: {
      holder: thread(st, {
        locals: { took: bool() },
        steps: {
          lock_a: (s, me) => (s.a !== 0 ? BLOCKED : ((s.a = me.tid + 1), (me.took = true), 'unlock_a')),
          unlock_a: (s) => ((s.a = 0), DONE),
        },
      }),
      waiter: thread(st, { count: 2, steps: { lock_a: (s, me) => (s.a !== 0 ? BLOCKED : ((s.a = me.tid + 1), 'unlock_a')), unlock_a: (s) => ((s.a = 0), DONE) } }),
    },
  }),
  variants: { base: { summary: 'base' } },
});

const spec = defineSpec(model, {
  properties: [
    sometimes('holder-at-unlock-while-waiter-waits', 'the holder holds a while waiter0 waits for it', (s, t) => t.holder.at('unlock_a') && t.holder.took && t.waiter0.at('lock_a')),
    sometimes('all-done', 'every thread finished', (_s, t) => t.holder.done && t.waiter0.done && t.waiter1.done),
  ],
  expect: { base: { 'holder-at-unlock-while-waiter-waits': 'reachable', 'all-done': 'reachable', 'deadlock-free': 'holds' } },
});

describe('properties that say where a thread is', () => {
  const inst = instantiate(model, 'base');
  const cm = inst.compiled;
  const t = cm.threadsAt as any;

  it('at(label) is the next step, done is finished, locals read as the thread has them', () => {
    const engine = new Engine(cm, spec.properties);
    const s = Int32Array.from(cm.init);
    cm.holder.b = s;
    cm.holder.o = 0;
    expect(t.holder.at('lock_a')).toBe(true);
    expect(t.holder.at('unlock_a')).toBe(false);
    expect(t.holder.done).toBe(false);
    expect(t.holder.took).toBe(false);
    // run the holder's lock_a: now it is at unlock_a, holding a, with its local set
    const next = new Int32Array(engine.W);
    expect(engine.successor(s, 0, 0, 0, next)).toBe(true);
    cm.holder.b = next;
    expect(t.holder.at('unlock_a')).toBe(true);
    expect(t.holder.took).toBe(true);
    expect(t.waiter0.at('lock_a')).toBe(true);
    expect(engine.check(next, engine.sometimesMask) & 1).toBe(1);
    // a label no thread of this variant has: never there
    expect(t.holder.at('no_such_label')).toBe(false);
  });

  it('its reads are recorded like a step\'s (the pc and the local)', () => {
    const s = Int32Array.from(cm.init);
    cm.holder.b = s;
    cm.holder.o = 0;
    cm.holder.rec = new Int32Array(32);
    cm.holder.rn = 0;
    try {
      spec.properties[0]!.pred(cm.root, t);
      const read = new Set(cm.holder.rec.subarray(0, cm.holder.rn));
      const off = (path: string) => cm.leaves.find((l) => l.path === path)!.off;
      expect(read.has(off('holder.pc'))).toBe(true);
      expect(read.size).toBeGreaterThan(0);
      // the property stopped at the first false conjunct: took and waiter0's pc were not read
      expect(read.has(off('holder.took'))).toBe(false);
    } finally {
      cm.holder.rec = null;
    }
  });

  it('is typed against the model: a misspelt label, local or thread is a compile error', () => {
    // tsc (npm test's first half) checks these @ts-expect-error lines; here they only have to build
    const typos = () =>
      defineSpec(model, {
        properties: [
          // @ts-expect-error 'lock_b' is not a label of holder
          sometimes('typo-label', 'x', (_s, tt) => tt.holder.at('lock_b')),
          // @ts-expect-error holder has no local 'tok'
          sometimes('typo-local', 'x', (_s, tt) => tt.holder.tok === true),
          // @ts-expect-error no thread group 'holdr'
          sometimes('typo-thread', 'x', (_s, tt) => tt.holdr.done),
        ],
        expect: { base: {} },
      });
    expect(typeof typos).toBe('function');
  });
});
