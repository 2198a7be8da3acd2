// How ptcheck imports a model, spec or variant file, and its per-user cache folder. Run compiled
// (dist/, checked fresh by bin/compiled.mjs), a shipped source is imported from dist/ and any other
// TypeScript file is compiled here (oxc, or esbuild for one that imports a package), its imports of
// ptcheck's sources pointed at dist/ so that one copy of each module serves both, and cached by
// content; run from the sources, a file is imported as it is. It registers no loader hook.

import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Whether this process runs dist/ (this file is compiled JavaScript there). */
export const COMPILED = import.meta.url.endsWith('.js');
/** The repository: two folders up from src/cli, three from dist/src/cli. */
export const ROOT = fileURLToPath(new URL(COMPILED ? '../../../' : '../../', import.meta.url));

interface Manifest {
  readonly files: Readonly<Record<string, unknown>>;
  /** what identifies this build (a hash of its manifest) */
  readonly id: string;
  /** every relative or absolute import of a source is a source of the build */
  readonly closed: boolean;
}

let manifest: Manifest | undefined;

function distManifest(): Manifest {
  if (!manifest) {
    const text = readFileSync(join(ROOT, 'dist', 'manifest.json'), 'utf8');
    const m = JSON.parse(text) as { files: Record<string, unknown>; closed?: boolean };
    manifest = { files: m.files, id: sha(text), closed: m.closed === true };
  }
  return manifest;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** The build this process runs (undefined from the sources): its id, and whether it compiled `path`. */
export function compiledBuild(): { readonly id: string; readonly closed: boolean; has(path: string): boolean } | undefined {
  if (!COMPILED) return undefined;
  const m = distManifest();
  return { id: m.id, closed: m.closed, has: (path) => compiledCounterpart(path) !== undefined };
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

/** The compiled module of a shipped source (a file dist/ was built from), when running compiled. */
function compiledCounterpart(path: string): string | undefined {
  const rel = relative(ROOT, path).split('\\').join('/');
  if (rel.startsWith('../') || isAbsolute(rel) || !Object.hasOwn(distManifest().files, rel)) return undefined;
  return join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
}

/** Imports a model, spec or variant file (errors are the import's, for the caller to word). */
export async function importFile(path: string): Promise<Record<string, unknown>> {
  if (!COMPILED) return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const c = compiledCounterpart(path);
  return (await import(pathToFileURL(c ?? (await compiledUserFile(path))).href)) as Record<string, unknown>;
}

/** What a compiled user file was made from: its content's hash and the user files it imports. */
interface CompiledRecord {
  readonly v: 1;
  readonly hash: string;
  readonly deps: readonly string[];
}

const TS_FILE = /\.(?:[mc]?ts|tsx)$/;

/** A compiled user file: its JavaScript, and the user files it imports (compiled next). */
interface Compiled {
  readonly code: string;
  readonly deps: readonly string[];
}

/**
 * The compiled form of a TypeScript file that is not a shipped source, and of every such file it
 * imports: one .mjs per file, named by this build and the file's path (so that a file imported from
 * two entries, a model and a variant file of it, is one module), with ptcheck's sources imported from
 * dist/ and packages from their resolved files. A record beside each says of which content it was
 * made and which user files it imports: an unchanged file costs reading and hashing it.
 */
async function compiledUserFile(entry: string): Promise<string> {
  const cache = cacheDir();
  if (!cache) throw new Error('no cache folder can be made for compiled model files (set PTCHECK_CACHE_DIR)');
  const base = join(cache, 'js');
  mkdirSync(base, { recursive: true });
  const build = distManifest().id;
  const outOf = (file: string) => join(base, `${sha(`${build}\0${file}`).slice(0, 40)}.mjs`);
  const recordOf = (file: string) => `${outOf(file).slice(0, -4)}.json`;
  const todo = [entry];
  const seen = new Set<string>();
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const hash = sha(text);
    try {
      const rec = JSON.parse(readFileSync(recordOf(file), 'utf8')) as CompiledRecord;
      if (rec.v === 1 && rec.hash === hash && existsSync(outOf(file))) {
        todo.push(...rec.deps);
        continue;
      }
    } catch {
      /* no record, or an unreadable one: compile */
    }
    const { code, deps } = (await stripTypes(file, text, outOf)) ?? (await bundlerCompile(file, text, outOf));
    // the module first, then its record: a reader that sees the new record finds the new module
    writeAtomic(outOf(file), code);
    writeAtomic(recordOf(file), JSON.stringify({ v: 1, hash, deps } satisfies CompiledRecord));
    todo.push(...deps);
  }
  return outOf(entry);
}

/** How a relative or absolute import names a file, as TypeScript with bundler resolution reads it. */
function resolveFile(from: string, spec: string): string | undefined {
  const base = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(dirname(from), spec);
  const swapped = base.replace(/\.([mc]?)js$/, '.$1ts').replace(/\.jsx$/, '.tsx');
  const tries = [base, swapped, `${base}.ts`, `${base}.tsx`, `${base}.mts`, `${base}.js`, `${base}.mjs`, join(base, 'index.ts'), join(base, 'index.js')];
  return tries.find((p) => existsSync(p) && statSync(p).isFile());
}

/**
 * The quick way, in this process: oxc strips the types, es-module-lexer finds the imports, and each is
 * pointed at its compiled module. Undefined when the file imports a package (the bundler resolves
 * packages as Node would).
 */
async function stripTypes(file: string, text: string, outOf: (file: string) => string): Promise<Compiled | undefined> {
  const [{ transformSync }, lexer] = await Promise.all([import('oxc-transform'), import('es-module-lexer')]);
  await lexer.init;
  const r = transformSync(file, text, { sourceType: 'module', typescript: { onlyRemoveTypeImports: false } });
  if (r.errors.length) throw new Error(`${file}: ${r.errors[0]!.message}`);
  const [imports] = lexer.parse(r.code, file);
  const deps: string[] = [];
  const parts: string[] = [];
  let at = 0;
  let meta = false;
  for (const im of imports) {
    if (im.d === -2) {
      // import.meta: the module sees where it really is, not the cache
      parts.push(r.code.slice(at, im.s), '__ptcheck_import_meta');
      at = im.e;
      meta = true;
      continue;
    }
    const spec = im.n;
    if (spec === undefined || isBuiltin(spec)) continue; // a computed dynamic import stays as it is
    if (!/^(?:\.{1,2}\/|\/|file:)/.test(spec)) return undefined;
    const path = resolveFile(file, spec);
    if (!path) throw new Error(`${file}: cannot find '${spec}'`);
    const c = compiledCounterpart(path);
    let target = c ?? path;
    if (!c && TS_FILE.test(path)) {
      if (!deps.includes(path)) deps.push(path);
      target = outOf(path);
    }
    const url = pathToFileURL(target).href;
    // a static import's s..e is the name inside its quotes; a dynamic one's, the quoted expression
    parts.push(r.code.slice(at, im.s), im.d === -1 ? url : JSON.stringify(url));
    at = im.e;
  }
  parts.push(r.code.slice(at));
  const where = `const __ptcheck_import_meta = { ...import.meta, url: ${JSON.stringify(pathToFileURL(file).href)}, filename: ${JSON.stringify(file)}, dirname: ${JSON.stringify(dirname(file))} };\n`;
  return { code: (meta ? where : '') + parts.join(''), deps };
}

/** The general way: esbuild, which also resolves packages; every import stays an import. */
async function bundlerCompile(file: string, text: string, outOf: (file: string) => string): Promise<Compiled> {
  const { build } = await import('esbuild');
  const deps: string[] = [];
  const url = pathToFileURL(file).href;
  const r = await build({
    entryPoints: [file],
    bundle: true, // so that every import passes through the resolver below, which keeps each one external
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    conditions: [],
    logLevel: 'silent',
    // the module sees where it really is, not the cache
    define: {
      'import.meta.url': JSON.stringify(url),
      'import.meta.filename': JSON.stringify(file),
      'import.meta.dirname': JSON.stringify(dirname(file)),
    },
    plugins: [
      {
        name: 'ptcheck-imports',
        setup(b) {
          const skip = Symbol('resolving');
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.kind === 'entry-point' || args.pluginData === skip) return undefined;
            if (isBuiltin(args.path)) return { path: args.path, external: true };
            const res = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: skip });
            if (res.errors.length) return { errors: res.errors };
            const c = compiledCounterpart(res.path);
            if (c) return { path: pathToFileURL(c).href, external: true };
            if (TS_FILE.test(res.path)) {
              if (!deps.includes(res.path)) deps.push(res.path);
              return { path: pathToFileURL(outOf(res.path)).href, external: true };
            }
            return { path: pathToFileURL(res.path).href, external: true };
          });
          // the text compiled is the text hashed for the record
          b.onLoad({ filter: /.*/ }, (args) => ({ contents: args.path === file ? text : readFileSync(args.path, 'utf8'), loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts' }));
        },
      },
    ],
  }).catch((e: { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }) => {
    const first = e.errors?.[0];
    if (!first) throw e;
    const at = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
    throw new Error(`${at}${first.text}`);
  });
  return { code: r.outputFiles[0]!.text, deps };
}

function writeAtomic(file: string, text: string): void {
  // per thread: a parallel run's workers compile the same new model file at once, and with one temp
  // name per process one thread's truncating write could land in the file the other renames
  const tmp = `${file}.tmp-${process.pid}-${threadId}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}
