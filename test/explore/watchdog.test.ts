// Every arming of the watchdog is a new generation, also right after a disarm: a watcher that has not
// yet seen the disarm's 0 must still see the next arming as new, or a step stuck in it is never stopped
// (a stuck build retried without derived futures hung ptcheck: test/cli/hostile-engine.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { arm, disarm, watchMemory } from '../../src/explore/watchdog.ts';

const generation = (): number => new Int32Array(watchMemory()!)[0]!;

describe('the watchdog', () => {
  afterEach(() => disarm());
  it('never arms with the generation it armed with last, a disarm between or not', () => {
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      arm(Infinity, 60_000);
      seen.push(generation());
      disarm();
    }
    arm(Infinity, 60_000);
    seen.push(generation());
    arm(Infinity, 60_000);
    seen.push(generation());
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
    expect(seen.every((g) => g !== 0)).toBe(true);
  });
});
