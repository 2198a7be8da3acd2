// Finds and loads models and their specs: shipped ones by name (models/<name>.ts, specs/<name>.ts),
// or any model file by path. Every file is typechecked before it is imported (or, deferred, before any
// result is reported: typecheck.ts); loading failures become
// one-line input errors. It never picks a model by an internal name another file may also define.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../model/errors.ts';
import type { ModelModule } from '../model/model.ts';
import type { SpecModule } from '../spec/property.ts';
import { userVariantsOf, type UserVariant } from '../model/variant-file.ts';
import { ensureTypechecked, ensureTypecheckedGroups, shown } from './typecheck.ts';
import { importFile, ROOT } from './compiled.ts';

export { ROOT };
export const MODELS_DIR = join(ROOT, 'models');
export const SPECS_DIR = join(ROOT, 'specs');

export interface LoadedModel {
  readonly module: ModelModule<any, any>;
  readonly spec: SpecModule;
  /** how to name it again on a command line */
  readonly ref: string;
  readonly path: string;
  readonly specPath: string;
  /** a shipped model named by its name; otherwise a file loaded by path */
  readonly shipped: boolean;
}

/** What a shipped model may be called: its file is models/<name>.ts and it defines model <name>. */
export const MODEL_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

function modelFilesInTree(): string[] {
  if (!existsSync(MODELS_DIR)) return [];
  return readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.spec.ts'))
    .sort();
}

export function shippedModelNames(): string[] {
  return modelFilesInTree()
    .map((f) => f.slice(0, -3))
    .filter((n) => MODEL_NAME.test(n));
}

/** Files in models/ whose name cannot be a model's (they load by path only), e.g. `H7-uninit-ptl.ts`. */
export function unnamedModelFiles(): string[] {
  return modelFilesInTree().filter((f) => !MODEL_NAME.test(f.slice(0, -3)));
}

/**
 * Where a model's spec file may be, in order (a `spec` export of the model file itself comes first):
 * <name>.spec.ts beside it, ../specs/<name>.ts, then, given the model's name, the shipped spec of that
 * name (a copy of a shipped model is checked against its spec). One function: a new place is one line.
 */
export function specCandidates(modelPath: string, modelName?: string): string[] {
  const name = basename(modelPath).replace(/\.m?ts$/, '');
  const out = [join(dirname(modelPath), `${name}.spec.ts`), join(dirname(modelPath), '..', 'specs', `${name}.ts`)];
  if (modelName !== undefined && MODEL_NAME.test(modelName)) out.push(join(SPECS_DIR, `${modelName}.ts`));
  return out;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Typechecks every shipped model with its spec in one compiler run (before loading them all). */
export async function typecheckShipped(): Promise<void> {
  const groups = shippedModelNames().map((n) => {
    const path = join(MODELS_DIR, `${n}.ts`);
    const spec = specCandidates(path).find(isFile);
    return spec ? [path, spec] : [path];
  });
  await ensureTypecheckedGroups(groups, (f) => (f.endsWith('.spec.ts') || f.startsWith(SPECS_DIR) ? 'spec file' : 'model file'));
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
    mod = await importFile(path);
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

/**
 * Loads a model by shipped name or by path, typechecked first (with its spec). A shipped file must
 * define the model it is named after: two files defining one name is an error naming both, never a
 * silent choice between them.
 */
export async function loadModel(ref: string): Promise<LoadedModel> {
  const byPath = /\.m?ts$/.test(ref) || ref.includes('/') || ref.includes('\\');
  let path: string;
  if (byPath) {
    path = isAbsolute(ref) ? ref : resolve(process.cwd(), ref);
    if (!isFile(path)) throw new InputError(`no model file ${ref}`);
  } else {
    path = join(MODELS_DIR, `${ref}.ts`);
    if (!MODEL_NAME.test(ref) || !isFile(path)) {
      throw new InputError(`unknown model '${ref}' (models: ${shippedModelNames().join(', ') || 'none'})`);
    }
  }
  const specFile = specCandidates(path).find(isFile);
  // one compiler run for both files, before either runs
  await ensureTypechecked(specFile ? [path, specFile] : [path], (f) => (f === specFile ? 'spec file' : 'model file'));
  const exports = await importModule(path, 'model file');
  const module = exports.default;
  if (module === undefined) throw new InputError(`model file ${path} has no default export`);
  if (!isModelModule(module)) throw new InputError(`model file ${ref} does not export a model (use defineModel)`);
  if (!byPath && module.name !== ref) {
    const other = join(MODELS_DIR, `${module.name}.ts`);
    if (isFile(other)) {
      throw new InputError(
        `models/${ref}.ts and models/${module.name}.ts both define model '${module.name}': one name, one model (rename the model in models/${ref}.ts, or load it by path)`,
      );
    }
    throw new InputError(`models/${ref}.ts defines model '${module.name}': a shipped model's file is named after it (rename one of them)`);
  }
  // named by path or by name, the shipped file of its name is the shipped model (its traces name it)
  const shipped = resolve(path) === join(MODELS_DIR, `${module.name}.ts`);
  if (exports.spec !== undefined) {
    if (!isSpecModule(exports.spec)) throw new InputError(`model file ${ref}: its 'spec' export is not a spec (use defineSpec)`);
    return { module, spec: exports.spec, ref: byPath ? ref : module.name, path, specPath: path, shipped };
  }
  const specPath = specFile ?? specCandidates(path, module.name).find(isFile);
  if (!specPath) {
    const name = basename(path).replace(/\.m?ts$/, '');
    throw new InputError(`model '${module.name}' has no spec (looked for a 'spec' export, ${name}.spec.ts beside it and ../specs/${name}.ts)`);
  }
  if (specPath !== specFile) {
    // a shipped spec is checked with its shipped model, as a run of that model checks it: one cache entry
    const shippedModel = join(MODELS_DIR, `${module.name}.ts`);
    const group = specPath === join(SPECS_DIR, `${module.name}.ts`) && isFile(shippedModel) ? [shippedModel, specPath] : [specPath];
    await ensureTypechecked(group, (f) => (f === specPath ? 'spec file' : 'model file'));
  }
  const spec = await importDefault(specPath, 'spec file');
  if (!isSpecModule(spec)) throw new InputError(`spec file ${specPath} does not export a spec (use defineSpec)`);
  return { module, spec, ref: byPath ? ref : module.name, path, specPath, shipped };
}

export interface LoadedVariant {
  readonly variant: UserVariant;
  readonly model: LoadedModel;
  readonly file: string;
  /** absolute path of the variant file */
  readonly path: string;
}

/**
 * Loads a variant file (one variant or several) of `of`, the model named on the command line:
 * typechecks it, imports it, and checks that its variants apply to that very file's model, not to
 * another file defining a model of the same name.
 */
export async function loadVariantFile(file: string, of: LoadedModel): Promise<LoadedVariant[]> {
  const path = isAbsolute(file) ? file : resolve(process.cwd(), file);
  if (!isFile(path)) throw new InputError(`no variant file ${file}`);
  await ensureTypechecked([path], () => 'variant file');
  const vs = userVariantsOf(await importDefault(path, 'variant file'));
  if (!vs) throw new InputError(`variant file ${file} does not export a variant (use defineVariant or defineVariants)`);
  const mod = vs[0]!.model;
  if (of.module.name !== mod.name) throw new InputError(`variant file ${file} is a variant of '${mod.name}', not of '${of.module.name}'`);
  if (of.module !== mod) throw new InputError(`variant file ${file} imports a model '${mod.name}' from another file than ${shown(of.path)}`);
  return vs.map((variant) => ({ variant, model: of, file, path }));
}
