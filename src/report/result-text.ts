// Text rendering of one verification result: the search outcome, statistics, the verdict per property
// against the spec's expectation, and the race diagrams of the violations.

import { isMismatch, type RunResult } from '../explore/verify.ts';
import type { Trace } from '../trace/trace.ts';
import { fmtBytes, fmtInt, fmtProb, fmtSecs, table } from './format.ts';
import { paramText, raceDiagram } from './race-diagram.ts';

/** What an undecided property reads as in a preemption-bounded run: what it holds within, and no more. */
export function boundedStatus(r: RunResult, status: string, kind: string): string {
  if (!r.bound || status !== 'unknown' || r.outcome.kind !== 'incomplete' || r.outcome.reason !== 'preemption-bound') return status;
  const k = r.bound.maxPreemptions;
  const within = `within ${k} preemption${k === 1 ? '' : 's'}`;
  return kind === 'sometimes' ? `not reached ${within}` : `holds ${within}`;
}

export function outcomeText(r: RunResult): string {
  if (r.bound && r.outcome.kind === 'incomplete' && r.outcome.reason === 'preemption-bound') {
    const k = r.bound.maxPreemptions;
    return (
      `BOUNDED: every interleaving with at most ${k} preemption${k === 1 ? '' : 's'} explored ` +
      `(${fmtInt(r.bound.cut)} transitions cut by the bound) — nothing beyond it is claimed`
    );
  }
  switch (r.outcome.kind) {
    case 'complete':
      return 'complete (every reachable state explored)';
    case 'violation':
      return 'stopped at the first violation (--first; without it every property is determined)';
    case 'incomplete':
      return `INCOMPLETE: ${stopReasonText(r.outcome.reason, r.stats.exact)} — nothing below can read as "holds"`;
  }
}

/** Why a run stopped, in words; `exact`: it stored whole states (--exact), so what filled is that store. */
export function stopReasonText(reason: string, exact = false): string {
  switch (reason) {
    case 'max-states':
      return 'state limit (--max-states) reached';
    case 'max-depth':
      return 'depth limit (--max-depth) cut off some paths';
    case 'timeout':
      return 'time limit (--timeout) reached';
    case 'interrupted':
      return 'interrupted';
    case 'memory':
      return exact ? 'whole-state store (--exact) full (raise --memory, or drop --exact to store fingerprints)' : 'fingerprint table full (raise --memory)';
    case 'heap':
      return "this thread's heap nearly full (run node with a larger --max-old-space-size, or use fewer states)";
    case 'preemption-bound':
      return 'preemption bound (--max-preemptions): only interleavings within it were explored';
    default:
      return reason;
  }
}

/** The search in figures a reader of the result needs: states, transitions, depth, time. */
export function statsText(r: RunResult, verbose = false): string {
  const s = r.stats;
  const rate = s.elapsedMs > 0 ? ` (${fmtInt((s.states / s.elapsedMs) * 1000)} states/s)` : '';
  const threads = s.workers > 1 ? `; ${s.workers} threads` : '';
  const lines = [`  states ${fmtInt(s.states)}   transitions ${fmtInt(s.transitions)}   max depth ${s.maxDepth}   time ${fmtSecs(s.elapsedMs)}${rate}${threads}`];
  if (verbose) lines.push(...engineLines(r).map((l) => `  ${l}`));
  return lines.join('\n');
}

/**
 * The engine's own figures (--verbose): how states were stored, what the reductions did, the chance
 * that a fingerprint collision hid a state. One entry per line; add new figures here.
 */
