// Partial-order reduction: which threads to expand in a state. Owns the footprint rules it rests on
// (which words are a thread's own, which shared words declared futures make safe), the cycle proviso,
// and the detection of a model that breaks them.
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
//
// Declared futures (a model that declares some; model.ts FutureDecl). Thread u at label L may, from L
// on, touch only Rd(u, L) and change only Wr(u, L) (besides its private words), and every label it
// moves to has a future within L's: futures are monotone along every path. A finished thread has none;
// a label without a declaration is unrestricted (Rd = Wr = every word). The engine checks every step
// it runs against this (src/por/footprint-check.ts; a breach is a model error, never a reduction).
//
// Shared-safe steps. A word w that t's step touches and that is not t's private word is *shared-safe*
// in s if w is outside Wr(u, pc_u) of every other live thread u, and, if the step changes w, also
// outside Rd(u, pc_u) of every such u and outside the visible set V. t is *ready* in s if every
// alternative of its step (blocked ones included: their reads, and stores, are recorded too) touches
// only private or shared-safe words, and one is enabled. Whether t is ready is a function of s and V:
// of the words t's step reads, and the other threads' pcs. (A reject memo answers "not ready" without
// running the step where the words it touched before the offending word, or all of them, hold the
// values they held when it was last found not ready at that pc: a deterministic step then touches,
// and changes, the same words, so the answer is the one running it gives; the offending word's
// safety is judged anew against the futures of the moment.)
//
// Accept memo. Where t's step was last found ready (or ready with nothing enabled) at pc, the memo
// keeps every word any alternative touched (blocked ones included) with its value, and per
// alternative: whether it was enabled, the words it touched, and the words it changed with their new
// values, in the order the run judged them. It is kept only when every alternative ran, each record
// whole (none cut short), and every list fits. In a state where t is at pc and those words hold those
// values, each alternative reads what it read then (a step is deterministic and reads only through
// the views, which record every read), so it takes the same path: blocks or not alike, touches the
// same words, stores the same values. readyFut() then judges those words as running the step would,
// in the same order and against the futures and the visible set of the moment (the safety of each
// word not t's own, asked afresh; whether a word is t's own is fixed until the owner map widens,
// which drops the memo): the same answer, and the same side facts (words seen shared, words changed,
// visibility, dead ends, the latter by applying the changes in place and undoing them). The closure
// walk takes a state's successors from the entry that holds there, for the same reason: the changes
// applied to the state are the successor the step builds. A step found ready was run, and checked
// against the owner map and its future, where the entry was made; with the same pc and the same
// values it touches, it would pass the same checks here, as the engine's step memo argues too.
// Which of the two entries kept per (thread, pc) answers, and whether one does at all, changes the
// cost only: every decision is the one running the step gives, a function of the state and V.
//
// Persistence (C1). Let t be ready in s, and take any sequence of steps of the other threads from s.
// Each step of u runs at a label L' reached from pc_u, so (monotone, checked) it touches only
// Rd(u, pc_u) and changes only Wr(u, pc_u) and u's private words. So none of them changes a word t's
// step reads (shared-safe words are outside every Wr, private words are t's), and none touches a word
// t's step changes (outside every Rd). Hence t's step reads the same values after the sequence as in
// s: each alternative is enabled or blocked as in s and does the same, and it commutes with every step
// of the sequence, which reads nothing it changes. {t's enabled alternatives} is persistent in s.
//
// Visibility (C2). A property's value in a state depends only on the words it reads there (it is
// deterministic, as steps are). A shared-safe step never changes a word of V. V starts as the words
// the properties read on the initial state (and the word a bit-test property reads unrecorded), and
// before the first search a pre-pass (seedVisible) adds every word the properties read on the states
// of a fixed set of random walks from the initial state (a fixed generator and seed, a bounded number
// of steps), and every private word a step on those walks touched across threads (made shared too).
// The pre-pass is a function of the model alone, so every search order and every worker starts from
// the same V; it only makes the restart below rare. V is sound by the restart alone: a search records
// every word an `always` property reads in any state it visits, every word a `sometimes` property
// reads in any state it visits while that property is pending (not yet reached), and every shared
// word a chosen step changes; a complete search in which the changed words meet the reads of the
// `always` properties or of a `sometimes` property it never reached starts again with the words they
// share in V (ReductionWidened, counted in restarts with its reason). V only grows: restarts end. A
// `sometimes` property the search reached is settled by a real path, whatever it read; one it never
// reached was pending, so evaluated and recorded, in every state the search visited. So when a search
// ends without restarting, no chosen step changes a word that an `always` property, or an unreached
// `sometimes` one, read in any visited state. That is what the usual argument needs, property by
// property: a state z the full graph reaches, and the state z' the reduced graph reaches instead (z
// with chosen steps of threads that do not move on the way to z applied too, since they commute with
// it), agree on every word no chosen step changes, and such a property evaluated at z' reads only such
// words, so it reads the same values at z, takes the same path, and gives the same value. The sets
// compared are functions of the reduced graph (which `sometimes` properties it reaches included),
// which is a function of V: DFS, BFS and any number of workers (which hand theirs back) restart alike.
//
// Cycles (C3). Along a path, futures only shrink, so along a cycle each thread's future (and whether
// it is live) is the same in every state. Take a cycle of reduced states and a thread u that moves in
// it; u moves only where chosen, by ready steps. No other thread's step in the cycle changes a word u
// reads from then on: private-word steps change only their own thread's private words, which u never
// touches (owner map), and shared-safe ones change only words outside Rd(u, pc_u), which holds every
// word u still reads. So u's steps in the cycle read, and do, what they would with the others frozen,
// and since every thread's future is constant, u is ready at those frozen states exactly where it is
// in the cycle: u's ready closure from the state where it first moves (the walk of walkFut(), over whole
// states, others frozen) follows its steps round the cycle back to that whole state, since only u
// changes the words u changes. select() would not have chosen u there. A thread judged as without
// futures (another live thread is unrestricted, which in a cycle it stays) moves by local steps, and
// the argument above for local steps applies. So every cycle of the reduced graph has a fully
// expanded state. A closure walk is cached by the thread's private words only when it met no other
// word (then it is a function of them); otherwise it is run again. Where every enabled alternative of
// the chosen step changes the state and leads to one where the thread is finished or, by the reject
// memo (exact, above), not ready, the closure is those states alone and has no cycle: no walk is run.
// The walk compares states by their fingerprints first, then whole: equal states have equal
// fingerprints (each derived from the first state's by the changes of the steps on the way), so no
// cycle is missed; a state found in the last acyclic walk (compared the same way, whole) has an
// acyclic closure, part of that walk's; a fingerprint that is off (one handed in wrong) only misses.
//
// Breaches. The argument needs every step in the full graph to keep its declaration; the engine
// checks only the steps the reduced search runs. A breach reachable in the full graph is also met in
// the reduced one: "u's next step in s breaks its declaration at pc_u" is a property of s that no
// chosen step can change. Up to its first breach the breaking step reads only words of Rd(u, pc_u),
// which a chosen (shared-safe) step never changes, so it reads the same values, takes the same path and
// breaks the same way before and after one; a change-breach stores over an old value of Rd(u, pc_u),
// which the chosen step did not change either; a move-breach reads only declared words. Every step
// before the first breach on a shortest path to it keeps its declaration, so the persistence and
// cycle arguments above hold for that prefix, and by them (as for any state property invisible to
// chosen steps) the reduced graph reaches a state where the breaking step is enabled, and runs it.

