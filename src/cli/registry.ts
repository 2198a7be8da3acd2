// Finds and loads models and their specs: shipped ones by name (models/<name>.ts, specs/<name>.ts),
// or any model file by path. Loading failures become one-line input errors.

import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError } from '../model/errors.ts';
import type { ModelModule } from '../model/model.ts';
import type { SpecModule } from '../spec/property.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODELS_DIR = join(ROOT, 'models');
export const SPECS_DIR = join(ROOT, 'specs');

export interface LoadedModel {
  readonly module: ModelModule<any, any>;
  readonly spec: SpecModule;
  /** how to name it again on a command line */
  readonly ref: string;
  readonly path: string;
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
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (e) {
    throw new InputError(`cannot load ${what} ${path}: ${firstLine(e)}`);
  }
  if (mod.default === undefined) throw new InputError(`${what} ${path} has no default export`);
  return mod.default;
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
  const module = await importDefault(path, 'model file');
  if (!isModelModule(module)) throw new InputError(`model file ${ref} does not export a model (use defineModel)`);
  const name = basename(path, '.ts');
  const candidates = [join(dirname(path), '..', 'specs', `${name}.ts`), join(SPECS_DIR, `${module.name}.ts`)];
  const specPath = candidates.find((p) => existsSync(p));
  if (!specPath) throw new InputError(`model '${module.name}' has no spec (looked for specs/${name}.ts)`);
  const spec = await importDefault(specPath, 'spec file');
  if (!isSpecModule(spec)) throw new InputError(`spec file ${specPath} does not export a spec (use defineSpec)`);
  return { module, spec, ref: byPath ? ref : module.name, path };
}
