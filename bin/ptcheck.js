#!/usr/bin/env node
// ptcheck entry: registers the tsx loader (Node 20 cannot run TypeScript itself), then runs the CLI.
import { register as registerHook } from 'node:module';
import { register } from 'tsx/esm/api';

register();
registerHook('./ts-as-esm.mjs', import.meta.url); // .ts outside an ESM package is ESM too
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
