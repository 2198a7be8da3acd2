// docs/primitives.md against the source: every kernel module exported from src/kernel/index.ts, every
// export of the referenced modules documented, and the file exactly what the generator writes now.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOC, ROOT, collect, referencedModules, renderPrimitives } from '../../scripts/primitives-doc.ts';

describe('the primitive reference', () => {
  it('src/kernel/index.ts re-exports every kernel module', () => {
    const files = readdirSync(join(ROOT, 'src', 'kernel')).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
    const mods = referencedModules();
    expect(files.filter((f) => !mods.includes(`src/kernel/${f}`))).toEqual([]);
  });

  it('every export of a referenced module has a TSDoc comment', () => {
    const undocumented = collect().flatMap((m) => m.exports.filter((e) => e.doc === '').map((e) => `${m.path}: ${e.name}`));
    expect(undocumented).toEqual([]);
  });

  it('docs/primitives.md is current (else: npm run docs:primitives)', () => {
    const have = readFileSync(DOC, 'utf8').split('\n');
    const want = renderPrimitives().split('\n');
    const at = want.findIndex((l, i) => have[i] !== l);
    const where = at < 0 ? (have.length === want.length ? '' : `length ${have.length} vs ${want.length}`) : `line ${at + 1}: '${have[at] ?? ''}' should be '${want[at]}'`;
    expect(where, 'docs/primitives.md is stale: run npm run docs:primitives').toBe('');
  });

  it('names the faults a primitive records, through the primitives it calls', () => {
    const all = new Map(collect().flatMap((m) => m.exports.map((e) => [e.name, e] as const)));
    // releasing a lock one does not hold; freeing a freed table
    expect(all.get('spinUnlock')!.faults).toContain('UNLOCK_NOT_OWNER');
    expect(all.get('ptFree')!.faults).toContain('DOUBLE_FREE');
    expect(all.get('spinUnlock')!.kernel).toContain('spin_unlock');
    // readPte touches the table through ptTouch, which records a use after free
    expect(all.get('readPte')!.faults).toContain('UAF');
  });
});
