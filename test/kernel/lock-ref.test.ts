import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import { instantiate } from '../../src/model/compile.ts';
import { defineModel } from '../../src/model/model.ts';
import {
  Fault,
  LOCK_REF_GARBAGE,
  LOCK_REF_NULL,
  kernelState,
  lock,
  lockRefs,
  noFault,
  pmdEntry,
  ptInitInstalled,
  uninitRead,
} from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';
import { defineSpec } from '../../src/spec/property.ts';
import { verify } from '../../src/explore/verify.ts';
import { Engine } from '../../src/explore/engine.ts';
import { buildTrace } from '../../src/trace/trace.ts';
import { raceDiagram } from '../../src/report/race-diagram.ts';

const R = lockRefs({ named: ['pml'] });
const PML = R.ref('pml');
const balanced = noFault('locks-balanced', Fault.UNLOCK_NOT_OWNER | Fault.LOCK_HELD_AT_EXIT);
const badRef = noFault('no-bad-lock-ref', Fault.BAD_LOCK_REF);

/**
 * try_to_free_pte()'s lock handling (mm/pt_reclaim.c): pml = pmd_lock(); start_pte =
 * pte_offset_map_rw_nolock(..., &ptl); if (!start_pte) goto out_ptl; if (ptl != pml) spin_lock(ptl); ...
 * out_ptl: if (start_pte) pte_unmap_unlock(start_pte, ptl); if (ptl != pml) spin_unlock(pml).
 * `none`: the pmd is none, so the map fails and ptl is never written.
 */
function tryToFree(o: { split: boolean; none: boolean; ptlInit: 'null' | 'uninit' }) {
  const st = kernelState({ tables: 1 }, { pmd: pmdEntry(), pml: lock() });
  const choices = [PML, R.table(1), LOCK_REF_GARBAGE];
  const t = thread(st, {
    locals: { ptl: o.ptlInit === 'null' ? R.local(LOCK_REF_NULL) : R.local(0, choices), mapped: pmdEntry().of },
    steps: {
      pmd_lock: (s, me) => (R.lock(s, me, PML) ? 'pte_offset_map_rw_nolock' : BLOCKED),
      pte_offset_map_rw_nolock: (s, me) => {
        if (s.pmd.v <= 0) return 'out_ptl';
        me.mapped = s.pmd.v;
        me.ptl = R.pteLockptr(s, s.pmd.v, o.split, 'pml');
        return 'spin_lock(ptl)';
      },
      'spin_lock(ptl)': (s, me) => (R.same(me.ptl, PML) || R.lock(s, me, me.ptl) ? 'out_ptl' : BLOCKED),
      out_ptl: uninitRead({ label: 'out_ptl', local: 'ptl', choices, name: R.name }, (s: any, me: any) => {
        if (me.mapped > 0) R.unlock(s, me, me.ptl);
        if (!R.same(me.ptl, PML)) R.unlock(s, me, PML);
        return DONE;
      }),
    },
  });
  return { state: st, init: (s: any) => (o.none ? undefined : ptInitInstalled(s, s.pmd, 1)), threads: { t }, properties: [balanced, badRef] };
}

