// Derives thread futures (what a thread may still touch from each label on) by running its steps on
// every state they can meet, as far as the thread alone can tell. Owns the derivation and its
// soundness argument; it changes no state, never prints, and gives up (derives nothing) rather than guess.
//
// What it computes. For each thread t and label L: Rd(t, L), the words t's step at L or any later
// step may touch, and Wr(t, L), those they may change, in the sense the engine checks (FUTURE-API,
// src/por/footprint-check.ts future()): every word a step touches, blocked or not, is in Rd; every word
// an enabled step leaves with another value is in Wr. compile.ts installs them for every label a model
// declares nothing at (a declaration wins at its label).
//
// The abstraction. Each thread's *nodes* are the states it reaches as far as it alone can tell: the
// values of the words it tracks, its pc first (below). Every other word w is shared, and V(w) is a set
// of values it may hold. It starts from the initial state: each thread's initial node, V(w) = {init[w]}.
// A thread always tracks its private words (pc and declared locals, compile.ts privateWords).
//
// Exploring a node. From node n of thread t at label L, each alternative of L's step is run on a
// scratch state holding n's values, every other word at a value of its V set. Steps record every word
// they touch, in order (the views' note()). Which values: a step is a deterministic function of the
// values it reads, and touches words one after another. Run it with every shared word at the first
// value of its V; the words it touched that no earlier choice fixed, in the order it first touched
// them, are u1..uk. Up to its first touch of u_i the run depended only on n, the fixed words and
// u1..u_{i-1}; so every run whose values agree with these on those words does the same up to there.
// For each i and each other value x of V(u_i), run again with u1..u_{i-1} as in this run and u_i = x
// (later words free again), and so on. Every assignment of V values to the words a step touches is
// then met by one run that agrees with it on every word that run touched, and so does what a step run
// on it does (a word keeps its value within a step unless the step itself stores to it). A word the
// run touched once, by a store that changed it (the undo log), was never read: its value before
// decides nothing but whether the step changes it, which it does from this value, so its other values
// need no runs.
//
// Classes (what a step can tell apart). The kernel primitives read some words through helpers that
// hand the step less than the value (src/model/observe.ts: is it c, is it above c, its bits under a
// mask) and update some without handing it anything (x | bits, x & ~bits, x + d, a constant store).
// While the derivation listens, each tags its touch so. That is not an assumption about opaque code:
// the helper reads the word and returns only the predicate, or nothing, so the step's code after it
// cannot depend on more (a view touch the helper does not see as exactly its own stays untagged: a
// whole-value read). For a word w whose first touch in a run R is tagged, R goes the same way for
// every value x of w that gives the same answers to R's reads, followed through R's updates, until x
// and R's own value meet (a store of one value to both; from there nothing tells them apart, and an
// untagged touch before they meet sees the whole value): alike_R(x). R takes such an x to what its
// updates make of it, or, once met, to what R leaves. So a branch no longer fixes one value but a
// class: the values it allows for w (one value where the first touch was untagged). A run from a
// branch runs on the class's first value; for each word u_i it touched, in first-touch order, it
// splits u_i's allowed values into R's classes and, for each class but its own, queues a branch
// keeping every class it was given, u_1..u_{i-1} narrowed to R's own classes, and u_i to that class.
// Every assignment allowed by a branch either agrees with R's classes on every word R touched (then
// it runs as R: each answer R got is the same), or differs first at some u_i and is allowed by the
// branch queued there. Branches only narrow (a chain is never shortened: a word a run does not read
// again may be read after a branch), so they end. A word R touched only through updates (no answer)
// needs no branch at all; if nobody has learnt anything of it yet (no run read it, and no thread
// tracks or owns it), its updates (x & a) | b are kept instead of new values, and V(w) is closed under
// the kept updates the moment some run learns of it (then every value they make from V is in V, as
// the claim below needs); the step's change set takes w whenever its update is not the identity. A
// run's additions x + d to an untracked word are kept too (V(w) closed under them within the field's
// range: more values than the run's class makes, so V reaches its closure at once instead of one new
// value per rerun of its readers). A node registers as a reader of w (run again when V(w) grows)
// unless its runs only updated w without learning it.
//
// Gathered stores. storeBitsOf (call_rcu's mask of readers) reads a fixed set of words, every one
// whatever the others hold, hands the step nothing, and stores the OR of bit i over the views one of
// whose fields says "inside". The run meets one value of those words; other states give other masks.
// So the word may take any value whose bits beyond those the node fixes (every field behind a bit is
// one this thread's node holds) are any subset of the mask, followed through the run's later updates
// of it: all of them join V and the change set. A later read of the word in the same run would depend
// on the mask: the derivation gives up instead. A word a thread tracks cannot take such a store (its
// successor nodes would need every mask): it is tracked no more (Demote).
//
// What a run gives. Its touched words join Rd(t, L) (whatever its end: a blocked step's touches are
// checked too). If it threw (a model error, a fault of an impossible combination of values), nothing
// more: in a real state those values make the search end there with that error, so no later step
// exists on that path. If it returned BLOCKED, nothing more. Otherwise its changed words join
// Wr(t, L); their new values join V (shared words) or make the successor node (tracked words); the
// successor's label is an edge L -> L' (DONE: none). A new value of w makes every node whose runs
// touched w unfixed run again; a new node adds its tracked values to V of those words (another thread
// may read them: a dependency the reduction finds, but a value it must have).
//
// Refinements (precision, never soundness: each is checked). Words a thread tracks besides its private
// ones are words it alone changes, so that their value is a function of its own path: (1) its own
// record (the kernel's per-thread fields: rcu_nesting, irqs_off, preempt_count...); (2) after a pass
// that gave up, every word one thread alone was seen to change (pmd, nr_ptes, a table's entries...),
// but a lock word, which stays owned (3: tracked, a node would lose it at its first other holder).
// And (3) a lock word (schema ref 'tid+1') is *owned*: a node knows whether its thread holds it (the
// word is then its tid+1), and where not, the word takes its other values. Each refinement is an
// assumption about the other threads: that none changes a word a thread tracks, and none releases a
// lock another holds nor takes one for another. A run that breaks one is seen (its change is recorded)
// and, once the runs of the node it came from are done (they often break the record's other words
// too), the derivation starts again without that assumption, for every word they broke and the same
// field of their records' siblings the same thread tracks (Demote; a guess, as (2) is, and tracking
// less never costs soundness): every derivation that completes met no breach, so the claim below
// holds of it.
//
// Soundness (the derived sets cover every real execution). Claim: in every reachable state s, each
// thread's tracked words (and the locks it holds) form one of its nodes, and every other word w holds
// a value of V(w) (a word nobody has learnt anything of: of V(w) closed under its kept updates, which
// no run's path depends on). Initially true. A step of thread u from s: u's tracked words form a node
// n; every other word it reads holds a V value (an owned lock u does not hold holds a value other than u's
// tid+1): some run from n agrees with s on every word it touched, so it touched, changed and returned
// what the real step does (with classes: agrees with s on every word it touched, or on its class of
// it, and so goes the same way, leaving a class member x of w at what the run's updates make of x, or
// at what the run leaves once they met: in V, and in Wr(u, pc_u) where it differs from x; a gathered
// store leaves a value of its mask, every one of which is in V and Wr). Its touches are in Rd(u, pc_u), its changes in
// Wr(u, pc_u), its new shared values in V, u's next tracked values and held locks a node. Another thread's node does not change:
// no completed derivation has a run changing a word another thread tracks, nor an owned lock against
// the rule (a word private to another thread makes it give up instead). At the fixpoint no node
// needs running again, so the claim holds for every step by induction. Then future[L] = Rd/Wr of
// every label reachable from L by the edges (a least fixpoint over the label graph) holds everything
// any step from L on touches or changes, and is monotone along every edge (the engine's "moved to a
// label whose future is wider" never fires on a derived future). A label no node reaches is never
// reached: its future is empty.
//
// Budgets. Every number above is finite (bounded ints, finite labels), but products of value sets
// grow fast. The derivation counts runs, nodes, and the values of each V; past a budget it gives up
// for the whole model (an incomplete V can hide another thread's values, so no part of it stands
// alone) and the model runs with its declared futures only. The first pass holds at most 32 values a
// word; where it gives up, the next (refinement 2, or the full budget) is tried, three at most. Budgets are counts, never times: every
// worker thread derives the same futures, so one and N workers reduce alike.
//
// The engine checks every step it runs against the futures installed, derived ones included: a step
// that depends on anything but the state (which the determinism check catches) would make the
// derivation wrong, and is then a model error, exit 2, never a silent reduction.

