// Text and JSON of a simulation (random or swarm walks): what was covered, and the first violation
// with its race diagram. A simulation that found nothing says so, and never that anything holds.

import type { Engine } from '../explore/engine.ts';
import type { Simulation } from '../explore/simulate.ts';
import type { Trace } from '../trace/trace.ts';
import { pathToString } from '../trace/path.ts';
import { fmtInt, fmtSecs } from './format.ts';
import { paramText, raceDiagram } from './race-diagram.ts';

export const SIMULATION_FORMAT = 'ptcheck-simulation';
export const SIMULATION_VERSION = 1;

export interface SimulationReport {
  readonly model: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, number>>;
  readonly seed: number;
  readonly swarm: boolean;
  readonly maxDepth: number;
  readonly elapsedMs: number;
  /** ms from the start to the first violation */
  readonly violationMs?: number;
  readonly sim: Simulation;
  readonly engine: Engine;
  /** the first violation, shrunk and reordered */
  readonly trace?: Trace;
  readonly replayLine?: string;
}

function sometimesLines(r: SimulationReport): string[] {
  const e = r.engine;
  const reached = e.sometimesIdx.filter((k) => r.sim.reached & (1 << k)).map((k) => e.props[k]!.name);
  const missed = e.sometimesIdx.filter((k) => !(r.sim.reached & (1 << k))).map((k) => e.props[k]!.name);
  const out: string[] = [];
  if (reached.length) out.push(`  sometimes reached: ${reached.join(', ')}`);
  if (missed.length) out.push(`  sometimes not reached in any walk: ${missed.join(', ')}`);
  return out;
}

export function simulationText(r: SimulationReport): string {
  const s = r.sim;
  const out: string[] = [];
  out.push(`${r.model} [${r.variant}]${paramText(r.params)}`);
  out.push(`  simulation: seed ${r.seed}${r.swarm ? ', swarm (per-walk thread priorities and step biases)' : ', uniform'}, walks of at most ${fmtInt(r.maxDepth)} steps`);
  const rate = r.elapsedMs > 0 ? ` (${fmtInt((s.walks / r.elapsedMs) * 1000)} walks/s)` : '';
  out.push(
    `  walks ${fmtInt(s.walks)}${rate}   steps ${fmtInt(s.steps)}   distinct states ${s.tableFull ? 'at least ' : ''}${fmtInt(s.distinct)}` +
      `   max depth ${s.maxDepthSeen}   time ${fmtSecs(r.elapsedMs)}`,
  );
  if (s.truncatedWalks) out.push(`  ${fmtInt(s.truncatedWalks)} walks reached the depth limit (--depth) with steps still to run`);
  out.push(...sometimesLines(r));
  const unreached = s.unreached();
  out.push(
    unreached.length
      ? `  steps never reached (run in no walk): ${unreached.map((u) => `${u.group}.${u.label}`).join(', ')}`
      : '  every step of every thread ran in some walk',
  );
  if (r.trace && s.violation) {
    out.push('');
    out.push(raceDiagram(r.trace, r.replayLine ? { replay: r.replayLine } : {}));
    out.push('');
    out.push(
      `verdict: VIOLATED: ${r.trace.property.name}, in walk #${s.violation.walk} of seed ${r.seed}` +
        (r.violationMs !== undefined ? ` after ${fmtSecs(r.violationMs)}` : '') +
        ` (${s.violation.path.length} steps, shrunk to ${r.trace.steps.length})`,
    );
  } else {
    const why = s.outcome.kind === 'no-violation' && s.outcome.reason !== 'walks' ? ` (${s.outcome.reason === 'timeout' ? 'time limit' : 'interrupted'})` : '';
    out.push('');
    out.push(`verdict: no violation found in ${fmtInt(s.walks)} walks${why} — a simulation is not a proof: nothing is claimed to hold (exit 3)`);
  }
  return out.join('\n');
}

export function simulationJson(r: SimulationReport): object {
  const s = r.sim;
  const e = r.engine;
  return {
    format: SIMULATION_FORMAT,
    version: SIMULATION_VERSION,
    model: r.model,
    variant: r.variant,
    params: r.params,
    seed: r.seed,
    swarm: r.swarm,
    maxDepth: r.maxDepth,
    outcome: s.outcome,
    walks: s.walks,
    steps: s.steps,
    distinctStates: s.distinct,
    distinctStatesIsLowerBound: s.tableFull,
    truncatedWalks: s.truncatedWalks,
    maxDepthSeen: s.maxDepthSeen,
    elapsedMs: r.elapsedMs,
    violation:
      s.violation && r.trace
        ? { property: r.trace.property.name, walk: s.violation.walk, elapsedMs: r.violationMs ?? null, steps: s.violation.path.length, walkPath: pathToString(s.violation.path), path: r.trace.path }
        : null,
    sometimesReached: e.sometimesIdx.filter((k) => s.reached & (1 << k)).map((k) => e.props[k]!.name),
    unreached: s.unreached(),
    traces: r.trace ? [r.trace] : [],
  };
}
