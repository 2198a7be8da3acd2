// verify --check-reduction: a run with its reductions set against the same search with every reduction
// off — figures both ways, the cut, and whether every property's verdict agrees. Compares and renders;
// it runs nothing and decides no exit code.

import type { PropertyKind } from '../spec/property.ts';
import type { PropertyStatus, RunResult } from '../explore/verify.ts';
import { fmtInt, fmtSecs } from './format.ts';
import { futuresLine, stopReasonText } from './result-text.ts';

/** A reduction the checked run had on. */
export type ReductionName = 'partial-order' | 'sleep-sets' | 'symmetry';

export interface ReductionCheckRun {
  readonly outcome: RunResult['outcome'];
  readonly states: number;
  readonly transitions: number;
  readonly elapsedMs: number;
  /** worker threads the run used (1: this thread only) */
  readonly workers: number;
}

export interface ReductionCheckProperty {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly reduced: PropertyStatus;
  readonly unreduced: PropertyStatus | null;
}

export interface ReductionCheck {
  /** the reductions the checked run had on (empty: both runs are the same search) */
  readonly reductions: readonly ReductionName[];
  readonly reduced: ReductionCheckRun;
  /** null: the unreduced run did not take place (the first was stopped by a signal) */
  readonly unreduced: ReductionCheckRun | null;
  /** unreduced ÷ reduced, only when both runs are complete */
  readonly cut: { readonly states: number; readonly transitions: number } | null;
  /**
   * agrees: both complete, every verdict the same. differs: a property has a known verdict in each
   * run and they differ (a violation or a reached `sometimes` is known even in an incomplete run) —
   * a soundness bug of ptcheck. incomplete: neither can be said.
   */
  readonly result: 'agrees' | 'differs' | 'incomplete';
  readonly properties: readonly ReductionCheckProperty[];
  /** the properties whose verdicts differ */
  readonly differences: readonly ReductionCheckProperty[];
  /** the checked run's thread futures (declared, derived), when it had any */
  readonly futures?: RunResult['stats']['futures'];
}

function runOf(r: RunResult): ReductionCheckRun {
  return { outcome: r.outcome, states: r.stats.states, transitions: r.stats.transitions, elapsedMs: r.stats.elapsedMs, workers: r.stats.workers };
}

/** Compares a run (`reduced`, with `reductions` on) with the same search without them (`unreduced`). */
export function compareReduction(reduced: RunResult, unreduced: RunResult | undefined, reductions: readonly ReductionName[]): ReductionCheck {
  const properties = reduced.properties.map((p): ReductionCheckProperty => {
    const q = unreduced?.properties.find((x) => x.name === p.name);
    return { name: p.name, kind: p.kind, reduced: p.status, unreduced: q ? q.status : null };
  });
  // a verdict is known when it is not 'unknown': 'holds'/'unreachable' only come from complete runs
  const differences = properties.filter((p) => p.unreduced !== null && p.reduced !== 'unknown' && p.unreduced !== 'unknown' && p.reduced !== p.unreduced);
  const complete = reduced.outcome.kind === 'complete' && unreduced?.outcome.kind === 'complete';
  const result = differences.length > 0 ? 'differs' : complete && properties.every((p) => p.unreduced === p.reduced) ? 'agrees' : 'incomplete';
  const cut =
    complete && unreduced
      ? { states: unreduced.stats.states / Math.max(1, reduced.stats.states), transitions: unreduced.stats.transitions / Math.max(1, reduced.stats.transitions) }
      : null;
  return { reductions, reduced: runOf(reduced), unreduced: unreduced ? runOf(unreduced) : null, cut, result, properties, differences, ...(reduced.stats.futures ? { futures: reduced.stats.futures } : {}) };
}

