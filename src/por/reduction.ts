// Partial-order reduction: which threads to expand in a state. Owns the footprint rules it rests on
// (which words are a thread's own), the cycle proviso, and the detection of a model that breaks them.
// The explorers (DFS, BFS, parallel) ask select() for a state's expansion and know nothing else of it.
//
// Soundness argument.
//
// Words. A thread's *private* words are its pc and its declared locals (not cells: a cell is a handle
// kernel code may pass around). Every other word is shared (globals, the per-thread fields kernel
// primitives keep, such as rcu_nesting, which other threads' primitives read through `me.all`).
//
// Local steps. Steps record every word they read or write (the views' note()). A step run in state s
// by thread t is *local* if every word it touched is private to t. A step depends only on the values
// it reads, so t's next step is local in s iff it is local in every state with t's private words as
// in s: whether t is "local-ready" (every alternative of its step local, one enabled) is a function of
// t's private words alone.
//
// Independence. Nobody but t touches t's private words (checked, below), so a local step of t commutes
// with every step of every other thread, in every state: it neither reads what they write nor writes
// what they read, and cannot enable or disable them, nor they it. {t's enabled alternatives} is then
// a persistent set (C1). It is not empty when t is local-ready (C0).
//
// Visibility (C2). A local step changes only t's private words. A property that reads any private word
// makes that word shared (below), so a local step never changes a property's value.
//
// Cycles (C3). select() picks t only if the closure of t's local steps from its current private state
// (every state t reaches by local steps alone, following every alternative) has no cycle. Suppose a
// cycle of states each expanded by select() to one thread's local steps. A thread u that moves in it
// moves only by local steps, and no other thread changes u's private words, so u's private state runs
// round a cycle of its local closure: but then select() would not have picked u where it first moved.
// So every cycle of the reduced graph has a fully expanded state: no transition is ignored forever.
//
// With C0-C3 the reduced graph keeps every reachable terminal state (deadlocks, `final` properties)
// and every reachable value of what the properties read (`always` and `sometimes` exactly).
//
// Merging (SPIN's statement merging, generalised). A state select() reduces is not stored: the search
// walks through it to the states where no thread is local-ready, and stores those. Walks end: each
// step of one is a local step of a local-ready thread, whose closure is acyclic and finite, and no
// other thread's private state changes meanwhile. Every decision above is a function of the state
// alone (never of the order of the search), so DFS, BFS and any number of workers store the same states.
//
// Checks. The argument needs that no step of thread u touches a private word of t != u, and that no
// property reads a private word. The engine checks both on every step it runs and every property
// evaluation (owner map below). A breach makes the word shared for good (a dependency, not an error)
// and throws ReductionWidened: the search is thrown away and started again with the wider map. A
// breach possible in the full state graph shows in the reduced one: up to the first step that touches
// a foreign private word, the reduced graph has a path equivalent to any full path (everything
// before it was independent as assumed), and that step reads the word before anything can depend on
// it, so it is run, and caught, there too.

import type { CompiledModel } from '../model/compile.ts';

/**
 * What the reduction needs of the engine that runs steps (the explorer's Engine is one): run a step in
 * place or into a buffer, recording the words it touched, and read a thread's pc and step count.
 */
export interface StepRunner {
  readonly W: number;
  readonly T: number;
  readonly cm: CompiledModel;
  alts(a: Int32Array, off: number, tid: number): number;
  pc(a: Int32Array, off: number, tid: number): number;
  successor(src: Int32Array, off: number, tid: number, alt: number, out: Int32Array, hi?: number, lo?: number, outOff?: number): boolean;
  tryInPlace(buf: Int32Array, off: number, tid: number, alt: number, hi: number, lo: number): boolean;
  settle(buf: Int32Array, off: number, next: number, keep: boolean): void;
  readonly touched: Int32Array;
  readonly touchedCount: number;
}

/** A step or a property touched a word the reduction took as another thread's own: start again. */
export class ReductionWidened extends Error {
  constructor(
    readonly words: readonly number[],
    why: string,
  ) {
    super(why);
  }
}

/**
 * The words among rec[0..n) private to a thread other than tid (tid -1: to any thread), each once, or
 * null: what a step of tid (or a property) must not have touched.
 */
