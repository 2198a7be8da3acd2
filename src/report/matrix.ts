// The verdict matrix of `verify --all`: per model, properties down, variants across, each cell the
// verdict found, marked where it differs from the expect matrix.

import { isMismatch, type RunResult } from '../explore/verify.ts';
import { fmtInt, fmtSecs, table } from './format.ts';
import { paramText, } from './race-diagram.ts';
import { boundedStatus, stopReasonText } from './result-text.ts';
import { disagreementLine, reductionCheckCell, type ReductionCheck } from './reduction-check.ts';

function cell(r: RunResult, name: string): string {
  const p = r.properties.find((q) => q.name === name);
  if (!p) return '-';
  const v = p.status === 'violated' ? 'VIOLATED' : boundedStatus(r, p.status, p.kind);
  return isMismatch(p) ? `${v} (expected ${p.expected}) <==` : v;
}

/** `checks` (verify --check-reduction): each variant's reduction check, a row of its own. */
export function matrixText(model: string, results: readonly RunResult[], checks?: readonly (ReductionCheck | undefined)[]): string {
  if (results.length === 0) return model;
  const first = results[0]!;
  const rows: string[][] = [['property', ...results.map((r) => r.variant)]];
  for (const p of first.properties) rows.push([p.name, ...results.map((r) => cell(r, p.name))]);
  rows.push(['states', ...results.map((r) => fmtInt(r.stats.states))]);
  rows.push(['time', ...results.map((r) => fmtSecs(r.stats.elapsedMs))]);
  if (checks) {
    rows.push(['states, no reduction', ...results.map((_, k) => (checks[k]?.unreduced ? fmtInt(checks[k].unreduced.states) : '-'))]);
    rows.push(['reduction check', ...results.map((_, k) => (checks[k] ? reductionCheckCell(checks[k]) : '-'))]);
  }
  const incomplete = results.filter((r) => r.outcome.kind === 'incomplete');
  const out = [`${model}${paramText(first.params)}`, table(rows)];
  for (const r of incomplete) {
    if (r.outcome.kind === 'incomplete' && !(r.bound && r.outcome.reason === 'preemption-bound')) {
      out.push(`  ${r.variant}: INCOMPLETE, ${stopReasonText(r.outcome.reason, r.stats.exact)}`);
    }
  }
  results.forEach((r, k) => {
    const c = checks?.[k];
    if (c?.result === 'differs') out.push(`  ${r.variant}: ${disagreementLine(c, 'reduction check')}`);
    else if (c?.result === 'incomplete') {
      const u = c.unreduced;
      const why = !u ? 'the unreduced run did not take place' : u.outcome.kind === 'incomplete' ? `the unreduced run: ${stopReasonText(u.outcome.reason)}` : 'the reduced run is incomplete';
      out.push(`  ${r.variant}: reduction check INCOMPLETE (${why}): agreement not established`);
    }
  });
  return out.join('\n');
}
