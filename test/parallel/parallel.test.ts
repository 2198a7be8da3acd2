// 1 vs 2 workers: the same verdicts on every shipped variant, the same state counts with reductions
// off, and violation paths from workers that replay to the same violation.

import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, shippedModelNames } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { Engine } from '../../src/explore/engine.ts';
import { DEFAULT_OPTIONS, StuckStepError, Verification, verify } from '../../src/explore/verify.ts';
import { closePools } from '../../src/parallel/coordinator.ts';
import { parallelHandOff } from '../../src/parallel/handoff.ts';
import { replay } from '../../src/trace/replay.ts';
import { SharedFingerprintSet } from '../../src/state/shared-fpset.ts';
import { Dfs } from '../../src/explore/dfs.ts';
import { NO_LIMITS } from '../../src/explore/search.ts';
import { runTask } from '../../src/parallel/worker.ts';
import { CTL_HUNGRY, CTL_WORDS, PROTOCOL_VERSION } from '../../src/parallel/protocol.ts';
import { threadTimes, timesSince } from '../../src/parallel/thread-times.ts';

afterAll(async () => {
  await closePools();
});

describe('shared fingerprint table', () => {
  it('inserts once, and grows by rehashing', () => {
    const t = SharedFingerprintSet.create(4096);
    for (let i = 1; i <= 2000; i++) expect(t.insertIfAbsent(i * 7919, i)).toBe(1);
    for (let i = 1; i <= 2000; i++) expect(t.insertIfAbsent(i * 7919, i)).toBe(0);
    const g = t.grow(8192);
    for (let i = 1; i <= 2000; i++) expect(g.insertIfAbsent(i * 7919, i)).toBe(0);
    expect(g.insertIfAbsent(1, 2)).toBe(1);
  });

  it('grows by copying in parts (one per worker): every fingerprint once, nothing else', () => {
    const t = SharedFingerprintSet.create(4096);
    for (let i = 1; i <= 2000; i++) t.insertIfAbsent(i * 7919, i);
    const g = SharedFingerprintSet.create(8192);
    for (let part = 0; part < 3; part++) g.copyPart(t, part, 3);
    let n = 0;
    for (let j = 0; j < g.cap; j++) if (g.slots[2 * j] !== 0) n++;
    expect(n).toBe(2000);
    for (let i = 1; i <= 2000; i++) expect(g.insertIfAbsent(i * 7919, i)).toBe(0);
  });

  it('touching its pages in parts (the warming workers) leaves it empty', () => {
    const t = SharedFingerprintSet.create(5000);
    for (let part = 0; part < 2; part++) t.touchPart(part, 2);
    expect(t.slots.every((x) => x === 0)).toBe(true);
    for (let i = 1; i <= 2000; i++) expect(t.insertIfAbsent(i * 7919, i)).toBe(1);
  });

  it('reports full instead of spinning', () => {
    const t = SharedFingerprintSet.create(64);
    let full = false;
    for (let i = 1; i <= 100 && !full; i++) full = t.insertIfAbsent(i, i) === -1;
    expect(full).toBe(true);
  });
});

describe('thread times', () => {
  it('on Linux, this thread\'s CPU time grows with work it does', () => {
    const a = threadTimes();
    if (process.platform !== 'linux') return expect(a).toBeUndefined();
    let x = 0;
    for (let i = 0; i < 2e7; i++) x = (x + Math.imul(i, 2654435761)) | 0;
    const d = timesSince(a)!;
    expect(x).not.toBe(1); // the loop's result is used
    expect(d.cpuMs).toBeGreaterThan(1);
    expect(d.waitMs).toBeGreaterThanOrEqual(0);
  });
});