export function foreignWords(owner: Int8Array, rec: Int32Array, n: number, tid: number): number[] | null {
  let bad: number[] | null = null;
  for (let i = 0; i < n; i++) {
    const o = owner[rec[i]!]!;
    if (o >= 0 && o !== tid && !bad?.includes(rec[i]!)) (bad ??= []).push(rec[i]!);
  }
  return bad;
}

/** words of footprint recorded per step run by the reduction */
const REC = 4096;

/** Why select() expanded a state fully. */
export const WHY_NO_LOCAL = 0;
export const WHY_CYCLE = 1;
/** a thread's step would be local but for words of its own a property (or another thread) reads */
export const WHY_VISIBLE = 2;

export class Reduction {
  /** per word: the thread it is private to, or -1 */
  readonly owner: Int8Array;
  /** per word: the thread whose declared local (or pc) it is, widened or not, or -1 */
  private readonly home: Int8Array;
  /** set by localReady(): a -1 answer came only from words of the thread's own that were widened */
  private visibleOnly = false;
  /** per thread: offsets of its private words (pc first) */
  private readonly privOffs: Int32Array[];
  /** per thread, per pc: once alternative 0's first touched word was seen not the thread's own (then never local): 1 shared, 2 its own but widened */
  private readonly firstShared: Uint8Array[];
  /** per thread: closure results keyed by the thread's private words (see Closures) */
  private readonly closures: Closures[];
  private readonly rec = new Int32Array(REC);
  /** scratch states for closure walks: one per walk depth */
  private walkBuf: Int32Array;
  private walkAlt: Int32Array;
  /** why the last select() that returned -1 did so */
  why = WHY_NO_LOCAL;

