// Seeded random and swarm walks: the same seed gives the same walks and the same first violation;
// coverage figures (distinct states, steps never run) match what the toys can reach.

import { describe, expect, it } from 'vitest';
import { instantiate } from '../../src/model/compile.ts';
import { Engine } from '../../src/explore/engine.ts';
import { Rng, Simulation, type SimulateOptions } from '../../src/explore/simulate.ts';
import { BLOCKED, DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { always, defineSpec, type Property, type SpecModule } from '../../src/spec/property.ts';
import type { ModelModule } from '../../src/model/model.ts';
import { replay } from '../../src/trace/replay.ts';
import { counters, countersSpec, mutex, mutexSpec, abba, abbaSpec } from '../helpers/toys.ts';

function simulate(model: ModelModule<any, any>, spec: SpecModule, variant: string, o: Partial<SimulateOptions>): { sim: Simulation; engine: Engine } {
  const engine = new Engine(instantiate(model, variant).compiled, spec.properties as readonly Property[]);
  const sim = new Simulation(engine, { seed: 1, walks: 100, maxDepth: 1000, deadline: Infinity, swarm: false, ...o });
  while (!sim.run(1 << 10)) {
    /* slices */
  }
  return { sim, engine };
}

/** A thread whose second step waits for a value nothing ever writes: that step can never run. */
const deadSt = defineState({ x: int(0, 2) });
const dead = defineModel({
  name: 'dead-step',
  title: 'a step that never runs',
  doc: '',
  params: {},
  build: () => ({
    state: deadSt,
    threads: {
      a: thread(deadSt, {
        steps: {
          set: (s) => {
            s.x = 1;
            return 'wait';
          },
          wait: (s) => (s.x === 1 ? DONE : 'never'),
          never: (s) => (s.x === 2 ? DONE : BLOCKED),
        },
      }),
    },
  }),
  variants: { base: { summary: 'the only variant' } },
});
const deadSpec = defineSpec(dead, { properties: [always('x-small', 'x stays below 2', (s) => s.x < 2)], expect: { base: { 'x-small': 'holds', 'deadlock-free': 'holds' } } });

describe('Rng', () => {
  it('is a function of its seed, and spreads its values', () => {
    const a = new Rng();
    const b = new Rng();
    a.seed(42, 0, 3);
    b.seed(42, 0, 3);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    b.seed(42, 0, 4);
    expect(Array.from({ length: 1000 }, () => b.next())).not.toEqual(xs);
    // 1000 draws below 10: every bucket within a generous band of 100
    a.seed(7, 0, 0);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 1000; i++) buckets[a.below(10)]++;
    for (const n of buckets) expect(n).toBeGreaterThan(60);
  });
});

describe('simulation', () => {
  it('the same seed gives the same first violation, plain and swarm', () => {
    for (const swarm of [false, true]) {
      const r1 = simulate(mutex, mutexSpec, 'no-lock', { seed: 99, swarm });
      const r2 = simulate(mutex, mutexSpec, 'no-lock', { seed: 99, swarm });
      expect(r1.sim.outcome).toEqual({ kind: 'violation' });
      expect(r2.sim.violation).toEqual(r1.sim.violation);
      expect([r2.sim.walks, r2.sim.steps, r2.sim.distinct]).toEqual([r1.sim.walks, r1.sim.steps, r1.sim.distinct]);
      // the path is a real one, and ends where both threads are inside
      const v = r1.sim.violation!;
      expect(r1.engine.props[v.prop]!.name).toBe('mutual-exclusion');
      const steps = replay(r1.engine, v.path);
      r1.engine.cm.holder.b = steps[steps.length - 1]!.after;
      r1.engine.cm.holder.o = 0;
      expect(r1.engine.cm.root.inside).toBe(2);
    }
  });

  it('walk i is the same walk whatever ran before it (a seed range splits into jobs)', () => {
    const whole = simulate(mutex, mutexSpec, 'no-lock', { seed: 5 });
    const w = whole.sim.violation!.walk;
    const part = simulate(mutex, mutexSpec, 'no-lock', { seed: 5, firstWalk: w, walks: 1 });
    expect(part.sim.violation).toEqual(whole.sim.violation);
  });

  it('finds a deadlock at a terminal state', () => {
    const { sim, engine } = simulate(abba, abbaSpec, Object.keys(abba.variants)[0]!, { seed: 3, walks: 1000 });
    expect(sim.outcome).toEqual({ kind: 'violation' });
    expect(engine.props[sim.violation!.prop]!.kind).toBe('deadlock');
  });

  it('without a violation: counts walks and distinct states, never more than exist', () => {
    // the two counters have 3 x 3 = 9 states (toys.ts); 200 walks of 4 steps meet them all
    const { sim } = simulate(counters, countersSpec, 'base', { seed: 11, walks: 200 });
    expect(sim.outcome).toEqual({ kind: 'no-violation', reason: 'walks' });
    expect(sim.walks).toBe(200);
    expect(sim.steps).toBe(800);
    expect(sim.distinct).toBe(9);
    expect(sim.maxDepthSeen).toBe(4);
    expect(sim.reached).toBe(2); // both-two (property 1) was seen
    expect(sim.unreached()).toEqual([]);
  });

  it('reports the steps no walk ran', () => {
    const { sim } = simulate(dead, deadSpec, 'base', { seed: 1, walks: 50 });
    expect(sim.unreached()).toEqual([{ group: 'a', label: 'never' }]);
  });

  it('stops a walk at the depth limit and counts it', () => {
    const { sim } = simulate(counters, countersSpec, 'base', { seed: 2, walks: 10, maxDepth: 2 });
    expect(sim.truncatedWalks).toBe(10);
    expect(sim.maxDepthSeen).toBe(2);
  });
});
