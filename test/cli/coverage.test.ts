// Coverage: every verify names the labels a run never executed; --coverage counts them; --json carries
// them; parallel runs sum their workers' counts.

import { describe, expect, it } from 'vitest';
import { ptcheck } from '../helpers/cli.ts';

const DEAD = 'test/fixtures/models/dead-label.ts';

function withEnv<T>(env: Record<string, string>, f: () => T): T {
  const prev = { ...process.env };
  Object.assign(process.env, env);
  try {
    return f();
  } finally {
    for (const k of Object.keys(env)) if (prev[k] === undefined) delete process.env[k];
    else process.env[k] = prev[k];
  }
}

describe('coverage', () => {
  it('names a dead label even though the guard about it is reached', () => {
    const r = ptcheck(['verify', DEAD, '--variant', 'base']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/freed-after-retry +sometimes +reachable +reachable/);
    expect(r.stdout).toMatch(/^  warning: never executed: reclaim: retry$/m);
    // nothing else is dead
    expect(r.stdout.match(/warning: never executed/g)).toHaveLength(1);
  });

  it('--coverage counts the transitions taken per label; --json carries the same', () => {
    const r = ptcheck(['verify', DEAD, '--variant', 'base', '--coverage']);
    expect(r.stdout).toMatch(/^ +retry +0 +<== never$/m);
    expect(r.stdout).toMatch(/^ +free +[1-9]\d*$/m);
    const j = JSON.parse(ptcheck(['verify', DEAD, '--variant', 'base', '--json']).stdout);
    expect(j.coverage.reclaim.retry).toBe(0);
    expect(j.coverage.reclaim.trylock).toBeGreaterThan(0);
    expect(j.coverage.reader.peek).toBeGreaterThan(0);
    // every transition is counted once, at the label it was taken from
    const sum = Object.values(j.coverage as Record<string, Record<string, number>>).reduce((n, t) => n + Object.values(t).reduce((a, b) => a + b, 0), 0);
    expect(sum).toBe(j.stats.transitions);
  });

  it('a parallel run sums its workers: the same counts as one thread', () => {
    const args = ['verify', 'pte-offset-map-lock', '--variant', 'upstream', '--json'];
    const one = JSON.parse(ptcheck([...args, '--workers', '1']).stdout);
    const two = withEnv({ PTCHECK_HANDOFF: '300' }, () => JSON.parse(ptcheck([...args, '--workers', '2']).stdout));
    expect(two.stats.workers).toBe(2);
    expect(two.stats.transitions).toBe(one.stats.transitions);
    expect(two.coverage).toEqual(one.coverage);
  });
});
