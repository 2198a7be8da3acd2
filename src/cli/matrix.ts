// `ptcheck matrix`: the cells of a verdict matrix (models x variants x a parameter sweep), and the
// matrix text and JSON made from their results, whether they ran here or on queue workers.

import { InputError } from '../model/errors.ts';
import { resolveParams } from '../model/compile.ts';
import { isMismatch, type RunResult } from '../explore/verify.ts';
import { matrixText } from '../report/matrix.ts';
import type { LoadedModel } from './registry.ts';

/** One cell: a variant of a model at given parameters. `model` names it again (shipped name or absolute path). */
export interface MatrixCell {
  readonly model: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, number>>;
}

export const CELL_RESULT_VERSION = 1;

/** What running a cell gives, here or on a worker (plain data: it crosses the queue as JSON). */
export interface CellResult {
  readonly v: typeof CELL_RESULT_VERSION;
  readonly result: RunResult;
  /** the cell's `ptcheck-result` JSON, traces included (when --json) */
  readonly json: object | null;
  /** race diagrams of its violations (when --traces) */
  readonly diagrams: readonly string[];
}

export interface Sweep {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

export function parseSweep(text: string): Sweep {
  const m = /^([A-Za-z_][\w-]*)=(-?\d+)\.\.(-?\d+)$/.exec(text);
  if (!m) throw new InputError(`--sweep takes name=FROM..TO (e.g. nfrag=1..16), not '${text}'`);
  const from = Number(m[2]);
  const to = Number(m[3]);
  if (from > to) throw new InputError(`--sweep ${text}: the range is empty (${from} > ${to})`);
  return { name: m[1]!, from, to };
}

/**
 * The cells, in the order `verify --all` runs them: model by model, then by sweep value (the last
 * sweep varying fastest), then variant by variant. With no model named, the shipped models that
 * declare every swept parameter; a named model must declare them.
 */
export function matrixCells(
  models: readonly LoadedModel[],
  named: boolean,
  variant: string | undefined,
  params: Readonly<Record<string, number>>,
  sweeps: readonly Sweep[],
): MatrixCell[] {
  const seen = new Set<string>();
  for (const s of sweeps) {
    if (seen.has(s.name)) throw new InputError(`--sweep ${s.name} is given twice; give it once`);
    if (s.name in params) throw new InputError(`${s.name} is both swept (--sweep) and fixed (--param); give one`);
    seen.add(s.name);
  }
  const declares = (lm: LoadedModel) => sweeps.every((s) => s.name in lm.module.params);
  if (named) {
    for (const lm of models) {
      const missing = sweeps.find((s) => !(s.name in lm.module.params));
      if (missing) throw new InputError(`model '${lm.module.name}' has no parameter '${missing.name}' to sweep`);
    }
  }
  const chosen = models.filter(declares);
  if (chosen.length === 0) throw new InputError(`no shipped model has the parameter${sweeps.length > 1 ? 's' : ''} ${sweeps.map((s) => s.name).join(', ')}`);
  const points: Record<string, number>[] = [{}];
  for (const s of sweeps) {
    const next: Record<string, number>[] = [];
    for (const p of points) for (let x = s.from; x <= s.to; x++) next.push({ ...p, [s.name]: x });
    points.splice(0, points.length, ...next);
  }
  const cells: MatrixCell[] = [];
  for (const lm of chosen) {
    // a variant that fixes a swept parameter has no place in the sweep (unless it was asked for)
    const fixes = (v: string) => sweeps.some((s) => (lm.module.variants[v]?.params as Record<string, number> | undefined)?.[s.name] !== undefined);
    const variants = variant === undefined ? Object.keys(lm.module.variants).filter((v) => !fixes(v)) : [variant];
    for (const point of points) {
      for (const v of variants) {
        const p = { ...params, ...point };
        resolveParams(lm.module, v, p); // out of range, unknown, fixed by the variant: one clear line now
        cells.push({ model: cellModel(lm), variant: v, params: p });
      }
    }
  }
  return cells;
}

/** How a cell names its model: a shipped one by name, a model file by absolute path (workers load it there). */
export function cellModel(lm: LoadedModel): string {
  return lm.shipped ? lm.module.name : lm.path;
}

/**
 * The matrix of gathered results: the text tables (one per model and parameter point, with the race
 * diagrams when asked) and the `ptcheck-matrix` JSON that `verify --all --json` prints.
 */
export function matrixOutput(cells: readonly MatrixCell[], results: readonly CellResult[], o: { readonly json: boolean }): string {
  if (o.json) return JSON.stringify({ format: 'ptcheck-matrix', version: 1, results: results.map((r) => r.json) }, null, 2) + '\n';
  const out: string[] = [];
  let i = 0;
  while (i < results.length) {
    const key = `${cells[i]!.model} ${JSON.stringify(cells[i]!.params)}`;
    const group: CellResult[] = [];
    while (i < results.length && `${cells[i]!.model} ${JSON.stringify(cells[i]!.params)}` === key) group.push(results[i++]!);
    out.push(matrixText(group[0]!.result.model, group.map((g) => g.result)) + '\n\n');
    for (const g of group) for (const d of g.diagrams) out.push(d + '\n\n');
  }
  return out.join('');
}

/** The closing line of a matrix run. */
export function matrixSummary(all: readonly RunResult[], ok: boolean, interrupted: boolean): string {
  const cells = all.reduce((n, r) => n + r.properties.length, 0);
  const mism = all.reduce((n, r) => n + r.properties.filter(isMismatch).length, 0);
  const inc = all.filter((r) => r.outcome.kind === 'incomplete').length;
  if (ok) return `all ${cells} verdicts of ${all.length} model variants match their expectations\n`;
  if (interrupted) return 'interrupted: the matrix is incomplete\n';
  return `${mism} of ${cells} verdicts differ from their expectations` + (inc ? `; ${inc} runs incomplete` : '') + '\n';
}

// ---- simulation over a seed range -----------------------------------------------------------

/** One simulation job: a cell's walks for one seed of the range. */
export interface SimJob {
  readonly seed: number;
  /** null: unlimited (until timeMs) */
  readonly walks: number | null;
  readonly depth: number;
  readonly swarm: boolean;
  /** per job, from its start */
  readonly timeMs: number | null;
}

/** What one seed's simulation gives, here or on a worker (plain data). */
export interface SimSeedResult {
  readonly v: typeof CELL_RESULT_VERSION;
  readonly kind: 'simulate';
  readonly seed: number;
  readonly walks: number;
  readonly steps: number;
  readonly distinct: number;
  readonly violation: { readonly property: string; readonly walk: number; readonly path: string; readonly replay: string } | null;
  /** the seed's `ptcheck-simulation` JSON (when --json) */
  readonly json: object | null;
  /** the first violation's race diagram (when --traces) */
  readonly diagram: string | null;
}

export function seedRange(text: string): { readonly from: number; readonly to: number } {
  const m = /^(\d+)\.\.(\d+)$/.exec(text);
  if (!m || !Number.isSafeInteger(Number(m[2]))) throw new InputError(`--seeds takes FROM..TO (whole numbers, e.g. 1..64), not '${text}'`);
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from > to) throw new InputError(`--seeds ${text}: the range is empty`);
  if (to - from >= 100_000) throw new InputError(`--seeds ${text}: at most 100,000 seeds per run`);
  return { from, to };
}