import type { CompiledModel } from '../model/compile.ts';
import { ModelError } from '../model/errors.ts';
import { zhi, zlo } from '../state/zobrist.ts';

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
  /** the fingerprint of the state the last successor() built (given its source's) */
  readonly hi: number;
  readonly lo: number;
  /** after tryInPlace() returned true, before settle(): (word, old value) pairs of what it stored */
  readonly undoLog: Int32Array;
  readonly undoCount: number;
  /** the word a bit-test property reads unrecorded, or -1 */
  readonly bitsWord: number;
  propertyReads(a: Int32Array, off: number, rec: Int32Array): number;
  safeWatch: { readonly reads: Int32Array; readonly changed: Int32Array; readonly readsBy: readonly Int32Array[] } | null;
  /** the properties (only their number matters here) */
  readonly props: readonly unknown[];
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
const REC = 64;
/** ...with declared futures: as many as the engine checks a step's against its future */
const REC_FUT = 4096;

/** The pre-pass that seeds the visible set (seedVisible): walks, steps a walk takes at most, steps in all. */
const SEED_WALKS = 64;
const SEED_DEPTH = 1000;
const SEED_STEPS = 1 << 15;

/** the reject memo (Reduction.rejects): words remembered at most, kinds, ints per entry */
const REJ_WORDS = 12;
const REJ_READ = 1;
const REJ_CHANGE = 2;
const REJ_STRIDE = 5 + 2 * REJ_WORDS;

/**
 * the accept memo (Reduction.accepts): words touched by all alternatives together at most, alternatives,
 * per alternative the words touched and the words changed at most; ints per alternative, per entry
 */
const ACC_WORDS = 32;
const ACC_ALTS = 16;
const ACC_READS = 16;
const ACC_CHG = 12;
const ACC_ALT = 3 + ACC_READS + 2 * ACC_CHG;
const ACC_KEY = 3;
const ACC_ALT0 = ACC_KEY + 2 * ACC_WORDS;

/** Why select() expanded a state fully. */
export const WHY_NO_LOCAL = 0;
export const WHY_CYCLE = 1;
/** a thread's step would be local but for words of its own a property (or another thread) reads */
export const WHY_VISIBLE = 2;