import { BLOCKED, DONE, type CompiledModel, type DerivedFutures } from '../model/compile.ts';
import { store } from '../state/zobrist.ts';
import { OBS_ADD, OBS_ANY, OBS_EQ, OBS_GATHER, OBS_GT, OBS_MASK, OBS_NONE, OBS_UPD, obsLog } from '../model/observe.ts';

/** Word w's path with every index masked: the same field of another element of the array (T#.ptlock, rcu_head[#].cb). */
function siblingPattern(cm: CompiledModel, w: number): string {
  return cm.leaves[w]!.path.replace(/[0-9]+/g, '#');
}

/** A derivation that gave up for `reason`: no label of `cm` gets a future (the model runs as without one). */
export function gaveUpFutures(cm: CompiledModel, reason: string, runs: number, nodes: number, ms: number): DerivedFutures {
  const none = cm.threads.map((th) => th.labels.map(() => null));
  return { touch: none, change: none, runs, nodes, ms, gaveUp: reason };
}

/** How far the derivation goes before it gives up (counts, so that every thread derives the same). */
export interface DeriveBudget {
  /** step runs in all */
  readonly runs: number;
  /** step runs from one node, one alternative */
  readonly runsPerStep: number;
  /** nodes (private states) over all threads */
  readonly nodes: number;
  /** values of one shared word */
  readonly values: number;
}

export const DEFAULT_DERIVE_BUDGET: DeriveBudget = { runs: 40_000, runsPerStep: 10_000, nodes: 20_000, values: 256 };

/**
 * A mistake to make on purpose, so that tests can show the checks catch a wrong derivation: skip the
 * last value of every word when enumerating ('drop-value'), give each label only its own step's
 * footprint, not its successors' ('no-fixpoint'), take a tagged read's answers as telling no
 * values apart ('one-class'), or a gathered store's value as the run's alone ('one-mask').
 */
export type DeriveMistake = 'drop-value' | 'no-fixpoint' | 'one-class' | 'one-mask';

/** words recorded per run: as many as the engine checks a step's against its future */
const REC = 4096;

/** One state of one thread: the values of the words it tracks (its pc first), then a held bit per owned lock word. */
interface Node {
  readonly t: number;
  readonly vals: Int32Array;
  queued: boolean;
  /** per word: 1 once its runs touched it unfixed (it is then among the word's readers) */
  readonly reads: Uint8Array;
}

class GiveUp extends Error {
  constructor(
    message: string,
    /** no refinement can help */
    readonly fatal = false,
  ) {
    super(message);
  }
}

/** Steps may change words `ws` where the derivation took them as another thread's to change: track them no more. */
class Demote extends Error {
  constructor(readonly ws: readonly number[]) {
    super('demote');
  }
}

/**
 * Values fixed for a run: (word, value) pairs as a chain up to the step's first run (null). Runs that
 * branch from one run share its prefix, so a run costs what it touches, not what it touches squared.
 */
