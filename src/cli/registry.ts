// Finds and loads models and their specs: shipped ones by name (models/<name>.ts, specs/<name>.ts),
// or any model file by path. Loading failures become one-line input errors.

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError } from '../model/errors.ts';
import type { ModelModule } from '../model/model.ts';
import type { SpecModule } from '../spec/property.ts';
import { userVariantsOf, type UserVariant } from '../model/variant-file.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODELS_DIR = join(ROOT, 'models');
export const SPECS_DIR = join(ROOT, 'specs');

export interface LoadedModel {
  readonly module: ModelModule<any, any>;
  readonly spec: SpecModule;
  /** how to name it again on a command line */
  readonly ref: string;
  readonly path: string;
  readonly specPath: string;
}

export function shippedModelNames(): string[] {
  if (!existsSync(MODELS_DIR)) return [];
  return readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}

async function importDefault(path: string, what: string): Promise<unknown> {
  const mod = await importModule(path, what);
  if (mod.default === undefined) throw new InputError(`${what} ${path} has no default export`);
  return mod.default;
}

async function importModule(path: string, what: string): Promise<{ default?: unknown; spec?: unknown }> {
  let mod: { default?: unknown; spec?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (e) {
    const msg = firstLine(e);
    if (/require\(\) ES Module|Cannot use import statement outside a module/.test(msg)) {
      throw new InputError(`cannot load ${what} ${path}: it is not in an ES-module package; keep it inside the ptcheck tree (e.g. examples/) or name it .mts`);
    }
    throw new InputError(`cannot load ${what} ${path}: ${msg}`);
  }
  return mod;
}

function isModelModule(m: unknown): m is ModelModule<any, any> {
  const x = m as Partial<ModelModule>;
  return typeof x === 'object' && x !== null && typeof x.name === 'string' && typeof x.build === 'function' && typeof x.variants === 'object';
}

function isSpecModule(m: unknown): m is SpecModule {
  const x = m as Partial<SpecModule>;
  return typeof x === 'object' && x !== null && Array.isArray(x.properties) && typeof x.expect === 'object';
}

export async function loadModel(ref: string): Promise<LoadedModel> {
  const byPath = ref.endsWith('.ts') || ref.includes('/') || ref.includes('\\');
  let path: string;
  if (byPath) {
    path = isAbsolute(ref) ? ref : resolve(process.cwd(), ref);
    if (!existsSync(path)) throw new InputError(`no model file ${ref}`);
  } else {
    path = join(MODELS_DIR, `${ref}.ts`);
    if (!existsSync(path)) {
      throw new InputError(`unknown model '${ref}' (models: ${shippedModelNames().join(', ') || 'none'})`);
    }
  }
  // its spec, the first found: a `spec` export of the model file, <name>.spec.ts beside it, ../specs/<name>.ts
  const name = basename(path, '.ts');
  const candidates = [join(dirname(path), `${name}.spec.ts`), join(dirname(path), '..', 'specs', `${name}.ts`)];
  const specFile = candidates.find((p) => existsSync(p));
  if (byPath && !path.startsWith(MODELS_DIR)) {
    // one compiler run for both files
    const err = typecheckFile(path, ...(specFile && !specFile.startsWith(SPECS_DIR) ? [specFile] : []));
    if (err) throw new InputError(`model file does not typecheck: ${err}`);
  }
  const exports = await importModule(path, 'model file');
  const module = exports.default;
  if (module === undefined) throw new InputError(`model file ${path} has no default export`);
  if (!isModelModule(module)) throw new InputError(`model file ${ref} does not export a model (use defineModel)`);
  if (exports.spec !== undefined) {
    if (!isSpecModule(exports.spec)) throw new InputError(`model file ${ref}: its 'spec' export is not a spec (use defineSpec)`);
    return { module, spec: exports.spec, ref: byPath ? ref : module.name, path, specPath: path };
  }
  const fallback = join(SPECS_DIR, `${module.name}.ts`);
  const specPath = specFile ?? (existsSync(fallback) ? fallback : undefined);
  if (!specPath) {
    throw new InputError(`model '${module.name}' has no spec (looked for a 'spec' export, ${name}.spec.ts beside it and ../specs/${name}.ts)`);
  }
  const spec = await importDefault(specPath, 'spec file');
  if (!isSpecModule(spec)) throw new InputError(`spec file ${specPath} does not export a spec (use defineSpec)`);
  return { module, spec, ref: byPath ? ref : module.name, path, specPath };
}

/**
 * Typechecks one TypeScript file against the project (tsc --noEmit). Returns the first error line,
 * or undefined when it is clean.
 */
export function typecheckFile(...paths: string[]): string | undefined {
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  if (!existsSync(tsc)) return undefined; // no compiler installed: the loader still reports syntax errors
  const dir = mkdtempSync(join(tmpdir(), 'ptcheck-tc-'));
  try {
    const cfg = join(dir, 'tsconfig.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        // a file outside the project has no package.json saying it is an ES module: resolve as a bundler would
        compilerOptions: { typeRoots: [join(ROOT, 'node_modules', '@types')], module: 'ESNext', moduleResolution: 'Bundler' },
        include: paths,
        exclude: [],
      }),
    );
    const r = spawnSync(tsc, ['--noEmit', '--pretty', 'false', '-p', cfg], { encoding: 'utf8' });
    if (r.status === 0) return undefined;
    const lines = (r.stdout + r.stderr).split('\n');
    const at = lines.findIndex((l) => /error TS\d+/.test(l));
    const first = (at >= 0 ? lines[at]! : 'type errors').replace(/^.*?([^/\\]+\.ts\()/, '$1');
    // tsc's suggestion for a misspelt label or field is on a continuation line: keep it
    const more = at >= 0 ? lines.slice(at + 1).findIndex((l) => !/^\s/.test(l)) : -1;
    const rest = at >= 0 ? lines.slice(at + 1, more < 0 ? undefined : at + 1 + more) : [];
    const hint = rest.map((l) => /Did you mean [^?]*\?/.exec(l)?.[0]).find((h) => h !== undefined);
    return hint && !first.includes(hint) ? `${first} (${hint})` : first;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LoadedVariant {
  readonly variant: UserVariant;
  readonly model: LoadedModel;
  readonly file: string;
  /** absolute path of the variant file */
  readonly path: string;
}

/** Loads a variant file (one variant or several): typechecks it, imports it, finds its model's spec. */
export async function loadVariantFile(file: string, of?: LoadedModel): Promise<LoadedVariant[]> {
  const path = isAbsolute(file) ? file : resolve(process.cwd(), file);
  if (!existsSync(path)) throw new InputError(`no variant file ${file}`);
  const err = typecheckFile(path);
  if (err) throw new InputError(`variant file does not typecheck: ${err}`);
  const vs = userVariantsOf(await importDefault(path, 'variant file'));
  if (!vs) throw new InputError(`variant file ${file} does not export a variant (use defineVariant or defineVariants)`);
  const mod = vs[0]!.model;
  if (of && of.module.name !== mod.name) throw new InputError(`variant file ${file} is a variant of '${mod.name}', not of '${of.module.name}'`);
  const model = of ?? (await loadModel(mod.name));
  // the variants run on the very module they imported (their apply was written against it)
  return vs.map((variant) => ({ variant, model: { ...model, module: mod }, file, path }));
}
