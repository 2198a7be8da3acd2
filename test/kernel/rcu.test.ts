import { describe, expect, it } from 'vitest';
import { DONE, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { Fault, callRcu, kernelState, noFault, rcuThread } from '../../src/kernel/index.ts';
import { final, sometimes } from '../../src/spec/property.ts';
import { run } from './kit.ts';

/** Two CPUs defer-free two fragments of one page through the page's single rcu_head (B5.1). */
function sharedHead() {
  const st = kernelState({ rcuHeads: 1, rcuCallbacks: ['free_a', 'free_b'] }, { ran: int(0, 3) });
  const cpu = (cb: number) => thread(st, { steps: { call_rcu: (s, me) => (callRcu(s, me, 0, cb, 0), DONE) } });
  const rcu = rcuThread(st, ['free_a', 'free_b'], { free_a: (s) => void (s.ran = s.ran | 1), free_b: (s) => void (s.ran = s.ran | 2) }, 1);
  return { state: st, threads: { a: cpu(1), b: cpu(2), rcu }, properties: [
      noFault('rcu-head-once', Fault.RCU_HEAD_REQUEUED),
      sometimes('both-callbacks-run', 'both frees run', (s: any) => s.ran === 3),
      final('no-callback-lost', 'every queued callback has run at the end', (s: any) => s.ran === 3),
    ],
  };
}

describe('call_rcu on a head that is already queued', () => {
  it('is recorded at the second call itself, and the first callback is lost', () => {
    const r = run(sharedHead());
    const byName = Object.fromEntries(r.properties.map((p) => [p.name, p]));
    expect(byName['rcu-head-once']!.status).toBe('violated');
    // the shortest counterexample is the two calls: nothing has to run after the second one
    const rb = run(sharedHead(), 'bfs');
    expect(rb.properties.find((p) => p.name === 'rcu-head-once')!.path!.length).toBe(2);
    expect(byName['no-callback-lost']!.status).toBe('violated');
    expect(byName['both-callbacks-run']!.status).toBe('reachable'); // when the callback runs between the calls
  });
});
