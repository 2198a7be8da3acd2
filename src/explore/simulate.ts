// Seeded random walks over a model (simulation), plain or swarm: for configurations too big to exhaust.
// Uses the engine's one successor function; never allocates per step; never claims that anything holds.

import type { Engine } from './engine.ts';
import { FingerprintSet } from '../state/fpset.ts';
import { fullFingerprint } from '../state/zobrist.ts';
import { encodeChoice } from '../trace/path.ts';
import { pulse } from './watchdog.ts';

/**
 * xoshiro128** seeded through splitmix32: small, fast, and ours, so a seed means the same walks on
 * every machine and Node version (Math.random cannot be seeded).
 */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** Seeds from up to three 32-bit words (the run's seed, split in two, and the walk's index). */
  seed(x: number, y: number, z: number): void {
    let s = x ^ Math.imul(y, 0x9e3779b1) ^ Math.imul(z, 0x85ebca77);
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let t = s ^ (s >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return t ^ (t >>> 15);
    };
    s ^= mix() ^ y;
    this.a = mix();
    this.b = mix() ^ z;
    this.c = mix();
    this.d = mix();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export interface SimulateOptions {
  /** the run's seed (a non-negative integer below 2^53) */
  readonly seed: number;
  /** number of walks (Infinity: until the deadline) */
  readonly walks: number;
  /** the first walk's index (a seed range split over several jobs gives each its own) */
  readonly firstWalk?: number;
  /** steps per walk at most */
  readonly maxDepth: number;
  /** wall-clock deadline (Date.now() ms), Infinity for none */
  readonly deadline: number;
  /** swarm mode: each walk draws its own thread priorities and step biases */
  readonly swarm: boolean;
  /** byte budget for the table of distinct states seen (when full, counting stops: a lower bound) */
  readonly maxTableBytes?: number;
}

export interface SimViolation {
  readonly prop: number;
  /** choices from the initial state to the state that shows it (unshrunk) */
  readonly path: readonly number[];
  /** index of the walk that found it: `--seed S` with this walk index replays it */
  readonly walk: number;
}

export type SimOutcome =
  | { readonly kind: 'running' }
  | { readonly kind: 'violation' }
  /** every walk asked for ran, none violated anything: nothing is claimed to hold */
  | { readonly kind: 'no-violation'; readonly reason: 'walks' | 'timeout' | 'interrupted' };

/**
 * The walker. Each walk restarts from the initial state with its own generator, seeded by
 * (seed, walk index), so walk i is the same whatever ran before it, and a seed range can be split
 * into jobs. At each state it picks an enabled transition at random — uniformly, or in swarm mode
 * weighted by the walk's thread priorities, alternative biases and stickiness — by sampling without
 * replacement among the offered (thread, alternative) pairs until one turns out to be enabled.
 */
export class Simulation {
  walks = 0;
  /** transitions taken over all walks */
  steps = 0;
  /** walks that reached the depth limit with something still enabled */
  truncatedWalks = 0;
  maxDepthSeen = 0;
  /** bit k: sometimes property k was seen true in some walk */
  reached = 0;
  outcome: SimOutcome = { kind: 'running' };
  violation: SimViolation | undefined;
  /** the table of distinct states filled up: `distinct` is a lower bound from then on */
  tableFull = false;

  private readonly rng = new Rng();
  private readonly seen: FingerprintSet;
  private readonly buf: Int32Array;
  private readonly choice: Int32Array;
  /** per candidate: thread, alternative, weight */
  private readonly cTid: Int32Array;
  private readonly cAlt: Int32Array;
  private readonly cW: Float64Array;
  /** per thread: swarm priority; per (thread, alternative slot): swarm bias */
  private readonly prio: Float64Array;
  private readonly bias: Float64Array;
  private readonly altBase: Int32Array;
  private stick = 1;
  /** per thread: first index of its labels in `ran` */
  private readonly labelBase: Int32Array;
  /** per (thread, label): ran at least once */
  readonly ran: Uint8Array;
  private readonly fp = { hi: 0, lo: 0 };
  private readonly seedLo: number;
  private readonly seedHi: number;
  /** index of the walk to run next, and of the first not to run */
  private nextWalk: number;
  private readonly end: number;
  private aborted = false;
  /** depth of the state the walk under way is at (the choices before it are its path) */
  private at = 0;

  constructor(
    readonly engine: Engine,
    readonly opts: SimulateOptions,
  ) {
    const cm = engine.cm;
    const T = engine.T;
    this.seedLo = opts.seed % 4294967296 | 0;
    this.seedHi = Math.floor(opts.seed / 4294967296) | 0;
    const first = opts.firstWalk ?? 0;
    this.nextWalk = first;
    this.end = first + opts.walks;
    this.seen = new FingerprintSet(1 << 14, opts.maxTableBytes ?? 2 ** 30);
    this.buf = new Int32Array(2 * engine.W);
    this.choice = new Int32Array(Number.isFinite(opts.maxDepth) ? opts.maxDepth : 1 << 16);
    let maxAlts = 1;
    const altBase = new Int32Array(T);
    let slots = 0;
    cm.threads.forEach((t, i) => {
      const m = Math.max(1, ...t.alts);
      altBase[i] = slots;
      slots += m;
      maxAlts = Math.max(maxAlts, m);
    });
    this.altBase = altBase;
    this.cTid = new Int32Array(T * maxAlts);
    this.cAlt = new Int32Array(T * maxAlts);
    this.cW = new Float64Array(T * maxAlts);
    this.prio = new Float64Array(T).fill(1);
    this.bias = new Float64Array(slots).fill(1);
    this.labelBase = new Int32Array(T);
    let labels = 0;
    cm.threads.forEach((t, i) => {
      this.labelBase[i] = labels;
      labels += t.labels.length;
    });
    this.ran = new Uint8Array(labels);
  }

  /** Distinct states seen over all walks (fingerprints; a lower bound once the table is full). */
  get distinct(): number {
    return this.seen.size;
  }

  abort(): void {
    this.aborted = true;
  }

  /** The choices of the walk under way up to the state it is at (to name a step that never returns). */
  walkPath(): number[] {
    return Array.from(this.choice.subarray(0, this.at));
  }

  /**
   * The slice was interrupted mid-step (the watchdog): the simulation ends with what it has, as `reason`.
   * It cannot go on: the step was cut short.
   */
  interrupted(reason: 'timeout' | 'interrupted'): void {
    const h = this.engine.cm.holder;
    h.undo = null;
    h.rec = null;
    this.aborted = true;
    this.stop(reason);
  }

  /** Runs about `budget` steps' worth of walks. True when the simulation has ended. */
  run(budget: number): boolean {
    if (this.outcome.kind !== 'running') return true;
    let spent = 0;
    while (spent < budget) {
      if (this.aborted) return this.stop('interrupted');
      if (this.opts.deadline !== Infinity && Date.now() >= this.opts.deadline) return this.stop('timeout');
      if (this.nextWalk >= this.end) return this.stop('walks');
      const before = this.steps;
      pulse(); // progress, for the watchdog
      this.walk(this.nextWalk);
      spent += this.steps - before + 1;
      this.nextWalk++;
      this.walks++;
      if (this.violation) {
        this.outcome = { kind: 'violation' };
        return true;
      }
    }
    return false;
  }

  private stop(reason: 'walks' | 'timeout' | 'interrupted'): boolean {
    this.outcome = { kind: 'no-violation', reason };
    return true;
  }

  /** Draws the walk's swarm configuration: thread priorities, alternative biases, stickiness. */
  private configure(): void {
    const rng = this.rng;
    const prio = this.prio;
    const bias = this.bias;
    // priorities spread over three orders of magnitude, so some threads run mostly first and some
    // mostly last; biases make one alternative of a choice dominate; stickiness sets how often the
    // thread that just ran keeps the CPU (few context switches find the races of a few preemptions)
    for (let t = 0; t < prio.length; t++) prio[t] = 2 ** (rng.float() * 10);
    for (let k = 0; k < bias.length; k++) bias[k] = 2 ** (rng.float() * 6);
    this.stick = 2 ** (rng.float() * 8 - 2);
  }

  /** One walk, from the initial state to a terminal state, the depth limit or a violation. */
  private walk(index: number): void {
    const e = this.engine;
    const W = e.W;
    const T = e.T;
    const rng = this.rng;
    rng.seed(this.seedLo ^ index, this.seedHi, index);
    const swarm = this.opts.swarm;
    if (swarm) this.configure();
    const buf = this.buf;
    buf.set(e.cm.init, 0);
    let off = 0;
    fullFingerprint(buf, 0, W, this.fp);
    let hi = this.fp.hi;
    let lo = this.fp.lo;
    this.note(hi, lo);
    this.at = 0;
    const cTid = this.cTid;
    const cAlt = this.cAlt;
    const cW = this.cW;
    const ran = this.ran;
    const labelBase = this.labelBase;
    if (this.record(e.check(buf, this.pendingSometimes(), off), 0)) return;
    let last = -1;
    const maxDepth = this.choice.length;
    for (let depth = 0; ; depth++) {
      this.at = depth;
      if ((depth & 1023) === 1023) pulse(); // a long walk is progress too
      // the (thread, alternative) pairs offered here, with their weights
      let n = 0;
      let total = 0;
      for (let t = 0; t < T; t++) {
        const na = e.alts(buf, off, t);
        for (let a = 0; a < na; a++) {
          let w = 1;
          if (swarm) {
            w = this.prio[t]! * this.bias[this.altBase[t]! + a]!;
            if (t === last) w *= this.stick;
          }
          cTid[n] = t;
          cAlt[n] = a;
          cW[n] = w;
          total += w;
          n++;
        }
      }
      // sample without replacement until an enabled one turns up
      let found = -1;
      while (n > 0) {
        let r = rng.float() * total;
        let i = 0;
        if (swarm) {
          while (i < n - 1 && r >= cW[i]!) r -= cW[i++]!;
        } else {
          i = Math.min(n - 1, Math.floor(r));
        }
        const t = cTid[i]!;
        const a = cAlt[i]!;
        const pc = e.pc(buf, off, t);
        if (e.tryInPlace(buf, off, t, a, hi, lo)) {
          found = i;
          ran[labelBase[t]! + pc] = 1;
          break;
        }
        total -= cW[i]!;
        n--;
        cTid[i] = cTid[n]!;
        cAlt[i] = cAlt[n]!;
        cW[i] = cW[n]!;
        if (total <= 0 && n > 0) {
          // rounding: recompute the remaining weight
          total = 0;
          for (let j = 0; j < n; j++) total += cW[j]!;
        }
      }
      if (found < 0) {
        // nothing enabled: a terminal state (deadlock or the end of the run)
        const m = e.terminal(buf, off);
        this.record(m, depth);
        return;
      }
      if (depth >= maxDepth) {
        const next0 = off === 0 ? W : 0;
        e.settle(buf, off, next0, false);
        this.truncatedWalks++;
        return;
      }
      const t = cTid[found]!;
      this.choice[depth] = encodeChoice(t, cAlt[found]!);
      hi = e.hi;
      lo = e.lo;
      const next = off === 0 ? W : 0;
      e.settle(buf, off, next, true);
      off = next;
      last = t;
      this.steps++;
      if (depth + 1 > this.maxDepthSeen) this.maxDepthSeen = depth + 1;
      this.note(hi, lo);
      if (this.record(e.check(buf, this.pendingSometimes(), off), depth + 1)) return;
    }
  }

  private note(hi: number, lo: number): void {
    if (this.tableFull) return;
    if (this.seen.insertIfAbsent(hi, lo) < 0) this.tableFull = true;
  }

  private pendingSometimes(): number {
    return this.engine.sometimesMask & ~this.reached;
  }

  /** Records what mask m (from check or terminal) shows at `depth`. True if it is a violation. */
  private record(m: number, depth: number): boolean {
    if (m === 0) return false;
    const e = this.engine;
    let violated = -1;
    for (let k = 0; k < e.props.length; k++) {
      if (!(m & (1 << k))) continue;
      if (e.props[k]!.kind === 'sometimes') this.reached |= 1 << k;
      else if (violated < 0) violated = k;
    }
    if (violated < 0) return false;
    this.violation = { prop: violated, path: Array.from(this.choice.subarray(0, depth)), walk: this.nextWalk };
    return true;
  }

  /** Labels no walk ever ran, per thread group (a label counts as run if any instance ran it). */
  unreached(): { readonly group: string; readonly label: string }[] {
    const cm = this.engine.cm;
    const out: { group: string; label: string }[] = [];
    const groups = new Map<string, number[]>();
    for (const t of cm.threads) {
      const g = groups.get(t.group);
      if (g) g.push(t.tid);
      else groups.set(t.group, [t.tid]);
    }
    for (const [group, tids] of groups) {
      const th = cm.threads[tids[0]!]!;
      th.labels.forEach((label, pc) => {
        if (!tids.some((t) => this.ran[this.labelBase[t]! + pc] === 1)) out.push({ group, label });
      });
    }
    return out;
  }
}