export function engineLines(r: RunResult): string[] {
  const s = r.stats;
  return [
    s.exact
      ? `state vector ${s.stateInts * 4} B, whole states stored (--exact, ${fmtBytes(s.tableBytes)}): no fingerprint collision possible`
      : `state vector ${s.stateInts * 4} B, fingerprint table ${fmtBytes(s.tableBytes)} (${s.bytesPerState.toFixed(1)} B/state)`,
    ...(s.exact ? [] : [`P(fingerprint collision) ~ ${fmtProb(s.collisionProbability)}`]),
    ...(s.replayed > 0 ? [`sleep sets: ${fmtInt(s.replayed)} of those transitions taken without running their step`] : []),
    ...(s.reduction
      ? [
          `partial-order reduction: ${fmtInt(s.reduction.merged)} states walked through unstored (local steps merged)`,
          ...(s.reduction.mergedShared > 0 ? [`  ${fmtInt(s.reduction.mergedShared)} of them by a shared-safe step (one the threads' futures, declared or derived, make independent)`] : []),
          `  stored states expanded fully: ${fmtInt(s.reduction.fullNoLocal)} with no local step, ${fmtInt(s.reduction.fullCycle)} by the cycle proviso,`,
          `    ${fmtInt(s.reduction.fullVisible)} as visible (a step local but for words a property or another thread reads)`,
          ...(s.reduction.restarts > 0 ? [`  ${s.reduction.restarts} restart(s), the last because ${s.reduction.widenedBy ?? '?'}`] : []),
        ]
      : []),
    ...(s.futures ? [futuresLine(s.futures)] : []),
  ];
}

/** Where the thread futures came from: labels declared, derived (verify by default; --no-derive-futures: none), left unrestricted. */
export function futuresLine(f: NonNullable<RunResult['stats']['futures']>): string {
  const d = f.derivation;
  // from the cache: the runs are those of the run that made the entry, the time is reading it
  const took = d?.cached ? `${fmtInt(d.runs)} step runs, read from the cache in ${fmtSecs(d.ms)}` : `${fmtInt(d?.runs ?? 0)} step runs, ${fmtSecs(d?.ms ?? 0)}`;
  const how = d === undefined ? '' : d.gaveUp !== undefined ? ` (derivation gave up after ${took}: ${d.gaveUp})` : ` (derived in ${took})`;
  return `thread futures: ${fmtInt(f.derived)} labels derived, ${fmtInt(f.declared)} declared, ${fmtInt(f.unrestricted)} unrestricted${how}`;
}

/** Why a property is `unknown`, and which flag answers it. */
export function unknownWhy(r: RunResult): string {
  switch (r.outcome.kind) {
    case 'violation':
      return 'not determined: the run stopped at the first violation (run without --first)';
    case 'incomplete':
      return `not determined: ${stopReasonText(r.outcome.reason, r.stats.exact)}${stopRemedy(r.outcome.reason)}`;
    default:
      return 'not determined';
  }
}

function stopRemedy(reason: string): string {
  switch (reason) {
    case 'max-states':
      return ' (raise or drop --max-states)';
    case 'max-depth':
      return ' (raise or drop --max-depth)';
    case 'timeout':
      return ' (raise or drop --timeout)';
    case 'memory':
      return '';
    case 'preemption-bound':
      return ' (raise or drop --max-preemptions)';
    default:
      return ' (run again)';
  }
}

function statusCell(st: string): string {
  return st === 'violated' ? 'VIOLATED' : st;
}

export interface ResultTextOptions {
  readonly traces: readonly Trace[];
  readonly replayLine: (t: Trace) => string;
  readonly summary?: string;
  readonly changes?: readonly string[];
  /** the 100-column race diagrams */
  readonly wide?: boolean;
  /** the engine's figures too (engineLines) */
  readonly verbose?: boolean;
  /** per-label transition counts (--coverage) */
  readonly coverage?: boolean;
}

/**
 * Labels a run never executed, per thread: instances of one thread group (fault0, fault1) are merged,
 * a label counting as executed when any of them ran it. Empty when everything ran.
 */
