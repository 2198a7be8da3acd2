// The CLI end to end, as a user runs it: output shape and exit codes (0 holds as expected,
// 1 violation/mismatch, 2 bad input, 3 incomplete).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ptcheck-cli-'));

function oneLineError(r: { stderr: string; stdout: string }) {
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^ptcheck: (model )?error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

/** The printed replay command, its shell line continuations joined. */
function replayLine(stdout: string): string {
  return /^replay: (?:.*\\\n)*.*$/m.exec(stdout)![0]!.replace(/ \\\n\s+/g, ' ').replace(/\\\n/g, '');
}

describe('ptcheck list', () => {
  it('shows models, variants, parameters and properties', () => {
    const r = ptcheck(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pte-offset-map-lock — /m);
    expect(r.stdout).toMatch(/faults=2 +\(1\.\.4\)/);
    for (const v of ['upstream', 'no-pmd-recheck', 'no-rcu']) expect(r.stdout).toMatch(new RegExp(`^    ${v} `, 'm'));
    expect(r.stdout).toMatch(/no-use-after-free +always/);
    expect(r.stdout).toMatch(/deadlock-free +deadlock/);
  });
});

describe('ptcheck verify', () => {
  it('upstream: every property holds, with the statistics, exit 0', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/states [\d,]+ +transitions [\d,]+ +max depth \d+ +time [\d.]+ s/);
    // the engine's internals only with --verbose
    expect(r.stdout).not.toMatch(/P\(fingerprint collision\)/);
    expect(r.stdout).toMatch(/no-use-after-free +always +holds +holds/);
    expect(r.stdout).toMatch(/verdict: every property holds, as expected/);
    const v = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '-v']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^  P\(fingerprint collision\) ~ /m);
    expect(v.stdout).toMatch(/^  state vector \d+ B, fingerprint table /m);
  });

  it('a buggy variant: every property determined by default; --first stops and says why the rest is unknown', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/search: DFS, complete/);
    expect(r.stdout).not.toMatch(/unknown/);
    // no-pmd-recheck breaks both the UAF and the attached-write property (protocols.md: B1.1)
    expect(r.stdout).toMatch(/no-use-after-free +always +VIOLATED +violated/);
    expect(r.stdout).toMatch(/pte-write-attached +always +VIOLATED +violated/);
    expect(r.stdout).toMatch(/no-double-free +always +holds +holds/);
    const f = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--first']);
    expect(f.code).toBe(1);
    expect(f.stdout).toMatch(/ unknown /);
    expect(f.stdout).toMatch(/^  unknown: not determined: the run stopped at the first violation \(run without --first\)$/m);
    // the old flag is still taken, and is the default
    const a = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--all-violations']);
    expect(a.stdout.replace(/time .*\n/g, '')).toBe(r.stdout.replace(/time .*\n/g, ''));
    const lim = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--max-states', '50']);
    expect(lim.stdout).toMatch(/unknown: not determined: state limit \(--max-states\) reached \(raise or drop --max-states\)/);
  });

  it('replay of a path that does not violate: "no violation on this path", no verdict words, exit 0', () => {
    // the no-rcu race replayed on upstream, where RCU defers the free past the walker (protocols.md B1.2)
    const j = JSON.parse(ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-rcu', '--json']).stdout);
    const path = j.traces[0].path;
    const r = ptcheck(['replay', 'pte-offset-map-lock', '--variant', 'upstream', '--param', 'faults=2', '--path', path, '--property', 'no-use-after-free']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pte-offset-map-lock \[upstream\] \(faults=2\): no violation on this path$/m);
    expect(r.stdout).not.toMatch(/VIOLATED|violated by|<== violation/);
    expect(r.stdout).toMatch(/^not reproduced: the path replays \(\d+ steps\) but no-use-after-free is not violated along it$/m);
    // the same path on the variant it came from: reproduced, exit 1
    const again = ptcheck(['replay', 'pte-offset-map-lock', '--variant', 'no-rcu', '--param', 'faults=2', '--path', path, '--property', 'no-use-after-free']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/no-use-after-free VIOLATED/);
    expect(again.stdout).toMatch(/^reproduced: no-use-after-free violated at step \d+$/m);
  });

  it('--witness GUARD draws the path that reaches a sometimes guard', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--witness', 'fault-writes-pte']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^witness: the path that reaches fault-writes-pte$/m);
    expect(r.stdout).toMatch(/fault-writes-pte reached$/m);
    expect(r.stdout).toMatch(/set_pte_at <== reached/);
    const w = r.stdout.slice(r.stdout.indexOf('witness:'));
    for (const line of w.split('\n')) expect(line.length).toBeLessThanOrEqual(75);
    // the printed replay line reaches it again
    const line = /^replay: npx ptcheck (.*)$/.exec(replayLine(w))![1]!;
    const rep = ptcheck(line.split(' '));
    expect(rep.code).toBe(0);
    expect(rep.stdout).toMatch(/^fault-writes-pte reached at step \d+$/m);
    const bad = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--witness', 'no-use-after-free']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--witness takes a sometimes property/);
  });

  it('--version and per-command --help', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const v = ptcheck(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toBe(`ptcheck ${pkg.version}\n`);
    const h = ptcheck(['verify', 'pte-offset-map-lock', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^  ptcheck verify <model/m);
    expect(h.stdout).toMatch(/^verify options:/m);
    expect(h.stdout).not.toMatch(/replay options:/);
    const rh = ptcheck(['replay', '--help']);
    expect(rh.stdout).toMatch(/^replay options:/m);
    expect(rh.stdout).toMatch(/1 the violation is reproduced, 0 the path replays without it, 2 the path does not fit/);
    expect(rh.stdout).not.toMatch(/verify options:/);
    const all = ptcheck(['--help']);
    for (const c of ['verify', 'replay', 'diff', 'list']) expect(all.stdout).toMatch(new RegExp(`^  ptcheck ${c}`, 'm'));
  });

  it('no-pmd-recheck: the race diagram, a replay line, exit 1', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/VIOLATED/);
    // column headers, one per thread, and kernel identifiers with state changes under them
    expect(r.stdout).toMatch(/^ +CPU0 \(fault0\) +CPU1 \(remover\)$/m);
    expect(r.stdout).toMatch(/pmd_clear/);
    expect(r.stdout).toMatch(/pmd: T1 -> none/);
    // a thread's own local is named with its thread: not a write to the global *pmd
    expect(r.stdout).toMatch(/fault0\.pmdval: none -> T1/);
    expect(r.stdout).toMatch(/set_pte_at +<== violation/);
    expect(replayLine(r.stdout)).toMatch(/^replay: npx ptcheck replay pte-offset-map-lock --variant no-pmd-recheck .*--path [\d./*]+ --property /);
    // a commit message: checkpatch's 75 columns, the replay command included (shell continuations)
    const diagrams = r.stdout.slice(r.stdout.indexOf('\n\npte-offset-map-lock [no-pmd-recheck] (faults=2):'), r.stdout.lastIndexOf('\nverdict:'));
    expect(diagrams.split('\n').length).toBeGreaterThan(20);
    for (const line of diagrams.split('\n')) expect(line.length).toBeLessThanOrEqual(75);
  });

  it('--json prints versioned JSON with the trace; replay of it reproduces the violation', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-rcu', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe('ptcheck-result');
    expect(j.version).toBe(1);
    expect(j.traces[0].format).toBe('ptcheck-trace');
    expect(j.traces[0].property.name).toBe('no-use-after-free');
    // the property's path is the one its trace shows (shrunk); the search's own path keeps its name
    const uaf = j.properties.find((p: { name: string }) => p.name === 'no-use-after-free');
    expect(uaf.path).toBe(j.traces[0].path);
    expect(uaf.searchPath.split('.').length).toBeGreaterThanOrEqual(uaf.path.split('.').length);
    expect(j.traces[0].steps.length).toBeLessThanOrEqual(14);
    const file = join(tmp, 'result.json');
    writeFileSync(file, r.stdout);
    const rep = ptcheck(['replay', file]);
    expect(rep.code).toBe(1);
    expect(rep.stdout).toMatch(/reproduced: no-use-after-free violated at step \d+/);
  });

  it('the printed replay line reproduces the same violation, and --trace-out writes a replayable file', () => {
    const file = join(tmp, 'trace.json');
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--trace-out', file]);
    const line = /^replay: npx ptcheck (.*)$/.exec(replayLine(r.stdout))![1]!;
    const prop = / --property (\S+)$/.exec(line)![1]!;
    const rep = ptcheck(line.split(' '));
    expect(rep.code).toBe(1);
    expect(rep.stdout).toMatch(new RegExp(`reproduced: ${prop} violated`));
    const fromFile = ptcheck(['replay', file]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stdout).toMatch(new RegExp(`reproduced: ${prop} violated`));
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
  });

  it('--all prints the verdict matrix and exits 0 when everything matches', () => {
    const r = ptcheck(['verify', '--all']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/property +upstream +no-pmd-recheck +no-rcu/);
    expect(r.stdout).toMatch(/verdicts of \d+ model variants match their expectations/);
  });

  it('--shortest gives a counterexample no longer than DFS', () => {
    const d = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-rcu', '--json']);
    const b = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-rcu', '--json', '--shortest']);
    const len = (s: string) => JSON.parse(s).traces[0].steps.length;
    expect(len(b.stdout)).toBeLessThanOrEqual(len(d.stdout));
    expect(JSON.parse(b.stdout).strategy).toBe('bfs');
  });

  it('a limit ends the run as incomplete: exit 3, never "holds"', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--max-states', '50']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/INCOMPLETE/);
    expect(r.stdout).not.toMatch(/ holds /);
    expect(r.stdout).toMatch(/states 50 /);
    const d = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--max-depth', '5']);
    expect(d.code).toBe(3);
  });
});

describe('bad input: one line, exit 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown model', ['verify', 'nope', '--variant', 'x'], /unknown model 'nope'/],
    ['unknown variant', ['verify', 'pte-offset-map-lock', '--variant', 'x'], /no variant 'x'.*upstream/],
    ['unknown parameter', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--param', 'zz=1'], /no parameter 'zz'/],
    ['parameter out of range', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--param', 'faults=9'], /faults=9 is out of range/],
    ['malformed parameter', ['verify', 'pte-offset-map-lock', '--param', 'faults'], /--param takes name=integer/],
    ['unknown option', ['verify', 'pte-offset-map-lock', '--frobnicate'], /Unknown option '--frobnicate'/],
    ['unknown command', ['frob'], /unknown command 'frob'/],
    ['bad number', ['verify', 'pte-offset-map-lock', '--max-states', 'lots'], /--max-states takes a positive whole number/],
    ['missing model file', ['verify', './nowhere.ts'], /no model file/],
    ['missing trace file', ['replay', join(tmp, 'none.json')], /cannot read trace file/],
  ];
  for (const [what, args, msg] of cases) {
    it(what, () => {
      const r = ptcheck(args);
      expect(r.code).toBe(2);
      oneLineError(r);
      expect(r.stderr).toMatch(msg);
    });
  }

  it('corrupt, wrong-version and foreign trace files', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"format": "ptcheck-trace", "vers');
    let r = ptcheck(['replay', bad]);
    expect(r.code).toBe(2);
    oneLineError(r);
    writeFileSync(bad, JSON.stringify({ format: 'ptcheck-trace', version: 99 }));
    r = ptcheck(['replay', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/version 99/);
    writeFileSync(bad, JSON.stringify({ format: 'something-else' }));
    r = ptcheck(['replay', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a ptcheck trace/);
    writeFileSync(
      bad,
      JSON.stringify({ format: 'ptcheck-trace', version: 1, model: 'pte-offset-map-lock', variant: 'upstream', params: {}, property: { name: 'no-use-after-free' }, path: '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0' }),
    );
    r = ptcheck(['replay', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/replay diverges at step \d+: thread fault0 has already finished/);
  });
});
