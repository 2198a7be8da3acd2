// Progress reporting: a live line on a terminal (rewritten in place, erased at the end), periodic
// lines with --progress when stderr is not a terminal, and nothing on stdout.

import { describe, expect, it } from 'vitest';
import { ProgressLine } from '../../src/report/progress.ts';
import { ptcheck } from '../helpers/cli.ts';

function fakeStream() {
  const writes: string[] = [];
  return { writes, stream: { write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WriteStream };
}

const info = (elapsedMs: number) => ({ label: 'm [v]', states: 1234567, depth: 42, tableBytes: 3 * 2 ** 20, elapsedMs });

describe('progress', () => {
  it('on a terminal: one line rewritten in place, erased at the end', () => {
    const { writes, stream } = fakeStream();
    const p = new ProgressLine(stream, true, false, 0);
    p.tick(info(100)); // too early: nothing for quick runs
    expect(writes).toEqual([]);
    p.tick(info(1000));
    expect(writes[0]).toMatch(/^\r\x1b\[Km \[v\]: 1,234,567 states, 1,234,567\/s, depth 42, table 3\.0 MiB, 1\.0 s$/);
    p.clear();
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('not a terminal and not asked: silent', () => {
    const { writes, stream } = fakeStream();
    const p = new ProgressLine(stream, false, false, 0);
    p.tick(info(5000));
    expect(writes).toEqual([]);
  });

  it('--progress when stderr is not a terminal: periodic lines on stderr only', () => {
    const r = ptcheck(['verify', 'retract-page-tables', '--variant', 'upstream', '--param', 'faults=2', '--workers', '1', '--progress']);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l).toMatch(/^retract-page-tables \[upstream\]: [\d,]+ states, [\d,]+\/s, depth \d+, table [\d.]+ (KiB|MiB), [\d.]+ s$/);
    expect(r.stdout).not.toMatch(/states, [\d,]+\/s/);
  });
});
