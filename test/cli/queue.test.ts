// The matrix on a real queue: a redis-server on a free loopback port, two `ptcheck worker` processes,
// one killed (SIGKILL) in the middle of a job. The gathered matrix must equal the one run here: the
// killed job is run again by the other worker and counted once.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ROOT, ptcheck } from '../helpers/cli.ts';
import { matrixCells } from '../../src/cli/matrix.ts';
import { loadModel, shippedModelNames } from '../../src/cli/registry.ts';
import { haveOrSkip, onPath } from '../helpers/test-deps.ts';

const REDIS = onPath('redis-server');
const HAVE_REDIS = haveOrSkip(REDIS !== undefined, 'the matrix-on-a-queue test (test/cli/queue.test.ts)', 'redis-server', 'apt-get install -y redis-server (as root)');

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child whose stderr lines are kept, and a way to wait for one. */
function start(cmd: string, args: string[], env: Record<string, string> = {}) {
  const c = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  c.stdout!.on('data', (d) => (out += d));
  c.stderr!.on('data', (d) => {
    err += d;
    for (const w of waiters.slice()) {
      const m = err.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)));
  return {
    c,
    exited,
    out: () => out,
    err: () => err,
    waitFor: (re: RegExp, ms = 20_000) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const m = err.match(re);
        if (m) return resolve(m);
        waiters.push({ re, resolve });
        setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${err}`)), ms);
      }),
  };
}

const bin = `${ROOT}bin/ptcheck.js`;

/** What must agree between two runs of a cell: everything but the timings. */
function verdicts(json: string) {
  const m = JSON.parse(json);
  expect(m.format).toBe('ptcheck-matrix');
  return m.results.map((r: any) => ({ model: r.model, variant: r.variant, params: r.params, outcome: r.outcome, states: r.stats.states, properties: r.properties, traces: r.traces }));
}

describe('ptcheck matrix', () => {
  it('with no model: every shipped model x variant at its defaults, in the order verify --all runs them', async () => {
    const models = [];
    for (const n of shippedModelNames()) models.push(await loadModel(n));
    const cells = matrixCells(models, false, undefined, {}, []);
    expect(cells.map((c) => `${c.model}/${c.variant}`)).toEqual(models.flatMap((lm) => Object.keys(lm.module.variants).map((v) => `${lm.module.name}/${v}`)));
    expect(cells.every((c) => Object.keys(c.params).length === 0)).toBe(true);
  });

  it.skipIf(!HAVE_REDIS)('on Redis with two workers, one killed mid-job: the same matrix as a local run', async () => {
    const server = REDIS!;
    const port = await freePort();
    const redis = start(server, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    const url = `redis://127.0.0.1:${port}`;
    // the server listens within moments: until then a connection is refused, and tried again
    for (let i = 0; ; i++) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        probe.disconnect();
      }
    }

    const args = ['matrix', 'pte-offset-map-lock', '--sweep', 'faults=1..2', '-j', '1', '--json'];
    const env = { PTCHECK_QUEUE_LOCK_MS: '2000' };
    const a = start(process.execPath, [bin, 'worker', '--queue', url, '-j', '1'], env);
    const b = start(process.execPath, [bin, 'worker', '--queue', url, '-j', '1'], env);
    await Promise.all([a.waitFor(/serving/), b.waitFor(/serving/)]);
    const coord = start(process.execPath, [bin, ...args, '--queue', url]);
    // worker a's first job begins by loading the model: kill it there, holding the job's lock
    const [, jobId] = await a.waitFor(/job (\S+) started/);
    a.c.kill('SIGKILL');
    const local = ptcheck(args);
    expect(local.code).toBe(0); // violations, all expected: the no-pmd-recheck row is a function of faults
    const code = await coord.exited;
    expect(coord.err()).toBe('');
    expect(code).toBe(local.code);
    expect(verdicts(coord.out())).toEqual(verdicts(local.stdout));
    // the killed job was not finished by a, and was run again by b, once
    expect(a.err()).not.toContain(`job ${jobId} done`);
    expect(b.err().split(`job ${jobId} done`).length - 1).toBe(1);
    // a simulation over a seed range: one job per cell and seed; the same walks as here
    const simArgs = ['matrix', 'pte-offset-map-lock', '--seeds', '1..3', '--walks', '50', '--json'];
    const simLocal = ptcheck(simArgs);
    const simCoord = start(process.execPath, [bin, ...simArgs, '--queue', url]);
    expect(await simCoord.exited).toBe(simLocal.code);
    expect(simLocal.code).toBe(1); // no-pmd-recheck and no-rcu violate within 50 walks of seed 1..3
    const runs = (json: string) => {
      const m = JSON.parse(json);
      expect(m.format).toBe('ptcheck-simulation-matrix');
      return m.cells.map((c: any) => c.runs.map((r: any) => ({ ...r, elapsedMs: 0, violation: r.violation && { ...r.violation, elapsedMs: 0 } })));
    };
    expect(runs(simCoord.out())).toEqual(runs(simLocal.stdout));
    b.c.kill('SIGTERM');
    expect(await b.exited).toBe(143);
    redis.c.kill('SIGTERM');
    await redis.exited;
  }, 90_000);

  it('an unreachable queue is one line, exit 2', () => {
    const r = ptcheck(['matrix', 'pte-offset-map-lock', '--queue', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ptcheck: error: cannot reach the queue at redis:\/\/127\.0\.0\.1:1: /);
  });
});
