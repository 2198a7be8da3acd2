import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BLOCKED, DONE, defineModel, thread, type ModelDef } from '../../src/model/model.ts';
import { instantiate } from '../../src/model/compile.ts';
import { OBS_ADD, OBS_NONE, OBS_UPD, obsLog } from '../../src/model/observe.ts';
import {
  Fault,
  kernelState,
  noFault,
  percpuRef,
  percpuRefGet,
  percpuRefInit,
  percpuRefIsZero,
  percpuRefKill,
  percpuRefPut,
  percpuRefSwitchConfirm,
  percpuRefSwitchFold,
  percpuRefSwitchPending,
  percpuRefSwitchToAtomic,
  percpuRefSwitchToAtomicRcu,
  percpuRefSwitchToAtomicWait,
  percpuRefSwitchToPercpu,
  percpuRefTryget,
  percpuRefTrygetLive,
  rcuDoBatch,
  waitEvent,
  waitQueue,
  wakeUpAll,
} from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';

const ref = () => ({ mode: 'percpu' as const, dead: false, count: 0, pcpu: 0 }) as any;

describe('percpu_ref: the switch as separate steps', () => {
  it('fold then confirm is the whole callback; the switch is pending until the confirm', () => {
    const s = { faults: 0, rcu_head: [{ queued: false, wait: 0, cb: 0, arg: -1 }] } as any;
    const me = { tid: 0, rcu_nesting: 0, irqs_off: false, gp_wait: 0, all: [] } as any;
    const r = ref();
    percpuRefInit(r);
    percpuRefGet(r);
    expect(percpuRefSwitchToAtomic(s, me, r, 0, 1, 0)).toBe(true);
    expect(percpuRefIsZero(r)).toBe(false);
    percpuRefSwitchFold(s, r);
    expect(percpuRefSwitchPending(r)).toBe(true);
    expect(percpuRefSwitchToAtomic(s, me, r, 0, 1, 0)).toBe(false); // waits for confirm_switch
    percpuRefSwitchConfirm(r);
    expect(percpuRefSwitchPending(r)).toBe(false);
    expect(r.count).toBe(3); // initial + get + the switch's own reference, bias gone
    const r2 = ref();
    percpuRefInit(r2);
    s.rcu_head[0].queued = false;
    percpuRefSwitchToAtomic(s, me, r2, 0, 1, 0);
    percpuRefSwitchToAtomicRcu(s, r2);
    expect(r2.mode).toBe('atomic');
    expect(s.faults).toBe(0);
  });

  it('kill: dead, switching, tryget_live fails once atomic; a second kill is recorded', () => {
    const s = { faults: 0, rcu_head: [{ queued: false, wait: 0, cb: 0, arg: -1 }] } as any;
    const me = { tid: 0, rcu_nesting: 0, irqs_off: false, gp_wait: 0, all: [] } as any;
    const r = ref();
    percpuRefInit(r);
    expect(percpuRefKill(s, me, r, 0, 1, 0)).toBe(true);
    percpuRefPut(s, r); // the initial reference
    percpuRefSwitchToAtomicRcu(s, r);
    percpuRefPut(s, r); // put after confirmation
    expect(percpuRefIsZero(r)).toBe(true);
    expect(percpuRefTrygetLive(r)).toBe(false);
    expect(percpuRefTryget(r)).toBe(false);
    percpuRefKill(s, me, r, 0, 1, 0);
    expect(s.faults).toBe(Fault.BUG);
  });

  /**
   * percpu_ref_switch_to_atomic_sync: start the switch, then wait_event(!confirm_switch). The RCU
   * callback's steps in the order given: mainline confirms before waking (percpu_ref_call_confirm_rcu);
   * waking first lets the waiter recheck, see the switch still pending and sleep again, for good.
   */
  function sync(order: readonly ('confirm' | 'wake_up_all' | 'put')[]) {
    const st = kernelState({ rcuHeads: 1, rcuCallbacks: ['percpu_ref_switch_to_atomic_rcu'] }, { ref: percpuRef(), wq: waitQueue() });
    const labels = order.map((x) => x as string);
    const step = (i: number) => (i < labels.length ? labels[i]! : 'rcu_do_batch');
    const doOp = (x: string, s: any) => {
      if (x === 'confirm') percpuRefSwitchConfirm(s.ref);
      else if (x === 'wake_up_all') wakeUpAll(s.wq);
      else percpuRefPut(s, s.ref);
    };
    const rcuSteps: any = {
      rcu_do_batch: rcuDoBatch(['percpu_ref_switch_to_atomic_rcu'], { percpu_ref_switch_to_atomic_rcu: (s: any) => (percpuRefSwitchFold(s, s.ref), step(0)) }, 1),
    };
    labels.forEach((x, i) => (rcuSteps[x] = (s: any) => (doOp(x, s), step(i + 1))));
    const rcu = thread(st, { daemon: true, steps: rcuSteps });
    const switcher = thread(st, {
      steps: {
        switch: (s, me) => (percpuRefSwitchToAtomic(s, me, s.ref, 0, 1, 0) ? 'wait_event' : BLOCKED),
        ...waitEvent({ wq: (s) => s.wq, cond: (s) => !percpuRefSwitchPending(s.ref), next: 'out' }),
        out: () => DONE,
      },
    });
    return {
      state: st,
      init: (s: any) => percpuRefInit(s.ref),
      threads: { switcher, rcu },
      properties: [noFault('no-underflow', Fault.REFCOUNT_UNDERFLOW)],
    };
  }

  it('mainline order (confirm, wake_up_all, put): the sync switch returns', () => {
    expect(verdicts(sync(['confirm', 'wake_up_all', 'put']))).toEqual({ 'no-underflow': 'holds', 'deadlock-free': 'holds' });
  });

  it('wake before confirm: the waiter can sleep again for good', () => {
    expect(verdicts(sync(['wake_up_all', 'confirm', 'put']))['deadlock-free']).toBe('violated');
  });
});


