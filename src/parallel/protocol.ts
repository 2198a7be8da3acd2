// The versioned messages between the coordinator and its workers.

export const PROTOCOL_VERSION = 7;

/** How a worker finds and builds the model instance (it imports the same files by path). */
export interface ModelRef {
  readonly modelPath: string;
  readonly specPath: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, number>>;
  /** a variant file, when the variant comes from one */
  readonly variantFile?: string;
  /** derive thread futures when compiling (verify does by default, --no-derive-futures not; src/por/derive-futures.ts): they decide what the reduction stores */
  readonly deriveFutures?: boolean;
  /**
   * the coordinating thread's derivation, as data (src/por/derived-entry.ts): a worker checks it against
   * the model it compiled and uses it instead of deriving again; one that does not fit is derived
   */
  readonly derived?: string;
}

export interface UnitMsg {
  readonly state: Int32Array;
  readonly path: readonly number[];
  readonly tid: number;
  readonly alt: number;
  readonly any: boolean;
  readonly hi: number;
  readonly lo: number;
}

/** Control words in a shared Int32Array. */
export const CTL_STOP = 0; // 1: stop now (violation found elsewhere, interrupted, limit)
export const CTL_PAUSE = 1; // 1: return your frontier soon (the table is about to grow)
/**
 * 1: a worker is idle and nothing is queued: the first task that takes the word back to 0 (by
 * compareExchange) returns what it has not explored yet, for the coordinator to split
 */
export const CTL_HUNGRY = 2;
/** search tasks a pool thread has returned, counted up (the coordinator's own task yields to them) */
export const CTL_RETURNED = 3;
export const CTL_WORDS = 4;

export interface TaskMsg {
  readonly v: typeof PROTOCOL_VERSION;
  readonly model: ModelRef;
  readonly table: SharedArrayBuffer;
  readonly ctl: SharedArrayBuffer;
  readonly units: readonly UnitMsg[];
  /** explore about this many new states, then hand back the rest */
  readonly budget: number;
  readonly maxDepth: number;
  /** store at most this many new states: the task's share of --max-states (stop 'max-states' when it is used up) */
  readonly maxStates: number;
  readonly deadline: number;
  readonly stopAtFirst: boolean;
  readonly symmetry: boolean;
  readonly por: boolean;
  readonly sleep: boolean;
  /**
   * not a search: copy part `part` of `parts` of the fingerprints of table `from` into `table` (the
   * table grows, every worker copying its part; no search runs meanwhile)
   */
  readonly copy?: { readonly from: SharedArrayBuffer; readonly part: number; readonly parts: number };
  /**
   * before the task (a warm-up one, with no units): touch part `part` of `parts` of `table`'s pages,
   * which is empty and not yet used, so that the hand-off and the search do not pay their first use
   */
  readonly touch?: { readonly part: number; readonly parts: number };
  /** the watchdog's shared memory and this task's heartbeat slot in it (src/explore/watchdog.ts) */
  readonly watch?: { readonly memory: SharedArrayBuffer; readonly slot: number; readonly seconds: number };
  /** words the reduction has made shared since the model was compiled (src/por/reduction.ts) */
  readonly porShared: readonly number[];
}

export type StopKind = 'done' | 'budget' | 'split' | 'stopped' | 'memory' | 'timeout' | 'max-states';

export interface ResultMsg {
  readonly v: typeof PROTOCOL_VERSION;
  readonly states: number;
  readonly transitions: number;
  readonly replayed: number;
  readonly merged: number;
  readonly mergedShared: number;
  readonly fullNoLocal: number;
  readonly fullCycle: number;
  /** stored states fully expanded because a thread's own words it would step on are read elsewhere */
  readonly fullVisible: number;
  readonly maxDepth: number;
  readonly truncated: boolean;
  readonly discoveries: readonly { readonly prop: number; readonly path: readonly number[] }[];
  readonly frontier: readonly UnitMsg[];
  /** transitions taken per (thread, label), as Search.coverage */
  readonly coverage: readonly number[];
  readonly stop: StopKind;
  /** a model error in a step (reported as such, not as a crash) */
  readonly modelError?: string;
  /** with declared futures: words the properties read, and shared words the reduction's chosen steps changed */
  readonly watched?: { readonly reads: readonly number[]; readonly changed: readonly number[]; readonly readsBy: readonly (readonly number[])[] };
  /** the reduction met a step or property touching another thread's private words: these, and why */
  readonly widened?: { readonly words: readonly number[]; readonly why: string };
  /** how long the task ran in the worker, in ms */
  readonly ms: number;
  /** when it started (performance.timeOrigin + performance.now(), ms), on which thread (worker_threads threadId) */
  readonly at: number;
  readonly thread: number;
  /** the worker thread's CPU time and run-queue wait during the task (Linux only) */
  readonly cpuMs?: number;
  readonly waitMs?: number;
}
