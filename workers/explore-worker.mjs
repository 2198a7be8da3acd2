// piscina worker entry: serves src/parallel/worker.ts (which explores the subtrees it is given), from
// dist/ when it is the compiled form of the sources as they are (bin/compiled.mjs) with dist's own way
// of importing model files, else through the same TypeScript loader as bin/ptcheck.js.
import { register as registerHook } from 'node:module';
import { freshDist } from '../bin/compiled.mjs';

async function load() {
  const dist = freshDist();
  if (dist) {
    const [mod, { importFile }] = await Promise.all([import(`${dist}src/parallel/worker.js`), import(`${dist}src/cli/compiled.js`)]);
    mod.setFileImporter(importFile);
    return mod;
  }
  const { register } = await import('tsx/esm/api');
  register();
  registerHook('../bin/ts-as-esm.mjs', import.meta.url); // .ts outside an ESM package is ESM too
  return import('../src/parallel/worker.ts');
}

const mod = await load();
export default mod.explore;
