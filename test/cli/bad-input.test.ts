// Bad input and hard stops, as a user meets them: a one-line message and the documented exit code,
// never a stack trace or a hang; an incomplete run keeps its partial statistics.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ptcheck, signalMidRun } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ptcheck-bad-'));
const GRID = 'test/fixtures/models/counter-grid.ts';

function oneLine(r: { stderr: string }, re: RegExp) {
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('model errors: exit 2, one line naming the thread and step', () => {
  it('a step that throws', () => {
    const r = ptcheck(['verify', GRID, '--variant', 'throws']);
    expect(r.code).toBe(2);
    oneLine(r, /^ptcheck: model error: step a\.inc: deliberate failure at 3$/);
  });
  it('an out-of-range field write', () => {
    const r = ptcheck(['verify', GRID, '--variant', 'out-of-range']);
    expect(r.code).toBe(2);
    oneLine(r, /model error: step a\.inc: write of 61 to x is outside its declared range 0\.\.60/);
  });
  it('a model file that does not parse', () => {
    const r = ptcheck(['verify', 'test/fixtures/models/bad-syntax.ts']);
    expect(r.code).toBe(2);
    oneLine(r, /model file does not typecheck: test\/fixtures\/models\/bad-syntax\.ts\(2,\d+\): error TS\d+/);
  });
  it('a model file that does not typecheck', () => {
    const r = ptcheck(['verify', 'test/fixtures/models/bad-types.ts']);
    expect(r.code).toBe(2);
    oneLine(r, /model file does not typecheck: test\/fixtures\/models\/bad-types\.ts\(3,7\): error TS2322/);
  });
  it('a nondeterministic step, with --check-determinism', () => {
    const r = ptcheck(['verify', 'test/fixtures/models/flaky.ts', '--variant', 'base', '--check-determinism']);
    expect(r.code).toBe(2);
    oneLine(r, /model error: step t\.roll is nondeterministic/);
  });
  it('a trace of another model', () => {
    const file = join(tmp, 'other.json');
    const v = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-rcu', '--trace-out', file]);
    expect(v.code).toBe(1);
    const r = ptcheck(['replay', 'ppc-pte-free-defer', '--variant', 'page-active', '--from-trace', file]);
    expect(r.code).toBe(2);
    oneLine(r, /is a trace of 'pte-offset-map-lock', not of 'ppc-pte-free-defer'/);
  });
});

describe('limits: exit 3, incomplete, partial statistics kept', () => {
  it('--memory: a full fingerprint table', () => {
    const r = ptcheck(['verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=2', '--memory', '1', '--workers', '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/INCOMPLETE: fingerprint table full/);
    expect(r.stdout).toMatch(/states [\d,]+ /);
    expect(r.stdout).not.toMatch(/verdict: every property holds/);
  });
  it('--timeout', () => {
    // --no-derive-futures: with a cold derivation cache the derivation (up to ~1 s under load) would spend the time limits this tests on the search
    const r = ptcheck(['verify', 'try-to-free-user-pte', '--variant', 'rfc', '--param', 'faults=2', '--timeout', '0.5', '--workers', '1', '--all-violations', '--no-derive-futures']);
    expect(r.code).toBe(1); // violations found before the deadline still count...
    expect(r.stdout).toMatch(/INCOMPLETE: time limit/); // ...and the run says it is incomplete
    const h = ptcheck(['verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=2', '--timeout', '0.3', '--workers', '1', '--no-derive-futures']);
    expect(h.code).toBe(3);
    expect(h.stdout).toMatch(/INCOMPLETE: time limit/);
  });
});

describe('hard stops', () => {
  it('Ctrl-C during a parallel run: partial statistics, exit 130, workers stopped', async () => {
    const r = await signalMidRun(['verify', 'try-to-free-user-pte', '--variant', 'rfc', '--param', 'faults=2', '--workers', '2', '--all-violations', '--progress'], 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.out).toMatch(/INCOMPLETE: interrupted/);
    expect(r.out).toMatch(/states [\d,]+ /);
    expect(r.out).toMatch(/; 2 threads/);
  });

  it('a worker thread that dies: a clear error, exit 4, no hang', () => {
    const r = spawnWith({ PTCHECK_HANDOFF: '500' }, ['verify', GRID, '--variant', 'dies-in-worker', '--workers', '2']);
    expect(r.code).toBe(4);
    oneLine(r, /^ptcheck: a worker thread failed: .*code: 7/);
  });
});

function spawnWith(env: Record<string, string>, args: string[]) {
  const prev = { ...process.env };
  Object.assign(process.env, env);
  try {
    return ptcheck(args);
  } finally {
    for (const k of Object.keys(env)) if (prev[k] === undefined) delete process.env[k];
    else process.env[k] = prev[k];
  }
}