describe('a worker task', () => {
  /** pte-offset-map-lock faults=2, searched whole, and a DFS of it stopped early as at a hand-off */
  async function handedOff() {
    const lm = await loadModel('pte-offset-map-lock');
    const inst = instantiate(lm.module, 'upstream', { faults: 2 });
    const engine = new Engine(inst.compiled, lm.spec.properties);
    const opts = { stopAtFirst: false, symmetry: false, por: false };
    const whole = verify(inst, lm.spec, opts);
    // a DFS stopped early leaves its stack as units (one per depth), as at a hand-off
    const table = SharedFingerprintSet.create(1 << 16);
    const start = new Dfs(engine, NO_LIMITS, { ...opts, visited: table });
    start.run(300);
    const model = { modelPath: lm.path, specPath: lm.specPath, variant: 'upstream', params: inst.params };
    const task = (units: ReturnType<Dfs['frontier']>, ctl: SharedArrayBuffer) =>
      runTask(engine, {
        v: PROTOCOL_VERSION, model, table: table.buffer, ctl, units,
        budget: 1e9, maxDepth: Infinity, maxStates: Infinity, deadline: Infinity, stopAtFirst: false, symmetry: false, por: false, sleep: false, porShared: [],
      });
    return { whole, start, task };
  }

  it('explores every unit it is given within its budget, and hands nothing back', async () => {
    const { whole, start, task } = await handedOff();
    const units = start.frontier();
    expect(units.length).toBeGreaterThan(2);
    const r = task(units, new SharedArrayBuffer(CTL_WORDS * 4));
    expect(r.stop).toBe('done');
    expect(r.frontier).toEqual([]);
    expect(start.states + r.states).toBe(whole.stats.states);
    expect(start.transitions + r.transitions).toBe(whole.stats.transitions);
    start.release();
  });

  it('hands back its rest once when another worker is idle, and the parts add up to the whole', async () => {
    const { whole, start, task: taskOn } = await handedOff();
    const ctlBuf = new SharedArrayBuffer(CTL_WORDS * 4);
    const ctl = new Int32Array(ctlBuf);
    const task = (units: ReturnType<Dfs['frontier']>) => taskOn(units, ctlBuf);
    let states = start.states;
    let transitions = start.transitions;
    let queue = start.frontier();
    start.release();
    let splits = 0;
    for (let round = 0; queue.length > 0; round++) {
      expect(round).toBeLessThan(10_000);
      Atomics.store(ctl, CTL_HUNGRY, 1);
      const r = task(queue);
      if (r.stop === 'split') {
        splits++;
        expect(Atomics.load(ctl, CTL_HUNGRY)).toBe(0); // answered once
        expect(r.frontier.length).toBeGreaterThan(1);
      } else {
        expect(r.stop).toBe('done');
      }
      states += r.states;
      transitions += r.transitions;
      queue = [...r.frontier];
    }
    expect(splits).toBeGreaterThan(0);
    expect(states).toBe(whole.stats.states);
    expect(transitions).toBe(whole.stats.transitions);
  });
});

describe('1 vs 2 workers', async () => {
  for (const name of shippedModelNames()) {
    const lm = await loadModel(name);
    for (const variant of Object.keys(lm.module.variants)) {
      it(`${name} [${variant}]`, async () => {
        const ref = { modelPath: lm.path, specPath: lm.specPath, variant, params: instantiate(lm.module, variant).params };
        const one = verify(instantiate(lm.module, variant), lm.spec, { stopAtFirst: false, symmetry: false, por: false });
        const v = new Verification(instantiate(lm.module, variant), lm.spec, { ...DEFAULT_OPTIONS, stopAtFirst: false, symmetry: false, por: false });
        const two = await v.run(() => {}, parallelHandOff(2, ref, 50, true));
        if (one.stats.transitions > 4096) expect(two.stats.workers).toBe(2);
        expect(two.outcome).toEqual(one.outcome);
        expect(two.properties.map((p) => p.status)).toEqual(one.properties.map((p) => p.status));
        expect(two.stats.states).toBe(one.stats.states);
        expect(two.stats.transitions).toBe(one.stats.transitions);
        // every violation found by a worker replays to the same violation
        const engine = new Engine(instantiate(lm.module, variant).compiled, lm.spec.properties);
        two.properties.forEach((p, k) => {
          if (p.status !== 'violated' || p.kind !== 'always') return;
          const last = replay(engine, p.path!).at(-1)!.after;
          expect(engine.check(last, 0) & (1 << k)).not.toBe(0);
        });
      });
    }
  }
});

