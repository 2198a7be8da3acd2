// `ptcheck simulate` and `verify --max-preemptions` end to end: exit codes (1 violation, 3 no claim),
// reproducible seeds, the "holds within K preemptions" label in text and JSON.

import { compactPath, parsePath } from '../../src/trace/path.ts';
import { describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';

describe('ptcheck simulate', () => {
  it('finds the no-pmd-recheck race, the same for the same seed, and draws it like verify', () => {
    const a = ptcheck(['simulate', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--seed', '12', '--json']);
    expect(a.code).toBe(1);
    const ja = JSON.parse(a.stdout);
    expect(ja.format).toBe('ptcheck-simulation');
    expect(ja.violation).not.toBeNull();
    // the shrunk trace replays to the same violation
    const t = ja.traces[0];
    const r = ptcheck(['replay', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--param', 'faults=2', '--path', t.path, '--property', t.property.name]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/reproduced: /);
    const text = ptcheck(['simulate', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--seed', '12']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/CPU\d \(fault\d\) +CPU\d \(remover\)/);
    expect(text.stdout).toMatch(/^replay: npx ptcheck replay pte-offset-map-lock --variant no-pmd-recheck/m);
    expect(text.stdout).toMatch(/^verdict: VIOLATED: /m);
    // another process, the same seed: the same walk, the same shrunk path
    expect(text.stdout).toContain(`in walk #${ja.violation.walk} of seed 12`);
    const joined = text.stdout.replace(/ \\\n\s+/g, ' ').replace(/\\\n/g, '');
    expect(joined).toContain(`--path ${compactPath(parsePath(t.path))} --property ${t.property.name}`);
  });

  it('never says holds: no violation in N walks is exit 3', () => {
    const r = ptcheck(['simulate', 'pte-offset-map-lock', '--variant', 'upstream', '--seed', '1', '--walks', '300', '--swarm']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/walks 300 .*distinct states [\d,]+/);
    expect(r.stdout).toMatch(/^verdict: no violation found in 300 walks/m);
    expect(r.stdout).not.toMatch(/holds/);
  });

  it('bad input is one line, exit 2', () => {
    for (const args of [
      ['simulate', 'pte-offset-map-lock', '--variant', 'upstream', '--seed', 'x'],
      ['simulate', 'pte-offset-map-lock', '--variant', 'upstream', '--max-states', '5'],
    ]) {
      const r = ptcheck(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('ptcheck verify --max-preemptions', () => {
  it('labels what it did not violate "holds within K preemptions" and exits 3, never 0', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--max-preemptions', '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/no-use-after-free +always +holds within 1 preemption +holds/);
    expect(r.stdout).toMatch(/^verdict: holds within 1 preemption \(not verified beyond: exit 3\)/m);
    const j = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--max-preemptions', '2', '--json']);
    expect(j.code).toBe(3);
    const res = JSON.parse(j.stdout);
    expect(res.outcome).toEqual({ kind: 'incomplete', reason: 'preemption-bound' });
    expect(res.bound.label).toBe('holds within 2 preemptions');
    const uaf = res.properties.find((p: { name: string }) => p.name === 'no-use-after-free');
    expect(uaf).toMatchObject({ status: 'unknown', within: 'holds within 2 preemptions' });
  });

  it('a violation it finds is real: exit 1', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--max-preemptions', '1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^verdict: VIOLATED: /m);
  });

  it('refuses what it cannot honour', () => {
    for (const extra of [['--workers', '2'], ['--shortest']]) {
      const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--max-preemptions', '1', ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
    }
  });
});
