// This thread's own CPU time and run-queue wait, from Linux's /proc/thread-self/schedstat, for the
// parallel profile (where a run's time went). Elsewhere, or if it cannot be read, it is undefined.

import { readFileSync } from 'node:fs';

export interface ThreadTimes {
  /** ms this thread has run on a CPU */
  readonly cpuMs: number;
  /** ms it was ready to run but waited for a CPU (other work on the machine, or our own threads) */
  readonly waitMs: number;
}

let readable = process.platform === 'linux';

export function threadTimes(): ThreadTimes | undefined {
  if (!readable) return undefined;
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
    return { cpuMs: Number(run) / 1e6, waitMs: Number(wait) / 1e6 };
  } catch {
    readable = false;
    return undefined;
  }
}

/** b - a, or undefined when either is */
export function timesSince(a: ThreadTimes | undefined, b: ThreadTimes | undefined = threadTimes()): ThreadTimes | undefined {
  return a && b ? { cpuMs: b.cpuMs - a.cpuMs, waitMs: b.waitMs - a.waitMs } : undefined;
}
