// The watchdog: a tiny plain-JS thread watches one heartbeat per searching thread in shared memory.
// A search making no progress for the step bound, or one a stuck step keeps from seeing its deadline,
// is stopped: the main thread's slices run where a SIGINT interrupts them (vm's breakOnSigint), and
// for a worker thread the coordinator is told (it ends the pool). Owns no search state; never prints.

import { constants as osConstants } from 'node:os';
import vm from 'node:vm';
import { isMainThread, Worker } from 'node:worker_threads';

// Shared words: the arming generation (0 = disarmed), the reason of the last SIGINT sent, the step
// bound, the generation the watcher has seen, a float64 deadline (words 4-5), then per slot: beat, active, and the step
// running (thread, pc, alt) and the work unit, which a worker thread publishes so that its stuck step
// can be named from outside.
const ARMED = 0;
const REASON = 1;
const BOUND_MS = 2;
/** the arming generation the watcher has seen (and listens for stop signals in) */
const SEEN = 3;
/** float64 deadline (Date.now() ms) at this byte offset: 8-aligned, and clear of every Int32 word */
const DEADLINE_AT = 16;
const SLOTS_AT = 6;
const SLOT_WORDS = 8;
const BEAT = 0;
const ACTIVE = 1;
/** thread, pc (-1: not in a step), alternative: the engine's `running` view in a worker */
const RUNNING = 2;
const UNIT = 5;
/** slot 0 is the main thread; worker threads of a parallel run take 1.. */
export const MAX_SLOTS = 128;
const WORDS = SLOTS_AT + SLOT_WORDS * MAX_SLOTS;

const REASON_NONE = 0;
const REASON_STUCK = 1;
const REASON_DEADLINE = 2;
/** a SIGTERM or SIGHUP came while the main thread's slot made no progress */
const REASON_SIGNAL = 3;
/** the stop signals the watcher listens for besides the main thread (SIGINT interrupts a slice itself) */
const SIGNUMS = [osConstants.signals.SIGTERM, osConstants.signals.SIGHUP].join(', ');

/** Default bound on one step (on a search making no progress), in seconds. */
export const DEFAULT_STEP_TIMEOUT_S = 5;

/** Why a slice was interrupted, or a worker thread given up on. */
export interface Interruption {
  /**
   * 'user': a SIGINT nobody here sent (Ctrl-C); 'stuck': no progress for the step bound; 'deadline':
   * --timeout; 'signal': a SIGTERM or SIGHUP while the slice made no progress (the process's own
   * handler hears it too, once the slice has ended)
   */
  readonly kind: 'user' | 'stuck' | 'deadline' | 'signal';
  /** the slot that made no progress (0: the main thread) */
  readonly slot: number;
}

/** Thrown out of guarded() when its slice was interrupted. The search it ran must not be resumed. */
export class SliceInterrupted extends Error {
  override name = 'SliceInterrupted';
  constructor(readonly why: Interruption) {
    super(`search slice interrupted (${why.kind})`);
  }
}

