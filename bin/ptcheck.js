#!/usr/bin/env node
// ptcheck entry: registers the tsx loader (Node 20 cannot run TypeScript itself), then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
