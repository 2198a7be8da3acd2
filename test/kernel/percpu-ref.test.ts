import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
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
  percpuRefTryget,
  percpuRefTrygetLive,
  rcuDoBatch,
  waitEvent,
  waitQueue,
  wakeUpAll,
} from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';

const ref = () => ({ mode: 'percpu' as const, dead: false, atomic: 0, pcpu: 0 }) as any;

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
    expect(r.atomic).toBe(3); // initial + get + the switch's own reference, bias gone
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
