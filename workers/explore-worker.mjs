// piscina worker entry: registers the same TypeScript loader as bin/ptcheck.js, then serves
// src/parallel/worker.ts (which explores the subtrees it is given).
import { register as registerHook } from 'node:module';
import { register } from 'tsx/esm/api';

register();
registerHook('../bin/ts-as-esm.mjs', import.meta.url); // .ts outside an ESM package is ESM too
const mod = await import('../src/parallel/worker.ts');
export default mod.explore;
