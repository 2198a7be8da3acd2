// Pins the parameter-dependent rows of specs/try-to-free-user-pte.ts. Trace C: with two faults, the
// RFC's pte_tryget_map_lock() (two loads of *pmd, no recheck) locks T2's ptl and writes into T3, which
// the other fault installed after its failed pte_tryget freed T2. A full search at faults=2 with a
// walker takes minutes, so there the verdict is pinned by its witness: the schedule is written as the
// kernel trace reads (thread, step label), replayed, and must violate pte-write-under-its-ptl at the
// last step and not before. Without walkers the full searches take seconds and must match the rows.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { Engine } from '../../src/explore/engine.ts';
import { verify } from '../../src/explore/verify.ts';
import { expectRow } from '../../src/spec/property.ts';
import { encodeChoice } from '../../src/trace/path.ts';
import { replay, stepLabel } from '../../src/trace/replay.ts';
import { buildTrace } from '../../src/trace/trace.ts';

const PROP = 'pte-write-under-its-ptl';

/** Trace C, step by step (the spec header's diagram). */
const TRACE_C: readonly (readonly [string, readonly string[]])[] = [
  // zap_pte_range on T1, then try_to_free_user_pte up to the switch to atomic mode
  ['madvise', ['pte_tryget', 'percpu_ref_tryget', 'pte_lockptr', 'pte_offset_map', 'spin_lock(ptl)', 'ptep_get_and_clear_full',
    'track_pte_clear', 'spin_unlock(ptl)', 'pte_put', 'pte_tryget', 'percpu_ref_tryget', 'pmd_pgtable(*pmd)', 'percpu_ref_switch_to_atomic']],
  ['fault1', ['pmd_none', 'pte_tryget']], // READ_ONCE(*pmd) = T1
  ['rcu', ['percpu_ref_switch_to_atomic_rcu']],
  ['madvise', ['wait_event(confirm_switch)', '__pte_put', 'percpu_ref_is_zero', 'pmd_lock', 'pmd_clear', 'spin_unlock(pml)']],
  // installs T2, takes a reference on it, computes T2's ptl
  ['fault0', ['pmd_none', 'pte_alloc_one', 'pmd_lock', 'pmd_install', 'spin_unlock(pml)', 'pte_tryget', 'percpu_ref_tryget', 'pte_lockptr']],
  // tryget on T1 fails -> free_user_pte clears T2; faults again and installs T3
  ['fault1', ['percpu_ref_tryget', 'pmd_lock', 'pmd_clear', 'spin_unlock(pml)', 'mm_dec_nr_ptes', 'call_rcu', 'pmd_none', 'pte_alloc_one',
    'pmd_lock', 'pmd_install']],
  // second load of *pmd finds T3; locks T2's ptl; writes into T3
  ['fault0', ['pte_offset_map', 'spin_lock(ptl)', 'track_pte_set', 'set_pte_at']],
];

/** The choices of `schedule`: each step must be the named thread's next label, with one enabled alternative showing it. */
function choicesOf(engine: Engine, schedule: typeof TRACE_C): number[] {
  const names = engine.cm.threads.map((t) => t.name);
  const cur = Int32Array.from(engine.cm.init);
  const next = new Int32Array(engine.W);
  const out: number[] = [];
  for (const [thread, labels] of schedule) {
    const tid = names.indexOf(thread);
    expect(tid, `thread ${thread}`).toBeGreaterThanOrEqual(0);
    for (const label of labels) {
      let found = -1;
      for (let alt = 0; alt < engine.alts(cur, 0, tid) && found < 0; alt++) {
        if (stepLabel(engine, cur, tid, alt) === label && engine.successor(cur, 0, tid, alt, next)) found = alt;
      }
      expect(found, `${thread} ${label} enabled at step ${out.length + 1}`).toBeGreaterThanOrEqual(0);
      out.push(encodeChoice(tid, found));
      cur.set(next);
    }
  }
  return out;
}

describe('try-to-free-user-pte: pte-write-under-its-ptl with two faults (trace C)', async () => {
  const lm = await loadModel('try-to-free-user-pte');
  const k = lm.spec.properties.findIndex((p) => p.name === PROP);

  for (const variant of ['rfc', 'rfc-switch-back']) {
    it(`${variant}: expected holds at faults=1, violated at faults=2`, () => {
      expect(expectRow(lm.spec, variant, { faults: 1, walkers: 1 })?.[PROP]).toBe('holds');
      expect(expectRow(lm.spec, variant, { faults: 2, walkers: 1 })?.[PROP]).toBe('violated');
      expect(expectRow(lm.spec, variant, { faults: 2, walkers: 0 })?.[PROP]).toBe('violated');
      expect(lm.spec.expect[variant]?.[PROP]).toBe('holds'); // the default row (faults=1)
    });

    for (const faults of [1, 2]) {
      it(`${variant}: every verdict at faults=${faults}, walkers=0 as its row says`, () => {
        const inst = instantiate(lm.module, variant, { faults, walkers: 0 });
        const r = verify(inst, lm.spec, { stopAtFirst: false });
        expect(r.outcome.kind).toBe('complete');
        const row = expectRow(lm.spec, variant, inst.params)!;
        expect(Object.fromEntries(r.properties.map((p) => [p.name, p.status]))).toEqual(row);
        // no walker: no put of a table never got; the second fault still writes under the wrong ptl
        expect(row['pte-ref-no-underflow']).toBe('holds');
        expect(row[PROP]).toBe(faults >= 2 ? 'violated' : 'holds');
        expect(row['pte-ref-counts-entries']).toBe(faults >= 2 ? 'violated' : 'holds');
      });
    }

    it(`${variant}: the trace replays at faults=2 and violates it exactly at fault0's set_pte_at`, () => {
      const inst = instantiate(lm.module, variant, { faults: 2, walkers: 1 });
      const engine = new Engine(inst.compiled, lm.spec.properties);
      const choices = choicesOf(engine, TRACE_C);
      const steps = replay(engine, choices);
      const bit = 1 << k;
      steps.forEach((s, i) => {
        const violated = (engine.check(s.after, 0) & bit) !== 0;
        expect({ step: i + 1, violated }).toEqual({ step: i + 1, violated: i === steps.length - 1 });
      });
      const t = buildTrace(inst, engine, choices, k);
      const changed = (i: number) => t.steps[i]!.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`);
      // fault1 clears the table fault0 holds a reference on, then installs another
      expect(changed(t.steps.findIndex((s) => s.thread === 'fault1' && s.label === 'pmd_clear'))).toContain('pmd: T2 -> none');
      expect(changed(t.steps.findIndex((s) => s.thread === 'fault1' && s.label === 'pmd_install'))).toContain('pmd: none -> T3');
      // fault0's two loads of *pmd named different tables: it locks T2's ptl and writes into T3
      expect(changed(t.steps.length - 3)).toContain('T2.ptl: - -> fault0');
      expect(changed(t.steps.length - 1)).toContain('T3.pte[1]: none -> page2');
    });
  }
});
