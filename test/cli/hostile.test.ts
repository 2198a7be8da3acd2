// Hostile and careless input, one test per way it once made ptcheck lie, lose a result or run a file it
// should not: each ends in one line on stderr and the documented exit code, or in a correct result.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ptcheck, ROOT } from '../helpers/cli.ts';

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

describe('signals: partial statistics, INCOMPLETE, workers stopped', () => {
  for (const [sig, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${sig} mid-run: exit ${code}`, async () => {
      const child = spawn(process.execPath, [`${ROOT}bin/ptcheck.js`, 'verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=3', '--workers', '2'], {
        cwd: ROOT,
        env: { ...process.env, PTCHECK_HANDOFF: '20000' },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (err += b));
      const got = await new Promise<number | null>((resolve) => {
        const kill = setTimeout(() => child.kill(sig), 4000);
        const hard = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('exit', (c) => {
          clearTimeout(kill);
          clearTimeout(hard);
          resolve(c);
        });
      });
      expect(got).toBe(code);
      expect(out).toMatch(/INCOMPLETE: interrupted/);
      expect(out).toMatch(/states [\d,]+ /);
      expect(out).not.toMatch(/verdict: every property holds/);
      expect(err).toMatch(new RegExp(`stopped by ${sig}`));
    });
  }
});
