// Counterexample traces as data: each step with its thread, kernel label, the state change it made and
// the faults it raised; versioned JSON. Built by replaying a path, so a trace is always replayable.

import type { Engine } from '../explore/engine.ts';
import type { Instance } from '../model/compile.ts';
import type { Leaf } from '../model/layout.ts';
import { FAULT_NAMES } from '../kernel/faults.ts';
import { Fingerprinter } from '../state/fingerprint.ts';
import type { PropertyKind } from '../spec/property.ts';
import { pathToString } from './path.ts';
import { replay } from './replay.ts';

export const TRACE_FORMAT = 'ptcheck-trace';
export const TRACE_VERSION = 1;

export interface Change {
  /** field path; for the acting thread's own locals, relative to the thread */
  readonly path: string;
  readonly from: string;
  readonly to: string;
  /** thread whose local this is (undefined for global state) */
  readonly thread?: string;
}

export interface TraceStep {
  readonly tid: number;
  readonly thread: string;
  readonly alt: number;
  readonly label: string;
  /** the label the thread went to ('done' when it finished) */
  readonly next?: string;
  readonly changes: readonly Change[];
  /** faults this step raised */
  readonly faults: readonly string[];
  /** fingerprint of the state after this step (hex), to find where a replay diverges */
  readonly fp: string;
}

export interface Trace {
  readonly format: typeof TRACE_FORMAT;
  readonly version: typeof TRACE_VERSION;
  readonly model: string;
  readonly variant: string;
  /** the model file, when the model was loaded by path rather than as a shipped model (absolute path) */
  readonly modelFile?: string;
  /** the variant file the variant came from, when it did (absolute path) */
  readonly variantFile?: string;
  readonly params: Readonly<Record<string, number>>;
  readonly property: { readonly name: string; readonly kind: PropertyKind; readonly doc: string };
  /** 'violated' for always/final/deadlock, 'reachable' for a sometimes witness */
  readonly status: 'violated' | 'reachable';
  readonly path: string;
  /** thread names by tid */
  readonly threads: readonly string[];
  readonly steps: readonly TraceStep[];
  /** for deadlocks and final-state violations: where each unfinished thread stands */
  readonly blocked: readonly { readonly thread: string; readonly at: string }[];
  /** set when the trace leads to a step that did not return (then `steps` stop before that step) */
  readonly stuck?: StuckAt;
}

/** A step that did not return within the step bound, as a trace records it: it is never run again. */
export interface StuckAt {
  readonly thread: string;
  readonly label: string;
  /** the bound it was given (--step-timeout), in seconds */
  readonly seconds: number;
  /**
   * the path with the stuck step last; absent when the run knew only the state the step was explored
   * from (a worker thread's), and the trace's path leads to that state
   */
  readonly path?: string;
}

/** The property a trace of a stuck step names: what the step broke. */
export const STEP_RETURNS = { name: 'step-returns', kind: 'always', doc: 'every step returns within the step bound (--step-timeout)' } as const;

function fpHex(fp: Fingerprinter, a: Int32Array): string {
  fp.hash(a, 0, a.length);
  return (fp.hi >>> 0).toString(16).padStart(8, '0') + (fp.lo >>> 0).toString(16).padStart(8, '0');
}

/** A value by the name its field's formatter gives; a value the formatter has no name for says so. */
function named(leaf: Leaf, v: number, cm: Instance['compiled']): string {
  const text = leaf.format(v, cm) as string | undefined;
  return text === undefined || text === '' || text === 'undefined' ? `${v} (no name)` : text;
}

function diff(inst: Instance, leaves: readonly Leaf[], before: Int32Array, after: Int32Array, actor: string): { changes: Change[]; faults: string[] } {
  const cm = inst.compiled;
  const threadOf = new Map<number, string>();
  const changes: Change[] = [];
  let faults: string[] = [];
  for (const th of cm.threads) threadOf.set(th.pcOff, th.name);
  for (const leaf of leaves) {
    const a = before[leaf.off]!;
    const b = after[leaf.off]!;
    if (a === b) continue;
    if (leaf.path === 'faults') {
      const raised = b & ~a;
      faults = Object.entries(FAULT_NAMES)
        .filter(([bit]) => raised & Number(bit))
        .map(([, n]) => n);
      continue;
    }
    if (leaf.path.endsWith('.pc') && threadOf.has(leaf.off)) continue; // the label says it
    const dot = leaf.path.indexOf('.');
    const owner = dot > 0 ? leaf.path.slice(0, dot) : undefined;
    const isThread = owner !== undefined && cm.threads.some((t) => t.name === owner);
    const path = isThread && owner === actor ? leaf.path.slice(dot + 1) : leaf.path;
    changes.push({
      path,
      from: named(leaf, a, cm),
      to: named(leaf, b, cm),
      ...(isThread ? { thread: owner } : {}),
    });
  }
  return { changes, faults };
}

/** Replays `choices` and builds the trace for property `prop` of the engine's spec. */
export function buildTrace(inst: Instance, engine: Engine, choices: readonly number[], prop: number): Trace {
  const steps = replay(engine, choices);
  const cm = inst.compiled;
  const fp = new Fingerprinter();
  const p = engine.props[prop]!;
  const last = steps.length ? steps[steps.length - 1]!.after : Int32Array.from(cm.init);
  const terminal = p.kind === 'deadlock' || p.kind === 'final';
  const blocked = terminal
    ? cm.threads
        .filter((t) => !t.daemon && engine.pc(last, 0, t.tid) >= 0)
        .map((t) => ({ thread: t.name, at: t.labels[engine.pc(last, 0, t.tid)]! }))
    : [];
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    model: inst.module.name,
    variant: inst.variant,
    params: { ...inst.params },
    property: { name: p.name, kind: p.kind, doc: p.doc },
    status: p.kind === 'sometimes' ? 'reachable' : 'violated',
    path: pathToString(choices),
    threads: cm.threads.map((t) => t.name),
    steps: steps.map((s) => {
      const name = cm.threads[s.tid]!.name;
      const d = diff(inst, cm.leaves, s.before, s.after, name);
      const pc = engine.pc(s.after, 0, s.tid);
      const next = pc < 0 ? 'done' : cm.threads[s.tid]!.labels[pc]!;
      return { tid: s.tid, thread: name, alt: s.alt, label: s.label, next, changes: d.changes, faults: d.faults, fp: fpHex(fp, s.after) };
    }),
    blocked,
  };
}

/**
 * The trace of the path to a step that did not return: the steps of `prefix` (which returned when the
 * search ran them), then `stuck`, which is named but never run.
 */
export function stuckTrace(inst: Instance, engine: Engine, prefix: readonly number[], stuck: StuckAt): Trace {
  const t = buildTrace(inst, engine, prefix, 0);
  return { ...t, property: STEP_RETURNS, status: 'violated', blocked: [], stuck };
}

/** One field of a state, formatted for people. */
export interface FieldValue {
  readonly path: string;
  readonly value: string;
}

/** The whole state, formatted, field by field in layout order (thread pcs shown as their label). */
export function snapshot(inst: Instance, a: Int32Array): FieldValue[] {
  const cm = inst.compiled;
  return cm.leaves.map((leaf) => ({ path: leaf.path, value: leaf.format(a[leaf.off]!, cm) }));
}

/** Snapshots of the initial state and of the state after every step of `choices`. */
export function snapshots(inst: Instance, engine: Engine, choices: readonly number[]): FieldValue[][] {
  const steps = replay(engine, choices);
  return [snapshot(inst, Int32Array.from(inst.compiled.init)), ...steps.map((s) => snapshot(inst, s.after))];
}