/**
 * The simulation matrix: per cell, how many seeds found a violation, the walks run, and the first
 * violation (lowest seed). It never says that anything holds. Results are per cell, then per seed.
 */
export function simulationMatrixOutput(
  cells: readonly MatrixCell[],
  results: readonly (readonly SimSeedResult[])[],
  o: { readonly json: boolean; readonly seeds: { from: number; to: number }; readonly job: Omit<SimJob, 'seed'> },
): string {
  if (o.json) {
    return (
      JSON.stringify(
        {
          format: 'ptcheck-simulation-matrix',
          version: 1,
          seeds: o.seeds,
          ...o.job,
          cells: cells.map((c, i) => ({ model: c.model, variant: c.variant, params: c.params, runs: results[i]!.map((r) => r.json) })),
        },
        null,
        2,
      ) + '\n'
    );
  }
  const j = o.job;
  const out = [
    `simulation matrix: seeds ${o.seeds.from}..${o.seeds.to}, ${j.swarm ? 'swarm' : 'uniform'} walks, ` +
      `${j.walks !== null ? j.walks.toLocaleString('en-US') : 'unlimited'} walks per seed of at most ${j.depth.toLocaleString('en-US')} steps` +
      (j.timeMs !== null ? `, ${j.timeMs / 1000} s per seed` : ''),
  ];
  const rows = [['model', 'variant', 'parameters', 'seeds violated', 'walks', 'first violation']];
  const diagrams: string[] = [];
  let violatedCells = 0;
  cells.forEach((c, i) => {
    const rs = results[i]!;
    const hit = rs.filter((r) => r.violation !== null);
    if (hit.length) violatedCells++;
    const first = hit[0];
    rows.push([
      c.model.includes('/') ? c.model.slice(c.model.lastIndexOf('/') + 1) : c.model,
      c.variant,
      Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(' ') || '-',
      `${hit.length}/${rs.length}`,
      rs.reduce((n, r) => n + r.walks, 0).toLocaleString('en-US'),
      first ? `${first.violation!.property} (seed ${first.seed}, walk #${first.violation!.walk})` : '-',
    ]);
    if (first?.diagram) diagrams.push(first.diagram);
  });
  const w: number[] = [];
  for (const r of rows) r.forEach((x, k) => (w[k] = Math.max(w[k] ?? 0, x.length)));
  for (const r of rows) out.push(('  ' + r.map((x, k) => (k === r.length - 1 ? x : x.padEnd(w[k]!))).join('  ')).trimEnd());
  for (const d of diagrams) out.push('', d);
  out.push('');
  out.push(
    violatedCells
      ? `verdict: a violation in ${violatedCells} of ${cells.length} cells (exit 1); in the others none was found, which proves nothing`
      : `verdict: no violation found in ${cells.length} cells — a simulation is not a proof: nothing is claimed to hold (exit 3)`,
  );
  return out.join('\n') + '\n';
}
