// Two runs side by side (`ptcheck diff`): the verdict per property, which violations the second
// variant introduces or fixes, and the state-space sizes.

import type { RunResult } from '../explore/verify.ts';
import { fmtInt, fmtSecs, table } from './format.ts';
import { paramText } from './race-diagram.ts';
import { engineLines, stopReasonText } from './result-text.ts';

export interface DiffOptions {
  readonly aChanges: readonly string[];
  readonly bChanges: readonly string[];
  readonly bSummary?: string;
  /** the engine's figures of both runs too (--verbose) */
  readonly verbose?: boolean;
}

function cell(st: string): string {
  return st === 'violated' ? 'VIOLATED' : st;
}

export function diffText(a: RunResult, b: RunResult, o: DiffOptions): string {
  const out: string[] = [];
  out.push(`${a.model}${paramText(b.params)}: ${a.variant} -> ${b.variant}`);
  if (o.bSummary) out.push(`  ${b.variant}: ${o.bSummary}`);
  if (o.bChanges.length) out.push(`  ${b.variant} changes: ${o.bChanges.join('; ')}`);
  out.push('');
  const rows = [['property', a.variant, b.variant, '']];
  const introduced: string[] = [];
  const fixed: string[] = [];
  for (const pb of b.properties) {
    const pa = a.properties.find((p) => p.name === pb.name);
    const sa = pa?.status ?? '-';
    let note = '';
    if (pb.status === 'violated' && sa === 'holds') {
      note = '<== introduced';
      introduced.push(pb.name);
    } else if (pb.status === 'holds' && sa === 'violated') {
      note = 'fixed';
      fixed.push(pb.name);
    } else if (pb.kind === 'sometimes' && pb.status !== sa && sa !== '-') {
      note = pb.status === 'unreachable' ? '<== no longer reachable (vacuous?)' : 'now reachable';
    }
    rows.push([pb.name, cell(sa), cell(pb.status), note]);
  }
  rows.push(['states', fmtInt(a.stats.states), fmtInt(b.stats.states), '']);
  rows.push(['transitions', fmtInt(a.stats.transitions), fmtInt(b.stats.transitions), '']);
  rows.push(['max depth', String(a.stats.maxDepth), String(b.stats.maxDepth), '']);
  rows.push(['time', fmtSecs(a.stats.elapsedMs), fmtSecs(b.stats.elapsedMs), '']);
  out.push(table(rows));
  if (o.verbose) for (const r of [a, b]) for (const l of engineLines(r)) out.push(`  ${r.variant}: ${l}`);
  for (const r of [a, b]) {
    if (r.outcome.kind === 'incomplete') out.push(`  ${r.variant}: INCOMPLETE, ${stopReasonText(r.outcome.reason, r.stats.exact)}: its verdicts are not final`);
  }
  out.push('');
  out.push(
    `=> ${b.variant} introduces: ${introduced.length ? introduced.join(', ') : 'no violation'}; ` +
      `fixes: ${fixed.length ? fixed.join(', ') : 'nothing'}`,
  );
  return out.join('\n');
}