export function neverExecuted(r: RunResult): { thread: string; labels: string[] }[] {
  const groups = new Map<string, Map<string, number>>();
  for (const t of r.coverage ?? []) {
    const g = t.thread.replace(/\d+$/, '') || t.thread;
    const m = groups.get(g) ?? new Map<string, number>();
    for (const l of t.labels) m.set(l.label, (m.get(l.label) ?? 0) + l.count);
    groups.set(g, m);
  }
  return [...groups].flatMap(([thread, m]) => {
    const labels = [...m].filter(([, n]) => n === 0).map(([l]) => l);
    return labels.length ? [{ thread, labels }] : [];
  });
}

/** The coverage lines of a result: the never-executed warning, and with `counts` every label's count. */
export function coverageText(r: RunResult, counts: boolean): string[] {
  if (!r.coverage) return [];
  const out: string[] = [];
  const dead = neverExecuted(r);
  const partial = r.outcome.kind !== 'complete' ? ' (of the part explored: the run was not complete)' : '';
  for (const d of dead) out.push(`  warning: never executed${partial}: ${d.thread}: ${d.labels.join(', ')}`);
  if (counts) {
    out.push('  coverage (transitions taken per label):');
    for (const t of r.coverage) {
      out.push(`    ${t.thread}`);
      const w = Math.max(...t.labels.map((l) => l.label.length));
      for (const l of t.labels) out.push(`      ${l.label.padEnd(w)}  ${fmtInt(l.count)}${l.count === 0 ? '  <== never' : ''}`);
    }
  }
  return out;
}

export function resultText(r: RunResult, o: ResultTextOptions): string {
  const out: string[] = [];
  out.push(`${r.model} [${r.variant}]${paramText(r.params)}`);
  if (o.summary) out.push(`  ${o.summary}`);
  if (o.changes?.length) out.push(`  changes from the base model: ${o.changes.join('; ')}`);
  out.push(`  search: ${r.strategy.toUpperCase()}, ${outcomeText(r)}`);
  out.push(statsText(r, o.verbose));
  out.push('');
  const rows = [['property', 'kind', 'result', 'expected', '']];
  for (const p of r.properties) {
    rows.push([p.name, p.kind, statusCell(boundedStatus(r, p.status, p.kind)), p.expected ?? '-', isMismatch(p) ? '<== MISMATCH' : '']);
  }
  out.push(table(rows));
  if (r.properties.some((p) => boundedStatus(r, p.status, p.kind) === 'unknown')) out.push(`  unknown: ${unknownWhy(r)}`);
  out.push(...coverageText(r, !!o.coverage));
  for (const t of o.traces) {
    out.push('');
    out.push(raceDiagram(t, { replay: o.replayLine(t), ...(o.wide ? { wide: true } : {}) }));
  }
  out.push('');
  out.push(verdictLine(r));
  return out.join('\n');
}

export function verdictLine(r: RunResult): string {
  const violated = r.properties.filter((p) => p.status === 'violated').map((p) => p.name);
  const mism = r.properties.filter(isMismatch).map((p) => `${p.name} (${p.status}, expected ${p.expected})`);
  const parts: string[] = [];
  if (violated.length) parts.push(`VIOLATED: ${violated.join(', ')}`);
  if (r.outcome.kind === 'incomplete' && r.outcome.reason === 'preemption-bound' && r.bound) {
    const k = r.bound.maxPreemptions;
    const held = r.properties.filter((p) => p.status === 'unknown' && p.kind !== 'sometimes').length;
    if (held) parts.push(`${violated.length ? 'the others hold' : 'holds'} within ${k} preemption${k === 1 ? '' : 's'} (not verified beyond: exit 3)`);
  } else if (r.outcome.kind === 'incomplete') parts.push(`INCOMPLETE (${stopReasonText(r.outcome.reason, r.stats.exact)}): not verified`);
  if (mism.length) parts.push(`differs from the spec's expectation: ${mism.join(', ')}`);
  if (!parts.length) return 'verdict: every property holds, as expected';
  return `verdict: ${parts.join('; ')}`;
}
