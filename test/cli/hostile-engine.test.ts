// Hostile models against the engine, run the way a user runs them: a step or property that reaches
// an undeclared field, a bool given a string, a forgotten return, a step that never returns (in this
// thread and in a worker thread). Each ends with one clear line and its documented exit code.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ptcheck, ROOT, type CliRun } from '../helpers/cli.ts';

const M = 'test/fixtures/models/misbehaving.ts';

function oneLine(r: CliRun, re: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(re);
}

/** Runs ptcheck in the background; resolves with its exit code, output and wall time. `interrupt` sends SIGINT once it resolves. */
function run(args: string[], env: Record<string, string> = {}, interrupt?: Promise<void>): Promise<CliRun & { ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [`${ROOT}bin/ptcheck.js`, ...args], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  return new Promise((resolve) => {
    void interrupt?.then(() => child.kill('SIGINT'));
    const hard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(hard);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('undeclared fields, bad values and results: a model error naming the place, exit 2', () => {
  const cases: [string, RegExp][] = [
    ['read-typo', /^ptcheck: model error: step a\.inc \(model 'misbehaving'\): read of undeclared field 'xx' \(declared: x, y, flag, mode\)$/],
    ['write-typo', /^ptcheck: model error: step a\.inc \(model 'misbehaving'\): write of undeclared field 'yy' /],
    ['me-typo', /^ptcheck: model error: step a\.inc \(model 'misbehaving'\): write of undeclared field 'a\.cnt' \(declared: .*\bn\b/],
    ['bool-yes', /^ptcheck: model error: step a\.inc: write of 'yes' to flag: a bool field takes true or false only$/],
    ['forgot-return', /^ptcheck: model error: step a\.inc returned undefined \(a forgotten return\?\)/],
    ['property-typo', /^ptcheck: model error: model 'misbehaving': property in-range threw: read of undeclared field 'uafx'/],
  ];
  for (const [variant, re] of cases) {
    it(variant, () => {
      const r = ptcheck(['verify', M, '--variant', variant, '--workers', '1']);
      expect(r.code).toBe(2);
      oneLine(r, re);
      expect(r.stdout).toBe('');
    });
  }
  it('the well-behaved variant of the same model holds', () => {
    const r = ptcheck(['verify', M, '--variant', 'ok', '--workers', '1']);
    expect(r.code).toBe(0);
  });
});

describe('a step that never returns cannot hang ptcheck', () => {
  it('with --timeout 2, in this thread: INCOMPLETE (time limit) within seconds, exit 3', async () => {
    const r = await run(['verify', M, '--variant', 'hangs', '--workers', '1', '--timeout', '2']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/INCOMPLETE: time limit/);
    expect(r.stdout).toMatch(/states 4 /); // the partial statistics are kept
    expect(r.ms).toBeLessThan(30_000);
  });

  it('with no --timeout: ends by the step bound as a model error naming the step and the path to it', async () => {
    const r = await run(['verify', M, '--variant', 'hangs', '--workers', '1', '--step-timeout', '1']);
    expect(r.code).toBe(2);
    // thread a (tid 0) counts x from 0 to 3 in three steps; its fourth step never returns
    oneLine(r, /^ptcheck: model error: step a\.inc did not return within 1 s \(a loop that never ends\?\); path to it: 0\.0\.0\.0$/);
    expect(r.ms).toBeLessThan(30_000);
  });

  it('Ctrl-C stops it: partial statistics, exit 130', async () => {
    const mark = join(mkdtempSync(join(tmpdir(), 'ptcheck-hang-')), 'looping');
    const looping = (async () => {
      while (!existsSync(mark)) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
    })();
    const r = await run(['verify', M, '--variant', 'hangs', '--workers', '1', '--step-timeout', '600'], { PTCHECK_TEST_MARK: mark }, looping);
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/INCOMPLETE: interrupted/);
    expect(r.stdout).toMatch(/states 4 /);
  });

  it('in a worker thread, with --timeout 2: INCOMPLETE (time limit), exit 3', async () => {
    const r = await run(['verify', M, '--variant', 'hangs-in-worker', '--workers', '2', '--timeout', '2'], { PTCHECK_HANDOFF: '200' });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/INCOMPLETE: time limit/);
    expect(r.stdout).toMatch(/; 2 threads/);
    expect(r.ms).toBeLessThan(30_000);
  });

  it('in a worker thread, with no --timeout: ends by the step bound naming the step', async () => {
    const r = await run(['verify', M, '--variant', 'hangs-in-worker', '--workers', '2', '--step-timeout', '1'], { PTCHECK_HANDOFF: '200' });
    expect(r.code).toBe(2);
    oneLine(r, /^ptcheck: model error: step b\.inc did not return within 1 s \(a loop that never ends\?\), in worker thread 1; it was exploring from /);
    expect(r.ms).toBeLessThan(30_000);
  });

  it('the default step bound ends it too', async () => {
    const r = await run(['verify', M, '--variant', 'hangs', '--workers', '1']);
    expect(r.code).toBe(2);
    oneLine(r, /^ptcheck: model error: step a\.inc did not return within 5 s/);
  });

  it('--step-timeout takes a positive number of seconds', () => {
    const r = ptcheck(['verify', M, '--variant', 'ok', '--step-timeout', '0']);
    expect(r.code).toBe(2);
    oneLine(r, /--step-timeout takes a positive number of seconds, not '0'/);
  });
});