/**
 * The kernel's own counters, as lib/percpu-refcount.c keeps them: the atomic count (without the bias)
 * and the per-CPU sum. percpu-ref.ts keeps (count = atomic + pcpu, pcpu) instead; this is the reference
 * it must agree with, operation by operation.
 */
type KRef = { mode: string; dead: boolean; atomic: number; pcpu: number };
const K = {
  biasGone: (r: KRef) => r.mode === 'atomic' || r.mode === 'folded',
  pending: (r: KRef) => r.mode === 'to-atomic' || r.mode === 'folded',
  get(r: KRef) {
    if (r.mode === 'percpu') r.pcpu++;
    else r.atomic++;
  },
  under: (r: KRef) => r.atomic + r.pcpu < 0,
};
const kernelOps: Record<string, (r: KRef) => { ret?: boolean; under?: boolean; bug?: boolean }> = {
  init: (r) => ((r.mode = 'percpu'), (r.atomic = 1), (r.pcpu = 0), {}),
  get: (r) => (K.get(r), {}),
  tryget: (r) => {
    if (K.biasGone(r)) {
      if (r.atomic === 0) return { ret: false };
      r.atomic++;
      return { ret: true };
    }
    K.get(r);
    return { ret: true };
  },
  trygetLive: (r) => {
    if (r.mode === 'percpu') return (r.pcpu++, { ret: true });
    if (r.dead) return { ret: false };
    return kernelOps.tryget!(r);
  },
  put: (r) => {
    if (r.mode === 'percpu') r.pcpu--;
    else r.atomic--;
    return { under: K.under(r) };
  },
  isZero: (r) => ({ ret: K.biasGone(r) && r.atomic === 0 }),
  switchToAtomic: (r) => {
    if (K.pending(r)) return { ret: false };
    if (r.mode === 'percpu') r.mode = 'to-atomic';
    K.get(r);
    return { ret: true };
  },
  wait: (r) => (K.pending(r) ? { ret: false } : { ret: true, ...kernelOps.put!(r) }),
  fold: (r) => {
    if (r.mode !== 'to-atomic') throw new Error('fold');
    r.atomic += r.pcpu;
    r.pcpu = 0;
    r.mode = 'folded';
    return { under: K.under(r) };
  },
  confirm: (r) => {
    if (r.mode !== 'folded') throw new Error('confirm');
    r.mode = 'atomic';
    return {};
  },
  kill: (r) => {
    if (K.pending(r)) return { ret: false };
    const bug = r.dead;
    r.dead = true;
    if (r.mode === 'percpu') {
      r.mode = 'to-atomic';
      K.get(r);
    }
    return { ret: true, bug };
  },
  switchToPercpu: (r) => {
    if (K.pending(r)) return { ret: false };
    if (r.mode === 'atomic' && !r.dead) {
      r.pcpu = 0;
      r.mode = 'percpu';
    }
    return { ret: true };
  },
};
const rcuS = () => ({ faults: 0, rcu_head: [{ queued: false, wait: 0, cb: 0, arg: -1 }] }) as any;
const rcuMe = () => ({ tid: 0, rcu_nesting: 0, irqs_off: false, gp_wait: 0, all: [] }) as any;
const modelOps: Record<string, (s: any, r: any) => boolean | void> = {
  init: (_s, r) => percpuRefInit(r),
  get: (_s, r) => percpuRefGet(r),
  tryget: (_s, r) => percpuRefTryget(r),
  trygetLive: (_s, r) => percpuRefTrygetLive(r),
  put: (s, r) => percpuRefPut(s, r),
  isZero: (_s, r) => percpuRefIsZero(r),
  switchToAtomic: (s, r) => percpuRefSwitchToAtomic(s, rcuMe(), r, 0, 1, 0),
  wait: (s, r) => percpuRefSwitchToAtomicWait(s, r),
  fold: (s, r) => percpuRefSwitchFold(s, r),
  confirm: (_s, r) => percpuRefSwitchConfirm(r),
  kill: (s, r) => percpuRefKill(s, rcuMe(), r, 0, 1, 0),
  switchToPercpu: (_s, r) => percpuRefSwitchToPercpu(r),
};
const opNames = Object.keys(kernelOps);

