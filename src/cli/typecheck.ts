// The load-time typecheck: every model, spec and variant file, wherever it lives, is checked before it
// is imported; clean results are cached per user by the content of the file and all it imports. It
// must never skip silently: no compiler is an error, not a pass.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { InputError } from '../model/errors.ts';
import { cacheDir, compiledBuild, ROOT } from './compiled.ts';


/** ptcheck's installation is broken (exit 4), as opposed to bad input. */
export class SetupError extends Error {
  override name = 'SetupError';
}

let found: { command: readonly string[]; version: string } | undefined;

/**
 * The compiler to run: the native binary of the platform's package when it is installed (starting
 * Node for the package's wrapper costs as much as a small check), else the wrapper.
 */
function compiler(): { command: readonly string[]; version: string } {
  if (found) return found;
  try {
    const req = createRequire(join(ROOT, 'package.json'));
    const pkg = req.resolve('typescript/package.json');
    const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
    try {
      const native = createRequire(pkg).resolve(`@typescript/typescript-${process.platform}-${process.arch}/package.json`);
      const exe = join(dirname(native), 'lib', process.platform === 'win32' ? 'tsc.exe' : 'tsc');
      if (existsSync(exe)) return (found = { command: [exe], version });
    } catch {
      /* no native package: the wrapper finds the compiler, or says why not */
    }
    const tsc = join(dirname(pkg), 'bin', 'tsc');
    if (existsSync(tsc)) return (found = { command: [process.execPath, tsc], version });
  } catch {
    /* reported below */
  }
  throw new SetupError('the TypeScript compiler (package typescript) is not installed, so model files cannot be typechecked: run npm install in the ptcheck folder');
}

