// Matrix cells as jobs on a Redis queue (BullMQ): the coordinator enqueues one job per cell and
// gathers the results; `ptcheck worker` processes, on any number of machines, drain the queue.
// Imported only for --queue. Runs no search itself: main.ts hands it the function that runs a cell.

import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { InputError, ModelError } from '../model/errors.ts';
import { CELL_RESULT_VERSION, type CellResult, type MatrixCell, type SimJob, type SimSeedResult } from './matrix.ts';

export const QUEUE_NAME = 'ptcheck-matrix';
export const JOB_VERSION = 1;

/** How the coordinator's search options travel (Infinity as null: jobs are JSON). */
export interface JobOptions {
  readonly maxStates: number | null;
  readonly maxDepth: number | null;
  /** per job, counted from its start on the worker */
  readonly timeoutMs: number | null;
  readonly maxTableBytes: number;
  readonly symmetry: boolean;
  readonly por: boolean;
  readonly sleep: boolean;
  readonly exact: boolean;
  readonly maxPreemptions: number | null;
  readonly json: boolean;
  readonly traces: boolean;
}

export interface JobData {
  readonly v: typeof JOB_VERSION;
  /** the coordinator run the job belongs to */
  readonly run: string;
  readonly index: number;
  readonly cell: MatrixCell;
  readonly opts: JobOptions;
  /** a simulation of one seed instead of a verification */
  readonly simulate: SimJob | null;
}

export type JobResult = CellResult | SimSeedResult;

/** A cell that cannot run anywhere (bad model, model error): reported, not retried. */
export interface JobFailure {
  readonly v: typeof CELL_RESULT_VERSION;
  readonly error: { readonly kind: 'input' | 'model'; readonly message: string };
}

/** Redis options for BullMQ (its blocking commands need maxRetriesPerRequest: null). */
function connection(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null });
  r.on('error', () => {}); // reconnection is ioredis's business; a dead server shows as a stalled run
  return r;
}

/** Checks the URL and that a Redis server answers there, once, so a typo is one line and not a hang. */
async function probe(url: string): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`--queue takes a Redis URL such as redis://host:6379, not '${url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new InputError(`--queue takes a redis:// or rediss:// URL, not '${url}'`);
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new InputError(`cannot reach the queue at ${url}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    r.disconnect();
  }
}

/** Lock and stall-check timing: BullMQ's 30 s, or PTCHECK_QUEUE_LOCK_MS (tests use a short lock). */
function lockMs(): number {
  const ms = Number(process.env.PTCHECK_QUEUE_LOCK_MS);
  return ms > 0 ? ms : 30_000;
}

/**
 * Enqueues one job per cell and waits for every result, in cell order. A job whose worker died is
 * moved back to the queue when its lock expires (BullMQ's stalled-job check) and run again by
 * another worker; each cell's result is taken once, from the run that completed.
 */
export async function runOnQueue(
  url: string,
  cells: readonly { readonly cell: MatrixCell; readonly simulate: SimJob | null }[],
  opts: JobOptions,
  hooks: { readonly progress: (done: number, total: number) => void; readonly onStop: (fn: () => void) => () => void },
): Promise<JobResult[] | 'stopped'> {
  await probe(url);
  // connections we pass in are ours to close (BullMQ leaves a given connection open)
  const conn = connection(url);
  const eventsConn = connection(url);
  const queue = new Queue(QUEUE_NAME, { connection: conn });
  const events = new QueueEvents(QUEUE_NAME, { connection: eventsConn });
  let jobs: Job[] = [];
  try {
    await events.waitUntilReady();
    const run = randomUUID();
    jobs = await queue.addBulk(
      cells.map(({ cell, simulate }, index) => {
        const data: JobData = { v: JOB_VERSION, run, index, cell, opts, simulate };
        return { name: simulate ? 'simulate' : 'verify', data, opts: { jobId: `${run}-${index}`, attempts: 3, removeOnComplete: false, removeOnFail: false } };
      }),
    );
    let done = 0;
    hooks.progress(0, cells.length);
    let unhook = () => {};
    const stopped = new Promise<'stopped'>((resolve) => {
      unhook = hooks.onStop(() => resolve('stopped'));
    });
    const all = Promise.all(
      jobs.map(async (j) => {
        const r = (await j.waitUntilFinished(events)) as JobResult | JobFailure;
        hooks.progress(++done, cells.length);
        return r;
      }),
    );
    all.catch(() => {}); // a stop may leave it pending or failing
    let out: (JobResult | JobFailure)[] | 'stopped';
    try {
      out = await Promise.race([all, stopped]);
    } catch (e) {
      throw new Error(`a matrix job failed on every attempt: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      unhook();
    }
    if (out === 'stopped') return out;
    return out.map((r, i) => {
      if (!r || r.v !== CELL_RESULT_VERSION) throw new Error(`job ${i} returned a result of another format version (${(r as { v?: unknown })?.v}); run the same ptcheck on every machine`);
      if ('error' in r) {
        const c = cells[i]!.cell;
        const msg = `${c.model} [${c.variant}]: ${r.error.message}`;
        throw r.error.kind === 'model' ? new ModelError(msg) : new InputError(msg);
      }
      return r;
    });
  } finally {
    // our jobs are ours to clear (one still locked by a worker is left to expire); if Redis is gone,
    // do not wait for it
    const cleanup = (async () => {
      await Promise.all(jobs.map((j) => j.remove().catch(() => {})));
      await events.close();
      await queue.close();
    })();
    await Promise.race([cleanup.catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
    conn.disconnect();
    eventsConn.disconnect();
  }
}

/**
 * Serves jobs until a stop signal: one job at a time (a search is CPU-bound; run one worker per
 * machine, with its own --workers threads). `log` gets one line per job started and finished.
 */
export async function serveQueue(
  url: string,
  runJob: (data: JobData) => Promise<JobResult | JobFailure>,
  hooks: { readonly log: (line: string) => void; readonly onStop: (fn: () => void) => () => void; readonly stopped: () => boolean },
): Promise<void> {
  await probe(url);
  const lock = lockMs();
  const conn = connection(url);
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      const data = job.data as JobData;
      if (!data || data.v !== JOB_VERSION) {
        const failure: JobFailure = { v: CELL_RESULT_VERSION, error: { kind: 'input', message: `job format version ${data?.v}; this worker reads ${JOB_VERSION}` } };
        return failure;
      }
      const c = data.cell;
      const what =
        `${c.model} [${c.variant}] ${Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(' ')}`.trim() +
        (data.simulate ? ` simulate seed ${data.simulate.seed}` : '');
      hooks.log(`job ${job.id} started: ${what}`);
      const t0 = Date.now();
      const r = await runJob(data);
      // a run cut short by our own stop is no result: fail it, so another worker runs it again
      if (hooks.stopped()) throw new Error('the worker was stopped during the job');
      hooks.log(`job ${job.id} done in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
      return r;
    },
    { connection: conn, concurrency: 1, lockDuration: lock, stalledInterval: Math.max(500, Math.floor(lock / 2)), maxStalledCount: 3 },
  );
  worker.on('error', (e) => hooks.log(`queue error: ${e.message.split('\n')[0]}`));
  await worker.waitUntilReady();
  hooks.log(`serving ${QUEUE_NAME} at ${url}`);
  await new Promise<void>((resolve) => {
    hooks.onStop(() => resolve());
  });
  // closing talks to Redis: if it is gone, do not wait for it
  await Promise.race([worker.close(true), new Promise((r) => setTimeout(r, 5000).unref())]);
  conn.disconnect();
}
