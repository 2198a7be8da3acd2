// Variant files that keep their types: several in one file (a bug/fix matrix), split steps, added
// threads, expectations inherited from the base row or depending on parameters; a model whose spec
// sits beside it anywhere on disk; properties that read where a thread is.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, ptcheck, replayCommandOf } from '../helpers/cli.ts';

const WALKER = 'examples/lockless-walker.ts';

describe('a file of several variants', () => {
  it('verify checks them all as a matrix against their expectations', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', WALKER]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}property +walker-without-rcu +walker-with-rcu$/m);
    // RCU-deferred freeing protects only readers inside a read section (protocols.md §1a)
    expect(r.stdout).toMatch(/^ {2}no-use-after-free +VIOLATED +holds$/m);
    expect(r.stdout).toMatch(/all 24 verdicts of 2 model variants match/);
  });

  it('--variant picks one; its replay line names it and reproduces', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', WALKER, '--variant', 'walker-without-rcu']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no-use-after-free +always +VIOLATED +violated/);
    const line = /^replay: npx ptcheck (.*)$/.exec(replayCommandOf(r.stdout))![1]!;
    expect(line).toMatch(/--variant-file examples\/lockless-walker\.ts --variant walker-without-rcu /);
    const rep = ptcheck(line.split(' '));
    expect(rep.stdout).toMatch(/reproduced: no-use-after-free/);
    const none = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', WALKER, '--variant', 'nope']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/has no variant 'nope' \(its variants: walker-without-rcu, walker-with-rcu\)/);
  });

  it('diff compares two variants of the file', () => {
    const r = ptcheck(['diff', 'pte-offset-map-lock', 'walker-with-rcu', 'walker-without-rcu', '--variant-file', WALKER]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no-use-after-free +holds +VIOLATED +<== introduced/);
    expect(r.stdout).toMatch(/walker-without-rcu changes: threads\.walker: added/);
  });
});

describe('editing a base thread', () => {
  it('a split step: pte_unmap before spin_unlock, as two new labels, still safe', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', 'examples/unmap-before-unlock.ts']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /changes from the base model: threads\.fault\.steps\.set_pte_at: replaced; threads\.fault\.steps\.pte_unmap: added; threads\.fault\.steps\.spin_unlock\(ptl\): added; threads\.fault\.steps\.pte_unmap_unlock: removed/,
    );
    expect(r.stdout).toMatch(/every property holds, as expected/);
  });

  it('a file stating no expectations inherits its base variant\'s row', () => {
    const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant-file', 'test/fixtures/variants/on-no-rcu.ts']);
    expect(r.stdout).toMatch(/no-use-after-free +always +VIOLATED +violated/);
    expect(r.stdout).not.toMatch(/MISMATCH/);
    expect(r.code).toBe(1); // a violation, as expected, still exits 1 for one variant
  });
});