// The watcher thread: plain JS, so it starts in milliseconds (no TypeScript loader). It waits on the
// ARMED word (asynchronously: its event loop must run, see below); while armed it polls every POLL ms.
// A slot active with an unchanged beat for the bound is stuck; past the deadline, one unchanged for
// GRACE ms keeps its search from seeing the deadline. For the main thread (slot 0) it writes the
// reason and sends SIGINT; for a worker thread it tells the main thread by message. Once per arming.
//
// SIGTERM and SIGHUP: the main thread's handlers run only between its slices, so a step that never
// returns there would hold them off until the step bound. While armed, this thread listens for them
// too, on its own event loop (Node offers worker threads no process.on() for signals, so through the
// runtime's signal binding): when the main thread's slot then makes no progress for SIGNAL_GRACE ms,
// it interrupts the slice as for Ctrl-C, and the main thread's own handler, which heard the signal as
// well, ends the run. Where the binding is missing, the stop waits for the step bound, as it did.
const WATCHER_SRC = `
const { workerData, parentPort } = require('node:worker_threads');
const i32 = new Int32Array(workerData.sab);
const f64 = new Float64Array(workerData.sab, ${DEADLINE_AT}, 1);
const POLL = 50, GRACE = 500, SIGNAL_GRACE = 250, SLOTS = ${MAX_SLOTS};
setInterval(() => {}, 1 << 30); // the event loop stays up while this thread waits asynchronously
let Signal = null;
try {
  process.noDeprecation = true; // this thread's own process object: the binding's warning is expected
  Signal = process.binding('signal_wrap').Signal;
} catch {}
let heard = 0; // Date.now() when a stop signal was last heard while armed
let handles = [];
function listen(on) {
  if (!Signal || on === (handles.length > 0)) return;
  if (!on) { for (const h of handles) h.close(); handles = []; return; }
  for (const signum of [${SIGNUMS}]) {
    const h = new Signal();
    h.unref();
    h.onsignal = () => { heard = Date.now(); };
    if (h.start(signum) === 0) handles.push(h); else h.close();
  }
}
const wait = (v, ms) => { const r = Atomics.waitAsync(i32, ${ARMED}, v, ms); return r.async ? r.value : Promise.resolve(r.value); };
(async () => {
  for (;;) {
    const gen = Atomics.load(i32, ${ARMED});
    if (gen === 0) { listen(false); await wait(0); continue; }
    heard = 0;
    listen(true);
    Atomics.store(i32, ${SEEN}, gen);
    Atomics.notify(i32, ${SEEN});
    const beat = new Int32Array(SLOTS), since = new Float64Array(SLOTS).fill(Date.now());
    let fired = false;
    while (!fired && Atomics.load(i32, ${ARMED}) === gen) {
      await wait(gen, POLL);
      const now = Date.now(), bound = Atomics.load(i32, ${BOUND_MS}), late = now >= f64[0];
      for (let s = 0; s < SLOTS && !fired; s++) {
        const at = ${SLOTS_AT} + ${SLOT_WORDS} * s;
        const b = Atomics.load(i32, at + ${BEAT});
        if (Atomics.load(i32, at + ${ACTIVE}) === 0 || b !== beat[s]) { beat[s] = b; since[s] = now; continue; }
        const stopped = s === 0 && heard !== 0 && now - heard >= SIGNAL_GRACE && now - since[s] >= SIGNAL_GRACE;
        const reason = stopped ? ${REASON_SIGNAL} : late && now - since[s] >= GRACE ? ${REASON_DEADLINE} : now - since[s] >= bound ? ${REASON_STUCK} : 0;
        if (reason === 0) continue;
        fired = true;
        if (s === 0) {
          Atomics.store(i32, ${REASON}, reason);
          process.kill(process.pid, 'SIGINT');
        } else {
          parentPort.postMessage({ gen, slot: s, kind: reason === ${REASON_STUCK} ? 'stuck' : 'deadline' });
        }
      }
    }
    while (Atomics.load(i32, ${ARMED}) === gen) await wait(gen);
  }
})();
`;

let sab: SharedArrayBuffer | null = null;
let i32: Int32Array | null = null;
let watcher: Worker | null = null;
let onStall: ((why: Interruption) => void) | null = null;

/** This thread's slot's first word (-1: not attached). */
let slotAt = -1;
/** a user SIGINT was already passed on to the process's handlers since arming */
let userPassed = false;

/**
 * Main thread: starts watching (the watcher thread starts on first use and never keeps the process
 * alive). `deadline` is Date.now() ms or Infinity; `boundMs` the step bound.
 */
