// The scaling bench's calibration: a pure insert loop into the shared fingerprint table
// (src/state/shared-fpset.ts) on N threads, nothing else. Its 2-thread speed-up is what this machine
// allows a memory-bound search at this moment; bench/scaling.ts runs it next to ptcheck's own runs.
//   node --import tsx bench/insert-loop.ts --threads 2 --inserts 4000000 --slots 8388608
// prints {"threads":2,"inserts":4000000,"ms":...}: the wall time from a common start (every thread
// started and waiting) to the last thread's end, so thread start-up is not counted.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SharedFingerprintSet } from '../src/state/shared-fpset.ts';

interface Job {
  readonly table: SharedArrayBuffer;
  /** [0]: threads ready, [1]: go */
  readonly sync: SharedArrayBuffer;
  readonly part: number;
  readonly parts: number;
  readonly inserts: number;
}

/** splitmix-style mixing of a counter: distinct keys spread like fingerprints */
function mix(x: number, seed: number): number {
  let h = Math.imul(x ^ seed, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Inserts keys part, part + parts, ... below `inserts`; returns how many were new. */
function insertPart(t: SharedFingerprintSet, part: number, parts: number, inserts: number): number {
  let fresh = 0;
  for (let i = part; i < inserts; i += parts) fresh += t.insertIfAbsent(mix(i, 0x1234567) | 1, mix(i, 0x7654321) | 1);
  return fresh;
}

function runJob(j: Job): number {
  const t = new SharedFingerprintSet(j.table);
  const sync = new Int32Array(j.sync);
  Atomics.add(sync, 0, 1);
  Atomics.notify(sync, 0);
  while (Atomics.load(sync, 1) === 0) Atomics.wait(sync, 1, 0);
  return insertPart(t, j.part, j.parts, j.inserts);
}

/** a worker thread's entry: the TypeScript loader (worker threads do not inherit it), then this file */
const BOOT =
  `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
  `.then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;

export interface InsertLoopRun {
  readonly threads: number;
  readonly inserts: number;
  readonly ms: number;
}

/** Runs the loop on `threads` worker threads into a fresh table of `slots` slots. */
export async function insertLoop(threads: number, inserts: number, slots: number): Promise<InsertLoopRun> {
  const table = SharedFingerprintSet.create(slots).buffer;
  const sync = new SharedArrayBuffer(8);
  const s = new Int32Array(sync);
  const done: Promise<number>[] = [];
  const workers: Worker[] = [];
  for (let p = 0; p < threads; p++) {
    const w = new Worker(BOOT, { eval: true, workerData: { table, sync, part: p, parts: threads, inserts } satisfies Job });
    workers.push(w);
    done.push(new Promise((res, rej) => {
      w.once('message', (n: number) => res(n));
      w.once('error', rej);
    }));
  }
  // every thread started and waiting: then go, and time to the last one's end
  while (Atomics.load(s, 0) < threads) await new Promise((r) => setTimeout(r, 2));
  const t0 = performance.now();
  Atomics.store(s, 1, 1);
  Atomics.notify(s, 1);
  const fresh = (await Promise.all(done)).reduce((a, b) => a + b, 0);
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  if (fresh !== inserts) throw new Error(`insert loop: ${fresh} new fingerprints of ${inserts} distinct`);
  return { threads, inserts, ms };
}

if (!isMainThread) {
  parentPort!.postMessage(runJob(workerData as Job));
} else if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const arg = (name: string, dflt: number) => {
    const k = process.argv.indexOf(`--${name}`);
    return k > 0 ? Number(process.argv[k + 1]) : dflt;
  };
  const r = await insertLoop(arg('threads', 1), arg('inserts', 4_000_000), arg('slots', 1 << 23));
  console.log(JSON.stringify(r));
}
