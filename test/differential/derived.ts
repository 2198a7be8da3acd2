// Derived futures (src/por/derive-futures.ts) on generated models: the derived future holds the exact
// one (what the steps from each label on touch over every reachable state), every step
// of every reachable state keeps within what was derived (checked here without the engine), and the
// verdicts with the reduction by derived futures are the reference's. Also the same with a mistake
// injected in the derivation, which those checks must catch.

import assert from 'node:assert/strict';
import { BLOCKED, DONE, instantiate, type CompiledModel, type Instance } from '../../src/model/compile.ts';
import { ModelError } from '../../src/model/errors.ts';
import { deriveFutures, DEFAULT_DERIVE_BUDGET, type DeriveMistake } from '../../src/por/derive-futures.ts';
import type { ReductionStats } from '../../src/explore/verify.ts';
import { MAX_REFERENCE_STATES, runEngine, reference } from './check.ts';
import { explore } from './reference.ts';
import { exactFutures, instanceNames, runRecorded } from './future.ts';
import { GROUP_NAMES, compileDesc, isSymmetric, tableCount, usesRcu, type ModelDesc } from './gen.ts';

/** A future.ts pattern ('*' any run, 'me.' the instance) as a RegExp, as future.ts matches() reads it. */
function patternOf(p: string, self: string): RegExp {
  const q = p.startsWith('me.') ? `${self}.${p.slice(3)}` : p;
  return new RegExp(`^${q.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

const bit = (bits: Int32Array | null, w: number): boolean => bits === null || (bits[w >>> 5]! & (1 << (w & 31))) !== 0;

/**
 * The first step of a reachable state that leaves the futures installed in `cm` (touches a word
 * outside its label's, changes one outside its writes, moves to a label whose future is not within
 * its own), as a line, or undefined. Runs every alternative of every thread in every state, recording
 * what it touches through the views, as the engine's check does, but written without the engine.
 */
export function derivedBreach(cm: CompiledModel, states: readonly Int32Array[]): string | undefined {
  const rec = new Int32Array(4096);
  const b = new Int32Array(cm.W);
  for (const a of states) {
    for (const t of cm.threads) {
      const pc = a[t.pcOff]!;
      if (pc < 0) continue;
      const touch = t.futTouch[pc]!;
      const change = t.futChange[pc]!;
      if (touch === null) continue;
      for (let alt = 0; alt < t.alts[pc]!; alt++) {
        const { res, rn } = runRecorded(cm, t, pc, alt, a, b, rec);
        const where = `${t.name} at '${t.labels[pc]}' in [${a.join(',')}]`;
        for (let i = 0; i < rn; i++) if (!bit(touch, rec[i]!)) return `${where} touched ${cm.leaves[rec[i]!]!.path}`;
        if (res === BLOCKED) continue;
        for (let w = 0; w < cm.W; w++) if (b[w] !== a[w] && w !== t.pcOff && !bit(change, w)) return `${where} changed ${cm.leaves[w]!.path}`;
        if (res !== DONE) {
          const next = t.labelIndex[res as string]!;
          const nt = t.futTouch[next]!;
          const nc = t.futChange[next]!;
          for (let w = 0; w < cm.W; w++) {
            if ((nt === null || bit(nt, w)) && !bit(touch, w)) return `${where} moved to '${t.labels[next]}', whose future touches ${cm.leaves[w]!.path}`;
            if ((nc === null || bit(nc, w)) && !bit(change, w)) return `${where} moved to '${t.labels[next]}', whose future changes ${cm.leaves[w]!.path}`;
          }
        }
      }
    }
  }
  return undefined;
}

/**
 * The exact futures as the reachable states have them: per thread, per label, the words its steps at
 * that label or any label it really moves on to touch (`touch`) and change (`change`), over every
 * reachable state. (The description's futures, future.ts, are the same read off the program text:
 * they also hold what no reachable state does, such as the exit checks of a loop that never ends.)
 */
function reachableFutures(cm: CompiledModel, states: readonly Int32Array[]): { touch: Uint8Array[][]; change: Uint8Array[][]; edges: Set<number>[][] } {
  const touch = cm.threads.map((t) => t.labels.map(() => new Uint8Array(cm.W)));
  const change = cm.threads.map((t) => t.labels.map(() => new Uint8Array(cm.W)));
  const edges = cm.threads.map((t) => t.labels.map(() => new Set<number>()));
  const rec = new Int32Array(4096);
  const b = new Int32Array(cm.W);
  for (const a of states) {
    for (const t of cm.threads) {
      const pc = a[t.pcOff]!;
      if (pc < 0) continue;
      for (let alt = 0; alt < t.alts[pc]!; alt++) {
        const { res, rn } = runRecorded(cm, t, pc, alt, a, b, rec);
        for (let i = 0; i < rn; i++) touch[t.tid]![pc]![rec[i]!] = 1;
        if (res === BLOCKED) continue;
        for (let w = 0; w < cm.W; w++) if (b[w] !== a[w] && w !== t.pcOff) change[t.tid]![pc]![w] = 1;
        if (res !== DONE) edges[t.tid]![pc]!.add(t.labelIndex[res as string]!);
      }
    }
  }
  // (each label's own footprint first: the engine's check is of each step against its label's future)
  const own = { touch: touch.map((t) => t.map((x) => x.slice())), change: change.map((t) => t.map((x) => x.slice())) };
  ownFootprints = own;
  for (const t of cm.threads) {
    for (let grew = true; grew; ) {
      grew = false;
      for (let pc = 0; pc < t.labels.length; pc++) {
        for (const nx of edges[t.tid]![pc]!) {
          for (let w = 0; w < cm.W; w++) {
            for (const f of [touch, change]) {
              if (f[t.tid]![nx]![w] && !f[t.tid]![pc]![w]) {
                f[t.tid]![pc]![w] = 1;
                grew = true;
              }
            }
          }
        }
      }
    }
  }
  return { touch, change, edges };
}

/** the footprints of each label's own steps, as reachableFutures() last found them */
let ownFootprints: { touch: Uint8Array[][]; change: Uint8Array[][] } = { touch: [], change: [] };

export interface DerivedReport {
  readonly gaveUp: boolean;
  readonly states: number;
  /** states stored with the reduction by derived futures */
  readonly stored: number;
  readonly por?: ReductionStats;
  /** labels (over instances) whose derived future leaves out a word the description's names (tighter), or holds one it does not (wider) */
  readonly tighter?: number;
  readonly wider?: number;
}

/** The description with no group declaring a future (everything is derived). */
export function undeclared(d: ModelDesc): ModelDesc {
  const { future: _f, mutant: _m, ...rest } = d;
  return rest;
}

function derivedInstance(d: ModelDesc, mistake?: DeriveMistake): Instance {
  return instantiate(compileDesc(d).model, 'base', {}, { deriveFutures: (cm) => deriveFutures(cm, DEFAULT_DERIVE_BUDGET, mistake) });
}

/**
 * One generated model, futures derived (none declared): (1) at every label of every instance, the
 * derived future holds the exact one (reachableFutures); (2) no reachable step leaves its label's
 * derived future or moves to a wider one (the engine's check); (3) with the reduction by them (DFS, and
 * with `all` BFS, storing DFS's states, and DFS with symmetry where a group is symmetric) every verdict
 * is the reference's. Undefined when skipped
 * for its size.
 */
export function checkDerived(d0: ModelDesc, o: { maxStates?: number; all?: boolean; keepDeclared?: boolean; netOnly?: boolean } = {}): DerivedReport | undefined {
  // `keepDeclared`: the groups the description has declare their (exact) futures, the others' are derived
  const d = o.keepDeclared && d0.future ? { ...undeclared(d0), future: d0.future } : undeclared(d0);
  // the reference explores the instance with derived futures (futures change no state, and it runs the steps itself)
  const { model, spec } = compileDesc(d);
  const inst = instantiate(model, 'base', {}, { deriveFutures: (cm) => deriveFutures(cm) });
  const cm = inst.compiled;
  const ref = explore(cm, spec.properties, o.maxStates ?? MAX_REFERENCE_STATES);
  if (!ref) return undefined;
  const want = spec.properties.map((p, k) => `${p.name}=${ref.verdicts[k]}`).join(' ');
  if (cm.derived?.gaveUp !== undefined) return { gaveUp: true, states: ref.states, stored: ref.states };
  // (1) the exact futures (the reachable states'); and how the derived ones compare with the description's
  const exact = reachableFutures(cm, ref.stateList);
  const text = exactFutures(d, GROUP_NAMES, tableCount(d), usesRcu(d));
  let tighter = 0;
  let wider = 0;
  d.groups.forEach((_, gi) => {
    for (const name of instanceNames(d, gi, GROUP_NAMES[gi]!)) {
      const th = cm.threads.find((t) => t.name === name)!;
      if (d.future?.[gi]) assert.ok(th.futDerived.every((x) => !x), `${name}: declares its futures, yet some label's was derived`);
      text[gi]!.forEach((f, k) => {
        let tight = false;
        let wide = false;
        const pats = [...f.reads, ...f.writes].map((p) => patternOf(p, name));
        for (const leaf of cm.leaves) {
          const w = leaf.off;
          if (th.privateWords.includes(w)) continue;
          assert.ok(!exact.touch[th.tid]![k]![w] || bit(th.futTouch[k]!, w), `${name} at '${th.labels[k]}': a reachable step from here touches ${leaf.path}, the derived future does not hold it`);
          assert.ok(!exact.change[th.tid]![k]![w] || bit(th.futChange[k]!, w), `${name} at '${th.labels[k]}': a reachable step from here changes ${leaf.path}, the derived future does not hold it`);
          const named = pats.some((re) => re.test(leaf.path));
          if (named && !bit(th.futTouch[k]!, w)) tight = true;
          if (!named && bit(th.futTouch[k]!, w)) wide = true;
        }
        if (tight && th.futDerived[k]) tighter++;
        if (wide && th.futDerived[k]) wider++;
      });
    }
  });
  // (2) every reachable step within its label's derived future, and every move it makes to a label whose future is within it
  for (const th of cm.threads) {
    th.labels.forEach((l, pc) => {
      for (let w = 0; w < cm.W; w++) {
        const where = `${th.name} at '${l}'`;
        assert.ok(!ownFootprints.touch[th.tid]![pc]![w] || bit(th.futTouch[pc]!, w), `${where}: a reachable step touches ${cm.leaves[w]!.path}, outside its derived future`);
        assert.ok(!ownFootprints.change[th.tid]![pc]![w] || bit(th.futChange[pc]!, w), `${where}: a reachable step changes ${cm.leaves[w]!.path}, outside its derived future`);
      }
      for (const nx of exact.edges[th.tid]![pc]!) assert.equal(th.futWithin[pc]![nx], 1, `${th.name} at '${l}' moves to '${th.labels[nx]}', whose derived future is wider`);
    });
  }
  // (3) verdicts, and (`all`) the same states whatever the order of the search
  // `netOnly`: without the pre-pass that seeds the visible set, so that the restarts alone must learn it
  const net = o.netOnly ? { seedVisible: false } : {};
  const dfs = runEngine(inst, spec, { strategy: 'dfs', symmetry: false, por: true, ...net }).result;
  const bfs = o.all ? runEngine(inst, spec, { strategy: 'bfs', symmetry: false, por: true, ...net }).result : dfs;
  for (const [what, res] of [['dfs', dfs], ['bfs', bfs]] as const) {
    assert.equal(res.outcome.kind, 'complete', `[${what}+por, derived]: the run did not complete`);
    assert.equal(res.properties.map((p) => `${p.name}=${p.status}`).join(' '), want, `[${what}+por, derived]: verdicts differ from the reference's`);
    assert.ok(res.stats.states <= ref.states, `[${what}+por, derived]: ${res.stats.states} states stored, more than the ${ref.states} reachable`);
  }
  assert.equal(bfs.stats.states, dfs.stats.states, `[bfs+por, derived]: ${bfs.stats.states} states stored, dfs stored ${dfs.stats.states}`);
  // (`all`) with symmetry too (verify's default), where the model has a symmetric group
  if (o.all && isSymmetric(d)) {
    const sym = runEngine(inst, spec, { strategy: 'dfs', symmetry: true, por: true, ...net }).result;
    assert.equal(sym.outcome.kind, 'complete', '[dfs+por+symmetry, derived]: the run did not complete');
    assert.equal(sym.properties.map((p) => `${p.name}=${p.status}`).join(' '), want, '[dfs+por+symmetry, derived]: verdicts differ from the reference\'s');
  }
  return { gaveUp: false, states: ref.states, stored: dfs.stats.states, tighter, wider, ...(dfs.stats.reduction ? { por: dfs.stats.reduction } : {}) };
}

