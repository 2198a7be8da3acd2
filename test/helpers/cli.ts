// Runs the ptcheck bin the way a user does (node bin/ptcheck.js ...), capturing output and exit code.

import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ptcheck(args: string[], opts: { cwd?: string; input?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, [`${ROOT}bin/ptcheck.js`, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    input: opts.input ?? '',
    env: { ...process.env, FORCE_COLOR: '0' },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs ptcheck (with --progress among `args`), handing the search to worker threads early, and sends
 * `sig` once the progress line shows it well past the hand-off: not at a fixed time, which a slow or
 * busy machine (or a first, uncached typecheck) would reach before the search starts.
 */
export async function signalMidRun(args: string[], sig: NodeJS.Signals): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [`${ROOT}bin/ptcheck.js`, ...args], { cwd: ROOT, env: { ...process.env, PTCHECK_HANDOFF: '20000' } });
  let out = '';
  let err = '';
  let sent = false;
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => {
    err += b;
    const states = [...err.matchAll(/: ([\d,]+) states/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
    if (!sent && states.some((n) => n >= 100_000)) {
      sent = true;
      child.kill(sig);
    }
  });
  const code = await new Promise<number | null>((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('exit', (c) => {
      clearTimeout(hard);
      resolve(c);
    });
  });
  if (!sent) throw new Error(`the run ended before the signal was sent: ${err.slice(-300)}`);
  return { code, out, err };
}

/** The printed `replay: npx ptcheck ...` command with its shell line continuations joined. */
export function replayCommandOf(stdout: string): string {
  const m = /^replay: (?:.*\\\n)*.*$/m.exec(stdout);
  if (!m) throw new Error('no replay line in the output');
  return m[0].replace(/ \\\n\s+/g, ' ').replace(/\\\n/g, '');
}
