import { describe, expect, it } from 'vitest';
import { loadModel, shippedModelNames } from '../../src/cli/registry.ts';
import { instantiate } from '../../src/model/compile.ts';
import { Engine } from '../../src/explore/engine.ts';
import { verify } from '../../src/explore/verify.ts';
import { buildTrace, type Trace } from '../../src/trace/trace.ts';
import { readablePath } from '../../src/trace/readable.ts';
import { changePath, raceDiagram, wrapChunks } from '../../src/report/race-diagram.ts';
import { compactPath, parsePath } from '../../src/trace/path.ts';
import { DONE, defineModel, defineState, thread } from '../../src/model/model.ts';
import { int } from '../../src/model/schema.ts';
import { always, defineSpec } from '../../src/spec/property.ts';

/** Every violation of every shipped variant, as the CLI shows it (shrunk and reordered). */
async function shippedViolations(): Promise<Trace[]> {
  const out: Trace[] = [];
  for (const name of shippedModelNames()) {
    const lm = await loadModel(name);
    for (const variant of Object.keys(lm.module.variants)) {
      const inst = instantiate(lm.module, variant, {});
      const r = verify(inst, lm.spec, { stopAtFirst: false });
      const engine = new Engine(inst.compiled, lm.spec.properties);
      r.properties.forEach((p, k) => {
        if (p.status === 'violated') out.push(buildTrace(inst, engine, readablePath(engine, p.path!, k), k));
      });
    }
  }
  return out;
}

const columns = (t: Trace) => new Set([...t.steps.map((s) => s.thread), ...t.blocked.map((b) => b.thread)]).size;

describe('commit-message race diagrams', async () => {
  const traces = await shippedViolations();

  it('there are shipped violations to draw, some with four CPUs', () => {
    expect(traces.length).toBeGreaterThan(20);
    expect(traces.some((t) => columns(t) === 4)).toBe(true);
  });

  for (const t of traces) {
    it(`${t.model} [${t.variant}] ${t.property.name}: fits 75 columns, no word broken`, () => {
      const replay = `npx ptcheck replay ${t.model} --variant ${t.variant} --path ${compactPath(parsePath(t.path))} --property ${t.property.name}`;
      const text = raceDiagram(t, { replay });
      const lines = text.split('\n');
      if (columns(t) <= 4) for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(75);
      // every label, every changed field and every fault appears whole on one line
      const has = (word: string) => lines.some((l) => l.includes(word));
      for (const s of t.steps) {
        expect(has(s.label), s.label).toBe(true);
        for (const c of s.changes) expect(has(`${changePath(c)}:`), changePath(c)).toBe(true);
        for (const f of s.faults) expect(has(f), f).toBe(true);
      }
      // headers name the CPU and the thread
      const acting = [...new Set(t.steps.map((s) => s.tid))].sort((a, b) => a - b);
      expect(text).toMatch(/^ +CPU0\b/m);
      for (const tid of acting) expect(text).toContain(`(${t.threads[tid]})`);
      // the replay command survives its line breaks
      const cmd = /^replay: (?:.*\\\n)*.*$/m.exec(text)![0]!.replace(/ \\\n\s+/g, ' ').replace(/\\\n/g, '');
      expect(cmd).toBe(`replay: ${replay}`);
      // a thread's own locals are named with their thread
      for (const s of t.steps) for (const c of s.changes) if (c.thread) expect(changePath(c).startsWith(`${c.thread}.`)).toBe(true);
    });
  }

  it('counts switches in the singular and the plural', () => {
    const one = traces.find((t) => t.steps.filter((s, i) => i > 0 && s.tid !== t.steps[i - 1]!.tid).length === 1)!;
    expect(raceDiagram(one)).toMatch(/, 1 context switch$/m);
    const many = traces.find((t) => t.steps.filter((s, i) => i > 0 && s.tid !== t.steps[i - 1]!.tid).length > 1)!;
    expect(raceDiagram(many)).toMatch(/, \d+ context switches$/m);
  });

  it('--wide keeps the roomier form with column rules', () => {
    const t = traces.find((x) => x.model === 'pte-offset-map-lock' && columns(x) === 2)!;
    const wide = raceDiagram(t, { wide: true });
    expect(wide).toMatch(/^ +fault\d +\| remover/m);
    for (const l of wide.split('\n')) expect(l.length).toBeLessThanOrEqual(100);
  });

  it('a step that changed nothing but its pc shows where it went', () => {
    const t = traces.find((x) => x.steps.some((s) => s.changes.length === 0 && s.faults.length === 0))!;
    const s = t.steps.find((x) => x.changes.length === 0 && x.faults.length === 0)!;
    expect(raceDiagram(t)).toMatch(new RegExp(`${s.label.replace(/[()[\]]/g, '\\$&')}\\s+-> ${s.next!.replace(/[()[\]]/g, '\\$&')}`));
  });
});

describe('paths on the command line', () => {
  it('write runs of one choice with a count, and read both forms', () => {
    const p = parsePath('0.0.0.0.2.2.3/6.3/6.3/6.1');
    expect(compactPath(p)).toBe('0*4.2.2.3/6*3.1');
    expect(parsePath(compactPath(p))).toEqual(p);
    expect(() => parsePath('0*0')).toThrow(/out of range/);
  });
});

describe('wrapping', () => {
  it('never breaks a word, keeps phrases whole where they fit, indents continuations', () => {
    expect(wrapChunks(['pmd_lock', '-> spin_lock_nested(ptl)'], 12, '', '    ', 40)).toEqual(['pmd_lock', '    -> spin_lock_nested(ptl)']);
    expect(wrapChunks(['pmd_lock', '-> spin_lock_nested(ptl)'], 12)).toEqual(['pmd_lock', '    ->', '    spin_lock_nested(ptl)']);
    expect(wrapChunks(['T1.ptl:', '- -> remover'], 30, '  ', '      ')).toEqual(['  T1.ptl: - -> remover']);
    expect(wrapChunks(['T1.ptl:', '- -> remover'], 12, '  ', '      ', 20)).toEqual(['  T1.ptl:', '      - -> remover']);
    expect(wrapChunks(['find_pmd_or_thp_or_none'], 10)).toEqual(['find_pmd_or_thp_or_none']);
  });
});

describe('values by name', () => {
  it("a field's formatter names its values; a value it has no name for says so", () => {
    const st = defineState({ site: int(0, 3, 0, (v) => ['zap', 'free'][v]!) });
    const m = defineModel({
      name: 'named',
      title: 'formatter test',
      doc: '',
      params: {},
      build: () => ({
        state: st,
        threads: {
          t: thread(st, {
            steps: {
              one: (s) => ((s.site = 1), 'two' as const),
              two: (s) => ((s.site = 3), DONE),
            },
          }),
        },
      }),
      variants: { base: { summary: '' } },
    });
    const spec = defineSpec(m, { properties: [always('site-small', 'doc', (s) => s.site < 3)], expect: { base: { 'site-small': 'violated', 'deadlock-free': 'holds' } } });
    const inst = instantiate(m, 'base');
    const r = verify(inst, spec, { stopAtFirst: false });
    const engine = new Engine(inst.compiled, spec.properties);
    const t = buildTrace(inst, engine, r.properties[0]!.path!, 0);
    const text = raceDiagram(t);
    expect(text).toContain('site: zap -> free');
    expect(text).toContain('site: free -> 3 (no name)');
  });
});
