// Checking a proposed patch: variant files, diff, and re-running a trace on an edited model.

import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ptcheck-var-'));

describe('variant files', () => {
  it('a one-step change reintroducing B1.1 is violated, with the race diagram and what it changed', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', 'examples/skip-pmd-same.ts']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/changes from the base model: threads\.fault\.steps\.pmd_same: replaced/);
    expect(r.stdout).toMatch(/pte-write-attached +always +VIOLATED +holds/);
    // the replay command, its shell line continuations joined
    const joined = /^replay: (?:.*\\\n)*.*$/m.exec(r.stdout)![0]!.replace(/ \\\n\s+/g, ' ').replace(/\\\n/g, '');
    expect(joined).toMatch(/^replay: npx ptcheck replay pte-offset-map-lock --variant-file examples\/skip-pmd-same\.ts /);
    const line = /^replay: npx ptcheck (.*)$/.exec(joined)![1]!;
    const prop = / --property (\S+)$/.exec(line)![1]!;
    const rep = ptcheck(line.split(' '));
    expect(rep.code).toBe(1);
    expect(rep.stdout).toMatch(new RegExp(`reproduced: ${prop}`));
  });

  it('a trace recorded from a variant file replays when that file is named again, never by itself', () => {
    const file = join(tmp, 'vf.json');
    const v = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', 'examples/skip-pmd-same.ts', '--trace-out', file]);
    expect(v.code).toBe(1);
    expect(JSON.parse(readFileSync(file, 'utf8')).variantFile).toMatch(/examples\/skip-pmd-same\.ts$/);
    const alone = ptcheck(['replay', file]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/is a trace of the variant file .*examples\/skip-pmd-same\.ts; a trace never chooses code to run/);
    const r = ptcheck(['replay', file, '--variant-file', 'examples/skip-pmd-same.ts']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/reproduced: pte-write-attached violated/);
  });

  it('the base model is not mutated by a variant file', () => {
    ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', 'examples/skip-pmd-same.ts']);
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream']);
    expect(r.code).toBe(0);
  });

  const bad: [string, RegExp][] = [
    ['returns-unknown-label', /model error: test\/fixtures\/variants\/returns-unknown-label\.ts: step fault\d\.pmd_same returned 'set_pte_att', which is not a label/],
    ['overrides-unknown-step', /overrides-unknown-step\.ts: thread 'remover' has no step 'pte_free_defr' to override/],
    ['bad-type', /variant file does not typecheck: test\/fixtures\/variants\/bad-type\.ts\(9,\d+\): error TS2322/],
    ['bad-returns-unknown-label', /variant file does not typecheck: test\/fixtures\/variants\/bad-returns-unknown-label\.ts\(9,\d+\): error TS2322: .*Did you mean '"set_pte_at"'\?/],
  ];
  for (const [name, msg] of bad) {
    it(`${name}: one clear line naming the file, exit 2`, () => {
      const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', `test/fixtures/variants/${name}.ts`]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    });
  }

  it('a variant file for another model is refused', () => {
    const r = ptcheck(['verify', 'nope', '--variant-file', 'examples/skip-pmd-same.ts']);
    expect(r.code).toBe(2);
  });
});

describe('ptcheck diff', () => {
  it('side by side: what the change introduces, exit 1', () => {
    const r = ptcheck(['diff', 'pte-offset-map-lock', 'upstream', '--variant-file', 'examples/skip-pmd-same.ts']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/property +upstream +skip-pmd-same/);
    expect(r.stdout).toMatch(/pte-write-attached +holds +VIOLATED +<== introduced/);
    expect(r.stdout).toMatch(/^ +states +[\d,]+ +[\d,]+/m);
    expect(r.stdout).toMatch(/=> skip-pmd-same introduces: pte-write-attached/);
    expect(r.stdout).toMatch(/set_pte_at +<== violation/);
  });

  it('a fix: exit 0, and what it fixes', () => {
    const r = ptcheck(['diff', 'pte-offset-map-lock', 'no-rcu', 'upstream']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no-use-after-free +VIOLATED +holds +fixed/);
    expect(r.stdout).toMatch(/fixes: no-use-after-free/);
  });

  it('bad arguments', () => {
    const r = ptcheck(['diff', 'pte-offset-map-lock', 'upstream']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/diff needs <model> <variantA> <variantB>/);
  });
});

describe('--from-trace', () => {
  it('re-runs a recorded path on the fixed variant: where its states part, and that the bug is gone', () => {
    const file = join(tmp, 't.json');
    const v = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--shortest', '--first', '--trace-out', file]);
    expect(v.code).toBe(1);
    const r = ptcheck(['replay', 'pte-offset-map-lock', '--variant', 'upstream', '--from-trace', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/diverges from the recorded trace at step \d+ \(fault\d /);
    expect(r.stdout).toMatch(/not reproduced: the path replays/);
  });

  it('a path that no longer fits the model: where it stops, exit 2', () => {
    const file = join(tmp, 'w.json');
    ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--trace-out', file, '--all-violations']);
    const t = JSON.parse(readFileSync(join(tmp, 't.json'), 'utf8'));
    t.path = `${t.path}.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0`;
    writeFileSync(file, JSON.stringify(t));
    const r = ptcheck(['replay', 'pte-offset-map-lock', '--variant', 'no-pmd-recheck', '--from-trace', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/replay diverges at step \d+: thread fault0 has already finished/);
  });

  it('on the same path with a changed step, reports the first step whose state differs', () => {
    const file = join(tmp, 'u.json');
    ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', 'examples/skip-pmd-same.ts', '--shortest', '--trace-out', file]);
    const t = JSON.parse(readFileSync(file, 'utf8'));
    // pretend the trace was recorded with a different value at one step
    t.steps[0].fp = '0000000000000000';
    t.steps[0].changes = [{ path: 'x', from: '0', to: '1' }];
    writeFileSync(file, JSON.stringify(t));
    const r = ptcheck(['replay', 'pte-offset-map-lock', '--variant-file', 'examples/skip-pmd-same.ts', '--from-trace', file]);
    expect(r.stdout).toMatch(/diverges from the recorded trace at step 1 /);
    expect(r.stdout).toMatch(/recorded: x: 0 -> 1/);
    expect(r.code).toBe(1);
  });
});
