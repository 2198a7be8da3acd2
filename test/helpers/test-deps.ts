// Finds the programs some tests need beyond npm (Chromium, SPIN and a C compiler) on PATH. When one is
// missing the test that needs it is skipped with one visible line saying how to install it, unless
// PTCHECK_REQUIRE_TEST_DEPS=1 (CI) makes a missing program an error.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first executable named `cmd` on PATH. */
export function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Chromium for the HTML viewer test: PTCHECK_CHROMIUM, else the usual names on PATH. */
export function findChromium(): string | undefined {
  const env = process.env.PTCHECK_CHROMIUM;
  if (env) return env;
  for (const n of ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']) {
    const p = onPath(n);
    if (p) return p;
  }
  return undefined;
}

/** SPIN and a C compiler for its verifiers. */
export function spinReady(): boolean {
  return onPath('spin') !== undefined && (onPath('cc') !== undefined || onPath('gcc') !== undefined);
}

/**
 * True when `present`; otherwise prints that the tests of `what` are skipped, what they `need` and how to run them (or,
 * under PTCHECK_REQUIRE_TEST_DEPS=1, throws: CI must never skip them).
 */
export function haveOrSkip(present: boolean, what: string, need: string, install: string): boolean {
  if (present) return true;
  const msg = `${what}: ${need} not found on PATH; to run them: ${install}`;
  if (process.env.PTCHECK_REQUIRE_TEST_DEPS === '1') throw new Error(msg);
  process.stderr.write(`SKIPPED ${msg}\n`);
  return false;
}