export function arm(deadline: number, boundMs: number): void {
  const w = startWatcher();
  new Float64Array(sab!, DEADLINE_AT, 1)[0] = deadline;
  Atomics.store(w, BOUND_MS, Math.max(1, Math.min(0x7fffffff, Math.round(boundMs))));
  Atomics.store(w, REASON, REASON_NONE);
  for (let s = 0; s < MAX_SLOTS; s++) Atomics.store(w, SLOTS_AT + SLOT_WORDS * s + ACTIVE, 0);
  userPassed = false;
  onStall = null;
  slotAt = SLOTS_AT;
  // a new generation every arming, never the last one again: disarm() stores 0, and a watcher that has
  // not yet seen that 0 when the next arming comes must still see a change (the same generation would
  // read to it as the arming it already fired for, and a step stuck in the new one would never be stopped)
  generation = (generation % 0x7ffffffe) + 1;
  const gen = generation;
  Atomics.store(w, ARMED, gen);
  Atomics.notify(w, ARMED);
  // a stop signal sent from now on must reach the watcher: wait (briefly) until it listens
  const until = Date.now() + SEEN_WAIT_MS;
  for (let seen = Atomics.load(w, SEEN); seen !== gen && watcher !== null && Date.now() < until; seen = Atomics.load(w, SEEN)) {
    Atomics.wait(w, SEEN, seen, 10);
  }
}

/** the generation of the last arming (0: none yet) */
let generation = 0;

/** How long arm() waits for the watcher to take up an arming (it takes well under a millisecond when idle). */
const SEEN_WAIT_MS = 250;

/**
 * Main thread: starts the watcher thread now if it is not running (a command that will run model code
 * calls this early, so that the thread is up by the first arm()); returns the shared words.
 */
export function startWatcher(): Int32Array {
  if (i32 === null || sab === null) {
    sab = new SharedArrayBuffer(WORDS * 4);
    i32 = new Int32Array(sab);
  }
  const w = i32;
  if (watcher === null) {
    watcher = new Worker(WATCHER_SRC, { eval: true, workerData: { sab } });
    watcher.on('message', (m: { gen: number; slot: number; kind: 'stuck' | 'deadline' }) => {
      if (m.gen === Atomics.load(w, ARMED)) onStall?.({ kind: m.kind, slot: m.slot });
    });
    watcher.on('error', () => {
      watcher = null; // a watcher that failed leaves the run unwatched, as it was before there was one
    });
    watcher.unref(); // after the listeners: adding a 'message' listener refs the worker again
  }
  return w;
}

/** Main thread: stops watching (the run ended). */
export function disarm(): void {
  if (i32 === null) return;
  Atomics.store(i32, ARMED, 0);
  Atomics.notify(i32, ARMED);
  onStall = null;
}

/** The shared memory a worker thread attaches to (undefined when nothing is armed). */
export function watchMemory(): SharedArrayBuffer | undefined {
  return i32 !== null && Atomics.load(i32, ARMED) !== 0 ? sab! : undefined;
}

/** Main thread: `f` hears of a worker thread's slot that stalled (stuck, or past the deadline). */
export function whenWorkerStalls(f: ((why: Interruption) => void) | null): void {
  onStall = f;
}

/** Worker thread: beat and report activity in `slot` of `memory` from now on. */
export function attach(memory: SharedArrayBuffer, slot: number): void {
  if (memory !== sab) {
    sab = memory;
    i32 = new Int32Array(memory);
  }
  slotAt = SLOTS_AT + SLOT_WORDS * slot;
}

/** Worker thread: where the engine publishes the step it runs (thread, pc, alt). */
export function runningView(): Int32Array | undefined {
  return slotAt >= 0 && sab !== null ? new Int32Array(sab, (slotAt + RUNNING) * 4, 3) : undefined;
}

/** Worker thread: publishes the index of the work unit it explores. */
export function publishUnit(u: number): void {
  if (slotAt >= 0) Atomics.store(i32!, slotAt + UNIT, u);
}

/** Main thread: what a worker's slot last published: the step running (pc -1: none) and its unit. */
export function slotRunning(slot: number): { tid: number; pc: number; alt: number; unit: number } {
  const at = SLOTS_AT + SLOT_WORDS * slot;
  const w = i32!;
  return { tid: Atomics.load(w, at + RUNNING), pc: Atomics.load(w, at + RUNNING + 1), alt: Atomics.load(w, at + RUNNING + 2), unit: Atomics.load(w, at + UNIT) };
}

/** Progress: called by the search every so many expansions (one store; nothing when unwatched). */
export function pulse(): void {
  if (slotAt >= 0) i32![slotAt + BEAT]++;
}