interface Fixed {
  readonly up: Fixed | null;
  readonly w: number;
  readonly v: number;
  /** the values w may take in this branch (v among them), all alike to the runs so far; null: v alone */
  readonly set: readonly number[] | null;
}

/** the most passes a model gets after one gave up */
const REFINEMENTS = 3;
/** values per word in the first pass */
const PROBE_VALUES = 32;

/**
 * Which words which thread's states hold (see the header, "Refinements"): `track[w]` the thread, or -1;
 * `owned[w]` 1 for a lock word (a thread's tid+1 when it holds it) whose holder alone may change it.
 */
interface Plan {
  readonly track: Int32Array;
  readonly owned: Uint8Array;
}

/**
 * The futures of every thread of `cm` (per tid, per pc; see the header), or every one null with the
 * reason it gave up. Runs the model's steps on scratch states; leaves the model's holder as it was.
 */
export function deriveFutures(cm: CompiledModel, budget: DeriveBudget = DEFAULT_DERIVE_BUDGET, mistake?: DeriveMistake): DerivedFutures {
  const t0 = Date.now();
  const h = cm.holder;
  const saved = { b: h.b, o: h.o, hi: h.hi, lo: h.lo, rec: h.rec, rn: h.rn, undo: h.undo, un: h.un };
  const W = cm.W;
  const plan: Plan = { track: new Int32Array(W).fill(-1), owned: new Uint8Array(W) };
  for (const th of cm.threads) for (const w of th.privateWords) plan.track[w] = th.tid;
  const isPrivate = Uint8Array.from(plan.track, (t) => (t >= 0 ? 1 : 0));
  // first guesses: a thread's own record (the kernel's per-thread fields) is its own to change, and a
  // lock word its holder's; a pass that is wrong about a word says so (Demote), one that gives up tells
  // which words only one thread was seen to change
  for (const th of cm.threads) {
    const prefix = `${th.name}.`;
    for (const leaf of cm.leaves) if (leaf.path.startsWith(prefix) && plan.track[leaf.off] === -1) plan.track[leaf.off] = th.tid;
  }
  for (const leaf of cm.leaves) if (leaf.ref === 'tid+1' && plan.track[leaf.off] === -1) plan.owned[leaf.off] = 1;
  let runs = 0;
  let nodes = 0;
  try {
    // Each demotion takes a word out of a thread's states for good, each refinement adds some: both end.
    // The first pass holds few values per word: where it gives up, it has seen which words one thread
    // alone changes, and the next pass, holding those in that thread's states, is cheaper.
    let values = Math.min(PROBE_VALUES, budget.values);
    for (let refinements = 0; ; ) {
      const d = new Derivation(cm, { ...budget, values }, plan, isPrivate, runs, mistake);
      try {
        d.run();
        const { touch, change } = d.futures();
        return { touch, change, runs: d.runs, nodes: Math.max(nodes, d.nodeCount), ms: Date.now() - t0 };
      } catch (e) {
        runs = d.runs;
        nodes = Math.max(nodes, d.nodeCount);
        if (e instanceof Demote) {
          // and the same field of the record's siblings the same thread tracks (T3.ptlock with T2.ptlock:
          // a thread that allocated both, and another that locks the one, locks the other a pass later);
          // a plan that tracks less is as sound, it only derives more, and on the shipped models the
          // futures are the same with it as without, in fewer passes (try-to-free-user-pte: 3 fewer)
          const like = new Set(e.ws.filter((w) => plan.track[w]! >= 0).map((w) => `${plan.track[w]}:${siblingPattern(cm, w)}`));
          for (const w of e.ws) {
            plan.track[w] = -1;
            plan.owned[w] = 0;
          }
          if (like.size > 0) for (let w = 0; w < W; w++) if (plan.track[w]! >= 0 && !isPrivate[w] && like.has(`${plan.track[w]}:${siblingPattern(cm, w)}`)) plan.track[w] = -1;
          continue;
        }
        if (!(e instanceof GiveUp) || e.fatal) throw e;
        // another pass only if it would hold more words, or more values
        const more = d.refine(plan);
        if ((!more && values === budget.values) || ++refinements > REFINEMENTS) throw e;
        values = budget.values;
      }
    }
  } catch (e) {
    if (!(e instanceof GiveUp)) throw e;
    return gaveUpFutures(cm, e.message, runs, nodes, Date.now() - t0);
  } finally {
    Object.assign(h, saved);
  }
}