/**
 * The same model with a mistake injected in the derivation: the search with the reduction reports
 * the breach (exit 2) or gives the reference's verdicts, never others; `caught` when the check
 * written without the engine (2) finds a reachable step outside the (wrong) derived futures.
 */
export function checkDerivedMistake(d0: ModelDesc, mistake: DeriveMistake, o: { maxStates?: number } = {}): { caught: boolean } | undefined {
  const d = undeclared(d0);
  const r = reference(d, o.maxStates);
  if (!r) return undefined;
  const inst = derivedInstance(d, mistake);
  if (inst.compiled.derived?.gaveUp !== undefined) return undefined;
  const want = r.spec.properties.map((p, k) => `${p.name}=${r.ref.verdicts[k]}`).join(' ');
  const caught = derivedBreach(inst.compiled, r.ref.stateList) !== undefined;
  let reported = false;
  try {
    const res = runEngine(inst, r.spec, { strategy: 'dfs', symmetry: false, por: false }).result;
    assert.equal(res.properties.map((p) => `${p.name}=${p.status}`).join(' '), want, `[dfs, ${mistake}]: verdicts differ from the reference's`);
  } catch (e) {
    if (!(e instanceof ModelError && /outside its derived future|whose future is wider/.test(e.message))) throw e;
    reported = true;
  }
  // the engine, running every reachable step without the reduction, meets the breach exactly when the check does
  assert.equal(reported, caught, `[dfs, ${mistake}]: engine ${reported ? 'reports' : 'reports no'} breach, the check written without it ${caught ? 'finds one' : 'finds none'}`);
  // with the reduction: the breach too (a breach in the full graph is met in the reduced one), or the reference's verdicts
  let reducedReported = false;
  try {
    const res = runEngine(inst, r.spec, { strategy: 'dfs', symmetry: false, por: true }).result;
    assert.equal(res.properties.map((p) => `${p.name}=${p.status}`).join(' '), want, `[dfs+por, ${mistake}]: verdicts differ from the reference's`);
  } catch (e) {
    if (!(e instanceof ModelError && /outside its derived future|whose future is wider/.test(e.message))) throw e;
    reducedReported = true;
  }
  assert.equal(reducedReported, caught, `[dfs+por, ${mistake}]: ${reducedReported ? 'reports a breach --no-por never met' : 'reports no breach, --no-por does'}`);
  return { caught };
}
