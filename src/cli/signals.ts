// Termination signals for the CLI: SIGINT, SIGTERM and SIGHUP all ask the running search to stop and
// keep its partial statistics (INCOMPLETE); a second signal exits at once. The only place that handles
// signals: whatever must stop on one (a search, worker threads, a watchdog) registers with onStop().

import { isWatchdogSignal } from '../explore/watchdog.ts';

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** 128 + the signal's number, as shells report a process a signal ended */
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGHUP: 129, SIGTERM: 143 };

const SIGNALS = Object.keys(SIGNAL_EXIT) as StopSignal[];

let received: StopSignal | undefined;
const hooks = new Set<(sig: StopSignal) => void>();

/** The first stop signal this process received, if any. */
export function stopSignal(): StopSignal | undefined {
  return received;
}

/** Calls `fn` when a stop signal arrives (at once if one already has); returns the unregister function. */
export function onStop(fn: (sig: StopSignal) => void): () => void {
  hooks.add(fn);
  if (received) fn(received);
  return () => hooks.delete(fn);
}

/** Installs the handlers; returns the function that removes them. */
export function installSignals(): () => void {
  const installed = SIGNALS.map((sig) => {
    const h = () => {
      if (sig === 'SIGINT' && isWatchdogSignal()) return; // the watchdog's own: the run ends by itself
      // a second signal: the user (or a supervisor) will not wait for the partial results
      if (received) process.exit(SIGNAL_EXIT[sig]);
      received = sig;
      for (const fn of hooks) fn(sig);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of installed) process.off(sig, h);
  };
}
