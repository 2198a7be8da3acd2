// Generates docs/primitives.md, the reference of every kernel primitive and property, from the source:
// each module that src/kernel/index.ts re-exports (and src/spec/property.ts), each export's signature
// and TSDoc comment, the kernel functions the comment names, and the faults it records (Fault.X in its
// body or in the kernel functions it calls). test/kernel/primitives-doc.test.ts keeps the file current.
//
//   npm run docs:primitives        (rewrites docs/primitives.md)

import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DOC = join(ROOT, 'docs', 'primitives.md');

export interface ExportDoc {
  readonly module: string;
  readonly name: string;
  readonly kind: 'function' | 'const' | 'type' | 'interface' | 'class' | 'enum';
  readonly signature: string;
  /** the TSDoc comment, without its markers; '' when there is none */
  readonly doc: string;
  /** kernel identifiers the comment names (snake_case, as in the kernel sources) */
  readonly kernel: readonly string[];
  /** Fault names its body (or a kernel function it calls) records; for properties, the ones it reads */
  readonly faults: readonly string[];
}

export interface ModuleDoc {
  readonly path: string;
  /** the module's header comment */
  readonly header: string;
  readonly exports: readonly ExportDoc[];
}

/** Modules the reference covers: what src/kernel/index.ts re-exports, in its order, then the spec API. */
export function referencedModules(root = ROOT): string[] {
  const index = readFileSync(join(root, 'src', 'kernel', 'index.ts'), 'utf8');
  const mods = [...index.matchAll(/^export \* from '\.\/([\w-]+\.ts)';/gm)].map((m) => `src/kernel/${m[1]}`);
  return [...mods, 'src/spec/property.ts'];
}

function headerOf(text: string): string {
  const lines: string[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('//')) break;
    lines.push(l.replace(/^\/\/ ?/, ''));
  }
  return lines.join(' ').trim();
}

function docBefore(text: string, at: number): string {
  const before = text.slice(0, at).trimEnd();
  if (!before.endsWith('*/')) return '';
  const start = before.lastIndexOf('/**');
  if (start < 0) return '';
  return before
    .slice(start + 3, -2)
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trimEnd())
    .join('\n')
    .trim();
}

/** From `from` (an opening bracket), the index just past its matching close. */
function matchBracket(text: string, from: number): number {
  const open = text[from]!;
  const close = open === '(' ? ')' : open === '{' ? '}' : open === '<' ? '>' : ']';
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === open) depth++;
    else if (c === close && !(open === '<' && text[i - 1] === '=')) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').replace(/,\)/g, ')').trim();