class Derivation {
  readonly W: number;
  readonly K: number;
  nodeCount = 0;
  /** per thread: the words its nodes hold (its private words, pc first, then the others it tracks) */
  private readonly tracked: Int32Array[];
  /** lock words whose holder's nodes know it holds them (Plan.owned) */
  private readonly locks: Int32Array;
  /** per word: its values so far (the first is its initial value), and the same as a set */
  private readonly vals: number[][];
  private readonly valSet: Set<number>[];
  /** per word: the nodes whose runs touched it unfixed (run again when it gains a value) */
  private readonly readers: Node[][];
  /** per word: the threads seen to change it (bit tid), for refine() */
  private readonly writers: Int32Array;
  /** per thread: its nodes by a hash of their tracked values */
  private readonly nodes: Map<number, Node[]>[];
  private queue: Node[] = [];
  private head = 0;
  /** per thread, per pc: words touched / changed by its step there; labels it moves to */
  private readonly fpTouch: Int32Array[][];
  private readonly fpChange: Int32Array[][];
  private readonly edges: Set<number>[][];
  private readonly rec = new Int32Array(REC);
  private undo: Int32Array = new Int32Array(256);
  private readonly buf: Int32Array;
  private readonly pre: Int32Array;
  private readonly stamp: Int32Array;
  /** per word: how often the current run touched it (valid where its count stamp is the run's) */
  private readonly count: Int32Array;
  private readonly countStamp: Int32Array;
  private gen = 0;
  /** per word: some run learnt something of its value (untagged or compared) since the pass began */
  private readonly observed: Uint8Array;
  /** per word: updates runs made of it, as triples (0, a, b): (x & a) | b, (1, d, 0): x + d where the field holds it */
  private readonly ops: number[][];
  /** per run: the classes (constraint sets) of the words its branch fixed, by word, valid under cstamp */
  private readonly cset: (readonly number[] | null)[];
  private readonly cstamp: Int32Array;
  /** per touch index: the next touch of the same word (-1 none); per word: its first and last touch */
  private readonly nxt: Int32Array;
  private readonly first: Int32Array;
  private readonly last: Int32Array;
  private readonly posStamp: Int32Array;
  private readonly okind = new Int8Array(REC);
  private readonly oa = new Int32Array(REC);
  private readonly ob = new Int32Array(REC);
  /**
   * per run: the words whose values beyond the run's own effects() must cover, and their classes (the
   * values alike to the run's; null: a lazy word, nobody has learnt anything of it, its update kept)
   */
  private readonly clsW = new Int32Array(REC);
  private readonly clsSet: (readonly number[] | null)[] = new Array<readonly number[] | null>(REC).fill(null);
  /** update()'s answer: (x & updA) | updB */
  private updA = -1;
  private updB = 0;
  /** scratch: a class of one value */
  private readonly one: number[] = [0];
  /** scratch: the successor's tracked values */
  private next: Int32Array | null = null;
  /** words this pass found the plan wrong about (see demote) */
  private readonly demoted: number[] = [];
  private readonly isDemoted: Uint8Array;

  constructor(
    private readonly cm: CompiledModel,
    private readonly budget: DeriveBudget,
    private readonly plan: Plan,
    private readonly isPrivate: Uint8Array,
    public runs: number,
    private readonly mistake?: DeriveMistake,
  ) {
    const W = (this.W = cm.W);
    this.K = (W + 31) >>> 5;
    this.tracked = cm.threads.map((th) => {
      const out = [...th.privateWords];
      for (let w = 0; w < W; w++) if (plan.track[w] === th.tid && !isPrivate[w]) out.push(w);
      return Int32Array.from(out);
    });
    this.locks = Int32Array.from(cm.leaves.filter((l) => plan.owned[l.off]).map((l) => l.off));
    this.vals = Array.from(cm.init, (v) => [v]);
    this.valSet = Array.from(cm.init, (v) => new Set([v]));
    this.readers = Array.from({ length: W }, () => []);
    this.writers = new Int32Array(W);
    this.nodes = cm.threads.map(() => new Map());
    this.fpTouch = cm.threads.map((th) => th.labels.map(() => new Int32Array(this.K)));
    this.fpChange = cm.threads.map((th) => th.labels.map(() => new Int32Array(this.K)));
    this.edges = cm.threads.map((th) => th.labels.map(() => new Set<number>()));
    this.buf = new Int32Array(W);
    this.pre = new Int32Array(W);
    this.stamp = new Int32Array(W);
    this.count = new Int32Array(W);
    this.countStamp = new Int32Array(W);
    this.observed = new Uint8Array(W);
    this.ops = Array.from({ length: W }, () => []);
    this.cset = new Array<readonly number[] | null>(W).fill(null);
    this.cstamp = new Int32Array(W);
    this.nxt = new Int32Array(REC);
    this.first = new Int32Array(W);
    this.last = new Int32Array(W);
    this.posStamp = new Int32Array(W);
    this.isDemoted = new Uint8Array(W);
  }

