// Progress while a search runs: a live line on a TTY, or periodic lines when forced (--progress).
// Throttled here; the engine only exposes counters.

import { fmtBytes, fmtInt } from './format.ts';

export interface ProgressInfo {
  readonly label: string;
  readonly states: number;
  readonly depth: number;
  readonly tableBytes: number;
  readonly elapsedMs: number;
}

export class ProgressLine {
  private last = 0;
  private shown = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly live: boolean,
    private readonly periodic: boolean,
    private readonly intervalMs = live ? 200 : 1000,
  ) {}

  get enabled(): boolean {
    return this.live || this.periodic;
  }

  tick(p: ProgressInfo): void {
    if (!this.enabled || p.elapsedMs < 500) return;
    const now = Date.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    const rate = p.elapsedMs > 0 ? (p.states / p.elapsedMs) * 1000 : 0;
    const text =
      `${p.label}: ${fmtInt(p.states)} states, ${fmtInt(rate)}/s, depth ${p.depth}, ` +
      `table ${fmtBytes(p.tableBytes)}, ${(p.elapsedMs / 1000).toFixed(1)} s`;
    if (this.live) {
      this.out.write(`\r\x1b[K${text}`);
      this.shown = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  clear(): void {
    if (this.live && this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }
}
