// Renders a trace the way kernel commit messages draw races: one column per CPU (thread), time running
// down, each row the kernel identifier of the step with the state change under it. Plain text. The
// default form fits a commit message (75 columns for up to 4 CPUs); `wide` is the roomier 100-column form.

import type { Change, Trace, TraceStep } from '../trace/trace.ts';

export interface DiagramOptions {
  /** the roomier form: ` | ` rules between columns, 100 columns unless `width` says otherwise */
  readonly wide?: boolean;
  /** total width (default 75, or 100 with `wide`) */
  readonly width?: number;
  /** command to print after the diagram (the replay line), wrapped with shell line continuations */
  readonly replay?: string;
  /**
   * A path drawn for what it is, not as a counterexample (a replay that shows no violation): this
   * heading after the model's name, and no verdict words (no mark, no `=>` line).
   */
  readonly heading?: string;
}

/** checkpatch warns above 75 columns in a commit message */
export const COMMIT_WIDTH = 75;
export const WIDE_WIDTH = 100;

const GUTTER = 5;
/** a cell wraps at its column's width, or this many columns if that is narrower (it runs on to the right) */
const MIN_WRAP = 22;

/** `fault0.pmdval`: a thread's local named with its thread, so it never reads like a global write. */
export function changePath(c: Change): string {
  return c.thread !== undefined && !c.path.startsWith(`${c.thread}.`) ? `${c.thread}.${c.path}` : c.path;
}

function changeText(c: Change): string {
  return `${changePath(c)}: ${c.from} -> ${c.to}`;
}

/** A step that changed no state word but its pc: which way it went is all it did. */
function wentText(step: TraceStep): string | undefined {
  return step.changes.length === 0 && step.faults.length === 0 && step.next !== undefined ? `-> ${step.next}` : undefined;
}

/**
 * Greedy wrap that never breaks a word: `chunks` (phrases best kept whole, such as `pmd: T1 -> none`'s
 * `T1 -> none`) go onto lines of at most `w` characters after `lead`, continuation lines start with
 * `indent`; a chunk that fits no line gets one of its own up to the `hard` width, beyond it the chunk
 * is split into its words, and a word longer than a line gets a line of its own (and overflows it).
 */
export function wrapChunks(chunks: readonly string[], w: number, lead = '', indent = lead + '    ', hard = w): string[] {
  const out: string[] = [];
  let line = lead;
  let fresh = true; // nothing but indentation on `line` yet
  const add = (piece: string): boolean => {
    if (fresh) {
      line += piece;
      fresh = false;
      return true;
    }
    if (line.length + 1 + piece.length <= w) {
      line += ' ' + piece;
      return true;
    }
    return false;
  };
  for (const chunk of chunks) {
    if (!(fresh && line.length + chunk.length > hard) && add(chunk)) continue;
    if (!fresh) {
      out.push(line);
      line = indent;
      fresh = true;
    }
    if (line.length + chunk.length <= hard) {
      line += chunk; // whole, on a line of its own, even past the soft width `w`
      fresh = false;
      continue;
    }
    for (const word of chunk.split(/ +/)) {
      if (add(word)) continue;
      out.push(line);
      line = indent + word;
    }
  }
  out.push(line);
  return out;
}

