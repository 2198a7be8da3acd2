// The model API's compile-time guarantees: a mistyped label or field is a type error.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

function typecheck(file: string): { code: number | null; out: string } {
  const dir = mkdtempSync(join(ROOT, 'test', 'fixtures', '.tc-'));
  const cfg = join(dir, 'tsconfig.json');
  writeFileSync(cfg, JSON.stringify({ extends: '../../../tsconfig.json', include: [join(ROOT, file)], exclude: [] }));
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', cfg], { encoding: 'utf8' });
  spawnSync('rm', ['-rf', dir]);
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('compile-time checks', () => {
  it('a step returning a label its thread does not have is a compile error', () => {
    const r = typecheck('test/fixtures/bad-label.ts');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/bad-label\.ts\(8,.*'"pmd_lokc"' is not assignable/s);
  });

  it('writing an undeclared field is a compile error', () => {
    const r = typecheck('test/fixtures/bad-field.ts');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/bad-field\.ts\(9,.*Property 'y' does not exist/s);
  });

  // a variant file is typed as its base variant has the model: no cast anywhere
  for (const f of ['examples/skip-pmd-same.ts', 'examples/lockless-walker.ts', 'examples/unmap-before-unlock.ts']) {
    it(`${f} (replaces and adds steps, adds a thread) typechecks with no cast`, () => {
      const r = typecheck(f);
      expect(r.out).toBe('');
      expect(r.code).toBe(0);
      expect(readFileSync(join(ROOT, f), 'utf8')).not.toMatch(/\bas any\b|: any\b/);
    });
  }

  it('a misspelt label in a variant file\'s editThread is a compile error naming the right one', () => {
    const r = typecheck('test/fixtures/variants/bad-edit-label.ts');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/bad-edit-label\.ts\(10,.*'"pte_unmap_unlokc"' is not assignable.*Did you mean '"pte_unmap_unlock"'/s);
  });
});
