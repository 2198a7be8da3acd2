// Hostile and careless input, one test per way it once made ptcheck lie, lose a result or run a file it
// should not: each ends in one line on stderr and the documented exit code, or in a correct result.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ptcheck, ROOT, signalMidRun } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ptcheck-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function oneLine(r: { stderr: string }, re: RegExp) {
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('strict command line: exit 2, one line, before anything runs', () => {
  const cases: [string, string[], RegExp][] = [
    ['a single-valued flag given twice', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--variant', 'no-rcu'], /--variant is given 2 times \('upstream', 'no-rcu'\); give it once/],
    ['one --param name given twice', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--param', 'faults=1', '--param', 'faults=2'], /--param faults is given twice/],
    ['--bfs with --dfs', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--bfs', '--dfs'], /--bfs and --dfs are two different searches/],
    ['--shortest with --workers', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--shortest', '--workers', '2'], /--shortest \(breadth-first\) runs in one thread/],
    ['--shortest with --no-sleep-sets', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--shortest', '--no-sleep-sets'], /has no sleep sets/],
    ['--exact with --workers', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--exact', '-j', '2'], /--exact keeps whole states in this thread/],
    ['a replay-only flag given to verify', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--path', '0.1'], /--path does not apply to 'verify' \(it is an option of replay\)/],
    ['a verify-only flag given to replay', ['replay', 'pte-offset-map-lock', '--variant', 'upstream', '--path', '0', '--max-states', '9'], /--max-states does not apply to 'replay'/],
    ['an option given to list', ['list', '--json'], /--json does not apply to 'list'/],
    ['--trace-out on a matrix run', ['verify', 'pte-offset-map-lock', '--trace-out', join(tmp, 'm.json')], /--trace-out applies to one variant/],
    ['--traces on one variant', ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--traces'], /--traces applies to a matrix run/],
  ];
  for (const [what, args, re] of cases) {
    it(what, () => {
      const r = ptcheck(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      oneLine(r, re);
    });
  }
});

describe('nothing is lost: output paths', () => {
  it('an output folder that does not exist fails before the search', () => {
    // a run that would take minutes: the error must come at once, with nothing on stdout
    const t0 = Date.now();
    const r = ptcheck(['verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=3', '--trace-out', join(tmp, 'typo', 'x.json')]);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    oneLine(r, /--trace-out .*typo\/x\.json: folder .*typo does not exist/);
  });

  it('an output whose folder is a file fails before the search', () => {
    const file = join(tmp, 'plain-file');
    writeFileSync(file, 'x');
    const r = ptcheck(['verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=3', '--html', join(file, 'v.html')]);
    expect(r.code).toBe(2);
    oneLine(r, /--html .*plain-file\/v\.html: .*plain-file is not a folder/);
  });

  it('a full disk after the search: the result still on stdout, the write error on stderr, no temp file', (ctx) => {
    const mnt = join(tmp, 'small');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) {
      process.stdout.write(`SKIPPED full-disk test: cannot mount a small tmpfs here (${(m.stderr || m.error?.message || '').trim()})\n`);
      ctx.skip();
      return;
    }
    try {
      // fill it: the empty probe file still fits, the trace does not
      spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=4k', 'count=1000'], { encoding: 'utf8' });
      const out = join(mnt, 'trace.json');
      const r = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-rcu', '--trace-out', out]);
      expect(r.code).toBe(1); // the verdict's code, not "bad input"
      expect(r.stdout).toMatch(/verdict: VIOLATED: no-use-after-free/);
      expect(r.stdout).toMatch(/replay: npx ptcheck replay/);
      expect(r.stdout).not.toMatch(/trace written/);
      oneLine(r, /^ptcheck: cannot write .*trace\.json: .*(ENOSPC|no space)/i);
      expect(readdirSync(mnt).filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect(existsSync(out)).toBe(false);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

describe('memory: an INCOMPLETE, never a crash', () => {
  const args = ['verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=3', '--exact', '--workers', '1'];
  it('the heap nearly full: exit 3 with partial statistics, not a V8 abort', () => {
    const r = spawnSync(process.execPath, ['--max-old-space-size=100', `${ROOT}bin/ptcheck.js`, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/INCOMPLETE: this thread's heap nearly full/);
    expect(r.stdout).toMatch(/states [\d,]+ /);
    expect(r.stderr).not.toMatch(/FATAL ERROR|heap out of memory/);
  });
  it('--exact honours --memory', () => {
    const r = ptcheck([...args, '--memory', '8', '-v']);
    expect(r.code).toBe(3);
    // what filled is the store of whole states, not a fingerprint table
    expect(r.stdout).toMatch(/INCOMPLETE: whole-state store \(--exact\) full \(raise --memory/);
    expect(r.stdout).not.toMatch(/fingerprint table/);
    expect(r.stdout).toMatch(/whole states stored \(--exact, [78]\.\d MiB\)/);
  });
});

describe('signals: partial statistics, INCOMPLETE, workers stopped', () => {
  for (const [sig, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${sig} mid-run: exit ${code}`, async () => {
      const args = ['verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=3', '--workers', '2', '--progress'];
      const r = await signalMidRun(args, sig);
      expect(r.code).toBe(code);
      expect(r.out).toMatch(/INCOMPLETE: interrupted/);
      expect(r.out).toMatch(/states [\d,]+ /);
      expect(r.out).toMatch(/; 2 threads/);
      expect(r.out).not.toMatch(/verdict: every property holds/);
      expect(r.err).toMatch(new RegExp(`stopped by ${sig}`));
    });
  }
});

// ---- files: what is loaded, and that it is typechecked ---------------------------------------

/**
 * A private copy of the ptcheck tree (sources, models, specs; node_modules shared by a link), so a test
 * can put files in its models/ without disturbing the tests that list the real one.
 */
function makeTree(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const d of ['src', 'models', 'specs', 'bin']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(dir, f));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function inTree(tree: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(tree, 'bin', 'ptcheck.js'), ...args], {
    cwd: tree,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The shipped pte-offset-map-lock model with the pml unlock deleted: it keeps its internal name. */
function brokenCopy(): string {
  const lines = readFileSync(join(ROOT, 'models', 'pte-offset-map-lock.ts'), 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes("'spin_unlock(pml)': (s, me) => {"));
  expect(lines[at + 1]).toMatch(/spinUnlock\(s, me, s\.pml\);/);
  lines.splice(at + 1, 1);
  return lines.join('\n');
}

describe('one name, one model', () => {
  it('a copy that kept the name of the model it was copied from is never checked as the original', () => {
    const tree = makeTree('copy-tree');
    writeFileSync(join(tree, 'models', 'copy-x.ts'), brokenCopy());
    // by name: refused, naming both files
    const byName = inTree(tree, ['verify', 'copy-x']);
    expect(byName.code).toBe(2);
    oneLine(byName, /models\/copy-x\.ts and models\/pte-offset-map-lock\.ts both define model 'pte-offset-map-lock'/);
    const all = inTree(tree, ['list']);
    expect(all.code).toBe(2);
    oneLine(all, /both define model 'pte-offset-map-lock'/);
    // by path: every variant of the matrix is the copy (no unlock of pml: the lock stays held)
    const matrix = inTree(tree, ['verify', 'models/copy-x.ts']);
    expect(matrix.code).toBe(1);
    expect(matrix.stdout).not.toMatch(/verdicts of 3 model variants match/);
    expect(matrix.stdout).toMatch(/of 36 verdicts differ from their expectations/);
    // one variant: the violation, and a replay line naming the copy, not the shipped model
    const trace = join(tree, 'copy.json');
    const one = inTree(tree, ['verify', 'models/copy-x.ts', '--variant', 'upstream', '--trace-out', trace]);
    expect(one.code).toBe(1);
    expect(one.stdout).toMatch(/VIOLATED: locks-balanced/);
    expect(one.stdout).toMatch(/replay: npx ptcheck replay models\/copy-x\.ts --variant upstream/);
    // its trace replays only with the copy named again
    expect(JSON.parse(readFileSync(trace, 'utf8')).modelFile).toBe(join(tree, 'models', 'copy-x.ts'));
    const alone = inTree(tree, ['replay', trace]);
    expect(alone.code).toBe(2);
    oneLine(alone, /is a trace of the model file .*copy-x\.ts; a trace never chooses code to run: name the file/);
    const other = inTree(tree, ['replay', trace, '--model-file', 'models/pte-offset-map-lock.ts']);
    expect(other.code).toBe(2);
    oneLine(other, /is a trace of the model file .*copy-x\.ts, not of .*pte-offset-map-lock\.ts/);
    const again = inTree(tree, ['replay', trace, '--model-file', 'models/copy-x.ts']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/reproduced: locks-balanced violated/);
  });

  it('a model file whose name cannot be a model name loads by path and leaves the rest of the tree alone', () => {
    const tree = makeTree('h7-tree');
    writeFileSync(join(tree, 'models', 'H7-uninit-ptl.ts'), brokenCopy().replace("name: 'pte-offset-map-lock'", "name: 'h7-uninit-ptl'"));
    cpSync(join(tree, 'specs', 'pte-offset-map-lock.ts'), join(tree, 'specs', 'H7-uninit-ptl.ts'));
    writeFileSync(
      join(tree, 'specs', 'H7-uninit-ptl.ts'),
      readFileSync(join(tree, 'specs', 'H7-uninit-ptl.ts'), 'utf8').replace("'../models/pte-offset-map-lock.ts'", "'../models/H7-uninit-ptl.ts'"),
    );
    const list = inTree(tree, ['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^pte-offset-map-lock — /m);
    expect(list.stdout).not.toMatch(/h7-uninit-ptl/i);
    const one = inTree(tree, ['verify', 'models/H7-uninit-ptl.ts', '--variant', 'upstream']);
    expect(one.code).toBe(1);
    expect(one.stdout).toMatch(/VIOLATED: locks-balanced/);
  });
});

describe('every model, spec and variant file is typechecked, wherever it lives', () => {
  const model = (step: string) => `import { DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { bool, int } from '../../src/model/schema.ts';
import { bump } from './helper.ts';
const st = defineState({ x: int(0, 2), done: bool() });
export default defineModel({
  name: 'tiny', title: 'tiny', doc: 'test', params: {},
  build: () => ({ state: st, threads: { t: thread(st, { steps: { go: (s) => { ${step}; return DONE; } } }) } }),
  variants: { base: { summary: 'the only one' } },
});
`;
  const spec = (body: string) => `import model from '../models/tiny.ts';
import { always, defineSpec } from '../../src/spec/property.ts';
export default defineSpec(model, {
  properties: [always('small', 'x stays small', (s) => ${body})],
  expect: { base: { small: 'holds', 'deadlock-free': 'holds' } },
});
`;
  // in a folder whose name starts like the shipped models folder's (models-bad/...), inside the tree
  const base = join(ROOT, `models-bad-${process.pid}`);
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const env = { PTCHECK_CACHE_DIR: join(tmp, 'tc-cache') };
  function setUp(step: string, body: string, helper = 'export function bump(n: number): number { return n + 1; }\n') {
    mkdirSync(join(base, 'models'), { recursive: true });
    mkdirSync(join(base, 'specs'), { recursive: true });
    writeFileSync(join(base, 'models', 'tiny.ts'), model(step));
    writeFileSync(join(base, 'models', 'helper.ts'), helper);
    writeFileSync(join(base, 'specs', 'tiny.ts'), spec(body));
  }
  const run = () => ptcheckEnv(env, ['verify', join(base, 'models', 'tiny.ts'), '--variant', 'base']);

  it('clean files run (the check below fails for the typo, not for the files)', () => {
    setUp('s.x = bump(s.x); s.done = true', 's.x <= 1 || s.done');
    const r = run();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  it('a misspelt field in a model under models-bad/', () => {
    setUp('s.x = bump(s.x); s.doen = true', 's.x <= 1 || s.done');
    const r = run();
    expect(r.code).toBe(2);
    oneLine(r, new RegExp(`model file does not typecheck: models-bad-${process.pid}/models/tiny\\.ts\\(\\d+,\\d+\\): error TS\\d+: Property 'doen' does not exist`));
  });
  it('a misspelt field in a spec: a type error naming the spec file, not "holds"', () => {
    setUp('s.x = bump(s.x); s.done = true', 's.x <= 1 || s.donx');
    const r = run();
    expect(r.code).toBe(2);
    oneLine(r, new RegExp(`spec file does not typecheck: models-bad-${process.pid}/specs/tiny\\.ts\\(\\d+,\\d+\\): error TS\\d+: Property 'donx' does not exist`));
  });
  it('a property that throws is named', () => {
    setUp('s.x = bump(s.x); s.done = true', "s.x === 1 ? (() => { throw new Error('boom at 1'); })() : true");
    const r = run();
    expect(r.code).toBe(2);
    oneLine(r, /^ptcheck: model error: .*property small threw: boom at 1$/);
  });
  it('the cache notices an edited import: a cached clean model is checked again', () => {
    setUp('s.x = bump(s.x); s.done = true', 's.x <= 1 || s.done');
    expect(run().code).toBe(0); // clean, and cached
    setUp('s.x = bump(s.x); s.done = true', 's.x <= 1 || s.done', "export function bump(n: number): string { return 'n' + n; }\n");
    const r = run();
    expect(r.code).toBe(2);
    oneLine(r, /model file does not typecheck: .*tiny\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });
});

function ptcheckEnv(env: Record<string, string>, args: string[]) {
  const r = spawnSync(process.execPath, [`${ROOT}bin/ptcheck.js`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ---- trace files are data ----------------------------------------------------------------------

describe('a trace file never chooses code to run', () => {
  const dir = join(tmp, 'evil');
  const marker = join(dir, 'RAN');
  const evil = join(dir, 'evil.mts');
  const good = join(tmp, 'good.json');
  let trace: Record<string, unknown>;
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(evil, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`);
    const v = ptcheck(['verify', 'pte-offset-map-lock', '--variant', 'no-rcu', '--trace-out', good]);
    expect(v.code).toBe(1);
    trace = JSON.parse(readFileSync(good, 'utf8'));
  });
  afterEach(() => expect(existsSync(marker), 'the evil file ran').toBe(false));

  const cases: [string, (t: Record<string, unknown>) => object, string[], RegExp][] = [
    ['a model field naming a file', (t) => ({ ...t, model: evil }), [], /names model '.*evil\.mts', which is not a shipped model/],
    ['a model field naming a relative file', (t) => ({ ...t, model: '../../tmp/evil' }), [], /names model '\.\.\/\.\.\/tmp\/evil', which is not a shipped model/],
    ['a modelFile field', (t) => ({ ...t, modelFile: evil }), [], /is a trace of the model file .*evil\.mts; a trace never chooses code to run/],
    ['a variantFile field', (t) => ({ ...t, variantFile: evil }), [], /is a trace of the variant file .*evil\.mts; a trace never chooses code to run/],
    ['/etc/passwd as its model', (t) => ({ ...t, model: '/etc/passwd' }), [], /names model '\/etc\/passwd', which is not a shipped model \(models: /],
    ['a version given as a string', (t) => ({ ...t, version: '1' }), [], /trace field 'version' is a string; this ptcheck reads traces whose version is the number 1/],
    ['--model-file for a trace of a shipped model', (t) => t, ['--model-file', evil], /is not a trace of a model file; --model-file does not apply/],
    ['a param that is no number', (t) => ({ ...t, params: { faults: '2' } }), [], /trace field 'params' gives faults a string, not a whole number/],
    ['a prototype name as its variant', (t) => ({ ...t, variant: 'constructor' }), [], /has no variant 'constructor'/],
  ];
  for (const [what, mutate, extra, re] of cases) {
    it(what, () => {
      const file = join(tmp, `t-${what.replace(/\W+/g, '-')}.json`);
      writeFileSync(file, JSON.stringify(mutate(trace)));
      const r = ptcheck(['replay', file, ...extra]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      oneLine(r, re);
    });
  }
  it('a recorded label that differs from the replayed one is reported', () => {
    const steps = (trace.steps as { label: string }[]).map((s, i) => (i === 2 ? { ...s, label: 'somewhere_else' } : s));
    const file = join(tmp, 't-label.json');
    writeFileSync(file, JSON.stringify({ ...trace, steps }));
    const r = ptcheck(['replay', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/diverges from the recorded trace at step 3: recorded \S+ somewhere_else, now \S+ (?!somewhere_else)/);
  });
});
