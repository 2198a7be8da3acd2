// piscina worker entry: registers the same TypeScript loader as bin/ptcheck.js, then serves
// src/parallel/worker.ts (which explores the subtrees it is given).
import { register } from 'tsx/esm/api';

register();
const mod = await import('../src/parallel/worker.ts');
export default mod.explore;
