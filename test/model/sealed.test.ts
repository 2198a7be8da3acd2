import { describe, expect, it } from 'vitest';
import { instantiate } from '../../src/model/compile.ts';
import { ModelError } from '../../src/model/errors.ts';
import { BLOCKED, DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { FieldError, hasField } from '../../src/model/sealed.ts';
import { array, bool, cell, int, record } from '../../src/model/schema.ts';
import { always, defineSpec, final } from '../../src/spec/property.ts';
import { verify } from '../../src/explore/verify.ts';
import { counters, countersSpec } from '../helpers/toys.ts';

const st = defineState(
  { x: int(0, 3), flag: bool(), obj: record({ uaf: bool() }), l: cell('lock', int(0, 3)), bits: array(2, bool()), recs: array(2, record({ v: int(0, 1) })) },
  { seen: int(0, 1) },
);

/** One thread whose single step does `body` (chosen by the variant) and finishes. */
function model(body: (s: any, me: any) => unknown) {
  return defineModel({
    name: 'sealed-toy',
    title: 'a step that does one thing',
    doc: '',
    params: {},
    build: () => ({
      state: st,
      threads: {
        t: thread(st, { locals: { mine: int(0, 2) }, steps: { go: body as () => typeof DONE, again: () => DONE } }),
      },
    }),
    variants: { base: { summary: 'the only variant' } },
  });
}

function run(body: (s: any, me: any) => unknown, pred: (s: any) => boolean = () => true) {
  const m = model(body);
  const spec = defineSpec(m, { properties: [always('p-ok', 'holds', pred)], expect: { base: {} } } as never);
  return verify(instantiate(m, 'base'), spec, { stopAtFirst: false });
}

describe('sealed state views', () => {
  it('a well-behaved step runs as before', () => {
    const r = run((s, me) => {
      s.x = 2;
      s.flag = true;
      s.obj.uaf = false;
      s.l.v = 1;
      s.bits.set(1, true);
      me.mine = 2;
      me.seen = 1;
      return me.tid === 0 && me.name === 't' && s.x === 2 ? DONE : BLOCKED;
    });
    expect(r.outcome.kind).toBe('complete');
    expect(r.stats.states).toBe(2);
  });

  const cases: [string, (s: any, me: any) => unknown, RegExp][] = [
    ['a read of an undeclared state field', (s) => (s.typo === 1 ? DONE : DONE), /read of undeclared field 'typo'/],
    ['a write of an undeclared state field', (s) => ((s.typo = 1), DONE), /write of undeclared field 'typo'/],
    ['a read of an undeclared nested field', (s) => (s.obj.uafx ? DONE : DONE), /read of undeclared field 'obj\.uafx' \(declared: uaf\)/],
    ['a read of an undeclared thread local', (_s, me) => (me.typo ? DONE : DONE), /read of undeclared field 't\.typo'/],
    ['a write of an undeclared thread local', (_s, me) => ((me.typo = 1), DONE), /write of undeclared field 't\.typo'/],
    ['a read of an undeclared name on a cell', (s) => (s.l.value ? DONE : DONE), /read of undeclared field 'l\.value'/],
  ];
  for (const [what, body, msg] of cases) {
    it(`${what} is a model error naming the model, thread, step and field`, () => {
      expect(() => run(body)).toThrow(ModelError);
      expect(() => run(body)).toThrow(/^step t\.go \(model 'sealed-toy'\): /);
      expect(() => run(body)).toThrow(msg);
    });
  }

  it('the declared names are listed, so a typo is easy to see', () => {
    expect(() => run((s) => (s.fleg ? DONE : DONE))).toThrow(/declared: x, flag, obj, l, bits/);
    expect(() => run((_s, me) => (me.mnie ? DONE : DONE))).toThrow(/declared: .*\bmine\b/);
  });

  it('a bool field takes booleans only', () => {
    expect(() => run((s) => ((s.flag = 'yes'), DONE))).toThrow(/write of 'yes' to flag: a bool field takes true or false only/);
    expect(() => run((s) => ((s.flag = {}), DONE))).toThrow(/write of an object to flag/);
    expect(() => run((s) => ((s.obj.uaf = 1), DONE))).toThrow(/write of 1 to obj\.uaf/);
    expect(() => run((s) => (s.bits.set(0, 'no'), DONE))).toThrow(/write of 'no' to bits\[0\]/);
  });

  it('a property reading an undeclared field names the property and the model', () => {
    expect(() => run(() => DONE, (s) => !s.obj.uafx)).toThrow(/^model 'sealed-toy': property p-ok threw: read of undeclared field 'obj\.uafx'/);
    const m = model(() => DONE);
    const spec = defineSpec(m, { properties: [final('at-end', 'x', (s: any) => s.xx === 0)], expect: { base: {} } } as never);
    expect(() => verify(instantiate(m, 'base'), spec)).toThrow(/^model 'sealed-toy': property at-end threw: read of undeclared field 'xx'/);
  });

  it('a step returning undefined (a forgotten return) is a model error, not a jump to the first label', () => {
    expect(() => run(() => undefined)).toThrow(/step t\.go returned undefined \(a forgotten return\?\)/);
    expect(() => run(() => 3)).toThrow(/step t\.go returned 3, which is not a label/);
    expect(() => run(() => ({}))).toThrow(/step t\.go returned an object/);
  });

  it('errors are FieldErrors; probing with hasField never throws', () => {
    const inst = instantiate(model(() => DONE), 'base');
    const root = inst.compiled.root;
    inst.compiled.holder.b = inst.compiled.init;
    expect(() => root.nope).toThrow(FieldError);
    expect(hasField(root, 'x')).toBe(true);
    expect(hasField(root, 'nope')).toBe(false);
    expect(hasField(root, 'toString')).toBe(false);
    expect(hasField(inst.compiled.threads[0]!.me, 'mine')).toBe(true);
    // a view still prints and compares like an object
    expect(String(root)).toBe('[object Object]');
    expect(`${root.x}`).toBe('0');
  });

  it('an array of records indexed out of bounds is a model error naming the model, step and index', () => {
    const step = /^step t\.go \(model 'sealed-toy'\): /;
    expect(() => run((s) => (s.recs[2].v ? DONE : DONE))).toThrow(step);
    expect(() => run((s) => (s.recs[2].v ? DONE : DONE))).toThrow(/read of 'recs\[2\]': index out of bounds \(recs has 2 elements\)$/);
    expect(() => run((s) => (s.recs[-1] ? DONE : DONE))).toThrow(/read of 'recs\[-1\]': index out of bounds/);
    expect(() => run((s) => ((s.recs[5] = s.recs[0]), DONE))).toThrow(/write of 'recs\[5\]': index out of bounds/);
    expect(() => run((s) => (s.recs.lenght ? DONE : DONE))).toThrow(/read of undeclared field 'recs\.lenght'/);
  });

  it('in bounds, an array of records is still an array', () => {
    const r = run((s) => {
      s.recs[1].v = 1;
      const ok =
        Array.isArray(s.recs) &&
        s.recs.length === 2 &&
        s.recs.some((x: { v: number }) => x.v === 1) &&
        [...s.recs].length === 2 &&
        s.recs.map((x: { v: number }) => x.v).join() === '0,1' &&
        s.recs.at(-1).v === 1;
      return ok ? DONE : BLOCKED;
    });
    expect(r.outcome.kind).toBe('complete');
    expect(r.stats.states).toBe(2);
  });

  it('a property indexing out of bounds, or naming a thread the model lacks, names the property and the model', () => {
    expect(() => run(() => DONE, (s) => s.recs[9].v === 0)).toThrow(/^model 'sealed-toy': property p-ok threw: read of 'recs\[9\]': index out of bounds \(recs has 2 elements\)$/);
    const m = model(() => DONE);
    const spec = defineSpec(m, { properties: [always('p-t', 'x', (_s: any, t: any) => !t.typo.done)], expect: { base: {} } } as never);
    expect(() => verify(instantiate(m, 'base'), spec)).toThrow(/^model 'sealed-toy': property p-t threw: read of undeclared thread 't\.typo' \(declared: t\)$/);
    // the threads it has read as before; an instance of a declared group absent at these parameters
    // (here t5: the group t has one instance) reads undefined, for `t.walker?.done` where a parameter
    // removes the walker
    const ok = defineSpec(
      m,
      { properties: [always('p-t', 'x', (_s: any, t: any) => t.t5 === undefined && (t.t.done || t.t.at('go') || t.t.at('again')))], expect: { base: {} } } as never,
    );
    expect(verify(instantiate(m, 'base'), ok).properties[0]!.status).toBe('holds');
  });

  it('the toy state counts are unchanged', () => {
    expect(verify(instantiate(counters, 'base'), countersSpec, { stopAtFirst: false }).stats.states).toBe(9);
  });
});
