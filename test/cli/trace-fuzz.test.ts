// Trace files are data: fast-check mutates real traces (field types, paths, sizes, versions, files
// they name) and replays each one in this process through the CLI's entry point. Every outcome is a
// correct replay or one line and exit 2; never a stack, an internal error, or a file the trace names
// being run (the evil file would leave a marker).

import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { parseTraceText, traceSource } from '../../src/cli/trace-file.ts';
import { shippedModelNames } from '../../src/cli/registry.ts';
import { InputError } from '../../src/model/errors.ts';
import { ROOT } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ptcheck-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const marker = join(tmp, 'RAN');
const evil = join(tmp, 'evil.mts');
const VARIANT_FILE = 'examples/skip-pmd-same.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const se = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

const traces: Record<string, unknown>[] = [];
beforeAll(async () => {
  writeFileSync(evil, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`);
  for (const [name, args] of [
    ['shipped', ['--variant', 'no-rcu']],
    ['variant-file', ['--variant-file', VARIANT_FILE]],
  ] as const) {
    const file = join(tmp, `${name}.json`);
    const r = await run(['verify', 'pte-offset-map-lock', ...args, '--workers', '1', '--trace-out', file]);
    expect(r.code, r.err).toBe(1);
    traces.push(JSON.parse(readFileSync(file, 'utf8')));
  }
}, 120_000);

const FIELDS = ['format', 'version', 'model', 'variant', 'modelFile', 'variantFile', 'params', 'property', 'path', 'steps', 'threads', 'status', 'blocked'];
const nasty = fc.constantFrom<unknown>(
  evil,
  join(tmp, 'evil'),
  '../../../tmp/evil.mts',
  '/etc/passwd',
  join(ROOT, 'models', 'pte-offset-map-lock.ts'),
  join(ROOT, VARIANT_FILE),
  'pte-offset-map-lock',
  'ppc-pte-free-defer',
  'no-rcu',
  'upstream',
  'constructor',
  '__proto__',
  'ptcheck-trace',
  'ptcheck-result',
  '1',
  '',
  '0.0.0.0',
  '99',
  '0/9999',
  '0.'.repeat(3000) + '0',
  1,
  2,
  0,
  -1,
  1.5,
  1e308,
  null,
  true,
  [],
  {},
  { name: 'no-use-after-free' },
  { faults: 2 },
  { faults: 99 },
  { constructor: 1 },
);
const value = fc.oneof(nasty, nasty, fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 20 }));

type Mutation = (t: Record<string, any>) => unknown;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constantFrom(...FIELDS, 'extra'), v: value }).map(({ k, v }) => (t: Record<string, any>) => ({ ...t, [k]: v })),
  fc.constantFrom(...FIELDS).map((k) => (t: Record<string, any>) => {
    const c = { ...t };
    delete c[k];
    return c;
  }),
  fc.record({ i: fc.nat(40), k: fc.constantFrom('label', 'thread', 'fp', 'changes', 'tid', 'faults'), v: value }).map(
    ({ i, k, v }) => (t: Record<string, any>) => ({
      ...t,
      steps: Array.isArray(t.steps) ? t.steps.map((s: object, j: number) => (j === i % t.steps.length ? { ...s, [k]: v } : s)) : t.steps,
    }),
  ),
  fc.record({ k: fc.constantFrom('faults', 'walkers', 'constructor', '__proto__', 'x'), v: value }).map(({ k, v }) => (t: Record<string, any>) => ({
    ...t,
    params: JSON.parse(`{${JSON.stringify(k)}: ${JSON.stringify(v) ?? 'null'}}`),
  })),
  fc.nat(200).map((n) => (t: Record<string, any>) => ({ ...t, path: String(t.path).split('.').slice(0, n).join('.') })),
  fc.constant((t: Record<string, any>) => ({ format: 'ptcheck-result', version: 1, traces: [t] })),
);
/** Command-line files a user might add; never the evil one (naming a file on the command line runs it). */
const extra = fc.constantFrom<string[]>([], [], ['--variant-file', VARIANT_FILE], ['--model-file', 'models/pte-offset-map-lock.ts']);

describe('replaying mutated traces', () => {
  it('an unmutated trace reproduces its violation', async () => {
    writeFileSync(join(tmp, 'plain.json'), JSON.stringify(traces[0]));
    const r = await run(['replay', join(tmp, 'plain.json')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/reproduced: no-use-after-free violated/);
  });

  it('parsing and resolving, in process: an InputError or a source the command line allows', () => {
    const shipped = shippedModelNames();
    fc.assert(
      fc.property(fc.nat(1), fc.array(mutation, { minLength: 1, maxLength: 4 }), extra, fc.nat(100), (which, ms, args, cut) => {
        let data: unknown = traces[which];
        for (const m of ms) data = m(data as Record<string, any>);
        let text = JSON.stringify(data);
        if (cut > 90) text = text.slice(0, Math.floor((text.length * (cut - 90)) / 10)); // a truncated file
        try {
          const t = parseTraceText(text, 'fuzz.json');
          const given = args.length ? { [args[0] === '--model-file' ? 'modelFile' : 'variantFile']: args[1]! } : {};
          const src = traceSource(t, 'fuzz.json', given, shipped);
          // what a replay may load: a shipped model by name, or exactly the files given
          const allowed = [...shipped, ...(args.length ? [join(ROOT, args[1]!)] : [])];
          expect(allowed).toContain(src.model);
          if (src.variantFile !== undefined) expect(src.variantFile).toBe(join(ROOT, VARIANT_FILE));
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          expect((e as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('the whole replay, in process: exit 2 with one line, or a correct replay; never the evil file', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(1), fc.array(mutation, { minLength: 1, maxLength: 3 }), extra, async (which, ms, args) => {
        let data: unknown = traces[which];
        for (const m of ms) data = m(data as Record<string, any>);
        const file = join(tmp, `m${n++ % 4}.json`);
        writeFileSync(file, JSON.stringify(data));
        const r = await run(['replay', file, ...args]);
        expect(existsSync(marker), 'the evil file ran').toBe(false);
        expect([0, 1, 2], `${r.err}${r.out.slice(0, 200)}`).toContain(r.code);
        if (r.code === 2) {
          const lines = r.err.trimEnd().split('\n');
          expect(lines, r.err).toHaveLength(1);
          expect(lines[0]).toMatch(/^ptcheck: (error|model error): \S/);
        } else {
          expect(r.err).toBe('');
          expect(r.out).toMatch(/reproduced|not reproduced|the path replays|reached at step/);
        }
      }),
      { numRuns: 150 },
    );
  }, 300_000);
});