const ratio = (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(1)}x`;

function runState(r: ReductionCheckRun): string {
  return r.outcome.kind === 'incomplete' ? `INCOMPLETE (${stopReasonText(r.outcome.reason)})` : 'complete';
}

function differenceText(p: ReductionCheckProperty): string {
  return `${p.name} (reduced: ${p.reduced}, unreduced: ${p.unreduced})`;
}

/** Whose fault a changed verdict is: ptcheck's, or, with symmetry on, perhaps the model's declaration. */
function culprit(c: ReductionCheck): string {
  return c.reductions.includes('symmetry')
    ? 'a soundness bug of ptcheck, or a symmetry declaration that does not hold (instances that are not interchangeable, or a property naming one; --no-symmetry --check-reduction tells which)'
    : 'a soundness bug of ptcheck, not of the model';
}

/** The one line a disagreement gets on stderr. */
export function disagreementLine(c: ReductionCheck, what: string): string {
  return `${what}: the reduction changed a verdict: ${c.differences.map(differenceText).join(', ')} — ${culprit(c)}`;
}

/** The text block of a check: the figures both ways, the cut, and the comparison's result. */
export function reductionCheckText(c: ReductionCheck): string[] {
  const on = c.reductions.length ? c.reductions.join(', ') : 'none applies to this model with these options: both runs are the same search';
  const out = [`reduction check: the same search again with every reduction off (reductions on: ${on})`];
  const u = c.unreduced;
  if (!u) {
    out.push('  the unreduced run did not take place (the run was stopped): the comparison is INCOMPLETE');
    return out;
  }
  const cell = (n: number) => fmtInt(n).padStart(Math.max(fmtInt(c.reduced.states).length, fmtInt(u.states).length, fmtInt(c.reduced.transitions).length, fmtInt(u.transitions).length));
  const cutOf = (a: number, b: number, exact: number | undefined) => {
    if (exact !== undefined) return `cut ${ratio(exact)}`;
    // the reduced run finished and the unreduced one stopped early: the cut is at least what it reached
    if (c.reduced.outcome.kind === 'complete' && u.outcome.kind === 'incomplete' && b > 0) return `cut at least ${ratio(a / b)}`;
    return 'cut unknown';
  };
  out.push(`  states       ${cell(c.reduced.states)} reduced   ${cell(u.states)} unreduced   ${cutOf(u.states, c.reduced.states, c.cut?.states)}`);
  out.push(`  transitions  ${cell(c.reduced.transitions)} reduced   ${cell(u.transitions)} unreduced   ${cutOf(u.transitions, c.reduced.transitions, c.cut?.transitions)}`);
  out.push(`  time         ${fmtSecs(c.reduced.elapsedMs)} reduced, ${fmtSecs(u.elapsedMs)} unreduced`);
  if (c.futures) out.push(`  ${futuresLine(c.futures)}`);
  if (c.result === 'differs') {
    out.push(`  verdicts DIFFER: ${c.differences.map(differenceText).join(', ')}`);
    out.push(`  the reduction changed a verdict: ${culprit(c)} (exit 4)`);
  } else if (c.result === 'agrees') {
    const reached = c.properties.filter((p) => p.kind === 'sometimes' && p.reduced === 'reachable').map((p) => p.name);
    const sometimes = c.properties.some((p) => p.kind === 'sometimes') ? `; sometimes reached both ways: ${reached.join(', ') || 'none'}` : '';
    out.push(`  verdicts agree: all ${c.properties.length} properties the same both ways${sometimes}`);
  } else {
    const which = [c.reduced.outcome.kind !== 'complete' ? `the reduced run is ${runState(c.reduced)}` : '', u.outcome.kind !== 'complete' ? `the unreduced run is ${runState(u)}` : '']
      .filter(Boolean)
      .join(' and ');
    out.push(`  the comparison is INCOMPLETE: ${which}; no verdict differs where both are known, but agreement is not established`);
  }
  return out;
}

/** One matrix cell: the cut and the comparison's result. */
export function reductionCheckCell(c: ReductionCheck): string {
  if (c.result === 'differs') return 'DIFFERS <==';
  if (c.result === 'incomplete') return 'incomplete';
  return `agrees, cut ${ratio(c.cut!.states)}`;
}