  run(): void {
    const init = this.cm.init;
    for (const th of this.cm.threads) {
      const tw = this.tracked[th.tid]!;
      const v = new Int32Array(tw.length + this.locks.length);
      for (let i = 0; i < tw.length; i++) v[i] = init[tw[i]!]!;
      for (let j = 0; j < this.locks.length; j++) v[tw.length + j] = init[this.locks[j]!] === th.tid + 1 ? 1 : 0;
      this.node(th.tid, v);
    }
    try {
      while (this.head < this.queue.length) {
        const n = this.queue[this.head++]!;
        if (this.head > 1024 && 2 * this.head > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        n.queued = false;
        this.explore(n);
        if (this.demoted.length > 0) throw new Demote(this.demoted);
      }
    } catch (e) {
      // a budget met after a breach: the pass was lost already; the next goes without those words
      if (this.demoted.length > 0 && e instanceof GiveUp && !e.fatal) throw new Demote(this.demoted);
      throw e;
    }
  }

  /**
   * A run broke the plan's assumption about w (another thread changes it, or a lock is released or
   * taken against the rule): this pass's result is lost, and the next pass tracks w no more. The pass
   * still runs the rest of the node it is at: a step that breaks one word of a record (a table's
   * ptlock) mostly breaks its others in the same node's runs (its state), and one pass then demotes
   * them all, not one pass each. Sound to collect: the pass, going on without w's change, meets a
   * subset of the runs the pass without w meets (w's other values in V, each node's projection a node
   * there), so each word it finds broken the next passes would find broken too; and a pass that then
   * completes met no breach, so the header's claim holds of what it derives whatever was demoted.
   */
  private demote(w: number): void {
    if (this.isDemoted[w] === 1) return;
    this.isDemoted[w] = 1;
    this.demoted.push(w);
  }

  /**
   * After a pass that gave up: track, in the next, every word one thread alone was seen to change (in
   * that thread's states). False if that tracks nothing new.
   */
  refine(plan: Plan): boolean {
    let more = false;
    for (let w = 0; w < this.W; w++) {
      const m = this.writers[w]!;
      // a word nobody learns anything of gains nothing from being held in a thread's states
      if (plan.track[w] !== -1 || plan.owned[w] || m === 0 || (m & (m - 1)) !== 0 || (this.observed[w] === 0 && this.ops[w]!.length > 0)) continue;
      plan.track[w] = 31 - Math.clz32(m);
      plan.owned[w] = 0;
      more = true;
    }
    return more;
  }

  /** The node of thread t holding `vals` (copied if new), made (and queued) if new. */
  private node(t: number, vals: Int32Array): void {
    let key = 0x811c9dc5;
    for (let i = 0; i < vals.length; i++) key = Math.imul(key ^ vals[i]!, 0x01000193);
    const ns = this.nodes[t]!;
    const bucket = ns.get(key);
    if (bucket !== undefined) {
      for (const m of bucket) {
        let same = true;
        for (let i = 0; i < vals.length && same; i++) same = m.vals[i] === vals[i];
        if (same) return;
      }
    }
    if (++this.nodeCount > this.budget.nodes) throw new GiveUp(`more than ${this.budget.nodes} thread states`);
    const n: Node = { t, vals: vals.slice(), queued: false, reads: new Uint8Array(this.W) };
    if (bucket !== undefined) bucket.push(n);
    else ns.set(key, [n]);
    vals = n.vals;
    this.enqueue(n);
    // another thread may read the words this thread holds: their values are values of those words
    const tw = this.tracked[t]!;
    for (let i = 0; i < tw.length; i++) this.addValue(tw[i]!, vals[i]!);
    for (let j = 0; j < this.locks.length; j++) if (vals[tw.length + j]) this.addValue(this.locks[j]!, t + 1);
  }

  private enqueue(n: Node): void {
    if (n.queued || n.vals[0]! < 0) return;
    n.queued = true;
    this.queue.push(n);
  }

  private addValue(w: number, v: number): void {
    const s = this.valSet[w]!;
    if (s.has(v)) return;
    if (s.size >= this.budget.values) throw new GiveUp(`'${this.cm.leaves[w]!.path}' takes more than ${this.budget.values} values`);
    s.add(v);
    this.vals[w]!.push(v);
    for (const n of this.readers[w]!) this.enqueue(n);
    // V(w) is closed under the updates runs made of w without learning it, once anyone learns it
    if (this.observed[w] === 1) this.close(w, v);
  }

  /** Runs every alternative of n's step on every assignment of values it can meet (see the header). */
  private explore(n: Node): void {
    const th = this.cm.threads[n.t]!;
    const pc = n.vals[0]!;
    const alts = th.alts[pc]!;
    for (let alt = 0; alt < alts; alt++) {
      // assignments still to run; each is one run at least, so a budget they exceed is met already
      const todo: (Fixed | null)[] = [null];
      let here = 0;
      while (todo.length > 0) {
        const asg = todo.pop()!;
        if (++here + todo.length > this.budget.runsPerStep) throw new GiveUp(`${th.name}.${th.labels[pc]} needs more than ${this.budget.runsPerStep} runs`);
        if (++this.runs + todo.length > this.budget.runs) throw new GiveUp(`more than ${this.budget.runs} step runs`);
        this.runOnce(n, pc, alt, asg, todo);
      }
    }
  }

  private runOnce(n: Node, pc: number, alt: number, asg: Fixed | null, todo: (Fixed | null)[]): void {
    const cm = this.cm;
    const t = n.t;
    const th = cm.threads[t]!;
    const { buf, pre, rec, stamp, count, countStamp, locks, cstamp, cset } = this;
    const g = ++this.gen;
    const mine = t + 1;
    pre.set(this.cm.init);
    const tw = this.tracked[t]!;
    for (let i = 0; i < tw.length; i++) {
      pre[tw[i]!] = n.vals[i]!;
      stamp[tw[i]!] = g;
    }
    // an owned lock word: this thread's tid+1 where it holds it, any other of its values where not
    for (let j = 0; j < locks.length; j++) {
      const w = locks[j]!;
      if (n.vals[tw.length + j]) {
        pre[w] = mine;
        stamp[w] = g;
      } else if (pre[w] === mine) pre[w] = this.otherValue(w, mine) ?? mine;
    }
    // the newest entry of a word (nearest the leaf) is its narrowest class
    for (let a = asg; a !== null; a = a.up) {
      if (cstamp[a.w] === g) continue;
      pre[a.w] = a.v;
      cstamp[a.w] = g;
      cset[a.w] = a.set;
    }
    buf.set(pre);
    const h = cm.holder;
    h.b = buf;
    h.o = 0;
    h.hi = 0;
    h.lo = 0;
    h.undo = this.undo;
    h.un = 0;
    h.rec = rec;
    h.rn = 0;
    const okind = this.okind;
    obsLog.h = h;
    obsLog.kind = okind;
    obsLog.a = this.oa;
    obsLog.b = this.ob;
    let res: unknown;
    let threw = false;
    // a throw ends the run and nobody reads its stack: without one, the runs whose values make a step
    // fail (a pool exhausted, a counter past its bound) cost what the others do, not ~7% more in all
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      res = th.steps[pc]!(cm.root, th.me, alt);
      if (res === DONE) {
        store(h, th.pcOff, -1);
        for (const hook of cm.exitHooks) hook(cm.root, th.me);
      }
    } catch {
      // the run's values make the step fail: in a real state that ends the search (see the header)
      threw = true;
    } finally {
      Error.stackTraceLimit = stackLimit;
      h.rec = null;
      obsLog.h = null;
      this.undo = h.undo;
      h.undo = null;
    }
    const rn = h.rn;
    if (rn > rec.length) {
      okind.fill(0);
      throw new GiveUp(`${th.name}.${th.labels[pc]} touched more than ${rec.length} words`);
    }
    const { nxt, first, last, posStamp } = this;
    for (let i = 0; i < rn; i++) {
      const w = rec[i]!;
      if (countStamp[w] !== g) {
        countStamp[w] = g;
        count[w] = 0;
      }
      count[w]!++;
      nxt[i] = -1;
      if (posStamp[w] !== g) {
        posStamp[w] = g;
        first[w] = i;
      } else nxt[last[w]!] = i;
      last[w] = i;
    }
    // stores that changed a word, in order: a word touched once, untagged, and changed, was stored, never read
    const undo = this.undo;
    const un = h.un;
    for (let k = 0; k < un; k += 2) {
      const w = undo[k]!;
      if (countStamp[w] === g && count[w] === 1 && okind[first[w]!] === 0) count[w] = -1;
    }
    // the words touched, in first-touch order: those no node fixes branch on each class of values the
    // run could tell apart (each value alone where it may have seen the whole value)
    const touch = this.fpTouch[t]![pc]!;
    const enabled = !threw && res !== BLOCKED;
    // branches keep every value the run was given (a word it no longer reads may be read again after
    // the branch), narrowed where this run tells classes apart: chains only grow, so branching ends
    let prefix: Fixed | null = asg;
    // words whose values (beyond the run's own) the effects below must cover, and their classes (clsW, clsSet)
    let nc = 0;
    const { clsW, clsSet } = this;
    for (let i = 0; i < rn; i++) {
      const w = rec[i]!;
      touch[w >>> 5]! |= 1 << (w & 31);
      if (first[w] !== i || stamp[w] === g) continue;
      // stored without being read: its value before the step decides nothing but whether the step
      // changed it, and it did change it from this value (so may from any)
      if (count[w] === -1) continue;
      // a first touch untagged: the run may have seen the whole value (each value its own class)
      const tagged = this.okind[i] !== 0;
      const learns = !tagged || this.learns(w);
      const fixed = cstamp[w] === g;
      const lazy = !learns && !fixed && this.lazy(w) && this.update(w);
      // a new value of w may make a new class, or a new effect (a lazy word's updates are kept instead)
      if (!lazy && n.reads[w] === 0) {
        n.reads[w] = 1;
        this.readers[w]!.push(n);
      }
      if (!learns) {
        // the run learnt nothing of w: every value it may hold is alike to it
        if (fixed && cset[w] !== null) {
          clsW[nc] = w;
          clsSet[nc++] = cset[w]!;
        } else if (!fixed) {
          clsW[nc] = w;
          clsSet[nc++] = lazy ? null : this.vals[w]!;
        }
        continue;
      }
      if (this.observed[w] === 0) this.observe(w);
      const skip = this.plan.owned[w] && stamp[w] !== g ? mine : NaN;
      let all = fixed ? cset[w] : this.vals[w]!;
      if (all === null) {
        this.one[0] = pre[w]!;
        all = this.one;
      }
      const end = this.mistake === 'drop-value' && all.length > 1 ? all.length - 1 : all.length;
      if (!tagged) {
        for (let k = 0; k < end; k++) if (all[k] !== pre[w] && all[k] !== skip) todo.push({ up: prefix, w, v: all[k]!, set: null });
        if (!fixed || cset[w] !== null) prefix = { up: prefix, w, v: pre[w]!, set: null };
        continue;
      }
      // partition by what the run learnt: one branch per class other than the run's own
      const reps: number[] = [];
      const members: number[][] = [];
      const own: number[] = [];
      for (let k = 0; k < end; k++) {
        const x = all[k]!;
        if (x === skip) continue;
        if (this.alike(w, x, pre[w]!)) {
          own.push(x);
          continue;
        }
        let c = 0;
        while (c < reps.length && !this.alike(w, x, reps[c]!)) c++;
        if (c === reps.length) {
          reps.push(x);
          members.push([]);
        }
        members[c]!.push(x);
      }
      if (!own.includes(pre[w]!)) own.push(pre[w]!);
      for (let c = 0; c < reps.length; c++) todo.push({ up: prefix, w, v: reps[c]!, set: members[c]! });
      if (reps.length > 0) prefix = { up: prefix, w, v: pre[w]!, set: own };
      clsW[nc] = w;
      clsSet[nc++] = own;
    }
    if (!enabled) {
      okind.fill(0, 0, rn);
      return;
    }
    try {
      this.effects(n, pc, res, rn, pre, nc);
    } finally {
      okind.fill(0, 0, rn);
    }
  }