// relative and absolute paths (a model outside the tree may import ptcheck's sources by absolute path)
const IMPORT_RE = /(?:\bfrom|\bimport)\s*\(?\s*['"]((?:\.{1,2})?\/[^'"]+)['"]/g;

function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const tries = [base, base.replace(/\.m?js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return tries.find((p) => existsSync(p) && statSync(p).isFile());
}

/**
 * The cache key of `files`: the compiler, the project's compiler settings, and the path and content of
 * every file reached from them by relative imports (an edited import changes the key).
 */
export function typecheckKey(files: readonly string[], version: string = compiler().version): string {
  const h = createHash('sha256');
  h.update(`ptcheck-typecheck 1\0${version}\0`);
  h.update(readFileSync(join(ROOT, 'tsconfig.json')));
  // a shipped source of a fresh compiled build has that build's content (bin/compiled.mjs checked every
  // one) and imports only sources of it (scripts/build.mjs checked): the build's id stands for it all
  const build = compiledBuild();
  const pinned = build?.closed ? build : undefined;
  if (pinned) h.update(`\0build\0${pinned.id}`);
  const seen = new Set<string>();
  const todo = [...files].sort();
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (pinned?.has(f)) {
      h.update(`\0${f}\0pinned`);
      continue;
    }
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

/** How a path is shown: relative to the working folder when inside it, else absolute. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Typechecks `files` (each a model, spec or variant file) unless the cache knows them clean. Rejects
 * with an InputError with the first error line, `what` naming the kind of the file it is in. Deferred
 * (deferTypechecks), it returns at once and the check goes on while the caller runs the files.
 */
export function ensureTypechecked(files: readonly string[], what: (file: string) => string): Promise<void> {
  return ensureTypecheckedGroups([files], what);
}

/** Checks running in the background, by cache key: a file asked for twice costs one compiler run. */
const running = new Map<string, Promise<void>>();
/** What a command that checks alongside is told: a check started (none was running), all are clean, one failed. */
export interface Alongside {
  readonly onBusy: () => void;
  readonly onIdle: () => void;
  readonly onFailure: (e: InputError) => void;
}
let deferred: Alongside | undefined;
let pending = 0;
let failure: InputError | undefined;

/**
 * From now on a check the cache does not answer runs alongside: the files are imported and run while
 * the compiler works. The caller holds back every result while a check runs (from onBusy, told before
 * the files' code can run, to onIdle) and awaits typechecksSettled() before it reports: a file that
 * does not typecheck is an error, whatever its run found. onFailure is told at once, to stop the run.
 */
export function deferTypechecks(alongside: Alongside | undefined): void {
  deferred = alongside;
  pending = 0;
  failure = undefined;
}

/** The first failed background check, if one has failed already (runs stop before they start). */
export function typecheckFailure(): InputError | undefined {
  return failure;
}

/** Waits for every background check; rejects with the first failure. */
export async function typechecksSettled(): Promise<void> {
  for (;;) {
    const now = [...running.values()];
    await Promise.allSettled(now);
    if (failure) throw failure;
    if (running.size === 0 || [...running.values()].every((p) => now.includes(p))) return;
  }
}

/**
 * Typechecks several groups of files (each group cached under its own key) in one compiler run for
 * all the groups the cache does not know: `list` or `verify --all` on a new tree costs one run.
 */
export async function ensureTypecheckedGroups(groups: readonly (readonly string[])[], what: (file: string) => string): Promise<void> {
  const tsc = compiler();
  const dir = cacheDir();
  const missing: { files: string[]; key: string; mark: string | undefined }[] = [];
  const waits: Promise<void>[] = [];
  for (const g of groups) {
    const files = g.map((f) => resolve(f));
    const key = typecheckKey(files, tsc.version);
    const mark = dir ? join(dir, `tc-${key}`) : undefined;
    const inFlight = running.get(key);
    if (inFlight) waits.push(inFlight);
    else if (!mark || !existsSync(mark)) missing.push({ files, key, mark });
  }
  if (missing.length) {
    const all = [...new Set(missing.flatMap((m) => m.files))];
    const check = runTsc(tsc.command, all).then((err) => {
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
    });
    for (const m of missing) running.set(m.key, check);
    waits.push(check);
    if (deferred) {
      const { onBusy, onIdle, onFailure } = deferred;
      if (pending++ === 0) onBusy();
      check.then(
        () => {
          if (--pending === 0 && !failure) onIdle();
        },
        (e: unknown) => {
          pending--;
          if (failure) return;
          failure = e instanceof InputError ? e : new InputError(`the typecheck failed: ${(e as Error)?.message ?? String(e)}`);
          onFailure(failure);
        },
      );
    }
  }
  if (!deferred) await Promise.all(waits);
}

/**
 * Runs the compiler on `files` (and all they import): undefined when clean, else the first error. The
 * first run declares only the language (no DOM, no Node: @types/node and lib.dom are two thirds of
 * what the compiler would read for a model, and models use neither); a file that fails so is checked
 * again with the project's settings, and only that run's answer counts, so a file that needs them
 * loses nothing but time.
 */
async function runTsc(command: readonly string[], files: readonly string[]): Promise<string | undefined> {
  if ((await tscRun(command, files, { types: [], lib: ['ES2022'] })).status === 0) return undefined;
  return tscRun(command, files, {}).then((r) => r.error);
}

async function tscRun(command: readonly string[], files: readonly string[], options: Record<string, unknown>): Promise<{ status: number | null; error?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ptcheck-tc-'));
  try {
    const cfg = join(dir, 'tsconfig.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        // a file outside the project has no package.json saying it is an ES module: resolve as a bundler would
        compilerOptions: { typeRoots: [join(ROOT, 'node_modules', '@types')], module: 'ESNext', moduleResolution: 'Bundler', ...options },
        include: files,
        exclude: [],
      }),
    );
    const r = await new Promise<{ status: number | null; out: string }>((done, fail) => {
      const child = spawn(command[0]!, [...command.slice(1), '--noEmit', '--pretty', 'false', '-p', cfg], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
      child.stderr.setEncoding('utf8').on('data', (t: string) => (out += t));
      child.on('error', (e) => fail(new SetupError(`cannot run the TypeScript compiler: ${e.message}`)));
      child.on('close', (status) => done({ status, out }));
    });
    return { status: r.status, ...(r.status === 0 ? {} : { error: firstError(r.out, r.status, dir) }) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The compiler's first error, as one line naming the file as the user would. */
function firstError(out: string, status: number | null, dir: string): string {
  const lines = out.split('\n');
  const at = lines.findIndex((l) => /error TS\d+/.test(l));
  if (at < 0) return (lines.find((l) => l.trim()) ?? `the compiler exited with ${status}`).trim();
  // tsc names the file relative to its working folder (the temp folder): show it as the user would
  const first = lines[at]!.replace(/^(.*?)\((\d+,\d+)\)/, (_, p: string, pos: string) => `${shown(resolve(dir, p))}(${pos})`);
  // tsc's suggestion for a misspelt label or field is on a continuation line: keep it
  const more = lines.slice(at + 1).findIndex((l) => !/^\s/.test(l));
  const rest = lines.slice(at + 1, more < 0 ? undefined : at + 1 + more);
  const hint = rest.map((l) => /Did you mean [^?]*\?/.exec(l)?.[0]).find((h) => h !== undefined);
  return hint && !first.includes(hint) ? `${first} (${hint})` : first;
}
