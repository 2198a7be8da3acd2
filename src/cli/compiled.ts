// How ptcheck imports a model, spec or variant file. Run compiled (dist/, checked fresh by
// bin/compiled.mjs), a shipped source is imported from dist/ and any other TypeScript file is compiled
// here by esbuild, its imports of ptcheck's sources pointed at dist/ so that one copy of each module
// serves both, and cached by content; run from the sources, a file is imported as it is. No loader hook.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cacheDir } from './typecheck.ts';

/** Whether this process runs dist/ (this file is compiled JavaScript there). */
export const COMPILED = import.meta.url.endsWith('.js');
/** The repository: two folders up from src/cli, three from dist/src/cli. */
export const ROOT = fileURLToPath(new URL(COMPILED ? '../../../' : '../../', import.meta.url));

interface Manifest {
  readonly files: Readonly<Record<string, unknown>>;
  /** what identifies this build (a hash of its manifest) */
  readonly id: string;
}

let manifest: Manifest | undefined;

function distManifest(): Manifest {
  if (!manifest) {
    const text = readFileSync(join(ROOT, 'dist', 'manifest.json'), 'utf8');
    manifest = { files: (JSON.parse(text) as { files: Record<string, unknown> }).files, id: sha(text) };
  }
  return manifest;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

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

/** What a compiled user file was made from: every file of its import graph with its content's hash. */
interface Record1 {
  readonly v: 1;
  readonly build: string;
  readonly files: readonly (readonly [string, string])[];
  readonly dir: string;
}

const TS_FILE = /\.(?:[mc]?ts|tsx)$/;

/**
 * The compiled form of a TypeScript file that is not a shipped source, and of every such file it
 * imports: one .mjs per file in a folder of the cache named by the whole graph's content, relative
 * imports between them, ptcheck's sources as dist/ modules, packages by their resolved files. A record
 * per entry file lists the graph, so an unchanged graph costs reading and hashing its files.
 */
async function compiledUserFile(path: string): Promise<string> {
  const cache = cacheDir();
  if (!cache) throw new Error('no cache folder can be made for compiled model files (set PTCHECK_CACHE_DIR)');
  const base = join(cache, 'js');
  const recordFile = join(base, `${sha(path).slice(0, 32)}.json`);
  const build = distManifest().id;
  try {
    const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as Record1;
    if (rec.v === 1 && rec.build === build && rec.files.every(([f, h]) => existsSync(f) && sha(readFileSync(f, 'utf8')) === h)) {
      const out = join(base, rec.dir, '0.mjs');
      if (existsSync(out)) return out;
    }
  } catch {
    /* no record, or an unreadable one: compile */
  }
  const { build: esbuild } = await import('esbuild');
  const ids = new Map<string, number>([[path, 0]]);
  const hashes = new Map<string, string>();
  const outputs: string[] = [];
  for (let i = 0; i < ids.size; i++) {
    const file = [...ids.keys()][i]!;
    const url = pathToFileURL(file).href;
    const r = await esbuild({
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
                if (!ids.has(res.path)) ids.set(res.path, ids.size);
                return { path: `./${ids.get(res.path)}.mjs`, external: true };
              }
              return { path: pathToFileURL(res.path).href, external: true };
            });
            // the text compiled is the text hashed for the record
            b.onLoad({ filter: /.*/ }, (args) => {
              const contents = readFileSync(args.path, 'utf8');
              hashes.set(args.path, sha(contents));
              return { contents, loader: args.path.endsWith('.tsx') ? 'tsx' : TS_FILE.test(args.path) ? 'ts' : 'js' };
            });
          },
        },
      ],
    }).catch((e: { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }) => {
      const first = e.errors?.[0];
      if (!first) throw e;
      const at = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
      throw new Error(`${at}${first.text}`);
    });
    outputs[i] = r.outputFiles[0]!.text;
  }
  const files = [...ids.keys()].map((f) => [f, hashes.get(f)!] as const);
  const dir = sha(JSON.stringify([build, files])).slice(0, 32);
  const out = join(base, dir);
  if (!existsSync(join(out, '0.mjs'))) {
    // written aside and renamed into place: another ptcheck reading the cache never sees half a graph
    const tmp = `${out}.tmp-${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    outputs.forEach((text, i) => writeFileSync(join(tmp, `${i}.mjs`), text));
    try {
      renameSync(tmp, out);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another process put the same graph there first
    }
  }
  const rec: Record1 = { v: 1, build, files, dir };
  const tmpRec = `${recordFile}.tmp-${process.pid}`;
  writeFileSync(tmpRec, JSON.stringify(rec));
  renameSync(tmpRec, recordFile);
  return join(out, '0.mjs');
}