  /** What an enabled run did: its changes, its other class members' changes, its successor node. */
  private effects(n: Node, pc: number, res: unknown, rn: number, pre: Int32Array, nc: number): void {
    const t = n.t;
    const th = this.cm.threads[t]!;
    const { buf, rec, first, locks } = this;
    const mine = t + 1;
    const tw = this.tracked[t]!;
    if (res !== DONE) {
      const ix = typeof res === 'string' ? th.labelIndex[res] : undefined;
      if (ix === undefined) return; // the engine reports a step returning no label: that path ends there
      buf[th.pcOff] = ix;
    }
    const change = this.fpChange[t]![pc]!;
    for (let i = 0; i < rn; i++) {
      const w = rec[i]!;
      if (first[w] !== i) continue;
      const now = buf[w]!;
      const was = pre[w]!;
      if (now === was) continue;
      this.changed(t, pc, w, was, now, change);
    }
    // a gathered store (storeBitsOf): the run met one value of the words it gathered from, without
    // learning them, so the word may take any value within the mask, and what the run did to it after
    for (let p = 0; p < rn; p++) {
      if (this.okind[p] !== OBS_ANY) continue;
      const w = rec[p]!;
      // a bit whose fields this thread's node fixes is the run's; the others may be either
      let mask = 0;
      for (let q = p - 1; q >= 0 && this.okind[q] === OBS_GATHER; q--) if (this.stamp[rec[q]!] !== this.gen) mask |= 1 << this.oa[q]!;
      mask &= this.mistake === 'one-mask' ? 0 : this.oa[p]!;
      const fixed = this.ob[p]! & ~mask;
      // its values are not this thread's to know from its path: a word it tracks is tracked no more
      if (this.plan.track[w] === t) {
        if (this.isPrivate[w]) throw new GiveUp(`${th.name}.${th.labels[pc]} gathers into its own '${this.cm.leaves[w]!.path}'`, true);
        this.demote(w);
      }
      const { lo, hi } = this.cm.leaves[w]!;
      for (let sub = mask; ; sub = (sub - 1) & mask) {
        let f = sub | fixed;
        for (let q = this.nxt[p]!; q >= 0; q = this.nxt[q]!) {
          const k = this.okind[q]!;
          if (k === OBS_UPD) f = (f & this.oa[q]!) | this.ob[q]!;
          else if (k === OBS_ADD) f = (f + this.oa[q]!) | 0;
          else if (k !== OBS_NONE && k !== OBS_GATHER) throw new GiveUp(`${th.name}.${th.labels[pc]} reads back '${this.cm.leaves[w]!.path}' after gathering it`, true);
        }
        if (f >= lo && f <= hi && f !== pre[w]) this.changed(t, pc, w, pre[w]!, f, change);
        if (sub === 0) break;
      }
    }
    // the other values of each class: the run did with them what it did with its own, but its
    // updates (x & a) | b may leave them elsewhere
    for (let c = 0; c < nc; c++) {
      const w = this.clsW[c]!;
      const cls = this.clsSet[c] ?? null;
      if (cls === null) {
        // lazy: nobody has learnt anything of w yet; keep the update, apply it once someone does
        this.update(w);
        const a = this.updA;
        const b = this.updB;
        if (a === -1 && b === 0) continue;
        change[w >>> 5]! |= 1 << (w & 31);
        this.writers[w]! |= 1 << t;
        this.addOp(w, 0, a, b);
        continue;
      }
      // a counter's addition, kept for every value V(w) takes (more values than this run's class: a
      // superset, so that V reaches its closure at once instead of one new value per pass of readers)
      const d = this.plan.track[w] === -1 && this.plan.owned[w] === 0 ? this.addition(w) : 0;
      if (d !== 0) this.addOp(w, 1, d, 0);
      // each member's own result, where the field holds it (beyond, the real step throws)
      const { lo, hi } = this.cm.leaves[w]!;
      for (const x of cls) {
        if (x === pre[w]) continue;
        const f = this.finalOf(w, x, pre[w]!);
        if (f >= lo && f <= hi && f !== x) this.changed(t, pc, w, x, f, change);
      }
    }
    const next = (this.next ??= new Int32Array(tw.length + locks.length)).length === tw.length + locks.length ? this.next : (this.next = new Int32Array(tw.length + locks.length));
    for (let i = 0; i < tw.length; i++) next[i] = buf[tw[i]!]!;
    for (let j = 0; j < locks.length; j++) next[tw.length + j] = buf[locks[j]!] === mine ? 1 : 0;
    if (next[0]! >= 0) this.edges[t]![pc]!.add(next[0]!);
    this.node(t, next);
  }