/** wrapChunks over the words of `text` (its leading spaces kept as the first line's lead). */
export function wrapWords(text: string, w: number, indent = ''): string[] {
  const lead = /^ */.exec(text)![0];
  return wrapChunks(text.slice(lead.length).split(/ +/).filter((x) => x.length > 0), w, lead, indent);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function switchesOf(trace: Trace): number {
  return trace.steps.reduce((n, st, i) => n + (i > 0 && st.tid !== trace.steps[i - 1]!.tid ? 1 : 0), 0);
}

function actingColumns(trace: Trace): number[] {
  const acting = new Set<number>(trace.steps.map((s) => s.tid));
  for (const b of trace.blocked) {
    const tid = trace.threads.indexOf(b.thread);
    if (tid >= 0) acting.add(tid);
  }
  return [...acting].sort((a, b) => a - b);
}

function isLastMarked(trace: Trace, i: number, heading?: string): boolean {
  return heading === undefined && i === trace.steps.length - 1 && (trace.property.kind === 'always' || trace.property.kind === 'sometimes');
}

function markOf(trace: Trace): string {
  return trace.status === 'violated' ? '<== violation' : '<== reached';
}

/** One line of a cell before wrapping: its first-line lead, the phrases it is made of, its continuation indent. */
interface Item {
  readonly lead: string;
  readonly chunks: readonly string[];
  readonly indent: string;
}

/** A step's cell: the label (and which way it went, and the mark), then the changes and the faults. */
function cellItems(step: TraceStep, mark: string): Item[] {
  const went = wentText(step);
  return [
    { lead: '', chunks: [step.label, ...(went ? [went] : []), ...(mark ? [mark] : [])], indent: '    ' },
    ...step.changes.map((c) => ({ lead: '  ', chunks: [`${changePath(c)}:`, `${c.from} -> ${c.to}`], indent: '      ' })),
    ...step.faults.map((f) => ({ lead: '  ', chunks: [`!! ${f}`], indent: '      ' })),
  ];
}

function wrapItems(items: readonly Item[], w: number, hard = w): string[] {
  return items.flatMap((it) => wrapChunks(it.chunks, w, it.lead, it.indent, hard));
}

/** The widest a line of these items must be: their longest word, indented. */
function itemsNeed(items: readonly Item[]): number {
  let m = 0;
  for (const it of items) {
    it.chunks.forEach((ch, i) => {
      ch.split(/ +/).forEach((word, j) => {
        m = Math.max(m, (i === 0 && j === 0 ? it.lead.length : it.indent.length) + word.length);
      });
    });
  }
  return m;
}

function titleLines(trace: Trace): string[] {
  const verb = trace.status === 'violated' ? 'VIOLATED' : 'reached';
  return [`${trace.model} [${trace.variant}]${paramText(trace.params)}: ${trace.property.name} ${verb}`, `  (${trace.property.kind}: ${trace.property.doc})`];
}

function summaryLines(trace: Trace, heading?: string): string[] {
  const lastIdx = trace.steps.length - 1;
  const out: string[] = [];
  if (heading !== undefined) {
    // no verdict: only the figures
  } else if (trace.property.kind === 'deadlock') {
    out.push(`=> deadlock: nothing can run, and ${trace.blocked.map((b) => `${b.thread} is stuck at ${b.at}`).join(', ')}`);
  } else if (trace.property.kind === 'final') {
    out.push(`=> the final state violates ${trace.property.name}`);
  } else if (trace.status === 'violated') {
    const last = trace.steps[lastIdx];
    out.push(last ? `=> ${trace.property.name} violated by step ${lastIdx + 1}: ${last.thread} ${last.label}` : `=> ${trace.property.name} violated in the initial state`);
  } else {
    out.push(`=> ${trace.property.name} reached after ${plural(trace.steps.length, 'step')}`);
  }
  out.push(`${heading !== undefined ? '' : '   '}${plural(trace.steps.length, 'step')}, ${plural(switchesOf(trace), 'context switch', 'context switches')}`);
  return out;
}

/**
 * The replay command, broken between its arguments with shell line continuations to fit `width`; an
 * argument too long for a line (a long --path) is broken inside, where a backslash-newline joins it
 * again, so its continuation lines start at the margin.
 */
export function replayLines(command: string, width: number): string[] {
  const words = command.split(' ');
  const out: string[] = [];
  let line = 'replay:';
  for (let i = 0; i < words.length; i++) {
    // keep an option together with its value
    const word = words[i]!.startsWith('--') && i + 1 < words.length && !words[i + 1]!.startsWith('--') ? `${words[i]} ${words[++i]}` : words[i]!;
    if (line.length + 1 + word.length + 2 <= width) {
      line += ' ' + word;
      continue;
    }
    out.push(`${line} \\`);
    line = `    ${word}`;
    while (line.length + 2 > width) {
      const cut = line.lastIndexOf('.', width - 2) + 1;
      if (cut <= 4) break;
      out.push(`${line.slice(0, cut)}\\`);
      line = line.slice(cut);
    }
  }
  out.push(line);
  return out;
}

/**
 * Column starts for the commit-message form. Every row but the header row has text in one column
 * only, so a cell may run on to the right edge; what must hold is that each column starts early
 * enough for its longest word, and is wide enough for its header's words.
 */
function layout(k: number, width: number, sep: number, needs: readonly number[], heads: readonly number[]): { starts: number[]; widths: number[] } {
  const equal = Math.max(8, Math.floor((width - GUTTER - sep * (k - 1)) / k));
  const starts = Array.from({ length: k }, (_, c) => GUTTER + c * (equal + sep));
  for (let c = k - 1; c >= 0; c--) {
    let s = Math.min(starts[c]!, width - needs[c]!);
    if (c < k - 1) s = Math.min(s, starts[c + 1]! - sep - heads[c]!);
    starts[c] = s;
  }
  // too much to fit: give way from the left (the diagram then runs past `width`, but stays readable)
  if (starts[0]! < GUTTER) {
    starts[0] = GUTTER;
    for (let c = 1; c < k; c++) starts[c] = Math.max(starts[c]!, starts[c - 1]! + heads[c - 1]! + sep);
  }
  const widths = starts.map((s, c) => (c < k - 1 ? starts[c + 1]! - sep - s : width - s));
  return { starts, widths };
}

function longestWord(lines: readonly string[], indent: number): number {
  let m = 0;
  for (const l of lines) {
    const lead = /^ */.exec(l)![0].length;
    for (const w of l.trim().split(/ +/)) m = Math.max(m, lead + w.length, indent + w.length);
  }
  return m;
}

/** The commit-message form: at most `width` (75) columns for up to 4 CPUs, words never broken. */
function commitDiagram(trace: Trace, width: number, replay?: string, heading?: string): string {
  const cols = actingColumns(trace);
  const k = Math.max(cols.length, 1);
  const colOf = new Map<number, number>(cols.map((t, i) => [t, i]));
  const sep = 3;
  const headers = cols.map((t, i) => `CPU${i} (${trace.threads[t] ?? `thread${t}`})`);
  const cells = trace.steps.map((step, i) => cellItems(step, isLastMarked(trace, i, heading) ? markOf(trace) : ''));
  const stuck = (heading !== undefined ? [] : trace.blocked).map((b) => ({ c: colOf.get(trace.threads.indexOf(b.thread)), item: { lead: '', chunks: ['(stuck at', `${b.at})`], indent: '  ' } }));
  const needs = cols.map(() => 0);
  trace.steps.forEach((step, i) => {
    const c = colOf.get(step.tid)!;
    needs[c] = Math.max(needs[c]!, itemsNeed(cells[i]!));
  });
  for (const s of stuck) if (s.c !== undefined) needs[s.c] = Math.max(needs[s.c]!, itemsNeed([s.item]));
  const heads = headers.map((h) => Math.max(...h.split(' ').map((w) => w.length)));
  const { starts, widths } = layout(k, width, sep, needs, heads);

  const out: string[] = [];
  const verb = trace.status === 'violated' ? 'VIOLATED' : 'reached';
  out.push(...wrapChunks([`${trace.model} [${trace.variant}]${paramText(trace.params)}:`, heading ?? `${trace.property.name} ${verb}`], width, '', '    '));
  if (heading === undefined) out.push(...wrapWords(titleLines(trace)[1]!, width, '   '));
  out.push('');
  const place = (parts: readonly (readonly [number, string])[]): string => {
    let line = '';
    for (const [start, text] of parts) if (text) line = line.padEnd(start) + text;
    return line.trimEnd();
  };
  // the header row has every column on the same lines, so each header wraps inside its own width
  const headLines = headers.map((h, c) => wrapWords(h, widths[c]!, ''));
  const hh = Math.max(...headLines.map((l) => l.length));
  for (let j = 0; j < hh; j++) out.push(place(headLines.map((l, c) => [starts[c]!, l[j] ?? ''] as const)));
  out.push(place(headLines.map((l, c) => [starts[c]!, '-'.repeat(Math.max(...l.map((x) => x.length)))] as const)));
  // Every other row has one cell: it may run on over the empty columns to its right, to the edge. Where
  // a column starts too far right for that (five CPUs or more), a cell that would run past the edge
  // moves left as a block: still on its own row, never past the width.
  const cellLines = (c: number, items: readonly Item[], gutter: string) => {
    const start = starts[c]!;
    const lines = wrapItems(items, Math.min(width - start, Math.max(widths[c]!, MIN_WRAP)), Math.max(width - start, MIN_WRAP));
    const at = Math.max(GUTTER, Math.min(start, width - Math.max(...lines.map((l) => l.length))));
    lines.forEach((l, j) => out.push(place([[0, j === 0 ? gutter : ''], [at, l]])));
  };
  trace.steps.forEach((step, i) => cellLines(colOf.get(step.tid)!, cells[i]!, String(i + 1).padStart(GUTTER - 1)));
  for (const s of stuck) if (s.c !== undefined) cellLines(s.c, [s.item], '');
  out.push('');
  for (const l of summaryLines(trace, heading)) out.push(...wrapWords(l, width, '     '));
  if (replay) out.push(...replayLines(replay, width));
  return out.join('\n');
}

/** The roomier form: ` | ` rules between equal columns, long values wrapped inside their column. */
function wideDiagram(trace: Trace, width: number, replay?: string, heading?: string): string {
  const SEP = ' | ';
  const cols = actingColumns(trace);
  const k = Math.max(cols.length, 1);
  const colW = Math.max(12, Math.floor((width - GUTTER - SEP.length * (k - 1)) / k));
  const colOf = new Map<number, number>(cols.map((t, i) => [t, i]));
  const pad = (s: string) => s + ' '.repeat(Math.max(0, colW - s.length));
  const row = (gutter: string, cells: string[]) => (gutter.padStart(GUTTER - 1) + ' ' + cells.map(pad).join(SEP)).trimEnd();
  const fit = (text: string, indent: string) => wrapWords(text, colW, indent).flatMap((l) => hardWrap(l, colW, indent));

  const out: string[] = [...(heading !== undefined ? [`${trace.model} [${trace.variant}]${paramText(trace.params)}: ${heading}`] : titleLines(trace)), ''];
  out.push(row('', cols.map((t) => trace.threads[t] ?? `thread${t}`)));
  out.push(row('', cols.map(() => '-'.repeat(colW))));
  trace.steps.forEach((step, i) => {
    const lines = wrapItems(cellItems(step, isLastMarked(trace, i, heading) ? markOf(trace) : ''), colW).flatMap((l) => hardWrap(l, colW, '      '));
    const c = colOf.get(step.tid)!;
    lines.forEach((l, j) => {
      const cells = cols.map(() => '');
      cells[c] = l;
      out.push(row(j === 0 ? String(i + 1) : '', cells));
    });
  });
  if (trace.blocked.length && heading === undefined) {
    const notes = cols.map(() => [] as string[]);
    for (const b of trace.blocked) {
      const c = colOf.get(trace.threads.indexOf(b.thread));
      if (c !== undefined) notes[c]!.push(...fit(`(stuck at ${b.at})`, '  '));
    }
    const h = Math.max(...notes.map((n) => n.length));
    for (let j = 0; j < h; j++) out.push(row('', notes.map((n) => n[j] ?? '')));
  }
  out.push('', ...summaryLines(trace, heading));
  if (replay) out.push(`replay: ${replay}`);
  return out.join('\n');
}

/** Cuts a line longer than `w` (a word wider than a wide column: the only place words are cut). */
function hardWrap(line: string, w: number, indent: string): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > w) {
    out.push(rest.slice(0, w));
    rest = indent + rest.slice(w);
    if (indent.length >= w) break;
  }
  out.push(rest);
  return out;
}

export function raceDiagram(trace: Trace, opts: DiagramOptions = {}): string {
  return opts.wide
    ? wideDiagram(trace, opts.width ?? WIDE_WIDTH, opts.replay, opts.heading)
    : commitDiagram(trace, opts.width ?? COMMIT_WIDTH, opts.replay, opts.heading);
}

export function paramText(params: Readonly<Record<string, number>>): string {
  const e = Object.entries(params);
  return e.length ? ` (${e.map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
}
