#!/usr/bin/env node
// ptcheck entry: runs dist/ (the CLI compiled at install by npm's prepare) when it is the compiled form
// of the sources as they are now (bin/compiled.mjs); otherwise, as in development with edited sources,
// registers the tsx loader (Node 20 cannot run TypeScript itself) and runs the sources.
import { freshDist } from './compiled.mjs';

const dist = freshDist();
let main;
if (dist) {
  ({ main } = await import(`${dist}src/cli/main.js`));
} else {
  const { register: registerHook } = await import('node:module');
  const { register } = await import('tsx/esm/api');
  register();
  registerHook('./ts-as-esm.mjs', import.meta.url); // .ts outside an ESM package is ESM too
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