  /** Thread t's step at pc, enabled, took word w from `was` to `now`: a change, a value, or a breach of the plan. */
  private changed(t: number, pc: number, w: number, was: number, now: number, change: Int32Array): void {
    const th = this.cm.threads[t]!;
    const mine = t + 1;
    change[w >>> 5]! |= 1 << (w & 31);
    this.writers[w]! |= 1 << t;
    const owner = this.plan.track[w]!;
    if (owner === t) return;
    if (owner >= 0) {
      if (this.isPrivate[w]) throw new GiveUp(`${th.name}.${th.labels[pc]} may change '${this.cm.leaves[w]!.path}', private to another thread`, true);
      this.demote(w);
      return;
    }
    // an owned lock word: only its holder releases it, and nobody takes it for another
    if (this.plan.owned[w] && ((was !== mine && was !== 0) || (now !== mine && now !== 0))) {
      this.demote(w);
      return;
    }
    this.addValue(w, now);
  }

  /**
   * Some touch of w in this run told it something of the value w held before the step: a tagged read,
   * or an untagged touch (which may be a read), before a store made w the same whatever it held.
   */
  private learns(w: number): boolean {
    let a = -1;
    for (let p = this.first[w]!; p >= 0; p = this.nxt[p]!) {
      const k = this.okind[p]!;
      if (k === OBS_ANY) return false;
      if (k === OBS_UPD) {
        a &= this.oa[p]!;
        if (a === 0) return false;
      } else if (k !== OBS_NONE && k !== OBS_ADD && k !== OBS_GATHER) return true;
    }
    return false;
  }

  /**
   * This run, whose first touch of w is tagged, goes the same way with x in w as with y: every answer
   * it got is the same, followed through its updates, until x and y meet (a store of one value to
   * both), after which nothing tells them apart. An untagged touch before they meet sees the value.
   */
  private alike(w: number, x: number, y: number): boolean {
    if (this.mistake === 'one-class') return true;
    const { okind, oa, ob, nxt } = this;
    for (let p = this.first[w]!; p >= 0; p = nxt[p]!) {
      if (x === y) return true;
      const a = oa[p]!;
      switch (okind[p]) {
        case 0:
          return false;
        case OBS_EQ:
          if ((x === a) !== (y === a)) return false;
          break;
        case OBS_GT:
          if (x > a !== y > a) return false;
          break;
        case OBS_MASK:
          if ((x & a) !== (y & a)) return false;
          break;
        case OBS_UPD:
          x = (x & a) | ob[p]!;
          y = (y & a) | ob[p]!;
          break;
        case OBS_ADD:
          x = (x + a) | 0;
          y = (y + a) | 0;
          break;
        case OBS_ANY:
          return true; // one value stored over both (what it could be is effects()' business)
      }
    }
    return true;
  }

