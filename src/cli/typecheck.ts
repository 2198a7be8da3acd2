// The load-time typecheck: every model, spec and variant file, wherever it lives, is checked before it
// is imported; clean results are cached per user by the content of the file and all it imports. It
// must never skip silently: no compiler is an error, not a pass.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../model/errors.ts';

// two folders up from src/cli, three from dist/src/cli (compiled.ts says the same)
const ROOT = fileURLToPath(new URL(import.meta.url.endsWith('.js') ? '../../../' : '../../', import.meta.url));

/** ptcheck's installation is broken (exit 4), as opposed to bad input. */
export class SetupError extends Error {
  override name = 'SetupError';
}

let found: { tsc: string; version: string } | undefined;

function compiler(): { tsc: string; version: string } {
  if (found) return found;
  try {
    const req = createRequire(join(ROOT, 'package.json'));
    const pkg = req.resolve('typescript/package.json');
    const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
    const tsc = join(dirname(pkg), 'bin', 'tsc');
    if (existsSync(tsc)) return (found = { tsc, version });
  } catch {
    /* reported below */
  }
  throw new SetupError('the TypeScript compiler (package typescript) is not installed, so model files cannot be typechecked: run npm install in the ptcheck folder');
}

const IMPORT_RE = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const tries = [base, base.replace(/\.m?js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return tries.find((p) => existsSync(p) && statSync(p).isFile());
}

/**
 * The cache key of `files`: the compiler, the project's compiler settings, and the path and content of
 * every file reached from them by relative imports (an edited import changes the key).
 */
export function typecheckKey(files: readonly string[], version = compiler().version): string {
  const h = createHash('sha256');
  h.update(`ptcheck-typecheck 1\0${version}\0`);
  h.update(readFileSync(join(ROOT, 'tsconfig.json')));
  const seen = new Set<string>();
  const todo = [...files].sort();
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const text = readFileSync(f, 'utf8');
    h.update(`\0${f}\0${text.length}\0`);
    h.update(text);
    for (const m of text.matchAll(IMPORT_RE)) {
      const dep = resolveImport(f, m[1]!);
      if (dep && !seen.has(dep)) todo.push(dep);
    }
  }
  // the roots themselves are part of the question asked, in whatever order they were given
  h.update(`\0roots\0${[...files].sort().join('\0')}`);
  return h.digest('hex');
}

/** A per-user cache folder (never inside the repository); undefined when none can be made. */
export function cacheDir(): string | undefined {
  const candidates = [
    process.env.PTCHECK_CACHE_DIR,
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ptcheck'),
    join(tmpdir(), `ptcheck-cache-${process.getuid?.() ?? 'user'}`),
  ];
  for (const d of candidates) {
    if (!d) continue;
    try {
      mkdirSync(d, { recursive: true });
      return d;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

/** How a path is shown: relative to the working folder when inside it, else absolute. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Typechecks `files` (each a model, spec or variant file) unless the cache knows them clean. Throws an
 * InputError with the first error line, `what` naming the kind of the file it is in.
 */
export function ensureTypechecked(files: readonly string[], what: (file: string) => string): void {
  ensureTypecheckedGroups([files], what);
}

/**
 * Typechecks several groups of files (each group cached under its own key) in one compiler run for
 * all the groups the cache does not know: `list` or `verify --all` on a new tree costs one run.
 */
export function ensureTypecheckedGroups(groups: readonly (readonly string[])[], what: (file: string) => string): void {
  const { tsc, version } = compiler();
  const dir = cacheDir();
  const missing: { files: string[]; mark: string | undefined }[] = [];
  for (const g of groups) {
    const files = g.map((f) => resolve(f));
    const mark = dir ? join(dir, `tc-${typecheckKey(files, version)}`) : undefined;
    if (!mark || !existsSync(mark)) missing.push({ files, mark });
  }
  if (!missing.length) return;
  const all = [...new Set(missing.flatMap((m) => m.files))];
  const err = runTsc(tsc, all);
  if (err) {
    const inFile = all.find((f) => err.startsWith(`${shown(f)}(`)) ?? all[0]!;
    throw new InputError(`${what(inFile)} does not typecheck: ${err}`);
  }
  for (const { mark } of missing) {
    if (!mark) continue;
    try {
      const tmp = `${mark}.tmp-${process.pid}`;
      writeFileSync(tmp, '');
      renameSync(tmp, mark);
    } catch {
      /* a cache that cannot be written only costs time */
    }
  }
}

function runTsc(tsc: string, files: readonly string[]): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'ptcheck-tc-'));
  try {
    const cfg = join(dir, 'tsconfig.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        // a file outside the project has no package.json saying it is an ES module: resolve as a bundler would
        compilerOptions: { typeRoots: [join(ROOT, 'node_modules', '@types')], module: 'ESNext', moduleResolution: 'Bundler' },
        include: files,
        exclude: [],
      }),
    );
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', cfg], { encoding: 'utf8', cwd: dir });
    if (r.error) throw new SetupError(`cannot run the TypeScript compiler: ${r.error.message}`);
    if (r.status === 0) return undefined;
    const lines = (r.stdout + r.stderr).split('\n');
    const at = lines.findIndex((l) => /error TS\d+/.test(l));
    if (at < 0) return (lines.find((l) => l.trim()) ?? `the compiler exited with ${r.status}`).trim();
    // tsc names the file relative to its working folder (the temp folder): show it as the user would
    const first = lines[at]!.replace(/^(.*?)\((\d+,\d+)\)/, (_, p: string, pos: string) => `${shown(resolve(dir, p))}(${pos})`);
    // tsc's suggestion for a misspelt label or field is on a continuation line: keep it
    const more = lines.slice(at + 1).findIndex((l) => !/^\s/.test(l));
    const rest = lines.slice(at + 1, more < 0 ? undefined : at + 1 + more);
    const hint = rest.map((l) => /Did you mean [^?]*\?/.exec(l)?.[0]).find((h) => h !== undefined);
    return hint && !first.includes(hint) ? `${first} (${hint})` : first;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