/** Signature and body (functions only) of the declaration starting at `at`. */
function declaration(text: string, at: number, kind: ExportDoc['kind']): { signature: string; body: string } {
  if (kind === 'function') {
    let i = text.indexOf('(', at);
    const lt = text.indexOf('<', at);
    if (lt >= 0 && lt < i) i = text.indexOf('(', matchBracket(text, lt));
    // the body is the first brace outside the return type (which may hold `<...>` and object types)
    let bodyStart = matchBracket(text, i);
    let angle = 0;
    for (; bodyStart < text.length; bodyStart++) {
      const c = text[bodyStart];
      if (c === '<') angle++;
      else if (c === '>' && text[bodyStart - 1] !== '=') angle--;
      else if (c === '(') bodyStart = matchBracket(text, bodyStart) - 1;
      else if (c === '{') {
        const before = text.slice(at, bodyStart).trimEnd();
        if (angle === 0 && !before.endsWith(':') && !before.endsWith('|') && !before.endsWith('&')) break;
        bodyStart = matchBracket(text, bodyStart) - 1;
      }
    }
    const end = matchBracket(text, bodyStart);
    return { signature: collapse(text.slice(at, bodyStart)), body: text.slice(bodyStart, end) };
  }
  if (kind === 'const') {
    const eq = text.indexOf('=', at);
    const semi = text.indexOf(';\n', at);
    const head = text.slice(at, eq > 0 && eq < semi ? eq : semi).trim();
    const value = eq > 0 && eq < semi ? text.slice(eq + 1, semi).trim() : '';
    // a short literal value is part of what the constant is
    const shown = /^[-\w.'" |()+*<]+$/.test(value) && value.length <= 40 ? `${head} = ${value}` : head;
    return { signature: collapse(shown), body: value };
  }
  const nl = text.indexOf('\n', at);
  let line = text.slice(at, nl);
  if (line.trimEnd().endsWith('{') || line.includes('= {')) line = line.replace(/\s*=?\s*\{\s*$/, '');
  return { signature: collapse(line.replace(/;$/, '')), body: '' };
}

function kernelNames(doc: string): string[] {
  const first = doc.split(/\n\n/)[0] ?? '';
  const names = new Set<string>();
  for (const m of first.matchAll(/\b(__?)?[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b(\(\))?/g)) {
    const n = m[0].replace(/\(\)$/, '');
    names.add(n);
    if (names.size === 4) break;
  }
  return [...names];
}

const EXPORT_RE = /^export (?:declare )?(?:async )?(function|const|let|class|interface|type|enum) (\w+)/gm;

/** Reads every referenced module; faults are resolved through calls between kernel functions. */
export function collect(root = ROOT): ModuleDoc[] {
  const mods = referencedModules(root);
  const texts = new Map(mods.map((m) => [m, readFileSync(join(root, m), 'utf8')]));
  // every function in src/kernel (exported or not), for the transitive fault closure
  const bodies = new Map<string, string>();
  for (const [m, text] of texts) {
    if (!m.startsWith('src/kernel/')) continue;
    for (const f of text.matchAll(/^(?:export )?function (\w+)/gm)) bodies.set(f[1]!, declaration(text, f.index!, 'function').body);
  }
  const direct = (body: string) => new Set([...body.matchAll(/\bFault\.([A-Z_]+)/g)].map((x) => x[1]!));
  const memo = new Map<string, Set<string>>();
  const faultsOf = (name: string, seen: Set<string>): Set<string> => {
    const hit = memo.get(name);
    if (hit) return hit;
    const body = bodies.get(name) ?? '';
    const out = direct(body);
    seen.add(name);
    for (const [callee] of bodies) {
      if (seen.has(callee) || !new RegExp(`\\b${callee}\\(`).test(body)) continue;
      for (const f of faultsOf(callee, seen)) out.add(f);
    }
    seen.delete(name);
    memo.set(name, out);
    return out;
  };
  return mods.map((path) => {
    const text = texts.get(path)!;
    const exports: ExportDoc[] = [];
    for (const m of text.matchAll(EXPORT_RE)) {
      const kind = (m[1] === 'let' ? 'const' : m[1]) as ExportDoc['kind'];
      const name = m[2]!;
      const { signature, body } = declaration(text, m.index!, kind);
      const doc = docBefore(text, m.index!);
      const faults = kind === 'function' ? [...faultsOf(name, new Set())] : [];
      exports.push({ module: path, name, kind, signature, doc, kernel: kernelNames(doc), faults: faults.sort() });
    }
    return { path, header: headerOf(text), exports };
  });
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

/** The reference as Markdown. */
export function renderPrimitives(root = ROOT): string {
  const mods = collect(root);
  const out: string[] = [
    '# Kernel primitives and properties',
    '',
    '<!-- Generated by scripts/primitives-doc.ts from the TSDoc comments in src/kernel and src/spec/property.ts;',
    '     do not edit: change the comment, then run `npm run docs:primitives`. -->',
    '',
    'Every primitive a model is written in (all of them importable from `src/kernel/index.ts`) and every',
    'property helper, with its signature, the kernel functions its comment names, and the faults it',
    'records: the `Fault` bits its body, or a kernel function it calls, raises (for a property: the bits',
    'it reads). The faults are what the `noFault` properties of a spec can see.',
    '',
  ];
  for (const m of mods) {
    out.push(`## ${m.path}`, '');
    if (m.header) out.push(m.header, '');
    for (const e of m.exports) {
      out.push(`### \`${e.name}\``, '', '```ts', e.signature, '```', '');
      const facts: string[] = [];
      if (e.kernel.length) facts.push(`kernel: ${e.kernel.map((k) => `\`${k}\``).join(', ')}`);
      if (e.faults.length) facts.push(`${m.path.startsWith('src/spec/') || m.path.endsWith('properties.ts') ? 'faults read' : 'faults recorded'}: ${e.faults.join(', ')}`);
      if (facts.length) out.push(`*${escapeCell(facts.join('; '))}*`, '');
      if (e.doc) out.push(e.doc, '');
    }
  }
  return out.join('\n').replace(/\n+$/, '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderPrimitives();
  writeFileSync(DOC, text);
  process.stdout.write(`wrote ${relative(process.cwd(), DOC)} (${collect().reduce((n, m) => n + m.exports.length, 0)} exports)\n`);
}

