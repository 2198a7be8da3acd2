import { describe, expect, it } from 'vitest';
import { always, final, sometimes } from '../../src/spec/property.ts';

describe('property names', () => {
  it('may carry kernel identifiers, underscores and all', () => {
    expect(always('no-VM_BUG_ON', 'doc', () => true).name).toBe('no-VM_BUG_ON');
    expect(final('pte_free_defer-runs', 'doc', () => true).name).toBe('pte_free_defer-runs');
    expect(sometimes('try_to_free_pte-returns-holding-pml', 'doc', () => true).name).toBe('try_to_free_pte-returns-holding-pml');
  });
  it('are still dash-joined words: no spaces, no empty words', () => {
    for (const bad of ['has space', 'double--dash', '-lead', 'trail-', '', 'dot.ted']) {
      expect(() => always(bad, 'doc', () => true)).toThrow(/letters, digits and underscores joined by single dashes/);
    }
  });
});
