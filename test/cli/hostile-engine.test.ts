// Hostile models against the engine, run the way a user runs them: a step or property that reaches
// an undeclared field, a bool given a string, a forgotten return, a step that never returns (in this
// thread and in a worker thread). Each ends with one clear line and its documented exit code.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
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

/** Runs ptcheck in the background; resolves with its exit code, output and wall time. `interrupt` sends `sig` once it resolves. */
function run(args: string[], env: Record<string, string> = {}, interrupt?: Promise<void>, sig: NodeJS.Signals = 'SIGINT'): Promise<CliRun & { ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [`${ROOT}bin/ptcheck.js`, ...args], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  return new Promise((resolve) => {
    void interrupt?.then(() => child.kill(sig));
    const hard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(hard);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('undeclared fields, bad values and results: a model error naming the place, exit 2', () => {
  const cases: [string, RegExp][] = [
    ['read-typo', /^ptcheck: model error: step a\.inc \(model 'misbehaving'\): read of undeclared field 'xx' \(declared: x, y, flag, mode, pt\)$/],
    ['write-typo', /^ptcheck: model error: step a\.inc \(model 'misbehaving'\): write of undeclared field 'yy' /],
    ['me-typo', /^ptcheck: model error: step a\.inc \(model 'misbehaving'\): write of undeclared field 'a\.cnt' \(declared: .*\bn\b/],
    ['bool-yes', /^ptcheck: model error: step a\.inc: write of 'yes' to flag: a bool field takes true or false only$/],
    ['forgot-return', /^ptcheck: model error: step a\.inc returned undefined \(a forgotten return\?\)/],
    ['property-typo', /^ptcheck: model error: model 'misbehaving': property in-range threw: read of undeclared field 'uafx'/],
    ['property-thread-typo', /^ptcheck: model error: model 'misbehaving': property in-range threw: read of undeclared thread 't\.typo' \(declared: a, b\)$/],
    ['property-index-out', /^ptcheck: model error: model 'misbehaving': property in-range threw: read of 'pt\[9\]': index out of bounds \(pt has 2 elements\)$/],
    ['index-out', /^ptcheck: model error: step a\.inc \(model 'misbehaving'\): read of 'pt\[9\]': index out of bounds \(pt has 2 elements\)$/],
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
    // --no-derive-futures: the derivation would meet the loop first, before any search (then Ctrl-C is exit 130 with nothing to report)
    const r = await run(['verify', M, '--variant', 'hangs', '--workers', '1', '--step-timeout', '600', '--no-derive-futures'], { PTCHECK_TEST_MARK: mark }, looping);
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/INCOMPLETE: interrupted/);
    expect(r.stdout).toMatch(/states 4 /);
  });

  it('in a worker thread, with --timeout 2: INCOMPLETE (time limit), exit 3', async () => {
    // --no-derive-futures: with derived futures the two counters commute, the search stores 42 states and ends before the hand-off at 200 that would reach the worker
    const r = await run(['verify', M, '--variant', 'hangs-in-worker', '--workers', '2', '--timeout', '2', '--no-derive-futures'], { PTCHECK_HANDOFF: '200' });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/INCOMPLETE: time limit/);
    expect(r.stdout).toMatch(/; 2 threads/);
    expect(r.ms).toBeLessThan(30_000);
  });

  it('in a worker thread, with no --timeout: ends by the step bound naming the step', async () => {
    // --no-derive-futures: with derived futures the two counters commute, the search stores 42 states and ends before the hand-off at 200 that would reach the worker
    const r = await run(['verify', M, '--variant', 'hangs-in-worker', '--workers', '2', '--step-timeout', '1', '--no-derive-futures'], { PTCHECK_HANDOFF: '200' });
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

describe('the path to a step that never returns is never lost', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptcheck-stuck-'));

  it('--trace-out writes it as a trace that replays up to the step, and the error says where it went', async () => {
    const file = join(dir, 'stuck.json');
    const r = await run(['verify', M, '--variant', 'hangs', '--workers', '1', '--step-timeout', '1', '--trace-out', file]);
    expect(r.code).toBe(2);
    oneLine(r, /path to it: 0\.0\.0\.0; trace of the path to it written to \S+stuck\.json \(ptcheck replay \S+stuck\.json --model-file \S+misbehaving\.ts\)$/);
    const t = JSON.parse(readFileSync(file, 'utf8'));
    // the three steps that returned, then the stuck one named (never run)
    expect(t.path).toBe('0.0.0');
    expect(t.steps.map((s: { label: string }) => s.label)).toEqual(['inc', 'inc', 'inc']);
    expect(t.stuck).toEqual({ thread: 'a', label: 'inc', seconds: 1, path: '0.0.0.0' });
    // replaying it shows the way there and does not run the stuck step (that would end in exit 2)
    const p = await run(['replay', file, '--model-file', M]);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/the path to the step a\.inc, which did not return within 1 s/);
    expect(p.stdout).toMatch(/x: 2 -> 3/);
    expect(p.stdout).toMatch(/stuck: the next step, a\.inc, did not return within 1 s .*--path 0\.0\.0\.0/);
  });

  it('a worker thread knows only where its work began: the trace leads there, and says so', async () => {
    const file = join(dir, 'stuck-worker.json');
    // --no-derive-futures: with derived futures the two counters commute, the search stores 42 states and ends before the hand-off at 200 that would reach the worker
    const r = await run(['verify', M, '--variant', 'hangs-in-worker', '--workers', '2', '--step-timeout', '1', '--trace-out', file, '--no-derive-futures'], { PTCHECK_HANDOFF: '200' });
    expect(r.code).toBe(2);
    oneLine(r, /in worker thread 1; it was exploring from .*; trace of the path to that state written to \S+stuck-worker\.json/);
    const t = JSON.parse(readFileSync(file, 'utf8'));
    expect(t.stuck.thread).toBe('b');
    expect(t.stuck.path).toBeUndefined();
    const p = await run(['replay', file, '--model-file', M]);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/stuck: b\.inc did not return within 1 s in a worker thread exploring from this state; the path below it is not known/);
  });

  it('a --timeout far away does not cut the step bound short', async () => {
    const r = await run(['verify', M, '--variant', 'hangs', '--workers', '1', '--step-timeout', '1', '--timeout', '30']);
    expect(r.code).toBe(2);
    oneLine(r, /did not return within 1 s/);
  });
});

describe('replay, simulate and building a model are under the step bound too', () => {
  it('replay of a path through the stuck step: the same one-line model error, exit 2', async () => {
    const r = await run(['replay', M, '--variant', 'hangs', '--path', '0.0.0.0', '--step-timeout', '1']);
    expect(r.code).toBe(2);
    oneLine(r, /^ptcheck: model error: step a\.inc did not return within 1 s \(a loop that never ends\?\); path to it: 0\.0\.0\.0$/);
    expect(r.ms).toBeLessThan(30_000);
  });

  it('replay of a path that ends before it: the step is met while looking for what can still run', async () => {
    const r = await run(['replay', M, '--variant', 'hangs', '--path', '0.0.0', '--step-timeout', '1']);
    expect(r.code).toBe(2);
    oneLine(r, /; path to it: 0\.0\.0\.0$/);
  });

  it('simulate names the step and the walk to it, and that path replays to the same step', async () => {
    const r = await run(['simulate', M, '--variant', 'hangs', '--seed', '1', '--step-timeout', '1']);
    expect(r.code).toBe(2);
    oneLine(r, /^ptcheck: model error: step a\.inc did not return within 1 s \(a loop that never ends\?\); path to it: [\d.*]+$/);
    const path = /path to it: (\S+)$/.exec(r.stderr.trim())![1]!;
    const p = await run(['replay', M, '--variant', 'hangs', '--path', path, '--step-timeout', '1']);
    expect(p.code).toBe(2);
    expect(p.stderr.trim()).toBe(r.stderr.trim());
  });

  it('simulate --time far away does not cut the step bound short; --time near ends it as the time limit', async () => {
    const far = await run(['simulate', M, '--variant', 'hangs', '--seed', '1', '--step-timeout', '1', '--time', '30']);
    expect(far.code).toBe(2);
    const near = await run(['simulate', M, '--variant', 'hangs', '--seed', '1', '--step-timeout', '600', '--time', '2']);
    expect(near.code).toBe(3);
    expect(near.stdout).toMatch(/no violation found in 0 walks \(time limit\)/);
  });

  it('a variant whose building never returns, with derived futures and nothing cached: the retry without them is bounded too', async () => {
    // the build is retried without the derivation; that second arming of the step bound came right after
    // the first was stopped, and the watcher took it for the one it had already fired for: a hang
    for (let i = 0; i < 3; i++) {
      const cache = mkdtempSync(join(tmpdir(), 'ptcheck-cold-'));
      const r = await run(['verify', M, '--variant', 'build-hangs', '--step-timeout', '1', '--workers', '1', '--derive-futures'], { PTCHECK_CACHE_DIR: cache });
      expect(r.code).toBe(2);
      oneLine(r, /^ptcheck: model error: model 'misbehaving' \[build-hangs\]: building it did not return within 1 s/);
      expect(r.ms).toBeLessThan(30_000);
    }
  });

  it('a variant whose building never returns', async () => {
    for (const cmd of [['verify', '--workers', '1'], ['simulate'], ['replay', '--path', '-']]) {
      const r = await run([cmd[0]!, M, '--variant', 'build-hangs', '--step-timeout', '1', ...cmd.slice(1)]);
      expect(r.code).toBe(2);
      oneLine(r, /^ptcheck: model error: model 'misbehaving' \[build-hangs\]: building it did not return within 1 s/);
    }
  });
});

describe('a stop signal while a step never returns in the main thread', () => {
  // the main thread's handler cannot run while the step runs; the watchdog thread hears the signal too
  const whileLooping = (args: string[], sig: NodeJS.Signals) => {
    const mark = join(mkdtempSync(join(tmpdir(), 'ptcheck-term-')), 'looping');
    let sentAt = 0;
    const looping = (async () => {
      while (!existsSync(mark)) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      sentAt = Date.now();
    })();
    return run(args, { PTCHECK_TEST_MARK: mark }, looping, sig).then((r) => ({ ...r, afterSignal: Date.now() - sentAt }));
  };

  it('SIGTERM ends the run at once, not at the step bound: partial statistics, exit 143', async () => {
    const r = await whileLooping(['verify', M, '--variant', 'hangs', '--workers', '1', '--step-timeout', '600', '--no-derive-futures'], 'SIGTERM');
    expect(r.code).toBe(143);
    expect(r.stdout).toMatch(/INCOMPLETE: interrupted/);
    expect(r.stdout).toMatch(/states 4 /);
    expect(r.stderr).toMatch(/the stop interrupted step a\.inc, which had not returned; path to it: 0\.0\.0\.0/);
    expect(r.stderr).toMatch(/stopped by SIGTERM/);
    expect(r.afterSignal).toBeLessThan(10_000);
  });

  it('SIGHUP in simulate and in replay: exit 129', async () => {
    const sim = await whileLooping(['simulate', M, '--variant', 'hangs', '--seed', '1', '--step-timeout', '600'], 'SIGHUP');
    expect(sim.code).toBe(129);
    expect(sim.stdout).toMatch(/no violation found in 0 walks \(interrupted\)/);
    expect(sim.afterSignal).toBeLessThan(10_000);
    const rep = await whileLooping(['replay', M, '--variant', 'hangs', '--path', '0.0.0.0', '--step-timeout', '600'], 'SIGHUP');
    expect(rep.code).toBe(129);
    expect(rep.stderr.trim()).toBe('ptcheck: stopped by SIGHUP');
    expect(rep.afterSignal).toBeLessThan(10_000);
  });
});
