// A few lines to run a one-variant toy model of kernel primitives through verify() and read its verdicts.

import { defineModel, type StateDef, type ThreadDef } from '../../src/model/model.ts';
import { instantiate } from '../../src/model/compile.ts';
import { verify, type RunResult } from '../../src/explore/verify.ts';
import { defineSpec, type Property } from '../../src/spec/property.ts';

export interface Toy {
  readonly state: StateDef<any, any>;
  readonly threads: Readonly<Record<string, ThreadDef<any>>>;
  readonly init?: (s: any) => void;
  readonly properties: readonly Property<any>[];
}

/** Explores the whole state space (no early stop) and returns the run. */
export function run(toy: Toy, strategy: 'dfs' | 'bfs' = 'dfs', reduce = true): RunResult {
  const model = defineModel({
    name: 'toy',
    title: 'toy',
    doc: '',
    params: {},
    build: () => ({ state: toy.state, threads: toy.threads, ...(toy.init ? { init: toy.init } : {}) }),
    variants: { base: { summary: 'the only variant' } },
  });
  const spec = defineSpec(model as any, { properties: toy.properties, expect: { base: {} } });
  return verify(instantiate(model, 'base'), spec, { stopAtFirst: false, strategy, por: reduce, symmetry: reduce });
}

/** property name -> verdict, after a complete run. */
export function verdicts(toy: Toy): Record<string, string> {
  const r = run(toy);
  if (r.outcome.kind === 'incomplete') throw new Error('toy run incomplete');
  return Object.fromEntries(r.properties.map((p) => [p.name, p.status]));
}
