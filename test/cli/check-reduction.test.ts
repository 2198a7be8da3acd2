// verify --check-reduction end to end: the same search again with every reduction off, the figures both
// ways, agreement only when both runs are complete, and a changed verdict as exit 4.
//
// The fixture (test/fixtures/models/local-chains.ts): three workers of 6 positions each (start, three
// local steps, publish, done), whose shared words follow from their positions, so the unreduced graph
// is the 6x6x6 grid: 216 states and 3 x 5 x 36 = 540 transitions. `bad` is never raised in `ok`;
// in `bad-symmetry` the second worker can publish before the first starts (no-bad-before-first is
// violated), which the (wrongly declared) symmetry hides.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ptcheck, ROOT } from '../helpers/cli.ts';

const MODEL = 'test/fixtures/models/local-chains.ts';

function withEnv(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [`${ROOT}bin/ptcheck.js`, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface CheckJson {
  reductions: string[];
  reduced: { outcome: { kind: string; reason?: string }; states: number; transitions: number; elapsedMs: number; workers: number };
  unreduced: { outcome: { kind: string; reason?: string }; states: number; transitions: number; elapsedMs: number; workers: number } | null;
  cut: { states: number; transitions: number } | null;
  result: 'agrees' | 'differs' | 'incomplete';
  properties: { name: string; kind: string; reduced: string; unreduced: string | null }[];
  differences: { name: string; reduced: string; unreduced: string }[];
}

const checkOf = (stdout: string) => (JSON.parse(stdout) as { reductionCheck: CheckJson }).reductionCheck;

describe('verify --check-reduction', () => {
  it('a model where the reduction cuts: both sizes, the cut, every verdict agrees, exit 0', () => {
    const r = ptcheck(['verify', MODEL, '--variant', 'ok', '--check-reduction']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^reduction check: the same search again with every reduction off \(reductions on: partial-order, sleep-sets\)$/m);
    const states = /^ {2}states +([\d,]+) reduced +216 unreduced +cut ([\d.]+)x$/m.exec(r.stdout);
    expect(states).not.toBeNull();
    expect(Number(states![1]!.replace(/,/g, ''))).toBeLessThan(216);
    expect(r.stdout).toMatch(/^ {2}transitions +[\d,]+ reduced +540 unreduced +cut [\d.]+x$/m);
    expect(r.stdout).toMatch(/^ {2}verdicts agree: all 3 properties the same both ways; sometimes reached both ways: all-published$/m);
  });

  it('--json: reductionCheck with the figures both ways, the cut and each property both ways', () => {
    const r = ptcheck(['verify', MODEL, '--variant', 'ok', '--check-reduction', '--json']);
    expect(r.code).toBe(0);
    const c = checkOf(r.stdout);
    expect(c.reductions).toEqual(['partial-order', 'sleep-sets']);
    expect(c.result).toBe('agrees');
    expect(c.reduced.outcome).toEqual({ kind: 'complete' });
    expect(c.unreduced).toMatchObject({ outcome: { kind: 'complete' }, states: 216, transitions: 540 });
    expect(c.reduced.states).toBeLessThan(216);
    expect(c.cut!.states).toBeCloseTo(216 / c.reduced.states, 10);
    expect(c.cut!.transitions).toBeCloseTo(540 / c.reduced.transitions, 10);
    expect(c.properties).toEqual([
      { name: 'no-bad-before-first', kind: 'always', reduced: 'holds', unreduced: 'holds' },
      { name: 'all-published', kind: 'sometimes', reduced: 'reachable', unreduced: 'reachable' },
      { name: 'deadlock-free', kind: 'deadlock', reduced: 'holds', unreduced: 'holds' },
    ]);
    expect(c.differences).toEqual([]);
    // the result's own figures are the reduced run's
    expect((JSON.parse(r.stdout) as { stats: { states: number } }).stats.states).toBe(c.reduced.states);
  });

  it('an unreduced run stopped by --max-states: the comparison is incomplete, never agreement, exit 3', () => {
    // the reduced run needs fewer than 100 states and completes; the unreduced one stops at 100
    const r = ptcheck(['verify', MODEL, '--variant', 'ok', '--check-reduction', '--max-states', '100']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^ {2}search: DFS, complete/m);
    expect(r.stdout).toMatch(/^ {2}states +[\d,]+ reduced +100 unreduced +cut at least [\d.]+x$/m);
    expect(r.stdout).toMatch(/the comparison is INCOMPLETE: the unreduced run is INCOMPLETE \(state limit \(--max-states\) reached\)/);
    expect(r.stdout).not.toMatch(/verdicts agree/);
    const j = checkOf(ptcheck(['verify', MODEL, '--variant', 'ok', '--check-reduction', '--max-states', '100', '--json']).stdout);
    expect(j.result).toBe('incomplete');
    expect(j.cut).toBeNull();
    expect(j.unreduced).toMatchObject({ outcome: { kind: 'incomplete', reason: 'max-states' }, states: 100 });
    expect(j.properties.find((p) => p.name === 'no-bad-before-first')).toMatchObject({ reduced: 'holds', unreduced: 'unknown' });
  });

  it('both runs stopped by --max-states: incomplete, exit 3 as for the run alone', () => {
    // --no-derive-futures: with derived futures the reduced search stores 9 states in all
    const r = ptcheck(['verify', MODEL, '--variant', 'ok', '--check-reduction', '--max-states', '10', '--json', '--no-derive-futures']);
    expect(r.code).toBe(3);
    const c = checkOf(r.stdout);
    expect(c.result).toBe('incomplete');
    expect(c.reduced.states).toBe(10);
    expect(c.unreduced!.states).toBe(10);
  });

  it('a changed verdict is exit 4 with one line naming the property and both results', () => {
    // --no-derive-futures: the wrong symmetry declaration hides the violation from the reduction by
    // local steps; with derived futures the reduced search takes another way, which meets it
    const r = ptcheck(['verify', MODEL, '--variant', 'bad-symmetry', '--check-reduction', '--no-derive-futures']);
    expect(r.code).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ptcheck: local-chains \[bad-symmetry\]: the reduction changed a verdict: no-bad-before-first \(reduced: holds, unreduced: violated\) — .*symmetry declaration/);
    expect(r.stdout).toMatch(/^ {2}verdicts DIFFER: no-bad-before-first \(reduced: holds, unreduced: violated\)$/m);
    expect(r.stdout).toMatch(/reductions on: partial-order, sleep-sets, symmetry/);
    const j = checkOf(ptcheck(['verify', MODEL, '--variant', 'bad-symmetry', '--check-reduction', '--json', '--no-derive-futures']).stdout);
    expect(j.result).toBe('differs');
    expect(j.differences).toEqual([{ name: 'no-bad-before-first', kind: 'always', reduced: 'holds', unreduced: 'violated' }]);
    // without symmetry the reduction left keeps the violation: they agree, and the violation is exit 1
    const ok = ptcheck(['verify', MODEL, '--variant', 'bad-symmetry', '--check-reduction', '--no-symmetry', '--no-derive-futures']);
    expect(ok.code).toBe(1);
    expect(ok.stdout).toMatch(/verdicts agree/);
  });

  it('with --bfs and with worker threads (handed off at 50 states) the same figures', () => {
    // 4 workers: the 6^4 grid, 1,296 states and 4 x 5 x 216 = 4,320 transitions
    for (const [args, env] of [[['--bfs'], {}], [['--workers', '2'], { PTCHECK_HANDOFF: '50' }]] as const) {
      const r = withEnv(['verify', MODEL, '--variant', 'ok', '--param', 'workers=4', '--check-reduction', '--json', ...args], env);
      expect(r.code, r.stderr).toBe(0);
      const c = checkOf(r.stdout);
      expect(c.result).toBe('agrees');
      expect(c.unreduced).toMatchObject({ states: 1296, transitions: 4320, workers: args[0] === '--bfs' ? 1 : 2 });
    }
  });

  it('a matrix run checks every row: a reduction-check row, and exit 4 when a row differs', () => {
    const r = ptcheck(['verify', MODEL, '--check-reduction', '--no-derive-futures']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/^ {2}states, no reduction +216 +216$/m);
    expect(r.stdout).toMatch(/^ {2}reduction check +agrees, cut [\d.]+x +DIFFERS <==$/m);
    expect(r.stdout).toMatch(/^reduction check: the reduction changed a verdict in 1 of 2 model variants/m);
    const j = JSON.parse(ptcheck(['verify', MODEL, '--check-reduction', '--json', '--no-derive-futures']).stdout) as { results: { variant: string; reductionCheck: CheckJson }[] };
    expect(j.results.map((x) => [x.variant, x.reductionCheck.result])).toEqual([['ok', 'agrees'], ['bad-symmetry', 'differs']]);
  });

  it('refuses what leaves nothing to compare, in one line, exit 2', () => {
    for (const extra of [['--first'], ['--no-por', '--no-symmetry'], ['--max-preemptions', '1']]) {
      const r = ptcheck(['verify', MODEL, '--variant', 'ok', '--check-reduction', ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^ptcheck: error: --check-reduction /);
    }
    expect(ptcheck(['diff', 'pte-offset-map-lock', 'upstream', 'no-rcu', '--check-reduction']).code).toBe(2);
  });
});