/** select()'s cached verdicts on a thread (see Reduction.verdict); 0 is "not cached" */
const V_CHOOSE = 1;
const V_CYCLIC = 2;
const V_SKIP = 3;
const V_VISIBLE = 4;

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
  /**
   * per thread: select()'s verdict on the thread (V_CHOOSE, V_CYCLIC, V_SKIP) keyed by its private
   * words, where it is a function of them: then select() need not run the thread's step (see verdict())
   */
  private readonly verdicts: Closures[];
  /** set by localReady(): its answer is a function of the thread's private words (no widened word of its own, nor a cut-short record, decided it) */
  private lrPure = false;
  private readonly rec: Int32Array;
  /** scratch states for closure walks: one per walk depth */
  private walkBuf: Int32Array;
  private walkAlt: Int32Array;
  /** per walk depth, with futures (walkFut): the state's fingerprint, and t's accept entry that holds there (-1: none) */
  private walkHi = new Int32Array(16);
  private walkLo = new Int32Array(16);
  private walkAcc = new Int32Array(16);
  /** why the last select() that returned -1 did so */
  why = WHY_NO_LOCAL;
  /** the last select() that returned a thread chose a step touching shared words (shared-safe) */
  chosenShared = false;

  // ---- declared futures (see the header): used only when the model declares some ----
  private readonly fut: boolean;
  /** the visible words V (bitset) */
  private readonly visible: Int32Array;
  /** what the engine watches the properties' reads against (see Engine.safeWatch) */
  private readonly watch: { readonly reads: Int32Array; readonly changed: Int32Array; readonly readsBy: readonly Int32Array[] };
  /** words made visible since the start (handed to worker threads with the widened ones) */
  private readonly visibleAdded: number[] = [];
  /**
   * per thread, in the state select() is looking at: its future there, as the offset of its reads
   * (rdAt) and writes (wrAt) in futBits; -1 unrestricted, -2 not live (finished)
   */
  private readonly rdAt: Int32Array;
  private readonly wrAt: Int32Array;
  /** every declared future's bitsets, (W + 31) >> 5 ints each; per thread, per pc (at labelAt[t] + pc): the offsets of its reads and writes there, -1 none */
  private readonly futBits: Int32Array;
  private readonly rdOf: Int32Array;
  private readonly wrOf: Int32Array;
  /** per thread: its pc's offset, and where its labels start in the tables by (thread, pc) */
  private readonly pcOff: Int32Array;
  private readonly labelAt: Int32Array;
  /** per thread, per pc (at labelAt[t] + pc): its step's alternatives */
  private readonly altsAt: Int32Array;
  /** per word: the thread last found to have it in its future writes (wrBy) or reads (rdBy); 0 at first (any thread serves) */
  private readonly wrBy: Uint8Array;
  private readonly rdBy: Uint8Array;
  /** closure results of walks that met only private words (functions of the private words alone) */
  private closuresFut: Closures[];
  /** set by readyFut(): a step looked at touched a word not private to its thread */
  private sawShared = false;
  /** set by walkFut() and acyclicFut(): the closure so far met a word not private to the thread */
  private walkShared = false;
  /** the non-private words the alternatives of the thread being looked at change (handed to the watch if chosen) */
  private readonly cand = new Int32Array(REC_FUT);
  private candN = 0;
  /**
   * per thread, per pc, at (labelAt[t] + pc) * REJ_STRIDE: first, the first word alternative 0 touches
   * (-1: not known yet, -2: none; nothing is read before it, so it is the same in every state: where
   * another live thread's future may change it, and it is not the thread's own, the thread is not
   * ready, without running its step); then why its step was last found not ready there (see
   * readyFut), so that where that recurs it need not run: [kind, alt, word, n, n (word, value) pairs]. kind 0:
   * none; REJ_READ: alternative `alt` touched `word`, not safe to read, after touching the n words
   * listed with the values they had; REJ_CHANGE: it touched only the n words listed, with those values,
   * and changed `word`, not safe to change (or visible). A step reads only through the views and is
   * deterministic, so where those words hold those values it touches (and changes) the same words:
   * the memo gives readyFut's answer, as running it would (the safety of `word` is judged anew).
   */
  private readonly rejects: Int32Array;
  /**
   * per thread, per pc: what its step did the last two times readyFut() ran it in place there and
   * found it ready, or ready with nothing enabled (see the header, "accept memo"): two entries, at
   * accAt[t][pc] and accAt[t][pc] + accLen[t][pc] (accAt -1: none, the step has more than ACC_ALTS
   * alternatives), each [valid, n, k, k (word, value) pairs: every word an alternative touched, with
   * its value], then per alternative [enabled, r, r words it touched, each once, in the order it
   * first touched them, c, c (word, new value) pairs: the words it changed, in the order readyFut()
   * judges them]. Where those k words hold those values every alternative touches, and changes, the
   * same words again, so readyFut() judges them (against the futures of the moment) without running
   * the step.
   */
  private readonly accepts: Int32Array[];
  private readonly accAt: Int32Array[];
  private readonly accLen: Int32Array[];
  /** per thread, per pc: which of the two entries was last made or found to hold (0 or 1) */
  private readonly accLast: Uint8Array[];
  /** how many times readyFut() answered from an accept entry (for tests) */
  acceptHits = 0;
  /** readyFut() building an accept entry: its words (with no values yet), and whether it still fits */
  private accN = 0;
  private accFits = false;
  private readonly accOld = new Int32Array(ACC_CHG);

  constructor(private readonly engine: StepRunner) {
    const cm = engine.cm;
    this.rec = new Int32Array(cm.hasFutures ? REC_FUT : REC);
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
    this.verdicts = this.privOffs.map((p) => new Closures(p.length));
    this.walkBuf = new Int32Array(16 * engine.W);
    this.walkAlt = new Int32Array(16);
    this.fut = cm.hasFutures;
    const K = (engine.W + 31) >>> 5;
    this.visible = new Int32Array(K);
    this.watch = { reads: new Int32Array(K), changed: new Int32Array(K), readsBy: engine.props.map(() => new Int32Array(K)) };
    this.rdAt = new Int32Array(engine.T);
    this.wrAt = new Int32Array(engine.T);
    this.pcOff = Int32Array.from(cm.threads.map((t) => t.pcOff));
    this.labelAt = new Int32Array(engine.T);
    const L = cm.threads.reduce((n, t, i) => ((this.labelAt[i] = n), n + t.labels.length), 0);
    this.rdOf = new Int32Array(L).fill(-1);
    this.wrOf = new Int32Array(L).fill(-1);
    const bits: number[] = [];
    const put = (b: Int32Array | null | undefined): number => {
      if (b === null || b === undefined) return -1;
      const o = bits.length;
      for (let i = 0; i < K; i++) bits.push(b[i] ?? 0);
      return o;
    };
    cm.threads.forEach((t, i) => {
      for (let pc = 0; pc < t.labels.length; pc++) {
        this.rdOf[this.labelAt[i]! + pc] = put(t.futTouch[pc]);
        this.wrOf[this.labelAt[i]! + pc] = t.futTouch[pc] === null || t.futTouch[pc] === undefined ? -1 : put(t.futChange[pc]);
      }
    });
    this.futBits = Int32Array.from(bits);
    this.altsAt = Int32Array.from(cm.threads.flatMap((t) => t.labels.map((_, pc) => t.alts[pc]!)));
    this.wrBy = new Uint8Array(engine.W);
    this.rdBy = new Uint8Array(engine.W);
    this.closuresFut = this.privOffs.map((p) => new Closures(p.length));
    this.rejects = new Int32Array(L * REJ_STRIDE);
    for (let l = 0; l < L; l++) this.rejects[l * REJ_STRIDE] = -1;
    this.accLen = cm.threads.map((t) => Int32Array.from(t.alts, (n) => ACC_ALT0 + n * ACC_ALT));
    this.accAt = cm.threads.map((t, i) => {
      let at = 0;
      return Int32Array.from(t.alts, (n, pc) => {
        if (n > ACC_ALTS) return -1;
        const o = at;
        at += 2 * this.accLen[i]![pc]!;
        return o;
      });
    });
    this.accepts = cm.threads.map((t, i) => new Int32Array(this.accAt[i]!.reduce((m, o, pc) => (o < 0 ? m : Math.max(m, o + 2 * this.accLen[i]![pc]!)), 0)));
    this.accLast = cm.threads.map((t) => new Uint8Array(t.labels.length));
    if (this.fut) {
      // V starts as what the properties read on the initial state (and the bit-test word, read unrecorded)
      const n = engine.propertyReads(cm.init, 0, this.rec);
      if (n > this.rec.length) this.visible.fill(-1);
      for (let i = 0; i < Math.min(n, this.rec.length); i++) setBit(this.visible, this.rec[i]!);
      if (engine.bitsWord >= 0) setBit(this.visible, engine.bitsWord);
    }
  }

  /**
   * Seeds V before the first search of a model with declared futures (see the header, C2): every
   * word the properties read on the states of SEED_WALKS random walks from the initial state (a fixed
   * generator and seed: a function of the model alone), and every word a step run on the way touched
   * that is private to another thread, become visible (and shared). The restart stays the safety net:
   * this only makes it rare. A walk ends in a terminal state, at SEED_DEPTH steps, or when the pre-pass
   * has run SEED_STEPS steps; an error (a breach of a declaration, say) ends the pre-pass, and the
   * search meets it and reports it itself. Returns the words it added.
   */
  seedVisible(): number[] {
    if (!this.fut) return [];
    const e = this.engine;
    const W = e.W;
    const cm = e.cm;
    const cur = new Int32Array(W);
    const next = new Int32Array(W);
    const read = new Uint8Array(W);
    const props = new Int32Array(REC_FUT);
    const cands: number[] = [];
    let x = 0x2545f491; // xorshift32
    const below = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    let steps = 0;
    const path = this.seedPath;
    try {
      for (let walk = 0; walk < SEED_WALKS && steps < SEED_STEPS; walk++) {
        cur.set(cm.init);
        path.length = 0;
        for (let d = 0; ; d++) {
          const n = e.propertyReads(cur, 0, props);
          for (let i = 0; i < Math.min(n, props.length); i++) read[props[i]!] = 1;
          if (d >= SEED_DEPTH || steps >= SEED_STEPS) break;
          cands.length = 0;
          for (let t = 0; t < e.T; t++) {
            if (e.pc(cur, 0, t) < 0) continue;
            const k = e.alts(cur, 0, t);
            for (let alt = 0; alt < k; alt++) cands.push(t, alt);
          }
          // an enabled (thread, alternative), uniformly: draw without replacement until one runs
          let moved = false;
          while (cands.length > 0 && !moved) {
            const i = 2 * below(cands.length >> 1);
            const t = cands[i]!;
            const alt = cands[i + 1]!;
            cands[i] = cands[cands.length - 2]!;
            cands[i + 1] = cands[cands.length - 1]!;
            cands.length -= 2;
            moved = this.runInto(cur, 0, t, alt, next);
            steps++;
            if (moved) path.push(t, alt);
            for (let j = 0; j < Math.min(this.recN, this.rec.length); j++) {
              const w = this.rec[j]!;
              if (this.owner[w] >= 0 && this.owner[w] !== t) read[w] = 1;
            }
          }
          if (!moved) break;
          cur.set(next);
        }
      }
    } catch (e) {
      // a model error: what was found so far stands; the search runs that step again and reports it
      if (!(e instanceof ModelError)) throw e;
    }
    const words: number[] = [];
    for (let w = 0; w < W; w++) if (read[w] && !hasBit(this.visible, w)) words.push(w);
    if (words.length > 0) this.widen(words);
    return words;
  }

  /** the current walk of the pre-pass, as (thread, alternative) pairs (to name a step that never returns) */
  private readonly seedPath: number[] = [];
  seedWalk(): readonly number[] {
    return this.seedPath;
  }

  /**
   * Called by each new search: tells the engine what to watch the properties' reads against (nothing,
   * without declared futures).
   */
  startSearch(): void {
    this.engine.safeWatch = this.fut ? this.watch : null;
  }

  /**
   * The words both read in some state of the search by an `always` property, or by a `sometimes` one
   * outside `reached` (bit k: property k was reached), and changed by a step chosen in some state (see
   * the header, C2); forgets the sets: a complete search that found any must start again with them visible.
   */
  takeConflicts(reached: number): number[] {
    const { reads, changed, readsBy } = this.watch;
    const out: number[] = [];
    for (let i = 0; i < reads.length; i++) {
      let r = reads[i]!;
      for (let k = 0; k < readsBy.length; k++) if ((reached & (1 << k)) === 0) r |= readsBy[k]![i]!;
      const m = r & changed[i]! & ~this.visible[i]!;
      for (let b = 0; b < 32; b++) if (m & (1 << b)) out.push(i * 32 + b);
    }
    this.forgetWatched();
    return out;
  }

  private forgetWatched(): void {
    this.watch.reads.fill(0);
    this.watch.changed.fill(0);
    for (const r of this.watch.readsBy) r.fill(0);
  }

  /** What a worker thread saw (the two sets), handed to the search that gathers them; forgets them. */
  takeWatched(): { reads: number[]; changed: number[]; readsBy: number[][] } {
    const words = (bits: Int32Array) => {
      const out: number[] = [];
      for (let i = 0; i < bits.length; i++) for (let b = 0; b < 32; b++) if (bits[i]! & (1 << b)) out.push(i * 32 + b);
      bits.fill(0);
      return out;
    };
    return { reads: words(this.watch.reads), changed: words(this.watch.changed), readsBy: this.watch.readsBy.map(words) };
  }

  /** Adds what a worker thread saw (takeWatched) to this search's sets. */
  addWatched(w: { readonly reads: readonly number[]; readonly changed: readonly number[]; readonly readsBy?: readonly (readonly number[])[] }): void {
    for (const x of w.reads) setBit(this.watch.reads, x);
    for (const x of w.changed) setBit(this.watch.changed, x);
    w.readsBy?.forEach((r, k) => {
      for (const x of r) setBit(this.watch.readsBy[k]!, x);
    });
  }

  /** Makes `words` shared (a step or property touched them across threads); monotone. */
  widen(words: readonly number[]): void {
    if (this.fut) {
      // a word read across threads, or by a property, is visible too (only shared-safe choices care)
      for (const w of words) {
        if (hasBit(this.visible, w)) continue;
        setBit(this.visible, w);
        this.visibleAdded.push(w);
      }
      // what the search thrown away saw belongs to it
      this.forgetWatched();
    }
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
    for (let o = 0; o < this.rejects.length; o += REJ_STRIDE) this.rejects[o + 1] = 0;
    for (const a of this.accepts) a.fill(0);
    for (let t = 0; t < this.privOffs.length; t++) {
      this.privOffs[t] = Int32Array.from(Array.from(this.privOffs[t]!).filter((o) => this.owner[o] === t));
      this.closures[t] = new Closures(this.privOffs[t]!.length);
      this.verdicts[t] = new Closures(this.privOffs[t]!.length);
      this.closuresFut[t] = new Closures(this.privOffs[t]!.length);
    }
    this.lastWalkT = -1;
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
    for (const w of this.visibleAdded) if (!out.includes(w)) out.push(w);
    return out;
  }

  /**
   * The thread whose enabled alternatives are the state's expansion (a local-ready thread with an
   * acyclic local closure; the lowest tid), or -1 to expand every thread (`why` says why). Runs steps
   * in place at buf[off..] and leaves the state as it found it. (phi, plo): the state's fingerprint.
   */
  select(buf: Int32Array, off: number, phi: number, plo: number): number {
    if (this.fut) return this.selectFut(buf, off, phi, plo);
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
      const v = this.verdict(buf, off, t, pc, phi, plo);
      if (v === V_CHOOSE) return t;
      if (v === V_CYCLIC) cyclic = true;
      else if (v === V_VISIBLE) visible = true;
    }
    this.why = cyclic ? WHY_CYCLE : visible ? WHY_VISIBLE : WHY_NO_LOCAL;
    return -1;
  }

  /**
   * select()'s verdict on thread t (at pc, live) taken as without futures: V_CHOOSE (local-ready, its
   * local closure acyclic), V_CYCLIC (local-ready, closure cyclic), V_VISIBLE (local but for words of
   * its own that something else reads) or V_SKIP. Where localReady() decided from t's private words
   * alone (see lrPure) the verdict is a function of them, as the closure's is (see acyclic()): it is
   * cached by them, so that in the states of a run that differ only in other threads' words, t's step
   * is run once. Exact: the cached verdict is the one computing it again gives.
   */
  private verdict(buf: Int32Array, off: number, t: number, pc: number, phi: number, plo: number): number {
    const c = this.verdicts[t]!;
    const offs = this.privOffs[t]!;
    const hit = c.get(buf, off, offs);
    if (hit !== 0) return hit;
    const r = this.localReady(buf, off, t, pc, phi, plo, true);
    // (before acyclic(): its walk runs localReady() again)
    const pure = this.lrPure;
    let v: number;
    if (r !== 1) v = r < 0 && this.visibleOnly ? V_VISIBLE : V_SKIP;
    else v = this.acyclic(buf, off, t) ? V_CHOOSE : V_CYCLIC;
    if (pure) c.put(buf, off, offs, v);
    return v;
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
    this.lrPure = false;
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
          // every word touched before this one was t's private word (none widened)
          this.lrPure = !own;
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
    this.lrPure = true;
    return enabled ? 1 : 0;
  }

  private recN = 0;
  private out: Int32Array | null = null;
  private scratchOut(): Int32Array {
    return (this.out ??= new Int32Array(this.engine.W));
  }

  /** Runs (t, alt) from src[off..] into out, recording what it touched in this.rec. */
  private runInto(src: Int32Array, off: number, t: number, alt: number, out: Int32Array, outOff = 0, hi = 0, lo = 0): boolean {
    const e = this.engine;
    const h = e.cm.holder;
    h.rec = this.rec;
    h.rn = 0;
    let ok: boolean;
    try {
      ok = e.successor(src, off, t, alt, out, hi, lo, outOff);
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
   * Depth-first over the states thread t reaches from buf[off..] by its ready steps alone (others
   * frozen): false if it meets a state equal to one on its current path. Local steps only: states
   * compare by t's private words, readiness is localReady(). (With declared futures: walkFut().)
   */
  private walk(buf: Int32Array, off: number, t: number): boolean {
    const e = this.engine;
    const W = e.W;
    const offs = this.privOffs[t]!;
    const closures = this.closures[t]!;
    let d = 0;
    this.ensureWalk(1);
    // (a loop, not set(subarray()): no view object per walk)
    const wb0 = this.walkBuf;
    for (let j = 0; j < W; j++) wb0[j] = buf[off + j]!;
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
      // a successor equal (in the words compared) to a state on the path closes a cycle
      for (let k = 0; k <= d; k++) {
        let same = true;
        for (let j = 0; j < offs.length && same; j++) same = wb[k * W + offs[j]!] === wb[nb + offs[j]!];
        if (same) return false;
      }
      const pc = e.pc(wb, nb, t);
      if (pc < 0 || this.firstShared[t]![pc]) continue;
      // known from an earlier walk: acyclic below, nothing more to look at
      const known = closures.get(wb, nb, offs);
      if (known === 1) continue;
      if (known === 2) return false;
      if (this.localReady(wb, nb, t, pc, 0, 0, false) !== 1) continue;
      d++;
      this.walkAlt[d] = 0;
    }
    return true;
  }

  /**
   * walk() with declared futures: over whole states, readiness by readyFut(). (hi, lo): the first
   * state's fingerprint; each state's is kept (the changes of the steps on the way), so that states
   * compare by it first (equal states have equal ones) and the acyclic walk's are remembered with it
   * (rememberWalked). Where t's accept entry holds at a state (its words hold its values), the entry
   * gives the successors: each enabled alternative's changed words with their new values, which is
   * what running it gives (see the header, "accept memo").
   */
  private walkFut(buf: Int32Array, off: number, t: number, hi: number, lo: number): boolean {
    const e = this.engine;
    const W = e.W;
    const offs = this.privOffs[t]!;
    const closures = this.closuresFut[t]!;
    const acc = this.accepts[t]!;
    let d = 0;
    this.ensureWalk(1);
    const wb0 = this.walkBuf;
    for (let j = 0; j < W; j++) wb0[j] = buf[off + j]!;
    this.walkAlt[0] = 0;
    this.walkHi[0] = hi;
    this.walkLo[0] = lo;
    while (d >= 0) {
      const alt = this.walkAlt[d]!;
      const base = d * W;
      const n = e.alts(this.walkBuf, base, t);
      if (alt >= n) {
        d--;
        continue;
      }
      // (the walk leaves no accept entry: one that holds at a state on the path holds until it is left)
      if (alt === 0) this.walkAcc[d] = this.acceptAt(this.walkBuf, base, t, e.pc(this.walkBuf, base, t));
      this.walkAlt[d] = alt + 1;
      this.ensureWalk(d + 2);
      const wb = this.walkBuf;
      const nb = base + W;
      let nh: number;
      let nl: number;
      const ao = this.walkAcc[d]!;
      if (ao >= 0) {
        const ab = ao + ACC_ALT0 + alt * ACC_ALT;
        if (acc[ab] === 0) continue;
        for (let j = 0; j < W; j++) wb[nb + j] = wb[base + j]!;
        nh = this.walkHi[d]!;
        nl = this.walkLo[d]!;
        const cb = ab + 3 + ACC_READS;
        const nc = acc[ab + 2 + ACC_READS]!;
        for (let i = 0; i < nc; i++) {
          const w = acc[cb + 2 * i]!;
          const v = acc[cb + 2 * i + 1]!;
          const old = wb[nb + w]!;
          wb[nb + w] = v;
          nh ^= zhi(w, old) ^ zhi(w, v);
          nl ^= zlo(w, old) ^ zlo(w, v);
        }
      } else {
        if (!this.runInto(wb, base, t, alt, wb, nb, this.walkHi[d]!, this.walkLo[d]!)) continue;
        nh = e.hi;
        nl = e.lo;
      }
      // a successor equal to a state on the path closes a cycle
      if (hasState(wb, this.walkHi, this.walkLo, d + 1, W, wb, nb, nh, nl)) return false;
      const pc = e.pc(wb, nb, t);
      if (pc < 0) continue;
      // known from an earlier walk: acyclic below, nothing more to look at
      const known = closures.get(wb, nb, offs);
      if (known === 1) continue;
      if (known === 2) return false;
      const r = this.readyFut(wb, nb, t, pc, 0, 0, false, false);
      this.walkShared ||= this.sawShared;
      if (r !== 1) continue;
      this.rememberWalked(wb, nb, nh, nl);
      d++;
      this.walkAlt[d] = 0;
      this.walkHi[d] = nh;
      this.walkLo[d] = nl;
    }
    return true;
  }

  /**
   * select() for a model with declared futures. A thread some other live thread's unrestricted future
   * could meet is judged as without futures (local steps only, the same facts and caches); the others
   * may also take shared-safe steps (readyFut), with the closure walk of walkFut().
   */
  private selectFut(buf: Int32Array, off: number, phi: number, plo: number): number {
    const T = this.engine.T;
    const pcOff = this.pcOff;
    const labelAt = this.labelAt;
    const rdAt = this.rdAt;
    const wrAt = this.wrAt;
    let unrestricted = 0;
    for (let u = 0; u < T; u++) {
      const pc = buf[off + pcOff[u]!]!;
      if (pc < 0) {
        rdAt[u] = -2;
        wrAt[u] = -2;
        continue;
      }
      const l = labelAt[u]! + pc;
      const rd = this.rdOf[l]!;
      rdAt[u] = rd;
      wrAt[u] = this.wrOf[l]!;
      if (rd === -1) unrestricted++;
    }
    let cyclic = false;
    let visible = false;
    this.candN = 0;
    for (let t = 0; t < T; t++) {
      if (rdAt[t] === -2) continue;
      const pc = buf[off + pcOff[t]!]!;
      if (unrestricted - (rdAt[t] === -1 ? 1 : 0) > 0) {
        // another thread may still touch any shared word: only a local step commutes, as without futures
        const fs = this.firstShared[t]![pc]!;
        if (fs !== 0) {
          visible ||= fs === 2;
          continue;
        }
        const v = this.verdict(buf, off, t, pc, phi, plo);
        if (v === V_CHOOSE) {
          this.chosenShared = false;
          return t;
        }
        if (v === V_CYCLIC) cyclic = true;
        else if (v === V_VISIBLE) visible = true;
        continue;
      }
      const fw = this.rejects[(labelAt[t]! + pc) * REJ_STRIDE]!;
      if (fw >= 0 && this.owner[fw] !== t && !this.safeToRead(t, fw)) continue;
      // (the reject memo first, as readyFut() asks it)
      this.visibleOnly = false;
      if (this.rejected(buf, off, t, pc, this.altsAt[labelAt[t]! + pc]!)) {
        visible ||= this.visibleOnly;
        continue;
      }
      const r = this.readyFut(buf, off, t, pc, phi, plo, true, true, true);
      if (r !== 1) {
        visible ||= r < 0 && this.visibleOnly;
        continue;
      }
      const shared = this.sawShared;
      if (this.deadEnds || this.acyclicFut(buf, off, t, shared, phi, plo)) {
        // what the chosen step changes is invisible only if no property reads it in any state: the
        // search compares the two sets when it ends
        for (let i = 0; i < this.candN; i++) setBit(this.watch.changed, this.cand[i]!);
        this.chosenShared = shared;
        return t;
      }
      cyclic = true;
    }
    this.why = cyclic ? WHY_CYCLE : visible ? WHY_VISIBLE : WHY_NO_LOCAL;
    return -1;
  }

  /**
   * No live thread but t may change w (w is outside every other live thread's future writes). The
   * thread last found to write w (wrBy) is asked first: where it still may, the answer is known
   * without asking the others (the answer is the same, only found sooner).
   */
  private safeToRead(t: number, w: number): boolean {
    return this.noOtherMay(t, w, this.wrAt, this.wrBy);
  }

  /** No live thread but t may touch w (w is outside every other live thread's future reads); rdBy as wrBy. */
  private safeToChange(t: number, w: number): boolean {
    return this.noOtherMay(t, w, this.rdAt, this.rdBy);
  }

  /**
   * No live thread u != t has w in its future set of `at` (per thread: offset of the set in futBits,
   * -1 unrestricted, -2 not live); `by` remembers, per word, the thread last found to have it.
   */
  private noOtherMay(t: number, w: number, at: Int32Array, by: Uint8Array): boolean {
    const i = w >>> 5;
    const b = 1 << (w & 31);
    const bits = this.futBits;
    const x = by[w]!;
    if (x !== t) {
      const o = at[x]!;
      if (o === -1 || (o >= 0 && (bits[o + i]! & b) !== 0)) return false;
    }
    const T = at.length;
    for (let u = 0; u < T; u++) {
      const o = at[u]!;
      if (o === -2 || u === t) continue;
      if (o === -1 || (bits[o + i]! & b) !== 0) {
        by[w] = u;
        return false;
      }
    }
    return true;
  }

  /**
   * 1 if thread t (at pc) is ready in buf[off..] with the other threads' futures in rdAt/wrAt: every
   * alternative touches only words private to t or shared-safe, and one is enabled; 0 if so but none
   * is enabled; -1 otherwise (visibleOnly: because of a visible word). sawShared: some alternative
   * touched a word not private to t. `collect`: the non-private words they change go to cand.
   */
  private readyFut(buf: Int32Array, off: number, t: number, pc: number, phi: number, plo: number, inPlace: boolean, collect: boolean, asked = false): number {
    const e = this.engine;
    const owner = this.owner;
    const n = e.alts(buf, off, t);
    let enabled = false;
    this.sawShared = false;
    this.visibleOnly = false;
    if (collect) this.candN = 0;
    this.deadEnds = true;
    if (!asked && this.rejected(buf, off, t, pc, n)) return -1;
    const acc = this.accepts[t]!;
    const hit = this.acceptAt(buf, off, t, pc);
    if (hit >= 0) {
      this.acceptHits++;
      return this.fromAccept(buf, off, t, pc, acc, hit, n, inPlace, collect);
    }
    // in place, the run may leave an accept entry (ACC_ALTS alternatives at most), over the older one
    let ao = this.accAt[t]![pc]!;
    const record = inPlace && ao >= 0;
    let way = 0;
    if (record) {
      way = acc[ao] !== 1 ? 0 : acc[ao + this.accLen[t]![pc]!] !== 1 ? 1 : 1 - this.accLast[t]![pc]!;
      ao += way * this.accLen[t]![pc]!;
      acc[ao] = 0;
      acc[ao + 1] = n;
      this.accN = 0;
      this.accFits = true;
    }
    for (let alt = 0; alt < n; alt++) {
      let ok: boolean;
      let rec: Int32Array;
      let rn: number;
      let after: Int32Array;
      let aOff: number;
      if (inPlace) {
        ok = e.tryInPlace(buf, off, t, alt, phi, plo);
        rec = e.touched;
        rn = e.touchedCount;
        after = buf;
        aOff = off;
      } else {
        after = this.scratchOut();
        aOff = 0;
        ok = this.runInto(buf, off, t, alt, after);
        rec = this.rec;
        rn = this.recN;
      }
      let r = 1;
      if (alt === 0 && this.rejects[(this.labelAt[t]! + pc) * REJ_STRIDE] === -1) this.rejects[(this.labelAt[t]! + pc) * REJ_STRIDE] = rn > 0 ? rec[0]! : -2;
      if (rn > rec.length) r = -1;
      let bad = -1;
      const ab = ao + ACC_ALT0 + alt * ACC_ALT;
      let nr = 0;
      for (let i = 0; i < rn && r === 1; i++) {
        const w = rec[i]!;
        if (record && this.accFits) {
          this.accWord(acc, ao, w);
          let dup = false;
          for (let j = 0; j < nr && !dup; j++) dup = acc[ab + 2 + j] === w;
          if (!dup) {
            if (nr < ACC_READS) acc[ab + 2 + nr++] = w;
            else this.accFits = false;
          }
        }
        if (owner[w] === t) continue;
        this.sawShared = true;
        if (!this.safeToRead(t, w)) {
          r = -1;
          bad = i;
        }
      }
      let changed = -1;
      let nc = 0;
      if (ok && r === 1) {
        // the words it changed: in place, those of the undo log whose value differs from the first logged
        if (inPlace) {
          const u = e.undoLog;
          const un = e.undoCount;
          const cb = ab + 3 + ACC_READS;
          for (let k = 0; k < un && r === 1; k += 2) {
            const w = u[k]!;
            let first = true;
            for (let j = 0; j < k && first; j += 2) first = u[j] !== w;
            if (first && buf[off + w] !== u[k + 1]) {
              r = this.changeOk(t, w, collect);
              changed = w;
              if (record && this.accFits) {
                if (nc < ACC_CHG) {
                  acc[cb + 2 * nc] = w;
                  acc[cb + 2 * nc + 1] = buf[off + w]!;
                  nc++;
                } else this.accFits = false;
              }
            }
          }
        } else {
          for (let i = 0; i < rn && r === 1; i++) {
            const w = rec[i]!;
            if (after[aOff + w] !== buf[off + w]) {
              r = this.changeOk(t, w, collect);
              changed = w;
            }
          }
        }
      }
      if (record) {
        acc[ab] = ok ? 1 : 0;
        acc[ab + 1] = nr;
        acc[ab + 2 + ACC_READS] = nc;
      }
      // with the successor in place: does t's closure end there (see deadEnds)?
      if (inPlace && collect && ok && r === 1) this.deadEnds &&= changed >= 0 && this.deadEnd(buf, off, t);
      if (inPlace && ok) e.settle(buf, off, 0, false);
      if (r !== 1) {
        // remember why, with the words read before it and their values in buf (restored by now)
        if (bad >= 0 && bad <= REJ_WORDS) this.remember(buf, off, t, pc, alt, REJ_READ, rec[bad]!, rec, bad);
        else if (bad < 0 && changed >= 0 && rn <= REJ_WORDS) this.remember(buf, off, t, pc, alt, REJ_CHANGE, changed, rec, rn);
        return -1;
      }
      enabled ||= ok;
    }
    if (record && this.accFits) {
      // every alternative ran, and was recorded whole: the words' values, with the state restored
      const k = this.accN;
      acc[ao + 2] = k;
      for (let i = 0; i < k; i++) acc[ao + ACC_KEY + 2 * i + 1] = buf[off + acc[ao + ACC_KEY + 2 * i]!]!;
      acc[ao] = 1;
      this.accLast[t]![pc] = way;
    }
    return enabled ? 1 : 0;
  }

  /** Adds word w (once) to the accept entry being built at acc[ao..]. */
  private accWord(acc: Int32Array, ao: number, w: number): void {
    const k = this.accN;
    for (let j = 0; j < k; j++) if (acc[ao + ACC_KEY + 2 * j] === w) return;
    if (k === ACC_WORDS) {
      this.accFits = false;
      return;
    }
    acc[ao + ACC_KEY + 2 * k] = w;
    this.accN = k + 1;
  }

  /** The offset of t's accept entry at pc whose words hold its values in buf[off..], or -1. */
  private acceptAt(buf: Int32Array, off: number, t: number, pc: number): number {
    const ao = this.accAt[t]![pc]!;
    if (ao < 0) return -1;
    const acc = this.accepts[t]!;
    const last = this.accLast[t]![pc]!;
    const a = ao + last * this.accLen[t]![pc]!;
    if (acc[a] === 1 && this.accepted(buf, off, acc, a)) return a;
    const b = ao + (1 - last) * this.accLen[t]![pc]!;
    if (acc[b] === 1 && this.accepted(buf, off, acc, b)) {
      this.accLast[t]![pc] = 1 - last;
      return b;
    }
    return -1;
  }

  /** The words of the accept entry at acc[ao..] hold its values in buf[off..]. */
  private accepted(buf: Int32Array, off: number, acc: Int32Array, ao: number): boolean {
    const k = acc[ao + 2]!;
    for (let j = ao + ACC_KEY, end = j + 2 * k; j < end; j += 2) if (buf[off + acc[j]!] !== acc[j + 1]) return false;
    return true;
  }

  /**
   * readyFut()'s answer from the accept entry at acc[ao..] (its words hold its values): what running
   * every alternative gives, judged alike against the futures of the moment, in the same order (so
   * that sawShared, visibleOnly, cand and deadEnds come out as a run sets them).
   */
  private fromAccept(buf: Int32Array, off: number, t: number, pc: number, acc: Int32Array, ao: number, n: number, inPlace: boolean, collect: boolean): number {
    const owner = this.owner;
    let enabled = false;
    for (let alt = 0; alt < n; alt++) {
      const ab = ao + ACC_ALT0 + alt * ACC_ALT;
      const nr = acc[ab + 1]!;
      for (let i = 0; i < nr; i++) {
        const w = acc[ab + 2 + i]!;
        if (owner[w] === t) continue;
        this.sawShared = true;
        if (!this.safeToRead(t, w)) {
          // as a run would: the reject memo learns it, keyed by the words touched before w
          if (i <= REJ_WORDS) this.remember(buf, off, t, pc, alt, REJ_READ, w, acc, i, ab + 2);
          return -1;
        }
      }
      if (acc[ab] === 0) continue;
      const cb = ab + 3 + ACC_READS;
      const nc = acc[ab + 2 + ACC_READS]!;
      for (let i = 0; i < nc; i++) {
        const w = acc[cb + 2 * i]!;
        if (this.changeOk(t, w, collect) !== 1) {
          if (nr <= REJ_WORDS) this.remember(buf, off, t, pc, alt, REJ_CHANGE, w, acc, nr, ab + 2);
          return -1;
        }
      }
      if (inPlace && collect && this.deadEnds) {
        if (nc === 0) this.deadEnds = false;
        else {
          // the successor in place for deadEnd(), then the state back
          const old = this.accOld;
          for (let i = 0; i < nc; i++) {
            const w = acc[cb + 2 * i]!;
            old[i] = buf[off + w]!;
            buf[off + w] = acc[cb + 2 * i + 1]!;
          }
          this.deadEnds = this.deadEnd(buf, off, t);
          for (let i = nc - 1; i >= 0; i--) buf[off + acc[cb + 2 * i]!] = old[i]!;
        }
      }
      enabled = true;
    }
    return enabled ? 1 : 0;
  }

  /**
   * Set by readyFut() in place: every enabled alternative of t's step changed the state and led to a
   * state where t is finished or, by the reject memo, not ready (the futures of the others, frozen,
   * as now). Then t's ready closure (walkFut()) is the state and those successors: no cycle, and the
   * walk would say so.
   */
  private deadEnds = false;

  /** With a successor of t's step in buf[off..]: t is finished there, or the reject memo says it is not ready (no side effects). */
  private deadEnd(buf: Int32Array, off: number, t: number): boolean {
    const pc = this.engine.pc(buf, off, t);
    if (pc < 0) return true;
    const saw = this.sawShared;
    const vis = this.visibleOnly;
    const r = this.rejected(buf, off, t, pc, this.engine.alts(buf, off, t));
    this.sawShared = saw;
    this.visibleOnly = vis;
    return r;
  }

  /** Records why (t, alt) at pc was not ready: `kind`, `word`, and the n words of rec from `at` (before it) with their values in buf. */
  private remember(buf: Int32Array, off: number, t: number, pc: number, alt: number, kind: number, word: number, rec: Int32Array, n: number, at = 0): void {
    const m = this.rejects;
    const o = (this.labelAt[t]! + pc) * REJ_STRIDE + 1;
    m[o] = kind;
    m[o + 1] = alt;
    m[o + 2] = word;
    m[o + 3] = n;
    for (let i = 0; i < n; i++) {
      m[o + 4 + 2 * i] = rec[at + i]!;
      m[o + 5 + 2 * i] = buf[off + rec[at + i]!]!;
    }
  }

  /**
   * The reject memo says thread t (at pc, with n alternatives) is not ready in buf[off..]: its words
   * hold the remembered values, and the remembered word is still unsafe (read, or changed) now.
   */
  private rejected(buf: Int32Array, off: number, t: number, pc: number, n: number): boolean {
    const m = this.rejects;
    const o = (this.labelAt[t]! + pc) * REJ_STRIDE + 1;
    const kind = m[o]!;
    if (kind === 0 || m[o + 1]! >= n) return false;
    const k = m[o + 3]!;
    for (let i = 0; i < k; i++) if (buf[off + m[o + 4 + 2 * i]!] !== m[o + 5 + 2 * i]) return false;
    const w = m[o + 2]!;
    if (this.owner[w] === t) return false;
    if (kind === REJ_READ) {
      if (this.safeToRead(t, w)) return false;
      this.sawShared = true;
      return true;
    }
    this.sawShared = true;
    if (hasBit(this.visible, w)) {
      this.visibleOnly = true;
      return true;
    }
    return !this.safeToChange(t, w);
  }

  /** Thread t's step changes w: 1 if it may (private, or shared-safe and invisible), else -1. */
  private changeOk(t: number, w: number, collect: boolean): number {
    if (this.owner[w] === t) return 1;
    if (hasBit(this.visible, w)) {
      this.visibleOnly = true;
      return -1;
    }
    if (!this.safeToChange(t, w)) return -1;
    if (collect && this.candN < this.cand.length) {
      let dup = false;
      for (let i = 0; i < this.candN && !dup; i++) dup = this.cand[i] === w;
      if (!dup) this.cand[this.candN++] = w;
    }
    return 1;
  }

  /**
   * Whether thread t's ready closure from buf[off..] (its ready steps, the others frozen) has no cycle.
   * Cached by t's private words only when the closure met no other word (then it is a function of them).
   */
  private acyclicFut(buf: Int32Array, off: number, t: number, shared: boolean, hi: number, lo: number): boolean {
    const c = this.closuresFut[t]!;
    const offs = this.privOffs[t]!;
    if (!shared) {
      const hit = c.get(buf, off, offs);
      if (hit !== 0) return hit === 1;
    }
    // a state of t's last acyclic walk: its closure is part of that walk's, so acyclic too (the search
    // walks through the states a chosen thread's steps lead to, and asks again at each)
    if (this.lastWalkT === t && this.inLastWalk(buf, off, hi, lo)) return true;
    this.walkShared = shared;
    this.lastWalkT = -1;
    this.lastWalkN = 0;
    const r = this.walkFut(buf, off, t, hi, lo);
    if (!this.walkShared) c.put(buf, off, offs, r ? 1 : 2);
    if (r) this.lastWalkT = t;
    return r;
  }

  /**
   * the thread whose last walk was acyclic (-1: none), and the states it was ready at: whole, with the
   * fingerprint walkFut() gave each (from select()'s, by the changes of the steps on the way)
   */
  private lastWalkT = -1;
  private lastWalkN = 0;
  private lastWalk = new Int32Array(0);
  private lastWalkHi = new Int32Array(64);
  private lastWalkLo = new Int32Array(64);

  /**
   * Whether a[off..] (its fingerprint (hi, lo)) is a state of the last walk. Equal states have equal
   * fingerprints, given exact ones for the walk's first state and for this one; the fingerprints only
   * pick the states compared whole, so the answer is never wrong, at worst (with a wrong one) no.
   */
  private inLastWalk(a: Int32Array, off: number, hi: number, lo: number): boolean {
    return hasState(this.lastWalk, this.lastWalkHi, this.lastWalkLo, this.lastWalkN, this.engine.W, a, off, hi, lo);
  }

  /** Remembers a state the walk found t ready at, with its fingerprint (up to 256 of them: any subset serves). */
  private rememberWalked(a: Int32Array, off: number, hi: number, lo: number): void {
    const W = this.engine.W;
    const k = this.lastWalkN;
    if (k >= 256) return;
    if ((k + 1) * W > this.lastWalk.length) this.lastWalk = grown(this.lastWalk, Math.max(2 * this.lastWalk.length, 16 * W));
    if (k >= this.lastWalkHi.length) {
      this.lastWalkHi = grown(this.lastWalkHi, 2 * this.lastWalkHi.length);
      this.lastWalkLo = grown(this.lastWalkLo, 2 * this.lastWalkLo.length);
    }
    const lw = this.lastWalk;
    for (let j = 0; j < W; j++) lw[k * W + j] = a[off + j]!;
    this.lastWalkHi[k] = hi;
    this.lastWalkLo[k] = lo;
    this.lastWalkN = k + 1;
  }

  private ensureWalk(depth: number): void {
    const W = this.engine.W;
    if (depth * W <= this.walkBuf.length && depth <= this.walkAlt.length) return;
    let n = this.walkAlt.length;
    while (n < depth) n *= 2;
    this.walkBuf = grown(this.walkBuf, n * W);
    this.walkAlt = grown(this.walkAlt, n);
    this.walkHi = grown(this.walkHi, n);
    this.walkLo = grown(this.walkLo, n);
    this.walkAcc = grown(this.walkAcc, n);
  }
}