  constructor(private readonly engine: StepRunner) {
    const cm = engine.cm;
    this.owner = new Int8Array(engine.W).fill(-1);
    this.privOffs = cm.threads.map((t) => {
      const offs: number[] = [t.pcOff];
      const prefix = `${t.name}.`;
      for (const leaf of cm.leaves) {
        if (!leaf.path.startsWith(prefix) || leaf.tag !== undefined || leaf.off === t.pcOff) continue;
        const field = leaf.path.slice(prefix.length).split(/[.[]/)[0]!;
        if (t.locals.has(field)) offs.push(leaf.off);
      }
      for (const o of offs) this.owner[o] = t.tid;
      return Int32Array.from(offs);
    });
    this.home = Int8Array.from(this.owner);
    this.firstShared = cm.threads.map((t) => new Uint8Array(t.labels.length));
    this.closures = this.privOffs.map((p) => new Closures(p.length));
    this.walkBuf = new Int32Array(16 * engine.W);
    this.walkAlt = new Int32Array(16);
  }

  /** Makes `words` shared (a step or property touched them across threads); monotone. */
  widen(words: readonly number[]): void {
    let changed = false;
    for (const w of words) {
      if (this.owner[w] !== -1) {
        this.owner[w] = -1;
        changed = true;
      }
    }
    if (!changed) return;
    // drop every learnt fact: they were learnt under the narrower map
    for (const f of this.firstShared) f.fill(0);
    for (let t = 0; t < this.privOffs.length; t++) {
      this.privOffs[t] = Int32Array.from(Array.from(this.privOffs[t]!).filter((o) => this.owner[o] === t));
      this.closures[t] = new Closures(this.privOffs[t]!.length);
    }
  }

  /** Words made shared so far by widen() (for worker threads, which start from the declared map). */
  widened(): number[] {
    const out: number[] = [];
    const cm = this.engine.cm;
    for (const t of cm.threads) {
      const prefix = `${t.name}.`;
      for (const leaf of cm.leaves) {
        if (!leaf.path.startsWith(prefix) || leaf.tag !== undefined) continue;
        const field = leaf.path.slice(prefix.length).split(/[.[]/)[0]!;
        if ((leaf.off === t.pcOff || t.locals.has(field)) && this.owner[leaf.off] !== t.tid) out.push(leaf.off);
      }
    }
    return out;
  }

  /**
   * The thread whose enabled alternatives are the state's expansion (a local-ready thread with an
   * acyclic local closure; the lowest tid), or -1 to expand every thread (`why` says why). Runs steps
   * in place at buf[off..] and leaves the state as it found it. (phi, plo): the state's fingerprint.
   */
  select(buf: Int32Array, off: number, phi: number, plo: number): number {
    const e = this.engine;
    let cyclic = false;
    let visible = false;
    for (let t = 0; t < e.T; t++) {
      const pc = e.pc(buf, off, t);
      if (pc < 0) continue;
      const fs = this.firstShared[t]![pc]!;
      if (fs !== 0) {
        visible ||= fs === 2;
        continue;
      }
      const r = this.localReady(buf, off, t, pc, phi, plo, true);
      if (r !== 1) {
        visible ||= r < 0 && this.visibleOnly;
        continue;
      }
      if (this.acyclic(buf, off, t)) return t;
      cyclic = true;
    }
    this.why = cyclic ? WHY_CYCLE : visible ? WHY_VISIBLE : WHY_NO_LOCAL;
    return -1;
  }

  /**
   * 1 if thread t (at pc) is local-ready in buf[off..]: every alternative touches only t's private
   * words and one is enabled; 0 if every alternative is local but none enabled; -1 otherwise. In place
   * through the engine's memos (`inPlace`), or by successor() into walk scratch otherwise.
   */
  private localReady(buf: Int32Array, off: number, t: number, pc: number, phi: number, plo: number, inPlace: boolean): number {
    const e = this.engine;
    const owner = this.owner;
    const n = e.alts(buf, off, t);
    let enabled = false;
    let own = false;
    for (let alt = 0; alt < n; alt++) {
      let ok: boolean;
      let rec: Int32Array;
      let rn: number;
      if (inPlace) {
        ok = e.tryInPlace(buf, off, t, alt, phi, plo);
        rec = e.touched;
        rn = e.touchedCount;
        if (ok) e.settle(buf, off, 0, false);
      } else {
        ok = this.runInto(buf, off, t, alt, this.scratchOut());
        rec = this.rec;
        rn = this.recN;
      }
      if (alt === 0 && rn > 0 && owner[rec[0]!] !== t) this.firstShared[t]![pc] = this.home[rec[0]!] === t ? 2 : 1;
      if (rn > rec.length) {
        this.visibleOnly = false;
        return -1;
      }
      for (let i = 0; i < rn; i++) {
        const w = rec[i]!;
        if (owner[w] === t) continue;
        if (this.home[w] !== t) {
          this.visibleOnly = false;
          return -1;
        }
        own = true;
      }
      enabled ||= ok;
    }
    if (own) {
      // local but for words of t's own that something else reads
      this.visibleOnly = true;
      return -1;
    }
    return enabled ? 1 : 0;
  }

  private recN = 0;
  private out: Int32Array | null = null;
  private scratchOut(): Int32Array {
    return (this.out ??= new Int32Array(this.engine.W));
  }

  /** Runs (t, alt) from src[off..] into out, recording what it touched in this.rec. */
  private runInto(src: Int32Array, off: number, t: number, alt: number, out: Int32Array, outOff = 0): boolean {
    const e = this.engine;
    const h = e.cm.holder;
    h.rec = this.rec;
    h.rn = 0;
    let ok: boolean;
    try {
      ok = e.successor(src, off, t, alt, out, 0, 0, outOff);
      this.recN = h.rn;
    } finally {
      h.rec = null;
    }
    return ok;
  }

  /** Whether thread t's local closure from buf[off..] has no cycle (cached by t's private words). */
  private acyclic(buf: Int32Array, off: number, t: number): boolean {
    const c = this.closures[t]!;
    const offs = this.privOffs[t]!;
    const hit = c.get(buf, off, offs);
    if (hit !== 0) return hit === 1;
    const r = this.walk(buf, off, t);
    c.put(buf, off, offs, r ? 1 : 2);
    return r;
  }

  /**
   * Depth-first over the states thread t reaches from buf[off..] by local steps alone (others frozen):
   * false if it meets a state whose private words equal those of one on its current path.
   */
  private walk(buf: Int32Array, off: number, t: number): boolean {
    const e = this.engine;
    const W = e.W;
    const offs = this.privOffs[t]!;
    let d = 0;
    this.ensureWalk(1);
    this.walkBuf.set(buf.subarray(off, off + W), 0);
    this.walkAlt[0] = 0;
    while (d >= 0) {
      const alt = this.walkAlt[d]!;
      const base = d * W;
      if (alt >= e.alts(this.walkBuf, base, t)) {
        d--;
        continue;
      }
      this.walkAlt[d] = alt + 1;
      this.ensureWalk(d + 2);
      const wb = this.walkBuf;
      const nb = base + W;
      if (!this.runInto(wb, base, t, alt, wb, nb)) continue;
      // a successor whose private words are those of a state on the path closes a cycle
      for (let k = 0; k <= d; k++) {
        let same = true;
        for (let j = 0; j < offs.length && same; j++) same = wb[k * W + offs[j]!] === wb[nb + offs[j]!];
        if (same) return false;
      }
      const pc = e.pc(wb, nb, t);
      if (pc < 0 || this.firstShared[t]![pc]) continue;
      // known from an earlier walk: acyclic below, nothing more to look at
      const known = this.closures[t]!.get(wb, nb, offs);
      if (known === 1) continue;
      if (known === 2) return false;
      if (this.localReady(wb, nb, t, pc, 0, 0, false) !== 1) continue;
      d++;
      this.walkAlt[d] = 0;
    }
    return true;
  }

  private ensureWalk(depth: number): void {
    const W = this.engine.W;
    if (depth * W <= this.walkBuf.length && depth <= this.walkAlt.length) return;
    let n = this.walkAlt.length;
    while (n < depth) n *= 2;
    const b = new Int32Array(n * W);
    b.set(this.walkBuf);
    this.walkBuf = b;
    const a = new Int32Array(n);
    a.set(this.walkAlt);
    this.walkAlt = a;
  }
}

/**
 * An exact map from a thread's private words (P ints) to a closure result (1 acyclic, 2 cyclic), by
 * open addressing over one Int32Array: no allocation per lookup.
 */
class Closures {
  private cap = 256;
  private n = 0;
  private slots: Int32Array;

  constructor(private readonly P: number) {
    this.slots = new Int32Array(this.cap * (P + 1));
  }

  private hash(a: Int32Array, off: number, offs: Int32Array): number {
    let h = 0x811c9dc5;
    for (let j = 0; j < offs.length; j++) h = Math.imul(h ^ a[off + offs[j]!]!, 0x01000193);
    return (h ^ (h >>> 15)) >>> 0;
  }

  /** 0 absent, else the stored result */
  get(a: Int32Array, off: number, offs: Int32Array): number {
    const P = this.P;
    const S = P + 1;
    let i = this.hash(a, off, offs) % this.cap;
    for (;;) {
      const r = this.slots[i * S + P]!;
      if (r === 0) return 0;
      let same = true;
      for (let j = 0; j < P && same; j++) same = this.slots[i * S + j] === a[off + offs[j]!];
      if (same) return r;
      if (++i === this.cap) i = 0;
    }
  }

  put(a: Int32Array, off: number, offs: Int32Array, r: number): void {
    if (2 * (this.n + 1) > this.cap) this.grow();
    const P = this.P;
    const S = P + 1;
    let i = this.hash(a, off, offs) % this.cap;
    while (this.slots[i * S + P] !== 0) if (++i === this.cap) i = 0;
    for (let j = 0; j < P; j++) this.slots[i * S + j] = a[off + offs[j]!]!;
    this.slots[i * S + P] = r;
    this.n++;
  }

  private grow(): void {
    const P = this.P;
    const S = P + 1;
    const old = this.slots;
    const oldCap = this.cap;
    this.cap *= 2;
    this.slots = new Int32Array(this.cap * S);
    const key = new Int32Array(P);
    const idx = Int32Array.from({ length: P }, (_, j) => j);
    for (let i = 0; i < oldCap; i++) {
      const r = old[i * S + P]!;
      if (r === 0) continue;
      for (let j = 0; j < P; j++) key[j] = old[i * S + j]!;
      let k = this.hash(key, 0, idx) % this.cap;
      while (this.slots[k * S + P] !== 0) if (++k === this.cap) k = 0;
      this.slots.set(old.subarray(i * S, i * S + S), k * S);
    }
  }
}
