import { describe, expect, it } from 'vitest';
import { loadModel, shippedModelNames } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { Engine } from '../../src/explore/engine.ts';
import { verify } from '../../src/explore/verify.ts';
import { BLOCKED, DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { always } from '../../src/spec/property.ts';
import { buildTrace } from '../../src/trace/trace.ts';
import { parsePath, pathToString, encodeChoice } from '../../src/trace/path.ts';
import { replay, ReplayError } from '../../src/trace/replay.ts';
import { raceDiagram } from '../../src/report/race-diagram.ts';

describe('paths', () => {
  it('round-trip through their string form', () => {
    const p = [encodeChoice(0, 0), encodeChoice(2, 0), encodeChoice(1, 3), encodeChoice(29, 1)];
    expect(pathToString(p)).toBe('0.2.1/3.29/1');
    expect(parsePath(pathToString(p))).toEqual(p);
    expect(parsePath('-')).toEqual([]);
    expect(() => parsePath('1.x')).toThrow(/bad path element 'x'/);
  });
});

describe('replay round trip on every counterexample of every shipped model', async () => {
  for (const name of shippedModelNames()) {
    const lm = await loadModel(name);
    for (const variant of Object.keys(lm.module.variants)) {
      it(`${name} [${variant}]`, () => {
        const inst = instantiate(lm.module, variant, {});
        const r = verify(inst, lm.spec, { stopAtFirst: false, strategy: 'bfs' });
        const engine = new Engine(inst.compiled, lm.spec.properties);
        r.properties.forEach((p, k) => {
          if (p.status !== 'violated') return;
          const t = buildTrace(inst, engine, p.path!, k);
          // same violation at the end of the replayed path, and the text is stable
          const json = JSON.parse(JSON.stringify(t));
          const again = buildTrace(instantiate(lm.module, variant, {}), engine, parsePath(json.path), k);
          expect(again).toEqual(t);
          expect(raceDiagram(again)).toBe(raceDiagram(t));
          const last = replay(engine, parsePath(t.path)).at(-1)?.after ?? inst.compiled.init;
          if (p.kind === 'always') expect(engine.check(last, 0) & (1 << k)).not.toBe(0);
          else expect(engine.terminal(Int32Array.from(last)) & (1 << k)).not.toBe(0);
        });
      });
    }
  }
});

describe('replay guards', () => {
  const st = defineState({ x: int(0, 3) });
  let hidden = 0;
  const flaky = defineModel({
    name: 'flaky',
    title: 'a step that reads a variable outside the state',
    doc: '',
    params: {},
    build: () => ({
      state: st,
      threads: {
        t: thread(st, {
          steps: {
            go: (s) => {
              s.x = hidden++ % 2;
              return DONE;
            },
          },
        }),
        u: thread(st, { steps: { wait: (s) => (s.x === 3 ? DONE : BLOCKED) } }),
      },
    }),
    variants: { base: { summary: '' } },
  });
  const props = [always('x-small', '', (s: { x: number }) => s.x < 3)];

  it('detects a nondeterministic step and says so', () => {
    const inst = instantiate(flaky, 'base');
    const engine = new Engine(inst.compiled, props);
    expect(() => replay(engine, [encodeChoice(0, 0)])).toThrow(ReplayError);
    expect(() => replay(engine, [encodeChoice(0, 0)])).toThrow(/nondeterministic/);
  });

  it('reports where a path does not fit the model', () => {
    const inst = instantiate(flaky, 'base');
    const engine = new Engine(inst.compiled, props);
    expect(() => replay(engine, [encodeChoice(1, 0)])).toThrow(/step 1: u\.wait is not enabled/);
    expect(() => replay(engine, [encodeChoice(5, 0)])).toThrow(/no thread 5/);
  });
});