/** a copy of `a` in a new array of length n (>= a's) */
function grown(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/**
 * Whether a[off..off+W) is one of the first n states of `states` (W words each, fingerprints in his/los):
 * compared whole where the fingerprint (hi, lo) matches, so a wrong fingerprint can only miss.
 */
function hasState(states: Int32Array, his: Int32Array, los: Int32Array, n: number, W: number, a: Int32Array, off: number, hi: number, lo: number): boolean {
  for (let k = 0; k < n; k++) {
    if (his[k] !== hi || los[k] !== lo) continue;
    let same = true;
    for (let j = 0; j < W && same; j++) same = states[k * W + j] === a[off + j];
    if (same) return true;
  }
  return false;
}

function setBit(bits: Int32Array, w: number): void {
  bits[w >>> 5]! |= 1 << (w & 31);
}
function hasBit(bits: Int32Array, w: number): boolean {
  return (bits[w >>> 5]! & (1 << (w & 31))) !== 0;
}

/**
 * An exact map from a thread's private words (P ints) to a closure result (1 acyclic, 2 cyclic), by
 * open addressing over one Int32Array: no allocation per lookup.
 */
class Closures {
  /** a power of two (the hash is masked, not divided) */
  private cap = 256;
  private n = 0;
  private slots: Int32Array;

  constructor(private readonly P: number) {
    this.slots = new Int32Array(this.cap * (P + 1));
  }

  private hash(a: Int32Array, off: number, offs: Int32Array): number {
    let h = 0x811c9dc5;
    for (let j = 0; j < offs.length; j++) h = Math.imul(h ^ a[off + offs[j]!]!, 0x01000193);
    return h ^ (h >>> 15);
  }

  /** 0 absent, else the stored result */
  get(a: Int32Array, off: number, offs: Int32Array): number {
    const P = this.P;
    const S = P + 1;
    let i = this.hash(a, off, offs) & (this.cap - 1);
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
    let i = this.hash(a, off, offs) & (this.cap - 1);
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
      let k = this.hash(key, 0, idx) & (this.cap - 1);
      while (this.slots[k * S + P] !== 0) if (++k === this.cap) k = 0;
      this.slots.set(old.subarray(i * S, i * S + S), k * S);
    }
  }
}
