// The reduction with declared futures: shared-safe steps cut states where today's local-only rule
// cannot, verdicts stay those of --no-por, every search order and worker count stores the same
// states, and a property reading what a shared-safe step changed (late) makes the search restart.

import { afterAll, describe, expect, it } from 'vitest';
import model from '../fixtures/models/future-readers.ts';
import spec from '../fixtures/specs/future-readers.ts';
import { instantiate } from '../../src/model/compile.ts';
import { DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { array, int } from '../../src/model/schema.ts';
import { DEFAULT_OPTIONS, Verification, verify } from '../../src/explore/verify.ts';
import { always, defineSpec, sometimes } from '../../src/spec/property.ts';
import { closePools } from '../../src/parallel/coordinator.ts';
import { parallelHandOff } from '../../src/parallel/handoff.ts';

afterAll(async () => {
  await closePools();
});

const statuses = (r: { properties: readonly { status: string }[] }) => r.properties.map((p) => p.status);

describe('declared futures cut states', () => {
  for (const params of [{ readers: 2, noise: 0 }, { readers: 3, noise: 0 }, { readers: 3, noise: 6 }]) {
    it(`readers=${params.readers} noise=${params.noise}: fewer states than without declarations, verdicts of --no-por`, () => {
      const declared = verify(instantiate(model, 'exact', params), spec, { stopAtFirst: false });
      const today = verify(instantiate(model, 'undeclared', params), spec, { stopAtFirst: false });
      const full = verify(instantiate(model, 'exact', params), spec, { stopAtFirst: false, por: false });
      const fullToday = verify(instantiate(model, 'undeclared', params), spec, { stopAtFirst: false, por: false });
      // declarations do not change the graph
      expect(full.stats.states).toBe(fullToday.stats.states);
      expect(declared.stats.states).toBeLessThan(today.stats.states);
      expect(today.stats.states).toBeLessThan(full.stats.states);
      expect(statuses(declared)).toEqual(statuses(full));
      expect(statuses(declared)).toEqual(['holds', 'holds', 'holds']);
      expect(declared.stats.reduction!.mergedShared).toBeGreaterThan(0);
      // without noise no thread of the undeclared variant declares a future
      if (params.noise === 0) expect(today.stats.reduction!.mergedShared).toBe(0);
    });
  }
  it('exact counts: 2 readers, no noise (readers finish one by one once the flag is up)', () => {
    const declared = verify(instantiate(model, 'exact'), spec, { stopAtFirst: false });
    expect(declared.stats.states).toBe(3);
    expect(verify(instantiate(model, 'undeclared'), spec, { stopAtFirst: false }).stats.states).toBe(18);
    expect(verify(instantiate(model, 'exact'), spec, { stopAtFirst: false, por: false }).stats.states).toBe(27);
  });
});

describe('declared futures: one reduced graph whatever the search', () => {
  it('DFS, BFS and 2 workers store the same states', async () => {
    const params = { readers: 3, noise: 30 };
    const dfs = verify(instantiate(model, 'exact', params), spec, { stopAtFirst: false });
    const bfs = verify(instantiate(model, 'exact', params), spec, { stopAtFirst: false, strategy: 'bfs' });
    const ref = { modelPath: 'test/fixtures/models/future-readers.ts', specPath: 'test/fixtures/specs/future-readers.ts', variant: 'exact', params: instantiate(model, 'exact', params).params };
    const v = new Verification(instantiate(model, 'exact', params), spec, { ...DEFAULT_OPTIONS, stopAtFirst: false });
    const two = await v.run(() => {}, parallelHandOff(2, ref, 50, true));
    expect(two.stats.workers).toBe(2);
    expect(bfs.stats.states).toBe(dfs.stats.states);
    expect(two.stats.states).toBe(dfs.stats.states);
    expect(statuses(two)).toEqual(statuses(dfs));
    expect(bfs.stats.reduction!.merged).toBe(dfs.stats.reduction!.merged);
    expect(two.stats.reduction!.merged).toBe(dfs.stats.reduction!.merged);
    expect(two.stats.reduction!.mergedShared).toBe(dfs.stats.reduction!.mergedShared);
  });
});

// Two workers store into their own slot of `out` (shared-safe: no one else's future touches it); an
// opener raises `gate`. The property reads `out` only once the gate is up, so on the initial state it
// reads `gate` alone: `out` is not visible at first. Worker 1 storing before worker 0 violates it.
const gst = defineState({ gate: int(0, 1), out: array(2, int(0, 1)) });
const trap = defineModel({
  name: 'visibility-trap',
  title: '',
  doc: '',
  params: {},
  build: () => ({
    state: gst,
    threads: {
      worker: thread(gst, {
        count: 2,
        locals: { l: int(0, 1) },
        steps: {
          work: (_s, me) => {
            me.l = 1;
            return 'store';
          },
          store: (s, me) => {
            s.out.set(me.index, me.l);
            return DONE;
          },
        },
        future: { work: { writes: ['out[{i}]'] }, store: { writes: ['out[{i}]'] } },
      }),
      opener: thread(gst, {
        steps: {
          open: (s) => {
            s.gate = 1;
            return DONE;
          },
        },
        future: { open: { writes: ['gate'] } },
      }),
    },
  }),
  variants: { base: { summary: '' } },
});
const trapSpec = defineSpec(trap, {
  properties: [always('in-order', 'worker 0 stores first (violated)', (s) => s.gate === 0 || !(s.out.get(1) === 1 && s.out.get(0) === 0))],
  expect: { base: { 'in-order': 'violated', 'deadlock-free': 'holds' } },
});

describe('visibility: a property reading what a shared-safe step changed', () => {
  for (const strategy of ['dfs', 'bfs'] as const) {
    it(`without the pre-pass: restarts with the word visible and keeps the verdict (${strategy})`, () => {
      const on = verify(instantiate(trap, 'base'), trapSpec, { stopAtFirst: false, strategy, seedVisible: false });
      const off = verify(instantiate(trap, 'base'), trapSpec, { stopAtFirst: false, strategy, por: false });
      expect(statuses(off)).toEqual(['violated', 'holds']);
      expect(statuses(on)).toEqual(statuses(off));
      expect(on.stats.reduction!.restarts).toBeGreaterThan(0);
      expect(on.stats.reduction!.widenedBy).toMatch(/a property read out\[[01]\].*which a step taken as shared-safe \(invisible\) changed/);
    });
    it(`with the pre-pass (the default): out is visible from the start, no restart, the same states and verdict (${strategy})`, () => {
      const seeded = verify(instantiate(trap, 'base'), trapSpec, { stopAtFirst: false, strategy });
      const net = verify(instantiate(trap, 'base'), trapSpec, { stopAtFirst: false, strategy, seedVisible: false });
      expect(seeded.stats.reduction!.restarts).toBe(0);
      expect(statuses(seeded)).toEqual(['violated', 'holds']);
      expect(seeded.stats.states).toBe(net.stats.states);
    });
  }
});

// The trap again, where random walks cannot find the state that shows it: the opener raises `gate`
// only after choosing its first alternative DEPTH times in a row (a walk does so with probability
// 2^-DEPTH), so the pre-pass never sees a property read `out`, and the restart is what keeps the
// verdicts: of an `always` property, of a `sometimes` one that only an order the reduction leaves out
// reaches, and of one never reachable (read in every state, so its reads count). A `sometimes` one
// that the reduced graph reaches whatever it leaves out is settled by its path: no restart for it.
const DEPTH = 24;
const dst = defineState({ gate: int(0, 1), level: int(0, DEPTH), out: array(2, int(0, 1)) });
// direct: the workers store at once, so the step chosen in the initial state already changes `out`
// (what the search records there must survive the pre-pass, which runs after the search is built)
const deepModel = (direct: boolean) => defineModel({
  name: 'visibility-trap-deep',
  title: '',
  doc: '',
  params: {},
  build: () => ({
    state: dst,
    threads: {
      worker: thread(dst, {
        count: 2,
        locals: { l: int(0, 1) },
        steps: {
          work: (s, me) => {
            me.l = 1;
            if (!direct) return 'store';
            s.out.set(me.index, 1);
            return DONE;
          },
          store: (s, me) => {
            s.out.set(me.index, me.l);
            return DONE;
          },
        },
        future: { work: { writes: ['out[{i}]'] }, store: { writes: ['out[{i}]'] } },
      }),
      opener: thread(dst, {
        steps: {
          climb: {
            alts: 2,
            run: (s, _me, alt) => {
              if (alt === 1) return DONE;
              if (s.level === DEPTH - 1) s.gate = 1;
              else s.level = s.level + 1;
              return s.gate === 1 ? DONE : 'climb';
            },
          },
        },
        future: { climb: { writes: ['gate', 'level'] } },
      }),
    },
  }),
  variants: { base: { summary: '' } },
});
const deep = deepModel(false);
type DeepKind = 'always' | 'sometimes-order' | 'sometimes-settled' | 'sometimes-unreached';
const deepSpec = (kind: DeepKind) =>
  defineSpec(deep, {
    properties: [
      kind === 'always'
        ? always('in-order', 'worker 0 stores first (violated)', (s) => s.gate === 0 || !(s.out.get(1) === 1 && s.out.get(0) === 0))
        : kind === 'sometimes-order'
          ? sometimes('out-of-order', 'worker 1 stored first, past the gate (reachable)', (s) => s.gate === 1 && s.out.get(1) === 1 && s.out.get(0) === 0)
          : kind === 'sometimes-settled'
            ? sometimes('stored', 'worker 0 stored, past the gate (reachable)', (s) => s.gate === 1 && s.out.get(0) === 1)
            : sometimes('never', 'past the gate, the stores add up to 3 (unreachable)', (s) => s.gate === 1 && s.out.get(0) + s.out.get(1) === 3),
    ],
    expect: { base: {} },
  });
const deepVerdict = { always: 'violated', 'sometimes-order': 'reachable', 'sometimes-settled': 'reachable', 'sometimes-unreached': 'unreachable' };

describe('visibility: the restart net where the pre-pass cannot see', () => {
  for (const kind of ['always', 'sometimes-order', 'sometimes-settled', 'sometimes-unreached'] as const) {
    it(`${kind}: verdicts of --no-por, DFS and BFS store the same states`, () => {
      const inst = () => instantiate(deep, 'base');
      const off = verify(inst(), deepSpec(kind), { stopAtFirst: false, por: false });
      const dfs = verify(inst(), deepSpec(kind), { stopAtFirst: false });
      const bfs = verify(inst(), deepSpec(kind), { stopAtFirst: false, strategy: 'bfs' });
      expect(statuses(off)).toEqual([deepVerdict[kind], 'holds']);
      expect(statuses(dfs)).toEqual(statuses(off));
      expect(statuses(bfs)).toEqual(statuses(off));
      expect(bfs.stats.states).toBe(dfs.stats.states);
      expect(dfs.stats.states).toBeLessThan(off.stats.states);
      // only a property that is read everywhere and not settled by a path makes the search restart
      expect(dfs.stats.reduction!.restarts, dfs.stats.reduction!.widenedBy).toBe(kind === 'sometimes-settled' ? 0 : 1);
      expect(bfs.stats.reduction!.restarts).toBe(dfs.stats.reduction!.restarts);
    });
  }
  it('the step chosen in the initial state changes what the property reads past the gate: DFS and BFS alike', () => {
    const direct = deepModel(true);
    const sp = defineSpec(direct, {
      properties: [always('in-order', 'worker 0 stores first (violated)', (s) => s.gate === 0 || !(s.out.get(1) === 1 && s.out.get(0) === 0))],
      expect: { base: {} },
    });
    const off = verify(instantiate(direct, 'base'), sp, { stopAtFirst: false, por: false });
    const dfs = verify(instantiate(direct, 'base'), sp, { stopAtFirst: false });
    const bfs = verify(instantiate(direct, 'base'), sp, { stopAtFirst: false, strategy: 'bfs' });
    expect(statuses(off)).toEqual(['violated', 'holds']);
    expect(statuses(dfs)).toEqual(statuses(off));
    expect(bfs.stats.states).toBe(dfs.stats.states);
    expect(dfs.stats.reduction!.restarts).toBe(1);
  });
});
