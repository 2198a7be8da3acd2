// A visited set of whole states (no fingerprints, so no collisions): the --exact cross-check for
// small models. Slower and far larger than the fingerprint table; meant for a few million states.

import type { VisitedSet } from './visited.ts';

export class ExactStateSet implements VisitedSet {
  private readonly seen = new Set<string>();
  private chars = 0;

  /** @param maxBytes the set never grows past about this many bytes (--memory): then it is full */
  constructor(private readonly maxBytes = Infinity) {}

  private key(a: Int32Array, off: number, n: number): string {
    let key = '';
    for (let i = 0; i < n; i++) key += String.fromCharCode(a[off + i]! & 0xffff, (a[off + i]! >>> 16) & 0xffff);
    return key;
  }

  /** Whether the state a[off .. off+n) is stored. */
  hasState(a: Int32Array, off: number, n: number): boolean {
    return this.seen.has(this.key(a, off, n));
  }

  /** Inserts the state a[off .. off+n). 1 new, 0 seen, -1 full. */
  insertState(a: Int32Array, off: number, n: number): number {
    const key = this.key(a, off, n);
    if (this.seen.has(key)) return 0;
    if (this.bytes + key.length * 2 + 48 > this.maxBytes) return -1;
    this.seen.add(key);
    this.chars += key.length;
    return 1;
  }

  /** Fingerprints are not used by this set: every call reports "new" (the state check decides). */
  insertIfAbsent(): number {
    return 1;
  }
  has(): boolean {
    return false;
  }

  get bytes(): number {
    return this.chars * 2 + this.seen.size * 48;
  }

  get size(): number {
    return this.seen.size;
  }
}
