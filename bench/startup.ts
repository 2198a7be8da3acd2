// Start-up benchmark: ptcheck's whole-process time on a tiny model against a bare `node -e 0`, and what
// a model loaded by path costs more than a shipped one, first run and unchanged. The two commands of a
// row run in pairs, alternating which goes first, and each ratio or difference is taken pair by pair,
// so that a shared machine's drifting speed cancels out; the medians are reported.
// Run: node --import tsx bench/startup.ts [--runs N]   (prints a markdown section and appends it to
// bench/results/<YYYY-MM-DD>.md; bench/run.ts appends the same section after its table)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { appendResults, ROOT } from './harness.ts';

const BIN = join(ROOT, 'bin', 'ptcheck.js');
const MODEL = 'pte-offset-map-lock';
const VERIFY = ['verify', '--variant', 'upstream', '--param', 'faults=1'];

interface Cmd {
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** run before each timed run, not timed (writes a fresh model file) */
  readonly before?: () => void;
  readonly exit: number;
}

/** GNU time, when installed (Debian: time), gives each run's CPU time: its own and its children's. */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Timing {
  /** wall-clock ms */
  readonly wall: number;
  /** user + system CPU ms of the process and the children it waited for (NaN without GNU time) */
  readonly cpu: number;
}

/** One run of `node <args>` (output discarded). */
function timed(c: Cmd, env: NodeJS.ProcessEnv, scratch: string): Timing {
  c.before?.();
  const out = join(scratch, 'time.txt');
  const [cmd, args] = GNU_TIME ? [GNU_TIME, ['-f', '%U %S', '-o', out, process.execPath, ...c.args]] : [process.execPath, [...c.args]];
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, env: { ...env, ...c.env }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = performance.now() - t0;
  if (r.status !== c.exit) throw new Error(`node ${c.args.join(' ')} exited ${r.status}, not ${c.exit}: ${r.stderr.trim().split('\n')[0]}`);
  const cpu = GNU_TIME ? readFileSync(out, 'utf8').trim().split(/\s+/).reduce((t, x) => t + Number(x) * 1000, 0) : NaN;
  return { wall, cpu };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface StartupRow {
  readonly label: string;
  readonly against: string;
  /** per pair */
  readonly a: readonly Timing[];
  readonly b: readonly Timing[];
  /** 'ratio': a/b is the figure (goal: at most `goal` times); 'extra': a-b in seconds */
  readonly kind: 'ratio' | 'extra';
  readonly goal?: number;
}

/** `runs` pairs of a and b, alternating which runs first; one warm-up of each first. */
function paired(a: Cmd, b: Cmd, runs: number, env: NodeJS.ProcessEnv, scratch: string): { a: Timing[]; b: Timing[] } {
  timed(a, env, scratch);
  timed(b, env, scratch);
  const out = { a: [] as Timing[], b: [] as Timing[] };
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      out.a.push(timed(a, env, scratch));
      out.b.push(timed(b, env, scratch));
    } else {
      out.b.push(timed(b, env, scratch));
      out.a.push(timed(a, env, scratch));
    }
  }
  return out;
}

