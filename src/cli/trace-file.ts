// Trace files as data: parsing and checking a trace or result file, and deciding which model (and
// variant file) a replay may load for it. A trace never chooses code to run: it may name a shipped
// model, or a file the user names again on the command line; anything else is a one-line input error.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../model/errors.ts';
import { RESULT_FORMAT } from '../report/json.ts';
import { TRACE_FORMAT, TRACE_VERSION, type Trace } from '../trace/trace.ts';

/** Larger than any trace ptcheck writes by far; a bigger file is not read into memory. */
const MAX_TRACE_BYTES = 64 * 2 ** 20;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const kind = (x: unknown): string => (x === null ? 'null' : Array.isArray(x) ? 'an array' : `a ${typeof x}`);

export function readTraceFile(file: string): Trace {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_TRACE_BYTES) throw new InputError(`${file} is ${buf.length} bytes; a trace file is at most ${MAX_TRACE_BYTES}`);
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read trace file ${file}`);
  }
  return parseTraceText(text, file);
}

/** Parses and checks a trace (or the first trace of a result file); every field it uses is checked. */
export function parseTraceText(text: string, file: string): Trace {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InputError(`${file} is not JSON`);
  }
  if (isObj(data) && data.format === RESULT_FORMAT) {
    if (!Array.isArray(data.traces) || data.traces.length === 0) throw new InputError(`${file} is a result with no trace in it`);
    data = data.traces[0];
  }
  if (!isObj(data) || data.format !== TRACE_FORMAT) {
    const f = isObj(data) && isStr(data.format) ? `'${data.format.slice(0, 40)}'` : 'none';
    throw new InputError(`${file} is not a ptcheck trace (format ${f})`);
  }
  const bad = (field: string, what: string) => new InputError(`${file}: trace field '${field}' ${what}`);
  if (data.version !== TRACE_VERSION) {
    if (typeof data.version === 'number') throw new InputError(`${file} is trace format version ${data.version}; this ptcheck reads version ${TRACE_VERSION}`);
    throw bad('version', `is ${data.version === undefined ? 'missing' : kind(data.version)}; this ptcheck reads traces whose version is the number ${TRACE_VERSION}`);
  }
  for (const k of ['model', 'variant', 'path'] as const) if (!isStr(data[k])) throw bad(k, 'is missing or not a string');
  for (const k of ['modelFile', 'variantFile'] as const) if (data[k] !== undefined && !isStr(data[k])) throw bad(k, 'is not a string');
  if (!isObj(data.params)) throw bad('params', 'is missing or not an object');
  for (const [k, v] of Object.entries(data.params)) {
    if (!/^[A-Za-z_][\w-]*$/.test(k)) throw bad('params', `has a bad name '${k.slice(0, 40)}'`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad('params', `gives ${k} ${kind(v)}, not a whole number`);
  }
  if (!isObj(data.property) || !isStr(data.property.name)) throw bad('property', 'is missing or has no name');
  if (data.steps !== undefined) {
    if (!Array.isArray(data.steps)) throw bad('steps', 'is not a list');
    data.steps.forEach((s: unknown, i) => {
      const okStep =
        isObj(s) &&
        isStr(s.thread) &&
        isStr(s.label) &&
        isStr(s.fp) &&
        (s.changes === undefined || (Array.isArray(s.changes) && s.changes.every((c) => isObj(c) && isStr(c.path) && isStr(c.from) && isStr(c.to))));
      if (!okStep) throw bad('steps', `has a malformed step ${i + 1}`);
    });
  }
  if (data.stuck !== undefined) {
    const st = data.stuck;
    const ok = isObj(st) && isStr(st.thread) && isStr(st.label) && typeof st.seconds === 'number' && st.seconds > 0 && (st.path === undefined || isStr(st.path));
    if (!ok) throw bad('stuck', 'is malformed (thread, label, seconds and an optional path)');
  }
  return data as unknown as Trace;
}

/** What a replay of a trace loads: a model (a shipped name, or the path the user gave) and maybe a variant file. */
export interface TraceSource {
  /** a shipped model's name, or an absolute path the user named with --model-file */
  readonly model: string;
  /** an absolute path the user named with --variant-file */
  readonly variantFile?: string;
}

/**
 * Which files replaying `t` may load. `given` holds what the command line named; `shipped` the shipped
 * model names. A trace naming a file is replayed only when the user names that same file.
 */
export function traceSource(t: Trace, file: string, given: { modelFile?: string; variantFile?: string }, shipped: readonly string[]): TraceSource {
  const named = (flag: string, recorded: string | undefined, g: string | undefined, what: string): string | undefined => {
    if (recorded === undefined) {
      if (g !== undefined) throw new InputError(`${file} is not a trace of a ${what}; ${flag} does not apply`);
      return undefined;
    }
    if (g === undefined) {
      throw new InputError(`${file} is a trace of the ${what} ${recorded}; a trace never chooses code to run: name the file, ptcheck replay ${file} ${flag} ${recorded}`);
    }
    if (resolve(g) !== recorded) {
      throw new InputError(`${file} is a trace of the ${what} ${recorded}, not of ${resolve(g)}; to try its path on another file use --from-trace (see ptcheck --help)`);
    }
    return resolve(g);
  };
  const modelFile = named('--model-file', t.modelFile, given.modelFile, 'model file');
  const variantFile = named('--variant-file', t.variantFile, given.variantFile, 'variant file');
  if (modelFile !== undefined) return { model: modelFile, ...(variantFile !== undefined ? { variantFile } : {}) };
  if (!shipped.includes(t.model)) {
    throw new InputError(
      `${file} names model '${t.model.slice(0, 80)}', which is not a shipped model (models: ${shipped.join(', ') || 'none'}); a trace of a model file records it as modelFile`,
    );
  }
  return { model: t.model, ...(variantFile !== undefined ? { variantFile } : {}) };
}