/**
 * Main thread, in the process's SIGINT handler: true when the signal came from the watcher (a guarded
 * slice normally takes it; if none was running, the search ends by its own checks), to be ignored.
 */
export function isWatchdogSignal(): boolean {
  return i32 !== null && Atomics.load(i32, REASON) !== REASON_NONE;
}

/**
 * Main thread: a guarded slice was interrupted by a SIGINT nobody here sent. While it ran, Node held
 * the process's SIGINT handlers back: pass the signal on to them, once.
 */
export function passUserInterrupt(): void {
  if (userPassed) return;
  userPassed = true;
  process.emit('SIGINT', 'SIGINT');
}

const SLICE = Symbol.for('ptcheck.watchdog.slice');
const runner = new vm.Script(`globalThis[Symbol.for('ptcheck.watchdog.slice')]()`, { filename: 'ptcheck-search-slice' });

/**
 * Runs `f`, a synchronous search slice, with this thread's slot marked active. In the main thread a
 * SIGINT interrupts it even inside a step that never returns: it then throws SliceInterrupted and the
 * search, left mid-step, must not be resumed. (Worker threads run `f` plainly: Node's SIGINT
 * interruption is process-wide, and a worker using it would take Ctrl-C from the main thread.)
 */
export function guarded<T>(f: () => T): T {
  const w = i32;
  const at = slotAt;
  if (w !== null && at >= 0) {
    w[at + BEAT]++;
    Atomics.store(w, at + ACTIVE, 1);
  }
  try {
    if (!isMainThread) return f();
    const g = globalThis as unknown as Record<symbol, (() => T) | undefined>;
    g[SLICE] = f;
    try {
      return runner.runInThisContext({ breakOnSigint: true }) as T;
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw e;
      const r = w === null ? REASON_NONE : Atomics.load(w, REASON);
      throw new SliceInterrupted({ kind: r === REASON_STUCK ? 'stuck' : r === REASON_DEADLINE ? 'deadline' : r === REASON_SIGNAL ? 'signal' : 'user', slot: 0 });
    } finally {
      g[SLICE] = undefined;
    }
  } finally {
    if (w !== null && at >= 0) Atomics.store(w, at + ACTIVE, 0);
  }
}

const TIMED = Symbol.for('ptcheck.watchdog.timed-slice');
const timedRunner = new vm.Script(`globalThis[Symbol.for('ptcheck.watchdog.timed-slice')]()`, { filename: 'ptcheck-timed-slice' });
/** How long past the deadline a timed slice may run (as the watcher's grace for a slot past it). */
const DEADLINE_GRACE_MS = 500;

/**
 * Main thread, while worker threads of this run are busy (starting, or searching beside it): runs
 * `f`, a synchronous search slice, ended by V8 once it has run for the step bound `boundMs`, or
 * until shortly past `deadline`: it then throws SliceInterrupted ('stuck' or 'deadline'), and the
 * search, left mid-step, must not be resumed. Not under the SIGINT guard that guarded() uses: that
 * guard takes the process's SIGINT listeners away for each slice and puts them back after it, and
 * beside a busy worker thread a test's Ctrl-C was lost (the run went on to the end) in 3 runs of 3,
 * and killed the process in 1 of 5 more. The caller lets stop signals in between slices (they last
 * ~40 ms); one that came while a step never returned is heard once the bound has ended the slice.
 */
export function timedSlice<T>(f: () => T, boundMs: number, deadline: number): T {
  const ms = deadline === Infinity ? boundMs : Math.min(boundMs, Math.max(0, deadline - Date.now()) + DEADLINE_GRACE_MS);
  const g = globalThis as unknown as Record<symbol, (() => T) | undefined>;
  g[TIMED] = f;
  try {
    return timedRunner.runInThisContext({ timeout: Math.max(1, Math.min(0x7fffffff, Math.round(ms))) }) as T;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    throw new SliceInterrupted({ kind: Date.now() >= deadline ? 'deadline' : 'stuck', slot: 0 });
  } finally {
    g[TIMED] = undefined;
  }
}
