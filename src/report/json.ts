// Versioned JSON for results and traces (the only serialized formats besides the path string).

import type { RunResult } from '../explore/verify.ts';
import type { Trace } from '../trace/trace.ts';
import { pathToString } from '../trace/path.ts';

export const RESULT_FORMAT = 'ptcheck-result';
export const RESULT_VERSION = 1;

/** "holds within K preemptions": the claim a preemption-bounded run makes, and the only one. */
export function boundedLabel(k: number): string {
  return `holds within ${k} preemption${k === 1 ? '' : 's'}`;
}

export function resultJson(r: RunResult, traces: readonly Trace[], extra: Record<string, unknown> = {}): object {
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    model: r.model,
    variant: r.variant,
    params: r.params,
    ...extra,
    strategy: r.strategy,
    outcome: r.outcome,
    stats: r.stats,
    ...(r.bound ? { bound: { ...r.bound, label: boundedLabel(r.bound.maxPreemptions) } } : {}),
    properties: r.properties.map((p) => {
      const search = p.path ? pathToString(p.path) : null;
      return {
        name: p.name,
        kind: p.kind,
        doc: p.doc,
        status: p.status,
        ...(r.bound && p.status === 'unknown' && r.outcome.kind === 'incomplete' && r.outcome.reason === 'preemption-bound'
          ? { within: p.kind === 'sometimes' ? `not reached ${boundedLabel(r.bound.maxPreemptions).slice(6)}` : boundedLabel(r.bound.maxPreemptions) }
          : {}),
        expected: p.expected ?? null,
        // the path its trace shows (shrunk and reordered), where there is one; else the search's
        path: traces.find((t) => t.property.name === p.name)?.path ?? search,
        searchPath: search,
      };
    }),
    ...(r.coverage ? { coverage: Object.fromEntries(r.coverage.map((t) => [t.thread, Object.fromEntries(t.labels.map((l) => [l.label, l.count]))])) } : {}),
    traces,
  };
}
