// pte-offset-map-lock at faults=1: the old macro's "lock T1, write T2" needs a second fault to install T2
// between the writer's two *pmd loads (the remover only clears), so the no-pmd-recheck row holds
// pte-write-under-its-ptl there and violates it from faults=2 on (specs/pte-offset-map-lock.ts).

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { verify } from '../../src/explore/verify.ts';
import { expectRow } from '../../src/spec/property.ts';

describe('pte-offset-map-lock rows by faults', async () => {
  const lm = await loadModel('pte-offset-map-lock');

  it('no-pmd-recheck: pte-write-under-its-ptl holds at faults=1, violated from faults=2', () => {
    expect(expectRow(lm.spec, 'no-pmd-recheck', { faults: 1 })?.['pte-write-under-its-ptl']).toBe('holds');
    for (const faults of [2, 3, 4]) expect(expectRow(lm.spec, 'no-pmd-recheck', { faults })?.['pte-write-under-its-ptl']).toBe('violated');
  });

  for (const variant of Object.keys(lm.module.variants)) {
    it(`${variant}: every verdict at faults=1 as its row says`, () => {
      const inst = instantiate(lm.module, variant, { faults: 1 });
      const r = verify(inst, lm.spec, { stopAtFirst: false });
      expect(r.outcome.kind).toBe('complete');
      expect(Object.fromEntries(r.properties.map((p) => [p.name, p.status]))).toEqual(expectRow(lm.spec, variant, inst.params));
    });
  }
});
