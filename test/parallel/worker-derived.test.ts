// A pool worker compiles its model with the coordinating thread's derived futures, handed over as data
// (src/por/derived-entry.ts): used once they fit the model it compiled, never run as code, and derived
// afresh where they do not fit; so N workers derive once and reduce as one.

import { describe, expect, it } from 'vitest';
import model from '../fixtures/models/future-readers.ts';
import { instantiate } from '../../src/model/compile.ts';
import { deriveFutures } from '../../src/por/derive-futures.ts';
import { entryOf } from '../../src/por/derived-entry.ts';
import { compileOptionsOf } from '../../src/parallel/worker.ts';
import type { ModelRef } from '../../src/parallel/protocol.ts';

const REF: ModelRef = { modelPath: 'test/fixtures/models/future-readers.ts', specPath: 'test/fixtures/models/future-readers.ts', variant: 'undeclared', params: { readers: 2 }, deriveFutures: true };
const bits = (side: readonly (readonly (Int32Array | null)[])[]) => side.map((per) => per.map((b) => (b ? Array.from(b) : null)));

describe('a worker given the derived futures', () => {
  const cm = instantiate(model, 'undeclared', { readers: 2 }).compiled;
  const real = deriveFutures(cm);

  it('uses the ones handed over, not its own derivation', () => {
    expect(real.gaveUp).toBeUndefined();
    // a fitting entry that differs from what the derivation gives (every future empty): the worker's
    // compile shows it was used, not derived again
    const empty = { ...real, touch: real.touch.map((per) => per.map((b) => (b ? new Int32Array(b.length) : null))), change: real.change.map((per) => per.map((b) => (b ? new Int32Array(b.length) : null))) };
    const d = compileOptionsOf({ ...REF, derived: entryOf(cm, empty) }).deriveFutures!(cm);
    expect(d.cached).toBe(true);
    expect(bits(d.touch)).toEqual(bits(empty.touch));
    expect(bits(d.touch)).not.toEqual(bits(real.touch));
    // the coordinator's own entry: the same futures as deriving
    const same = compileOptionsOf({ ...REF, derived: entryOf(cm, real) }).deriveFutures!(cm);
    expect(bits(same.touch)).toEqual(bits(real.touch));
    expect(bits(same.change)).toEqual(bits(real.change));
    // a derivation that gave up is handed over as such
    const gave = compileOptionsOf({ ...REF, derived: entryOf(cm, { ...real, gaveUp: 'more than 40000 step runs' }) }).deriveFutures!(cm);
    expect(gave.gaveUp).toBe('more than 40000 step runs');
    expect(gave.touch.flat().every((b) => b === null)).toBe(true);
  });

  it('derives for itself what does not fit its model, or is not data', () => {
    const other = instantiate(model, 'undeclared', { readers: 3 }).compiled;
    for (const text of [entryOf(other, deriveFutures(other)), 'module.exports = {}', '{"v":1,', '']) {
      const d = compileOptionsOf({ ...REF, derived: text }).deriveFutures!(cm);
      expect(d.cached).toBeUndefined();
      expect(bits(d.touch)).toEqual(bits(real.touch));
    }
    // nothing handed over: derived; no derivation asked for: none
    expect(compileOptionsOf(REF).deriveFutures!(cm).cached).toBeUndefined();
    expect(compileOptionsOf({ ...REF, deriveFutures: false, derived: entryOf(cm, real) }).deriveFutures).toBeUndefined();
  });
});
