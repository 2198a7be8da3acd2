// Renders a trace the way kernel commit messages draw races: one column per thread, time running
// down, each row the kernel identifier of the step with the state change under it. Plain text,
// at most `width` columns (default 100), long values wrapped inside their column.

import type { Trace, TraceStep } from '../trace/trace.ts';

export interface DiagramOptions {
  readonly width?: number;
  /** line to print after the diagram, e.g. the replay command */
  readonly replay?: string;
}

const GUTTER = 5;
const SEP = ' | ';

function wrap(text: string, w: number, indent: string): string[] {
  if (w <= indent.length + 4) return [text.slice(0, w)];
  const out: string[] = [];
  let rest = text;
  let first = true;
  while (rest.length > 0) {
    const avail = first ? w : w - indent.length;
    let cut = rest.length;
    if (rest.length > avail) {
      const sp = rest.lastIndexOf(' ', avail);
      const dash = rest.lastIndexOf('-', avail - 1);
      cut = sp > indent.length ? sp : dash > indent.length ? dash + 1 : avail;
    }
    out.push((first ? '' : indent) + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    first = false;
  }
  return out;
}

function cellLines(step: TraceStep, w: number, mark: string): string[] {
  const lines = wrap(step.label + mark, w, '    ');
  for (const c of step.changes) lines.push(...wrap(`  ${c.path}: ${c.from} -> ${c.to}`, w, '      '));
  for (const f of step.faults) lines.push(...wrap(`  !! ${f}`, w, '     '));
  return lines;
}

export function raceDiagram(trace: Trace, opts: DiagramOptions = {}): string {
  const width = opts.width ?? 100;
  const acting = new Set<number>(trace.steps.map((s) => s.tid));
  for (const b of trace.blocked) {
    const tid = trace.threads.indexOf(b.thread);
    if (tid >= 0) acting.add(tid);
  }
  const cols = [...acting].sort((a, b) => a - b);
  const k = Math.max(cols.length, 1);
  const colW = Math.max(12, Math.floor((width - GUTTER - SEP.length * (k - 1)) / k));
  const colOf = new Map<number, number>(cols.map((t, i) => [t, i]));
  const pad = (s: string) => s + ' '.repeat(Math.max(0, colW - s.length));
  const row = (gutter: string, cells: string[]) => (gutter.padStart(GUTTER - 1) + ' ' + cells.map(pad).join(SEP)).trimEnd();

  const out: string[] = [];
  const verb = trace.status === 'violated' ? 'VIOLATED' : 'reached';
  out.push(`${trace.model} [${trace.variant}]${paramText(trace.params)}: ${trace.property.name} ${verb}`);
  out.push(`  (${trace.property.kind}: ${trace.property.doc})`);
  out.push('');
  out.push(row('', cols.map((t) => trace.threads[t] ?? `thread${t}`)));
  out.push(row('', cols.map(() => '-'.repeat(colW))));
  const lastIdx = trace.steps.length - 1;
  trace.steps.forEach((step, i) => {
    const isLast = i === lastIdx && (trace.property.kind === 'always' || trace.property.kind === 'sometimes');
    const mark = isLast ? (trace.status === 'violated' ? '  <== violation' : '  <== reached') : '';
    const lines = cellLines(step, colW, mark);
    const c = colOf.get(step.tid)!;
    lines.forEach((l, j) => {
      const cells = cols.map(() => '');
      cells[c] = l;
      out.push(row(j === 0 ? String(i + 1) : '', cells));
    });
  });
  if (trace.blocked.length) {
    const notes = cols.map(() => [] as string[]);
    for (const b of trace.blocked) {
      const c = colOf.get(trace.threads.indexOf(b.thread));
      if (c !== undefined) notes[c]!.push(...wrap(`(stuck at ${b.at})`, colW, '  '));
    }
    const h = Math.max(...notes.map((n) => n.length));
    for (let j = 0; j < h; j++) out.push(row('', notes.map((n) => n[j] ?? '')));
  }
  out.push('');
  if (trace.property.kind === 'deadlock') {
    out.push(`=> deadlock: nothing can run, and ${trace.blocked.map((b) => `${b.thread} is stuck at ${b.at}`).join(', ')}`);
  } else if (trace.property.kind === 'final') {
    out.push(`=> the final state violates ${trace.property.name}`);
  } else if (trace.status === 'violated') {
    const last = trace.steps[lastIdx];
    out.push(
      last
        ? `=> ${trace.property.name} violated by step ${lastIdx + 1}: ${last.thread} ${last.label}`
        : `=> ${trace.property.name} violated in the initial state`,
    );
  } else {
    out.push(`=> ${trace.property.name} reached after ${trace.steps.length} steps`);
  }
  const switches = trace.steps.reduce((n, st, i) => n + (i > 0 && st.tid !== trace.steps[i - 1]!.tid ? 1 : 0), 0);
  out.push(`   ${trace.steps.length} steps, ${switches} context switches`);
  if (opts.replay) out.push(`replay: ${opts.replay}`);
  return out.join('\n');
}

export function paramText(params: Readonly<Record<string, number>>): string {
  const e = Object.entries(params);
  return e.length ? ` (${e.map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
}
