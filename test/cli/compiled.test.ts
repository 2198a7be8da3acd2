// The compiled CLI (dist/, built by npm's prepare) and the typecheck that runs alongside a search: the
// build is used only while it is the sources' own, a user's files are compiled against it and again
// when edited, and a file that does not typecheck never gets a verdict, whatever its run found.

import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ptcheck-compiled-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const env = { PTCHECK_CACHE_DIR: join(tmp, 'cache') };

function run(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [join(cwd, 'bin', 'ptcheck.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A model outside the tree, importing ptcheck's sources by absolute path; `step` is its one step's body. */
function tinyModel(dir: string, step: string, extra = ''): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'tiny.ts'),
    `import { DONE, defineModel, defineState, thread } from '${ROOT}src/model/model.ts';
import { bool, int } from '${ROOT}src/model/schema.ts';
import { always, defineSpec } from '${ROOT}src/spec/property.ts';
import { bump } from './helper.ts';
${extra}
const st = defineState({ x: int(0, 3), done: bool() });
const model = defineModel({
  name: 'tiny', title: 'tiny', doc: 'test', params: {},
  build: () => ({ state: st, threads: { t: thread(st, { steps: { go: (s) => { ${step}; return DONE; } } }) } }),
  variants: { base: { summary: 'the only one' } },
});
export default model;
export const spec = defineSpec(model, {
  properties: [always('small', 'x stays at most 1', (s) => s.x <= 1)],
  expect: { base: { small: 'holds', 'deadlock-free': 'holds' } },
});
`,
  );
  writeFileSync(join(dir, 'helper.ts'), 'export function bump(n: number): number { return n + 1; }\n');
  return join(dir, 'tiny.ts');
}

describe('a file that does not typecheck gets no verdict, though it runs while the compiler works', () => {
  it('a type error that the run cannot see: exit 2, one line, nothing on stdout', () => {
    // the run itself holds (x reaches 1); only the annotation is wrong
    const file = tinyModel(join(tmp, 'typo'), 's.x = bump(s.x); s.done = true', "const label: number = 'one';\nvoid label;");
    const r = run(['verify', file, '--variant', 'base']);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/model file does not typecheck: .*tiny\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(r.code).toBe(2);
  });

  it('a violating run of a file that does not typecheck writes no trace file', () => {
    const file = tinyModel(join(tmp, 'typo-violated'), 's.x = bump(bump(s.x)); s.done = true', "const label: number = 'one';\nvoid label;");
    const trace = join(tmp, 'typo-violated', 'trace.json');
    const r = run(['verify', file, '--variant', 'base', '--trace-out', trace]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/model file does not typecheck/);
    expect(existsSync(trace)).toBe(false);
  });

  it('a file that uses Node\'s API or the console typechecks (it is checked again with the project\'s settings)', () => {
    const file = tinyModel(join(tmp, 'node-api'), 's.x = bump(s.x) + (process.env.PTCHECK_NEVER_SET ? 1 : 0); if (s.x > 5) console.log(s.x); s.done = true');
    const r = run(['verify', file, '--variant', 'base']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('a user file is compiled when it or a file it imports changes', () => {
  it('an edited helper changes the next run', () => {
    const dir = join(tmp, 'edited');
    const file = tinyModel(dir, 's.x = bump(s.x); s.done = true');
    const first = run(['verify', file, '--variant', 'base']);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/small\s+always\s+holds\s+holds/);
    expect(first.code).toBe(0);
    // still well typed, but now x reaches 2: the property is violated
    writeFileSync(join(dir, 'helper.ts'), 'export function bump(n: number): number { return n + 2; }\n');
    const second = run(['verify', file, '--variant', 'base']);
    expect(second.stdout).toMatch(/small\s+always\s+VIOLATED/);
    expect(second.code).toBe(1);
  });
});

describe('a user file that imports a package', () => {
  // inside the tree, where the package resolves as Node would resolve it (the bundler compiles this one)
  const dir = join(ROOT, 'test', 'fixtures', `.tc-compiled-${process.pid}`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('runs, with its package and ptcheck\'s sources both imported', () => {
    const file = tinyModel(dir, 's.x = bump(s.x) + (isDraft(s) ? 1 : 0); s.done = true', "import { isDraft } from 'immer';");
    const r = run(['verify', file, '--variant', 'base']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/small\s+always\s+holds\s+holds/);
    expect(r.code).toBe(0);
  });
});

describe('the compiled build', () => {
  it('is used only while every source is as it was built; an edited source runs from the sources', () => {
    const tree = join(tmp, 'tree');
    mkdirSync(tree);
    for (const d of ['src', 'models', 'specs', 'examples', 'bin', 'workers', 'scripts']) cpSync(join(ROOT, d), join(tree, d), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, f), join(tree, f));
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
    const fresh = () =>
      spawnSync(process.execPath, ['--input-type=module', '-e', `const { freshDist } = await import(${JSON.stringify(join(tree, 'bin', 'compiled.mjs'))}); console.log(freshDist() ?? 'sources')`], {
        encoding: 'utf8',
      }).stdout.trim();
    expect(fresh()).toBe('sources'); // no build yet
    const build = spawnSync(process.execPath, [join(tree, 'scripts', 'build.mjs')], { encoding: 'utf8' });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    expect(fresh()).toBe(`file://${tree}/dist/`);
    const compiled = run(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--param', 'faults=1'], tree);
    expect(compiled.stderr).toBe('');
    expect(compiled.code).toBe(0);
    // an edit, even a comment, makes the build stale: the sources run, through tsx
    appendFileSync(join(tree, 'src', 'report', 'format.ts'), '// edited\n');
    expect(fresh()).toBe('sources');
    const fromSources = run(['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--param', 'faults=1'], tree);
    expect(fromSources.stderr).toBe('');
    const timeless = (out: string) => out.replace(/time [\d.]+ s \([\d,]+ states\/s\)/, 'time');
    expect(timeless(fromSources.stdout)).toBe(timeless(compiled.stdout));
    expect(fromSources.code).toBe(0);
  });
});
