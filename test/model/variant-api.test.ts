// The typed editing API of variant files, at run time: fields, added and removed threads and steps,
// and the errors a wrong edit gets.

import { describe, expect, it } from 'vitest';
import model from '../../models/pte-offset-map-lock.ts';
import { instantiateUserVariant } from '../../src/model/compile.ts';
import { DONE, addThread, editThread, removeThread, thread } from '../../src/model/model.ts';
import { bool } from '../../src/model/schema.ts';
import { baseOf, defineVariant, defineVariants, userExpect, userVariantsOf } from '../../src/model/variant-file.ts';

describe('variant files: the editing API', () => {
  it('adds a state field, a thread that writes it, and removes a thread', () => {
    const v = defineVariant(model, {
      name: 'ghost',
      summary: 'test',
      base: 'no-rcu',
      fields: { ghost: bool() },
      apply: (d) => {
        addThread(d, 'marker', thread(d.state, { steps: { mark: (s) => ((s.ghost = true), DONE) } }));
        removeThread(d, 'remover');
      },
    });
    const inst = instantiateUserVariant(v, 'ghost.ts');
    const names = inst.compiled.threads.map((t) => t.group);
    expect(names).toContain('marker');
    expect(names).not.toContain('remover');
    expect(inst.compiled.leaves.some((l) => l.path === 'ghost')).toBe(true);
    expect(inst.changes).toEqual(expect.arrayContaining(['state.fields.ghost: added', 'threads.marker: added', 'threads.remover: removed']));
  });

  it('the base variant is the one named: no-rcu\'s fault thread has its own labels', () => {
    const v = defineVariant(model, {
      name: 'on-no-rcu',
      summary: 'test',
      base: 'no-rcu',
      apply: (d) => editThread(d, 'fault', { steps: { pmd_same: (s, me) => (s.pmd.v === me.pmdval ? 'set_pte_at' : 'pte_unmap_unlock; goto again') } }),
    });
    expect(baseOf(v)).toBe('no-rcu');
    const fault = instantiateUserVariant(v, 'f.ts').compiled.threads.find((t) => t.group === 'fault')!;
    expect(fault.labels).toContain('pmdp_get_lockless');
    expect(fault.labels).not.toContain('rcu_read_lock');
  });

  it('a wrong edit is one clear error naming the file and variant', () => {
    const noStart = defineVariant(model, {
      name: 'no-start',
      summary: 'test',
      apply: (d) => editThread(d, 'remover', { remove: ['pmd_lock'] }),
    });
    expect(() => instantiateUserVariant(noStart, 'x.ts')).toThrow(/x\.ts: no-start: its apply\(\) failed: editThread\(remover\): removes the first step 'pmd_lock'; say where the thread starts/);
    const clash = defineVariant(model, { name: 'clash', summary: 'test', fields: { pmd: bool() }, apply: () => {} });
    expect(() => instantiateUserVariant(clash, 'x.ts')).toThrow(/adds state field 'pmd', which the model already has/);
    const twice = defineVariant(model, { name: 'twice', summary: 'test', apply: (d) => addThread(d, 'remover', thread(d.state, { steps: { a: () => DONE } })) });
    expect(() => instantiateUserVariant(twice, 'x.ts')).toThrow(/already has a thread 'remover'/);
  });

  it('several variants in one file keep their order; expectations may be functions of the parameters', () => {
    const set = defineVariants(model, {
      bug: { summary: 'b', base: 'upstream', apply: () => {}, expect: (p) => ({ 'no-use-after-free': p.faults > 1 ? 'violated' : 'holds' }) },
      fix: { summary: 'f', base: 'no-rcu', apply: () => {} },
    });
    const vs = userVariantsOf(set)!;
    expect(vs.map((v) => v.name)).toEqual(['bug', 'fix']);
    expect(userExpect(vs[0]!, { faults: 2 })).toEqual({ 'no-use-after-free': 'violated' });
    expect(userExpect(vs[0]!, { faults: 1 })).toEqual({ 'no-use-after-free': 'holds' });
    expect(userExpect(vs[1]!, { faults: 1 })).toEqual({});
    expect(() => defineVariants(model, { Bad_Name: { summary: 'x', apply: () => {} } })).toThrow(/kebab-case/);
  });
});