describe('lock references', () => {
  for (const split of [true, false]) {
    it(`${split ? 'split' : 'non-split'} ptlocks: ptl != pml guards the nested lock and the unlocks`, () => {
      expect(verdicts(tryToFree({ split, none: false, ptlInit: 'null' }))).toEqual({
        'locks-balanced': 'holds',
        'no-bad-lock-ref': 'holds',
        'deadlock-free': 'holds',
      });
    });
  }

  it('non-split: locking ptl without the ptl != pml test is an AA deadlock', () => {
    const st = kernelState({ tables: 1 }, { pmd: pmdEntry(), pml: lock() });
    const t = thread(st, {
      locals: { ptl: R.local() },
      steps: {
        pmd_lock: (s, me) => (R.lock(s, me, PML) ? 'spin_lock(ptl)' : BLOCKED),
        'spin_lock(ptl)': (s, me) => {
          me.ptl = R.pteLockptr(s, s.pmd.v, false, 'pml');
          return R.lock(s, me, me.ptl) ? 'out' : BLOCKED;
        },
        out: () => DONE,
      },
    });
    expect(verdicts({ state: st, init: (s: any) => ptInitInstalled(s, s.pmd, 1), threads: { t }, properties: [] })['deadlock-free']).toBe('violated');
  });

  it('ptl initialised to NULL: the failed map leaves through out_ptl balanced', () => {
    expect(verdicts(tryToFree({ split: true, none: true, ptlInit: 'null' }))).toMatchObject({ 'locks-balanced': 'holds', 'no-bad-lock-ref': 'holds' });
  });

  it('ptl uninitialised (smatch "uninitialized symbol"): junk equal to &pml leaves pml held', () => {
    expect(verdicts(tryToFree({ split: true, none: true, ptlInit: 'uninit' }))).toMatchObject({ 'locks-balanced': 'violated' });
  });

  it('an uninitialised local prints its choices, and the first read shows the value it took', () => {
    const spec = R.local(0, [PML, R.table(1), LOCK_REF_GARBAGE]);
    expect(spec.fmt!(spec.init, { threadName: String })).toBe('<uninit: &pml|&T1.ptl|garbage>');
    expect([PML, 1, 0, LOCK_REF_GARBAGE].map(R.name)).toEqual(['&pml', '&T1.ptl', 'NULL', 'garbage']);
    const step = uninitRead({ label: 'out_ptl', local: 'ptl', choices: [PML, 1], name: R.name }, () => DONE);
    expect(step.show!(1, {}, { ptl: spec.init } as any)).toBe('out_ptl [ptl = &T1.ptl]');
    expect(step.show!(1, {}, { ptl: PML } as any)).toBe('out_ptl');
    const me: any = { ptl: spec.init };
    step.run({}, me, 1);
    expect(me.ptl).toBe(1);
    expect(step.run({}, me, 0)).toBe(DONE);
    expect(step.run({}, me, 1)).toBe(BLOCKED);
  });

  it('locking through NULL or garbage is recorded, and nothing is locked', () => {
    const s: any = { faults: 0 };
    expect(R.lock(s, { tid: 0 }, LOCK_REF_NULL)).toBe(true);
    R.unlock(s, { tid: 0 }, LOCK_REF_GARBAGE);
    expect(s.faults).toBe(Fault.BAD_LOCK_REF);
  });

  it('the model compiles with the uninit local (trace-visible initial value)', () => {
    const toy = tryToFree({ split: true, none: true, ptlInit: 'uninit' });
    const m = defineModel({ name: 'x', title: '', doc: '', params: {}, build: () => toy as any, variants: { base: { summary: '' } } });
    expect(instantiate(m, 'base').compiled).toBeDefined();
  });

  it('the counterexample trace shows the uninitialised ptl as such, never as NULL (issue #16: "ptl: NULL -> &pml")', () => {
    // try_to_free_pte with ptl never written (the pmd is none) and junk equal to &pml: out_ptl then
    // skips spin_unlock(pml) and the thread exits holding pml
    const toy = tryToFree({ split: true, none: true, ptlInit: 'uninit' });
    const m = defineModel({ name: 'x', title: '', doc: '', params: {}, build: () => toy as any, variants: { base: { summary: '' } } });
    const spec = defineSpec(m as any, { properties: toy.properties as any, expect: { base: {} } });
    const inst = instantiate(m, 'base');
    const r = verify(inst, spec, { stopAtFirst: false, strategy: 'bfs' });
    const k = r.properties.findIndex((p) => p.name === 'locks-balanced');
    expect(r.properties[k]!.status).toBe('violated');
    const t = buildTrace(inst, new Engine(inst.compiled, spec.properties), r.properties[k]!.path!, k);
    const out = t.steps.find((x) => x.label.startsWith('out_ptl'))!;
    expect(out.label).toBe('out_ptl [ptl = &pml]');
    expect(out.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`)).toContain('ptl: <uninit: &pml|&T1.ptl|garbage> -> &pml');
    const text = raceDiagram(t);
    expect(text).toContain('<uninit: &pml|&T1.ptl|garbage>');
    expect(text).not.toMatch(/ptl: NULL/);
  });
});
