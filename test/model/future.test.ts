// Declared thread futures (FutureDecl): patterns resolved to word sets at build time, the errors a
// wrong declaration gets there, and the run-time check of every step against them in every mode.

import { describe, expect, it } from 'vitest';
import model from '../fixtures/models/future-readers.ts';
import spec from '../fixtures/specs/future-readers.ts';
import { instantiate } from '../../src/model/compile.ts';
import { ModelError } from '../../src/model/errors.ts';
import { DONE, defineModel, defineState, editThread, thread, type ModelDef } from '../../src/model/model.ts';
import { array, int } from '../../src/model/schema.ts';
import { verify } from '../../src/explore/verify.ts';
import { Simulation } from '../../src/explore/simulate.ts';
import { Engine } from '../../src/explore/engine.ts';

const has = (bits: Int32Array | null | undefined, w: number) => bits != null && (bits[w >>> 5]! & (1 << (w & 31))) !== 0;

function tiny(future: Record<string, { reads?: string[]; writes?: string[] }>) {
  const st = defineState({ x: int(0, 1), tab: array(2, int(0, 1)) }, { nest: int(0, 1) });
  return defineModel({
    name: 'future-tiny',
    title: '',
    doc: '',
    params: {},
    build: (): ModelDef => ({
      state: st,
      threads: {
        t: thread(st, { count: 2, locals: { l: int(0, 1) }, steps: { a: (s) => { s.x = 1; return 'b'; }, b: () => DONE }, future: future as never }),
      },
    }),
    variants: { base: { summary: '' } },
  });
}

describe('declared futures: build time', () => {
  it('resolves patterns per instance: me.x, {i}, *, exact; writes imply reads; private words always in', () => {
    const cm = instantiate(tiny({ a: { reads: ['tab[{i}]', 'me.nest'], writes: ['x'] }, b: {} }), 'base').compiled;
    expect(cm.hasFutures).toBe(true);
    const off = (p: string) => cm.leaves.find((l) => l.path === p)!.off;
    for (const [i, th] of cm.threads.entries()) {
      const [ta, tb] = th.futTouch;
      expect(has(ta, off(`tab[${i}]`))).toBe(true);
      expect(has(ta, off(`tab[${1 - i}]`))).toBe(false);
      expect(has(ta, off(`t${i}.nest`))).toBe(true);
      expect(has(ta, off(`t${1 - i}.nest`))).toBe(false);
      expect(has(ta, off('x'))).toBe(true);
      expect(has(th.futChange[0], off('x'))).toBe(true);
      expect(has(th.futChange[0], off(`tab[${i}]`))).toBe(false);
      // its own pc and local, nothing else, from b on
      expect(has(tb, th.pcOff) && has(tb, off(`t${i}.l`))).toBe(true);
      expect(has(tb, off('x'))).toBe(false);
      expect(Array.from(th.futWithin[0]!)).toEqual([1, 1]);
      expect(Array.from(th.futWithin[1]!)).toEqual([0, 1]);
    }
  });

  it('an unrestricted label contains every future and is contained only in an unrestricted one', () => {
    const cm = instantiate(tiny({ b: { writes: ['*'] } }), 'base').compiled;
    const th = cm.threads[0]!;
    expect(th.futTouch[0]).toBeNull();
    expect(Array.from(th.futWithin[0]!)).toEqual([1, 1]);
    expect(Array.from(th.futWithin[1]!)).toEqual([0, 1]);
  });

  it('a model with no future declares none', () => {
    expect(instantiate(model, 'undeclared').compiled.hasFutures).toBe(false);
  });

  it('a pattern matching no state field is a model error naming model, thread, label and pattern', () => {
    expect(() => instantiate(tiny({ a: { reads: ['tabs[*]'] } }), 'base')).toThrow(ModelError);
    expect(() => instantiate(tiny({ a: { reads: ['tabs[*]'] } }), 'base')).toThrow("model future-tiny: thread 't' future at 'a': pattern 'tabs[*]' matches no state field");
    expect(() => instantiate(tiny({ b: { writes: ['me.nope'] } }), 'base')).toThrow("pattern 'me.nope' matches no state field");
  });

  it('a future at a label the thread does not have is a model error', () => {
    expect(() => instantiate(tiny({ c: {} }), 'base')).toThrow("model future-tiny: thread 't' declares a future at 'c', which is not one of its labels (a, b)");
  });

  it('variant drafts carry futures through, and editThread sets and drops them', () => {
    const m = tiny({ a: { writes: ['x'] }, b: {} });
    const edited = defineModel({
      ...m,
      variants: {
        base: { summary: '' },
        edited: { summary: '', apply: (d) => editThread(d as never, 't', { steps: { c: () => DONE }, future: { c: {}, a: null } } as never) },
      },
    });
    const th = instantiate(edited, 'edited').compiled.threads[0]!;
    expect(th.labels).toEqual(['a', 'b', 'c']);
    expect(th.futTouch[0]).toBeNull();
    expect(th.futTouch[1]).not.toBeNull();
    expect(th.futTouch[2]).not.toBeNull();
    const base = instantiate(edited, 'base').compiled.threads[0]!;
    expect(base.futTouch[0]).not.toBeNull();
  });
});

describe('declared futures: the run-time check', () => {
  const modes = [
    { name: 'dfs', opts: {} },
    { name: 'dfs --no-por', opts: { por: false } },
    { name: 'bfs', opts: { strategy: 'bfs' as const } },
    { name: 'bfs --no-por', opts: { strategy: 'bfs' as const, por: false } },
    { name: '--check-determinism', opts: { checkDeterminism: true } },
  ];
  const wrong = [
    ['wrong-touch', "model future-readers: thread reader0 at 'read' touched 'data' outside its declared future (reads: [], writes: [out[{i}]])"],
    ['wrong-change', "model future-readers: thread reader0 at 'store' changed 'out[0]' outside its declared future (reads: [out[{i}]], writes: [])"],
    ['wrong-wider', "model future-readers: thread reader0 at 'work' moved to 'store' whose future is wider (reads: [], writes: [])"],
  ] as const;
  for (const m of modes) {
    for (const [variant, msg] of wrong) {
      it(`${variant} is a model error under ${m.name}`, () => {
        expect(() => verify(instantiate(model, variant), spec, { stopAtFirst: false, ...m.opts })).toThrow(msg);
      });
    }
    it(`exact declarations pass under ${m.name}, with the verdicts of the undeclared model`, () => {
      const r = verify(instantiate(model, 'exact'), spec, { stopAtFirst: false, ...m.opts });
      const u = verify(instantiate(model, 'undeclared'), spec, { stopAtFirst: false, ...m.opts });
      expect(r.properties.map((p) => p.status)).toEqual(['holds', 'holds', 'holds']);
      expect(r.properties.map((p) => p.status)).toEqual(u.properties.map((p) => p.status));
    });
  }
  it('simulate checks too', () => {
    const engine = new Engine(instantiate(model, 'wrong-change').compiled, spec.properties as never);
    const sim = new Simulation(engine, { seed: 1, walks: 20, maxDepth: 50, deadline: Infinity, swarm: false });
    expect(() => {
      while (!sim.run(1000)) {
        /* keep going */
      }
    }).toThrow(/at 'store' changed 'out\[\d\]'/);
  });
});
