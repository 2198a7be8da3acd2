// Lookup of every cell with a given tag (all locks, all pmd entries) from a state view: kernel
// primitives use it for checks that span the whole state (lock held at exit, table still linked).

import type { Cell } from './schema.ts';

const EMPTY: readonly Cell[] = Object.freeze([]);

export function cellsOf(s: object, tag: string): readonly Cell[] {
  // only the state root carries the index: probe first, a sealed view throws on a name it lacks
  if (!('$cells' in s)) return EMPTY;
  const byTag = (s as { $cells: Readonly<Record<string, readonly Cell[]>> }).$cells;
  return byTag[tag] ?? EMPTY;
}

export function indexCells(cells: readonly Cell[]): Readonly<Record<string, readonly Cell[]>> {
  const out: Record<string, Cell[]> = Object.create(null);
  for (const c of cells) (out[c.tag] ??= []).push(c);
  return out;
}