describe('a model with its spec beside it, anywhere on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptcheck-beside-'));
  const src = (f: string) => JSON.stringify(join(ROOT, 'src', f));
  // ABBA: `first` takes a then b; `second` (present when late=1) takes b then a
  const modelText = `import { BLOCKED, DONE, defineModel, defineState, thread } from ${src('model/model.ts')};
import { bool, int } from ${src('model/schema.ts')};
export const st = defineState({ a: int(0, 2), b: int(0, 2) });
export function first() {
  return thread(st, {
    steps: {
      lock_a: (s, me) => (s.a !== 0 ? BLOCKED : ((s.a = me.tid + 1), 'lock_b')),
      lock_b: (s, me) => (s.b !== 0 ? BLOCKED : ((s.b = me.tid + 1), 'unlock')),
      unlock: (s) => ((s.a = 0), (s.b = 0), DONE),
    },
  });
}
export function second(count: number) {
  return thread(st, {
    count,
    locals: { got_b: bool() },
    steps: {
      lock_b: (s, me) => (s.b !== 0 ? BLOCKED : ((s.b = me.tid + 1), (me.got_b = true), 'lock_a')),
      lock_a: (s, me) => (s.a !== 0 ? BLOCKED : ((s.a = me.tid + 1), 'unlock')),
      unlock: (s) => ((s.a = 0), (s.b = 0), DONE),
    },
  });
}
const model = defineModel({
  name: 'abba',
  title: 'lock order',
  doc: 'two lock users in opposite orders (a test)',
  params: { late: { min: 0, max: 1, default: 1, doc: 'whether the second lock user runs' } },
  build: (p) => ({ state: st, threads: { first: first(), second: second(p.late) } }),
  variants: { abba: { summary: 'opposite orders' } },
});
export default model;
`;
  writeFileSync(join(dir, 'abba.ts'), modelText);
  const specText = (label: string) => `import model from './abba.ts';
import { defineSpec, sometimes } from ${src('spec/property.ts')};
export default defineSpec(model, {
  properties: [
    sometimes('second-holds-b-at-lock-a', 'the second user holds b and is about to take a', (s, t) => t.second?.at('${label}') === true && t.second.got_b),
  ],
  expect: {
    // the deadlock needs the second lock user
    abba: (p) => ({ 'second-holds-b-at-lock-a': p.late === 1 ? 'reachable' : 'unreachable', 'deadlock-free': p.late === 1 ? 'violated' : 'holds' }),
  },
});
`;
  writeFileSync(join(dir, 'abba.spec.ts'), specText('lock_a'));
  writeFileSync(
    join(dir, 'orders.ts'),
    `import model from './abba.ts';
import { defineVariants } from ${src('model/variant-file.ts')};
import { BLOCKED, DONE, editThread } from ${src('model/model.ts')};
export default defineVariants(model, {
  'same-order': {
    summary: 'the second user takes a, then b',
    base: 'abba',
    apply: (d) =>
      editThread(d, 'second', {
        steps: {
          lock_a: (s, me) => (s.a !== 0 ? BLOCKED : ((s.a = me.tid + 1), 'lock_b')),
          lock_b: (s, me) => (s.b !== 0 ? BLOCKED : ((s.b = me.tid + 1), (me.got_b = true), 'unlock')),
        },
        start: 'lock_a',
      }),
    expect: { 'deadlock-free': 'holds', 'second-holds-b-at-lock-a': 'unreachable' },
  },
  'split-unlock': {
    summary: 'opposite orders still; the second user releases b and a in two steps',
    base: 'abba',
    apply: (d) =>
      editThread(d, 'second', {
        steps: { lock_a: (s, me) => (s.a !== 0 ? BLOCKED : ((s.a = me.tid + 1), 'unlock_b')), unlock_b: (s) => ((s.b = 0), 'unlock_a'), unlock_a: (s) => ((s.a = 0), DONE) },
        remove: ['unlock'],
      }),
    expect: (p) => ({ 'deadlock-free': p.late === 1 ? 'violated' : 'holds' }),
  },
});
`,
  );

  it('loads by path; the expect row and the guard (a label and a local of a thread) follow the parameter', () => {
    for (const [late, dl, guard] of [
      ['1', 'VIOLATED', 'reachable'],
      ['0', 'holds', 'unreachable'],
    ] as const) {
      const r = ptcheck(['verify', join(dir, 'abba.ts'), '--param', `late=${late}`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`second-holds-b-at-lock-a +${guard}\\n`));
      expect(r.stdout).toMatch(new RegExp(`deadlock-free +${dl}\\n`));
    }
  });

  it('a variant file beside it: a matrix whose expectations depend on the parameter', () => {
    for (const late of ['1', '0']) {
      const r = ptcheck(['verify', join(dir, 'abba.ts'), '--variant-file', join(dir, 'orders.ts'), '--param', `late=${late}`]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/all 4 verdicts of 2 model variants match/);
      expect(r.code).toBe(0);
    }
  });

  it('a spec kept in the model file itself (its `spec` export), also in worker threads', () => {
    const solo = mkdtempSync(join(tmpdir(), 'ptcheck-solo-'));
    writeFileSync(
      join(solo, 'solo.ts'),
      modelText.replace("name: 'abba'", "name: 'solo'") +
        `import { defineSpec, final } from ${src('spec/property.ts')};
export const spec = defineSpec(model, {
  properties: [final('locks-free', 'both locks free at the end', (s) => s.a === 0 && s.b === 0)],
  expect: { abba: (p) => ({ 'locks-free': 'holds', 'deadlock-free': p.late === 1 ? 'violated' : 'holds' }) },
});
`,
    );
    const r = ptcheck(['verify', join(solo, 'solo.ts')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/locks-free +holds\n/);
    expect(r.code).toBe(0);
    // workers load the spec from the model file too (forced hand-off at the first state)
    const w = spawnSync(process.execPath, [join(ROOT, 'bin', 'ptcheck.js'), 'verify', join(solo, 'solo.ts'), '--variant', 'abba', '-j', '2'], {
      encoding: 'utf8',
      env: { ...process.env, PTCHECK_HANDOFF: '1' },
    });
    expect(w.stderr).toBe('');
    expect(w.stdout).toMatch(/deadlock-free +deadlock +VIOLATED +violated/);
  });

  it('a misspelt label in a property is a type error at load', () => {
    const bad = mkdtempSync(join(tmpdir(), 'ptcheck-beside-bad-'));
    writeFileSync(join(bad, 'abba.ts'), modelText);
    writeFileSync(join(bad, 'abba.spec.ts'), specText('lock_aa'));
    const r = ptcheck(['verify', join(bad, 'abba.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/abba\.spec\.ts\(\d+,\d+\): error TS\d+: .*lock_aa/);
  });
});