describe('--max-states on 2 workers', () => {
  // gup-fast-table-free walkers=3 stores ~20k states with reductions off: far more than the limits below
  async function run(maxStates: number) {
    const lm = await loadModel('gup-fast-table-free');
    const inst = () => instantiate(lm.module, 'rcu-table-free', { walkers: 3 });
    const ref = { modelPath: lm.path, specPath: lm.specPath, variant: 'rcu-table-free', params: inst().params };
    const opts = { stopAtFirst: false, symmetry: false, por: false };
    const v = new Verification(inst(), lm.spec, { ...DEFAULT_OPTIONS, ...opts, limits: { ...NO_LIMITS, maxStates } });
    return { two: await v.run(() => {}, parallelHandOff(2, ref, 50, true)), one: verify(inst(), lm.spec, opts) };
  }

  it('stores at most the limit (tasks in flight share what is left of it) and reports it hit', async () => {
    for (const limit of [3000, 9000]) {
      const { two, one } = await run(limit);
      expect(one.stats.states).toBeGreaterThan(2 * limit);
      expect(two.stats.workers).toBe(2);
      expect(two.stats.states).toBeLessThanOrEqual(limit);
      expect(two.outcome).toEqual({ kind: 'incomplete', reason: 'max-states' });
      expect(two.properties.every((p) => p.status !== 'holds' && p.status !== 'unreachable')).toBe(true);
    }
  });

  it('a limit above the state count leaves the run complete, with every state', async () => {
    const { two, one } = await run(1_000_000);
    expect(two.outcome).toEqual({ kind: 'complete' });
    expect(two.stats.states).toBe(one.stats.states);
  });
});

describe("a step that never returns in this thread's share of a parallel run", () => {
  // test/fixtures/models/misbehaving.ts: thread b's steps never return in a thread whose global cue is
  // set; the cue is set here (this thread) only after the hand-off began, never in the pool's thread
  const CUE = Symbol.for('ptcheck.test.hang');
  const cue = globalThis as Record<symbol, unknown>;
  async function run(opts: { stepTimeout: number; deadline?: number; abortAfterMs?: number }) {
    const lm = await loadModel('test/fixtures/models/misbehaving.ts');
    const inst = instantiate(lm.module, 'hangs-on-cue');
    const ref = { modelPath: lm.path, specPath: lm.specPath, variant: 'hangs-on-cue', params: inst.params };
    const v = new Verification(inst, lm.spec, { ...DEFAULT_OPTIONS, stopAtFirst: false, stepTimeout: opts.stepTimeout, limits: { ...NO_LIMITS, deadline: opts.deadline ?? Infinity } });
    const timer = opts.abortAfterMs !== undefined ? setTimeout(() => v.abort(), opts.abortAfterMs) : undefined;
    try {
      // the tick before the hand-off (at 50 states, the workers waited for) sets the cue
      return await v.run((states) => void (states >= 50 && (cue[CUE] = true)), parallelHandOff(2, ref, 50, true));
    } finally {
      clearTimeout(timer);
      delete cue[CUE];
    }
  }

  it('ends by the step bound as a model error naming the step and the whole path to it', async () => {
    const t0 = Date.now();
    const e = await run({ stepTimeout: 1 }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(StuckStepError);
    expect((e as StuckStepError).message).toMatch(/^step b\.inc did not return within 1 s \(a loop that never ends\?\); path to it: [\d.*/]+$/);
    expect((e as StuckStepError).path?.length).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('ends at --timeout as INCOMPLETE (time limit), on 2 threads', async () => {
    const t0 = Date.now();
    const r = await run({ stepTimeout: 60, deadline: Date.now() + 1500 });
    expect(r.outcome).toEqual({ kind: 'incomplete', reason: 'timeout' });
    expect(r.stats.workers).toBe(2);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('a stop asked for meanwhile ends it as interrupted once the step bound has passed', async () => {
    const r = await run({ stepTimeout: 2, abortAfterMs: 300 });
    expect(r.outcome).toEqual({ kind: 'incomplete', reason: 'interrupted' });
    expect(r.stats.workers).toBe(2);
  });
});
