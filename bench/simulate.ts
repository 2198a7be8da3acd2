// Simulation benchmark: walks per second, and the time and walks to the first violation, for every
// shipped variant expected to violate something, at its largest parameters; plain and swarm walks.
// Run: node --import tsx bench/simulate.ts [--seeds N] [--cap S]   (prints a markdown table)

import { availableParallelism, cpus, loadavg } from 'node:os';
import { loadModel, shippedModelNames, type LoadedModel } from '../src/cli/registry.ts';
import { instantiate, type Instance } from '../src/model/compile.ts';
import { Engine } from '../src/explore/engine.ts';
import { Simulation } from '../src/explore/simulate.ts';
import { expectRow, type Property } from '../src/spec/property.ts';

export interface SimRow {
  readonly model: string;
  readonly variant: string;
  readonly params: string;
  readonly swarm: boolean;
  /** per seed: walks and ms until the first violation (undefined: none within the cap) */
  readonly runs: readonly { readonly walks: number; readonly ms: number; readonly steps: number; readonly found: string | undefined }[];
}

/** Every parameter at its maximum; where a combination is refused, later parameters go back to their defaults. */
function largest(lm: LoadedModel, variant: string): Instance {
  const defs = Object.entries(lm.module.params as Record<string, { min: number; max: number; default: number }>);
  const fixed = (lm.module.variants[variant]?.params ?? {}) as Record<string, number>;
  const free = defs.filter(([k]) => fixed[k] === undefined);
  for (let keep = free.length; keep >= 0; keep--) {
    const p = Object.fromEntries(free.map(([k, d], i) => [k, i < keep ? d.max : d.default]));
    try {
      return instantiate(lm.module, variant, p);
    } catch {
      /* try with fewer parameters at their maximum */
    }
  }
  return instantiate(lm.module, variant, {});
}

function simulate(inst: Instance, lm: LoadedModel, seed: number, swarm: boolean, capMs: number): SimRow['runs'][number] {
  const engine = new Engine(inst.compiled, lm.spec.properties as readonly Property[]);
  const t0 = performance.now();
  const sim = new Simulation(engine, { seed, walks: Infinity, maxDepth: 10_000, deadline: Date.now() + capMs, swarm });
  while (!sim.run(1 << 16)) {
    /* slices */
  }
  const ms = performance.now() - t0;
  const v = sim.violation;
  return { walks: sim.walks, ms, steps: sim.steps, found: v ? engine.props[v.prop]!.name : undefined };
}

export async function simulateRows(seeds = 3, capMs = 20_000): Promise<SimRow[]> {
  const rows: SimRow[] = [];
  for (const name of shippedModelNames()) {
    const lm = await loadModel(name);
    for (const variant of Object.keys(lm.module.variants)) {
      // a variant is buggy at the parameters it runs at: its expectations can depend on them
      const inst = largest(lm, variant);
      const expect = expectRow(lm.spec, variant, inst.params) ?? {};
      if (!Object.values(expect).includes('violated')) continue;
      const params = Object.entries(inst.params).map(([k, v]) => `${k}=${v}`).join(' ');
      for (const swarm of [false, true]) {
        const runs = [];
        for (let s = 1; s <= seeds; s++) runs.push(simulate(inst, lm, s, swarm, capMs));
        rows.push({ model: name, variant, params, swarm, runs });
      }
    }
  }
  return rows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function simulateTable(rows: readonly SimRow[], capMs: number): string {
  const out = [
    `| model | variant | parameters | walks drawn | seeds that found one | median time to first violation | median walks to it | walks/s | steps/s |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const r of rows) {
    const hit = r.runs.filter((x) => x.found !== undefined);
    const walks = r.runs.reduce((n, x) => n + x.walks, 0);
    const ms = r.runs.reduce((n, x) => n + x.ms, 0);
    const steps = r.runs.reduce((n, x) => n + x.steps, 0);
    const t = hit.length ? `${median(hit.map((x) => x.ms)).toFixed(1)} ms` : `none in ${capMs / 1000} s`;
    const w = hit.length ? String(median(hit.map((x) => x.walks))) : '-';
    out.push(
      `| ${r.model} | ${r.variant} | ${r.params} | ${r.swarm ? 'swarm' : 'uniform'} | ${hit.length}/${r.runs.length} | ${t} | ${w} | ` +
        `${Math.round((walks / ms) * 1000).toLocaleString('en-US')} | ${Math.round((steps / ms) * 1000).toLocaleString('en-US')} |`,
    );
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const seeds = arg('--seeds', 3);
  const capMs = arg('--cap', 20) * 1000;
  const t0 = Date.now();
  const rows = await simulateRows(seeds, capMs);
  process.stdout.write(
    `## Simulation (bench/simulate.ts): seeds 1..${seeds}, at most ${capMs / 1000} s per seed, walks of at most 10,000 steps\n\n` +
      `${cpus()[0]?.model ?? '?'} x${availableParallelism()}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}; ` +
      `${((Date.now() - t0) / 1000).toFixed(0)} s in all\n\n` +
      `walks/s and steps/s are over all walks of the row's seeds (a walk ends at the first violation, a terminal state or 10,000 steps).\n\n` +
      simulateTable(rows, capMs) +
      '\n',
  );
}
