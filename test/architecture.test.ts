// Boundaries from STYLE.md kept by a test: the core never prints or exits, and imports flow one way.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.ts';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const src = join(ROOT, 'src');
const all = files(src).map((p) => ({ rel: relative(src, p), text: readFileSync(p, 'utf8') }));
const layer = (rel: string) => rel.split('/')[0]!;

// who may import whom (besides itself)
const allowed: Record<string, string[]> = {
  model: ['state'],
  spec: ['model'],
  kernel: ['model', 'spec'],
  state: [],
  por: ['model', 'state'],
  trace: ['model', 'state', 'spec', 'kernel', 'explore'],
  explore: ['model', 'spec', 'state', 'por', 'trace'],
  parallel: ['model', 'spec', 'state', 'por', 'trace', 'explore'],
  report: ['model', 'spec', 'state', 'trace', 'explore', 'kernel'],
  cli: ['model', 'spec', 'state', 'por', 'trace', 'explore', 'parallel', 'report', 'kernel'],
};

describe('architecture', () => {
  it('only src/cli and src/report print or exit', () => {
    const offenders = all
      .filter((f) => !['cli', 'report'].includes(layer(f.rel)))
      .filter((f) => /console\.(log|error|warn)|process\.(stdout|stderr)\.write|process\.exit/.test(f.text))
      .map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  it('imports follow the layer order', () => {
    const bad: string[] = [];
    for (const f of all) {
      const from = layer(f.rel);
      for (const m of f.text.matchAll(/from '(\.\.\/[^']+)'/g)) {
        const to = m[1]!.split('/')[1]!;
        if (to !== from && !(allowed[from] ?? []).includes(to)) bad.push(`${f.rel} -> ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('every src file opens with a header comment', () => {
    expect(all.filter((f) => !f.text.startsWith('//') && !f.text.startsWith('/*')).map((f) => f.rel)).toEqual([]);
  });
});
