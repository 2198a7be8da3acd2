// The scaling bench's calibration: a pure insert loop into the shared fingerprint table
// (src/state/shared-fpset.ts) on N threads, nothing else. Its 2-thread speed-up is what this machine
// allows a memory-bound search at this moment; bench/scaling.ts runs it next to ptcheck's own runs.
//   node --import tsx bench/insert-loop.ts --threads 2 --inserts 4000000 --slots 8388608 [--min-ms 1000]
// prints {"threads":2,"inserts":4000000,"rounds":[...ms],"ms":...,"minMs":...,"maxMs":...}: the same
// inserts repeated over fresh tables (each round a new table, as a search starts with one) until the
// rounds add up to --min-ms, so that one measurement is long enough not to be noise. A round is timed
// from a common start (every thread waiting) to the last thread's end: thread start-up is not counted.

import { Worker, isMainThread, parentPort, workerData, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { SharedFingerprintSet } from '../src/state/shared-fpset.ts';

/** sync words: threads ready, round number to run (0: none yet, -1: quit), threads done with it */
const READY = 0;
const GO = 1;
const DONE = 2;

interface Job {
  readonly sync: SharedArrayBuffer;
  /** each round's table arrives here before its GO */
  readonly tables: MessagePort;
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

/** A thread's rounds: wait for the next round number, insert its part into that round's table, report. */
function runJob(j: Job): void {
  const sync = new Int32Array(j.sync);
  Atomics.add(sync, READY, 1);
  Atomics.notify(sync, READY);
  for (let round = 1; ; round++) {
    while (Atomics.load(sync, GO) !== round && Atomics.load(sync, GO) !== -1) Atomics.wait(sync, GO, Atomics.load(sync, GO));
    if (Atomics.load(sync, GO) === -1) return;
    const msg = receiveMessageOnPort(j.tables);
    if (!msg) throw new Error('insert loop: round started without its table');
    const fresh = insertPart(new SharedFingerprintSet(msg.message as SharedArrayBuffer), j.part, j.parts, j.inserts);
    parentPort!.postMessage(fresh);
    Atomics.add(sync, DONE, 1);
    Atomics.notify(sync, DONE);
  }
}

/** a worker thread's entry: the TypeScript loader (worker threads do not inherit it), then this file */
const BOOT =
  `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
  `.then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;

export interface InsertLoopRun {
  readonly threads: number;
  readonly inserts: number;
  /** each round's time, ms */
  readonly rounds: readonly number[];
  /** the median round, and the fastest and slowest */
  readonly ms: number;
  readonly minMs: number;
  readonly maxMs: number;
}

const medianOf = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Runs the loop on `threads` worker threads, each round into a fresh table of `slots` slots, until the
 * rounds add up to `minMs` (at least `minRounds` of them).
 */
export async function insertLoop(threads: number, inserts: number, slots: number, minMs = 1000, minRounds = 3): Promise<InsertLoopRun> {
  const sync = new SharedArrayBuffer(12);
  const s = new Int32Array(sync);
  const ports: MessagePort[] = [];
  const workers: Worker[] = [];
  const fresh: number[] = [];
  const failed: Error[] = [];
  for (let p = 0; p < threads; p++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const w = new Worker(BOOT, { eval: true, workerData: { sync, tables: port2, part: p, parts: threads, inserts } satisfies Job, transferList: [port2] });
    w.on('message', (n: number) => fresh.push(n));
    w.on('error', (e) => failed.push(e));
    workers.push(w);
  }
  const check = () => {
    if (failed.length) throw failed[0]!;
  };
  while (Atomics.load(s, READY) < threads) {
    check();
    await new Promise((r) => setTimeout(r, 2));
  }
  const rounds: number[] = [];
  let total = 0;
  for (let round = 1; total < minMs || rounds.length < minRounds; round++) {
    // a new table each round, allocated before the clock starts (its pages are touched by the inserts)
    const table = SharedFingerprintSet.create(slots).buffer;
    for (const port of ports) port.postMessage(table);
    Atomics.store(s, DONE, 0);
    const t0 = performance.now();
    Atomics.store(s, GO, round);
    Atomics.notify(s, GO);
    // this thread blocks until the last one is done (a thread that failed never reports: time out)
    for (let d = Atomics.load(s, DONE); d < threads; d = Atomics.load(s, DONE)) {
      if (Atomics.wait(s, DONE, d, 60_000) === 'timed-out') break;
    }
    const ms = performance.now() - t0;
    await new Promise((r) => setImmediate(r)); // let the threads' counts in
    check();
    const n = fresh.splice(0).reduce((a, b) => a + b, 0);
    if (n !== inserts) throw new Error(`insert loop: ${n} new fingerprints of ${inserts} distinct in round ${round}`);
    rounds.push(ms);
    total += ms;
  }
  Atomics.store(s, GO, -1);
  Atomics.notify(s, GO);
  await Promise.all(workers.map((w) => w.terminate()));
  for (const port of ports) port.close();
  return { threads, inserts, rounds, ms: medianOf(rounds), minMs: Math.min(...rounds), maxMs: Math.max(...rounds) };
}

if (!isMainThread) {
  runJob(workerData as Job);
} else if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const arg = (name: string, dflt: number) => {
    const k = process.argv.indexOf(`--${name}`);
    return k > 0 ? Number(process.argv[k + 1]) : dflt;
  };
  const r = await insertLoop(arg('threads', 1), arg('inserts', 4_000_000), arg('slots', 1 << 23), arg('min-ms', 1000));
  console.log(JSON.stringify(r));
}
