// Declared futures as a user meets a wrong one: exit 2 and one line naming model, thread, label and
// field, with the reduction on or off, depth- or breadth-first.

import { describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';

const F = 'test/fixtures/models/future-readers.ts';

function oneLine(r: { stderr: string }, re: RegExp) {
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('a wrong declared future: exit 2, one line', () => {
  const cases = [
    ['wrong-touch', /^ptcheck: model error: model future-readers: thread reader0 at 'read' touched 'data' outside its declared future \(reads: \[\], writes: \[out\[\{i\}\]\]\)$/],
    ['wrong-change', /^ptcheck: model error: model future-readers: thread reader0 at 'store' changed 'out\[0\]' outside its declared future/],
    ['wrong-wider', /^ptcheck: model error: model future-readers: thread reader0 at 'work' moved to 'store' whose future is wider \(reads: \[\], writes: \[\]\)$/],
  ] as const;
  for (const [variant, re] of cases) {
    for (const extra of [[], ['--no-por'], ['--bfs']]) {
      it(`${variant} ${extra.join(' ')}`, () => {
        const r = ptcheck(['verify', F, '--variant', variant, ...extra]);
        expect(r.code).toBe(2);
        oneLine(r, re);
      });
    }
  }
  it('--json and -v count the states walked through by a shared-safe step', () => {
    const j = ptcheck(['verify', F, '--variant', 'exact', '--json', '--workers', '1']);
    expect(j.code).toBe(0);
    const r = JSON.parse(j.stdout);
    expect(r.stats.reduction.mergedShared).toBeGreaterThan(0);
    const v = ptcheck(['verify', F, '--variant', 'exact', '-v', '--workers', '1']);
    expect(v.stdout + v.stderr).toMatch(/of them by a shared-safe step/);
  });
  it('exact declarations verify as expected (exit 0)', () => {
    const r = ptcheck(['verify', F, '--variant', 'exact']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('the visible-set pre-pass runs under the step bound', () => {
  it('a step that never returns, met first by the pre-pass: exit 2 naming it with a path that replays to it', () => {
    const H = 'test/fixtures/models/future-hang.ts';
    const r = ptcheck(['verify', H, '--variant', 'base', '--step-timeout', '1', '--workers', '1']);
    expect(r.code).toBe(2);
    const m = /^ptcheck: model error: step w\.spin did not return within 1 s \(a loop that never ends\?\); path to it: ([0-9.]+)$/m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    // the path's prefix leads to w at spin: replaying it meets the same step, on the same path
    const prefix = m![1]!.split('.').slice(0, -1).join('.');
    const p = ptcheck(['replay', H, '--variant', 'base', '--path', prefix, '--step-timeout', '1']);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain(`step w.spin did not return within 1 s (a loop that never ends?); path to it: ${m![1]}`);
  }, 30_000);
});

