import { describe, expect, it } from 'vitest';
import { LayoutBuilder } from '../../src/model/layout.ts';
import { ModelError } from '../../src/model/errors.ts';
import { array, bool, cell, enumOf, int, record } from '../../src/model/schema.ts';

function build() {
  const h = { b: new Int32Array(0), o: 0, hi: 0, lo: 0, rec: null, rn: 0, undo: null, un: 0 };
  const lb = new LayoutBuilder(h);
  const v = lb.record(
    {
      n: int(-1, 3, 2),
      f: bool(true),
      e: enumOf(['a', 'b', 'c'] as const, 'b'),
      c: cell('lock', int(0, 5)),
      xs: array(3, int(0, 9)),
      rs: array(2, record({ k: int(0, 1), t: cell('pmd', int(0, 4)) }), (i) => `R${i}`),
    },
    '',
  ) as any;
  const b = new Int32Array(lb.size);
  for (const l of lb.leaves) b[l.off] = l.init;
  h.b = b;
  return { lb, v, b };
}

describe('layout and views', () => {
  it('lays every scalar out in one flat vector with its initial value', () => {
    const { lb, v, b } = build();
    expect(lb.size).toBe(1 + 1 + 1 + 1 + 3 + 2 * 2);
    expect(v.n).toBe(2);
    expect(v.f).toBe(true);
    expect(v.e).toBe('b');
    expect(v.c.v).toBe(0);
    expect(Array.from(b.slice(0, 3))).toEqual([2, 1, 1]);
    expect(lb.leaves.map((l) => l.path)).toEqual(['n', 'f', 'e', 'c', 'xs[0]', 'xs[1]', 'xs[2]', 'R0.k', 'R0.t', 'R1.k', 'R1.t']);
  });

  it('writes go to the current buffer, in place', () => {
    const { v, b, lb } = build();
    v.n = -1;
    v.e = 'c';
    v.xs.set(2, 7);
    v.rs[1].k = 1;
    v.rs[1].t.v = 4;
    expect(b[0]).toBe(-1);
    expect(b[2]).toBe(2);
    expect(b[lb.leaves.find((l) => l.path === 'xs[2]')!.off]).toBe(7);
    expect(b[lb.leaves.find((l) => l.path === 'R1.t')!.off]).toBe(4);
  });

  it('an out-of-range write is a clear model error naming the field', () => {
    const { v } = build();
    expect(() => (v.n = 4)).toThrow(ModelError);
    expect(() => (v.n = 4)).toThrow(/write of 4 to n is outside its declared range -1\.\.3/);
    expect(() => (v.e = 'z')).toThrow(/not one of a, b, c/);
    expect(() => v.xs.set(0, 10)).toThrow(/xs\[0\]/);
    expect(() => v.xs.get(3)).toThrow(/index 3 out of bounds/);
    expect(() => (v.rs[0].t.v = 5)).toThrow(/R0\.t/);
    expect(() => (v.n = 1.5)).toThrow(ModelError);
  });

  it('cells are indexed by tag', () => {
    const { lb } = build();
    expect(lb.cells.map((c) => `${c.tag}:${c.path}`)).toEqual(['lock:c', 'pmd:R0.t', 'pmd:R1.t']);
  });
});
