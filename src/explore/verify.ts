// One verification run of a model instance against its spec: builds the engine, drives a search in
// budgeted slices (so a caller can show progress or stop it), and summarises the outcome per property.

import type { Instance } from '../model/compile.ts';
import { DEADLOCK_FREE, type Property, type PropertyKind, type SpecModule, type Verdict } from '../spec/property.ts';
import { collisionProbability } from '../state/fingerprint.ts';
import { Bfs } from './bfs.ts';
import { Dfs } from './dfs.ts';
import { Engine } from './engine.ts';
import { NO_LIMITS, type Limits, type Search, type SearchStatus } from './search.ts';

export type Strategy = 'dfs' | 'bfs';

export interface VerifyOptions {
  readonly strategy: Strategy;
  /** stop at the first violation (default for a single verify); false determines every verdict */
  readonly stopAtFirst: boolean;
  readonly limits: Limits;
  /** expected verdicts to compare with (default: the spec's row for the variant) */
  readonly expect?: Readonly<Record<string, Verdict>>;
  /** symmetry reduction where the model declares symmetric threads (default on) */
  readonly symmetry?: boolean;
}

export const DEFAULT_OPTIONS: VerifyOptions = { strategy: 'dfs', stopAtFirst: true, limits: NO_LIMITS };

export type PropertyStatus = Verdict | 'unknown';

export interface PropertyResult {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly doc: string;
  readonly status: PropertyStatus;
  /** expected verdict from the spec's matrix, when it has one for this variant */
  readonly expected?: Verdict;
  /** path to the violation (or, for sometimes, to a witness) */
  readonly path?: readonly number[];
}

export interface RunStats {
  readonly states: number;
  readonly transitions: number;
  readonly maxDepth: number;
  readonly elapsedMs: number;
  /** ints per state vector */
  readonly stateInts: number;
  readonly tableBytes: number;
  readonly bytesPerState: number;
  readonly collisionProbability: number;
}

export interface RunResult {
  readonly model: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, number>>;
  readonly strategy: Strategy;
  readonly outcome: Exclude<SearchStatus, { kind: 'running' }>;
  readonly stats: RunStats;
  readonly properties: readonly PropertyResult[];
}

export function isMismatch(p: PropertyResult): boolean {
  return p.expected !== undefined && p.status !== 'unknown' && p.status !== p.expected;
}

export class Verification {
  readonly engine: Engine;
  readonly search: Search;
  private readonly t0 = Date.now();
  private elapsed = 0;

  constructor(
    readonly inst: Instance,
    readonly spec: SpecModule,
    readonly opts: VerifyOptions = DEFAULT_OPTIONS,
  ) {
    this.engine = new Engine(inst.compiled, spec.properties as readonly Property[]);
    const sym = opts.symmetry ?? true;
    this.search =
      opts.strategy === 'bfs'
        ? new Bfs(this.engine, opts.limits, opts.stopAtFirst, sym)
        : new Dfs(this.engine, opts.limits, opts.stopAtFirst, sym);
  }

  /** Explores a slice; true when the run has ended. */
  step(budget = 1 << 16): boolean {
    const done = this.search.run(budget);
    this.elapsed = Date.now() - this.t0;
    return done;
  }

  abort(): void {
    this.search.abort();
  }

  get elapsedMs(): number {
    return Date.now() - this.t0;
  }

  result(): RunResult {
    const s = this.search;
    if (s.status.kind === 'running') throw new Error('result() before the run ended');
    const expectRow = this.opts.expect ?? this.spec.expect[this.inst.variant];
    const complete = s.status.kind === 'complete';
    const properties = this.engine.props.map((p, k): PropertyResult => {
      const disc = s.discoveries.find((d) => d.prop === k);
      let status: PropertyStatus;
      if (disc) status = p.kind === 'sometimes' ? 'reachable' : 'violated';
      else if (complete) status = p.kind === 'sometimes' ? 'unreachable' : 'holds';
      else status = 'unknown';
      const expected = expectRow?.[p.name];
      return {
        name: p.name,
        kind: p.kind,
        doc: p.doc,
        status,
        ...(expected !== undefined ? { expected } : {}),
        ...(disc ? { path: disc.path } : {}),
      };
    });
    return {
      model: this.inst.module.name,
      variant: this.inst.variant,
      params: this.inst.params,
      strategy: this.opts.strategy,
      outcome: s.status,
      stats: {
        states: s.states,
        transitions: s.transitions,
        maxDepth: s.maxDepthSeen,
        elapsedMs: this.elapsed,
        stateInts: this.engine.W,
        tableBytes: s.tableBytes,
        bytesPerState: s.states ? s.tableBytes / s.states : 0,
        collisionProbability: collisionProbability(s.states),
      },
      properties,
    };
  }
}

/** Runs to the end synchronously (tests, small models). */
export function verify(inst: Instance, spec: SpecModule, opts: Partial<VerifyOptions> = {}): RunResult {
  const v = new Verification(inst, spec, { ...DEFAULT_OPTIONS, ...opts });
  while (!v.step()) {
    /* keep going */
  }
  return v.result();
}

export { DEADLOCK_FREE };