export function startupRows(runs = 10): StartupRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'ptcheck-startup-'));
  // a cache of our own: the shipped model's typecheck is warmed by the first run, as a user's is
  const env: NodeJS.ProcessEnv = { ...process.env, PTCHECK_CACHE_DIR: join(dir, 'cache'), FORCE_COLOR: '0' };
  delete env.PTCHECK_FROM_SOURCE;
  try {
    // a user's copy of the shipped model kept outside the tree: it imports ptcheck's sources by absolute path
    const source = readFileSync(join(ROOT, 'models', `${MODEL}.ts`), 'utf8').replaceAll("'../src/", `'${join(ROOT, 'src')}/`);
    let copies = 0;
    const fresh = join(dir, 'fresh.ts');
    const node: Cmd = { args: ['-e', '0'], exit: 0 };
    const shipped: Cmd = { args: [BIN, VERIFY[0]!, MODEL, ...VERIFY.slice(1)], exit: 0 };
    const fromSource: Cmd = { ...shipped, env: { PTCHECK_FROM_SOURCE: '1' } };
    const version: Cmd = { args: [BIN, '--version'], exit: 0 };
    // each run a file never seen before (its own first line): typecheck and compile both cold
    const firstRun: Cmd = { args: [BIN, VERIFY[0]!, fresh, ...VERIFY.slice(1)], exit: 0, before: () => writeFileSync(fresh, `// copy ${++copies}\n${source}`) };
    const unchanged = join(dir, 'unchanged.ts');
    writeFileSync(unchanged, source);
    const again: Cmd = { args: [BIN, VERIFY[0]!, unchanged, ...VERIFY.slice(1)], exit: 0 };
    const rows: StartupRow[] = [];
    const row = (label: string, against: string, a: Cmd, b: Cmd, kind: StartupRow['kind'], goal?: number) =>
      rows.push({ label, against, ...paired(a, b, runs, env, dir), kind, ...(goal !== undefined ? { goal } : {}) });
    row('`ptcheck --version`', '`node -e 0`', version, node, 'ratio');
    row(`\`ptcheck verify ${MODEL} --variant upstream --param faults=1\` (exit 0)`, '`node -e 0`', shipped, node, 'ratio', 3);
    row('the same, from the sources through tsx (`PTCHECK_FROM_SOURCE=1`, as before the build)', '`node -e 0`', fromSource, node, 'ratio');
    row('the same model copied outside the tree (`verify /tmp/.../copy.ts ...`), first run of each copy', 'the shipped model', firstRun, shipped, 'extra', 0.5);
    row('the same copy, unchanged, run again', 'the shipped model', again, shipped, 'extra');
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function startupTable(rows: readonly StartupRow[]): string {
  const out = [
    '| command | against | wall, median: command / against | wall per pair: median (min–max) | CPU, median: command / against | CPU per pair: median | goal (on wall) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const fig = (x: number) => (r.kind === 'ratio' ? `${x.toFixed(2)}×` : `${x >= 0 ? '+' : ''}${x.toFixed(2)} s`);
    const per = (k: keyof Timing) => r.a.map((a, i) => (r.kind === 'ratio' ? a[k] / r.b[i]![k] : (a[k] - r.b[i]![k]) / 1000));
    const wall = per('wall');
    const cpu = per('cpu');
    const m = median(wall);
    const goal = r.goal === undefined ? '' : `${r.kind === 'ratio' ? `≤ ${r.goal}×` : `≤ +${r.goal} s`}: ${m <= r.goal ? 'met' : '**not met**'}`;
    const cpuCells = GNU_TIME ? `${fmtS(median(r.a.map((t) => t.cpu)))} / ${fmtS(median(r.b.map((t) => t.cpu)))} | ${fig(median(cpu))}` : 'n/a (no /usr/bin/time) | n/a';
    out.push(
      `| ${r.label} | ${r.against} | ${fmtS(median(r.a.map((t) => t.wall)))} / ${fmtS(median(r.b.map((t) => t.wall)))} ` +
        `| ${fig(m)} (${fig(Math.min(...wall))}–${fig(Math.max(...wall))}) | ${cpuCells} | ${goal} |`,
    );
  }
  return out.join('\n');
}

export function startupSection(runs = 10): string {
  const load = loadavg()[0]!;
  const t0 = Date.now();
  const rows = startupRows(runs);
  return [
    `## Start-up, ${new Date().toISOString().slice(0, 19)}Z`,
    '',
    `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, load ${load.toFixed(2)} at start; Node ${process.version}. ` +
      `${runs} pairs per row (after one warm-up run of each), the two commands alternating; whole-process wall time of \`node bin/ptcheck.js ...\` ` +
      `(npx adds its own start), with a typecheck cache of the bench's own, warmed by the first shipped run. ` +
      'CPU: user + system time of the process and the children it waited for (the compiler), from GNU time; on a loaded ' +
      `machine the wall-clock figures grow with the load, the CPU ones much less. ${((Date.now() - t0) / 1000).toFixed(0)} s in all.`,
    '',
    startupTable(rows),
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 10;
  if (!(Number.isInteger(runs) && runs > 0)) throw new Error('--runs takes a positive whole number');
  const section = startupSection(runs);
  console.log(section);
  console.error(`bench: written to ${appendResults(section)}`);
}