describe('percpu_ref: (count, pcpu) is the kernel\'s (atomic, pcpu) renamed', () => {
  it('every operation sequence: the same mode, answers and faults, count = atomic + pcpu, and the same pcpu', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...opNames), { maxLength: 40 }), (ops) => {
        const k: KRef = { mode: 'percpu', dead: false, atomic: 0, pcpu: 0 };
        const m = ref();
        for (const op of ops) {
          const s = rcuS();
          let want: ReturnType<(typeof kernelOps)[string]> | 'threw';
          let got: boolean | void | 'threw';
          try {
            want = kernelOps[op]!(k);
          } catch {
            want = 'threw';
          }
          try {
            got = modelOps[op]!(s, m);
          } catch {
            got = 'threw';
          }
          if (want === 'threw') {
            expect(got, op).toBe('threw');
            return;
          }
          expect(got, op).toBe(want.ret);
          expect((s.faults & Fault.REFCOUNT_UNDERFLOW) !== 0, op).toBe(want.under === true);
          expect((s.faults & Fault.BUG) !== 0, op).toBe(want.bug === true);
          expect({ mode: m.mode, dead: m.dead, count: m.count, pcpu: m.pcpu }, op).toEqual({ mode: k.mode, dead: k.dead, count: k.atomic + k.pcpu, pcpu: k.pcpu });
          // what the kernel reads of the atomic counter once the bias is gone is count
          if (K.biasGone(k)) expect(k.pcpu, op).toBe(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('no primitive learns anything of pcpu, nor reads count whole, while the derivation listens', () => {
    // a compiled ref, its touches recorded and tagged as src/por/derive-futures.ts records them
    const st = kernelState({ rcuHeads: 1, rcuCallbacks: ['percpu_ref_switch_to_atomic_rcu'] }, { ref: percpuRef() });
    const model = defineModel({
      name: 'pcpu-touches',
      title: '',
      doc: '',
      params: {},
      build: (): ModelDef => ({ state: st, threads: { t: thread(st, { steps: { a: () => DONE } }) } }),
      variants: { base: { summary: '' } },
    });
    const cm = instantiate(model, 'base').compiled;
    const path = (w: number) => cm.leaves.find((l) => l.off === w)!.path;
    const h = cm.holder;
    const rec = new Int32Array(256);
    const kind = new Int8Array(256);
    const r = (cm.root as any).ref;
    const s = cm.root as any;
    const me = cm.threads[0]!.me as any;
    let runs = 0;
    for (const mode of ['percpu', 'to-atomic', 'folded', 'atomic'] as const)
      for (const dead of [false, true])
        for (const count of [-2, 0, 1, 3])
          for (const pcpu of [-3, 0, 2])
            for (const op of opNames) {
              h.b = Int32Array.from(cm.init);
              h.o = 0;
              h.rec = null;
              h.undo = null;
              Object.assign(r, { mode, dead, count, pcpu });
              s.rcu_head[0].queued = false;
              h.rec = rec;
              h.rn = 0;
              h.undo = new Int32Array(256);
              h.un = 0;
              kind.fill(0);
              obsLog.h = h;
              obsLog.kind = kind;
              obsLog.a = new Int32Array(256);
              obsLog.b = new Int32Array(256);
              try {
                if (op === 'switchToAtomic') percpuRefSwitchToAtomic(s, me, r, 0, 1, 0);
                else if (op === 'kill') percpuRefKill(s, me, r, 0, 1, 0);
                else modelOps[op]!(s, r);
              } catch {
                // fold/confirm in the wrong mode: a model error; what it touched before still counts
              } finally {
                obsLog.h = null;
                h.rec = null;
                h.undo = null;
              }
              runs++;
              for (let i = 0; i < h.rn; i++) {
                const p = path(rec[i]!);
                const where = `${op} in ${mode}${dead ? ', dead' : ''}, count ${count}, pcpu ${pcpu}: touch ${i} of ${p}`;
                if (p === 'ref.pcpu') expect([OBS_NONE, OBS_ADD, OBS_UPD], where).toContain(kind[i]);
                if (p === 'ref.count') expect(kind[i], where).not.toBe(0);
              }
            }
    expect(runs).toBe(4 * 2 * 4 * 3 * opNames.length);
  });
});