  /** What this run leaves in w had w held x, alike to the run's own value `own`. */
  private finalOf(w: number, x: number, own: number): number {
    for (let p = this.first[w]!; p >= 0; p = this.nxt[p]!) {
      if (x === own) return this.buf[w]!;
      const k = this.okind[p]!;
      if (k === 0) throw new Error(`internal: ${this.cm.leaves[w]!.path} seen whole, yet alike`);
      if (k === OBS_ANY) return this.buf[w]!;
      if (k === OBS_UPD) {
        x = (x & this.oa[p]!) | this.ob[p]!;
        own = (own & this.oa[p]!) | this.ob[p]!;
      } else if (k === OBS_ADD) {
        x = (x + this.oa[p]!) | 0;
        own = (own + this.oa[p]!) | 0;
      }
    }
    return x === own ? this.buf[w]! : x;
  }

  /** The sum this run's updates of w add to it, if they are additions alone (0 otherwise). */
  private addition(w: number): number {
    let d = 0;
    for (let p = this.first[w]!; p >= 0; p = this.nxt[p]!) {
      const k = this.okind[p]!;
      if (k === OBS_ADD) d += this.oa[p]!;
      else if (k === 0 || k === OBS_UPD || k === OBS_ANY) return 0;
    }
    return d;
  }

  /**
   * This run's updates of w (no touch of which told it anything) as (x & a) | b for every x, left in
   * updA, updB: false where that form does not hold (an addition, or an untagged touch, before a store
   * made w one value).
   */
  private update(w: number): boolean {
    let a = -1;
    let b = 0;
    for (let p = this.first[w]!; p >= 0 && a !== 0; p = this.nxt[p]!) {
      const k = this.okind[p]!;
      if (k === OBS_UPD) {
        const a2 = this.oa[p]!;
        b = (b & a2) | this.ob[p]!;
        a &= a2;
      } else if (k !== OBS_NONE && k !== OBS_GATHER) return false;
    }
    if (a === 0) b = this.buf[w]!;
    this.updA = a;
    this.updB = b;
    return true;
  }

  /** w's values need not be listed yet: nobody learnt anything of it, nobody tracks or owns it. */
  private lazy(w: number): boolean {
    return this.observed[w] === 0 && this.plan.track[w] === -1 && this.plan.owned[w] === 0;
  }

  /** Someone learns something of w: from now on V(w) holds every value its updates so far make. */
  private observe(w: number): void {
    this.observed[w] = 1;
    const vs = this.vals[w]!;
    for (let k = 0; k < vs.length; k++) this.close(w, vs[k]!);
  }

  /** V(w) holds what every kept update makes of v (an addition only where the field holds the result). */
  private close(w: number, v: number): void {
    const ops = this.ops[w]!;
    const { lo, hi } = this.cm.leaves[w]!;
    for (let k = 0; k < ops.length; k += 3) {
      const f = ops[k] === 0 ? (v & ops[k + 1]!) | ops[k + 2]! : (v + ops[k + 1]!) | 0;
      if (f >= lo && f <= hi) this.addValue(w, f);
    }
  }

  /** An update some enabled run makes of w, kept: (0, a, b) is (x & a) | b, (1, d, 0) is x + d. */
  private addOp(w: number, kind: number, a: number, b: number): void {
    const ops = this.ops[w]!;
    for (let k = 0; k < ops.length; k += 3) if (ops[k] === kind && ops[k + 1] === a && ops[k + 2] === b) return;
    ops.push(kind, a, b);
    if (this.observed[w] === 0) return;
    const vs = this.vals[w]!;
    for (let k = 0; k < vs.length; k++) this.close(w, vs[k]!);
  }


  /** The first value of w other than `not`, or undefined. */
  private otherValue(w: number, not: number): number | undefined {
    const vs = this.vals[w]!;
    for (let k = 0; k < vs.length; k++) if (vs[k] !== not) return vs[k];
    return undefined;
  }

  /** Per thread, per pc: the least fixpoint over the label graph (see the header); null where unknown. */
  futures(): { touch: (Int32Array | null)[][]; change: (Int32Array | null)[][] } {
    const touch: (Int32Array | null)[][] = [];
    const change: (Int32Array | null)[][] = [];
    for (const th of this.cm.threads) {
      const t = th.tid;
      const T = this.fpTouch[t]!.map((b) => Int32Array.from(b));
      const C = this.fpChange[t]!.map((b) => Int32Array.from(b));
      // declared labels are what their declarations say (compile.ts keeps them); the others grow
      const declared = th.labels.map((_, pc) => th.futDecl[pc] !== null);
      for (let pc = 0; pc < th.labels.length; pc++) {
        if (!declared[pc]) continue;
        const dt = th.futTouch[pc];
        const dc = th.futChange[pc];
        if (dt) T[pc]!.set(dt);
        if (dc) C[pc]!.set(dc);
      }
      const unrestricted = th.labels.map((_, pc) => declared[pc] && th.futTouch[pc] === null);
      let changed = this.mistake !== 'no-fixpoint';
      while (changed) {
        changed = false;
        for (let pc = 0; pc < th.labels.length; pc++) {
          if (declared[pc]) continue;
          for (const nx of this.edges[t]![pc]!) {
            if (unrestricted[nx] && !unrestricted[pc]) {
              unrestricted[pc] = true;
              changed = true;
            }
            changed = or(T[pc]!, T[nx]!) || changed;
            changed = or(C[pc]!, C[nx]!) || changed;
          }
        }
      }
      touch.push(T.map((b, pc) => (unrestricted[pc] ? null : b)));
      change.push(C.map((b, pc) => (unrestricted[pc] ? null : b)));
    }
    return { touch, change };
  }
}

/** a |= b; true if a changed */
function or(a: Int32Array, b: Int32Array): boolean {
  let changed = false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! | b[i]!;
    if (x !== a[i]) {
      a[i] = x;
      changed = true;
    }
  }
  return changed;
}
