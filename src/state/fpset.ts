// The visited set: an open-addressing table of 64-bit fingerprints (two int32 lanes per slot, linear
// probing, (0,0) = empty). It grows by 1.5x when 80% full, so between growths it is 53-80% full: 10-15
// bytes per stored state. It never grows past its byte budget; then insert reports "full" and the run
// ends as incomplete (never as "holds").

export const FPSET_FULL = -1;
const GROW_AT = 0.8;
const GROWTH = 1.5;

/** Slot for a fingerprint in a table of `cap` slots (multiply-shift range reduction, any cap). */
function home(hi: number, lo: number, cap: number): number {
  let h = hi ^ Math.imul(lo ^ (lo >>> 16), 0x85ebca6b);
  h = (h ^ (h >>> 13)) >>> 0;
  return Math.floor((h * cap) / 4294967296);
}

export class FingerprintSet {
  private slots: Int32Array;
  private cap: number;
  private count = 0;
  private growAt: number;
  /**
   * The last contains() that found its fingerprint absent: the empty slot where its probe stopped,
   * and the fingerprint (-1: none since the table last changed shape). Every slot between the
   * fingerprint's home and that one was full, so while it stays empty, an insert of the same
   * fingerprint would probe its way to it: insertIfAbsent() starts there (the reduction's search
   * asks has() of every new state before it inserts the ones it stores).
   */
  private missAt = -1;
  private missHi = 0;
  private missLo = 0;

  /**
   * @param initialCapacity slots to start with
   * @param maxBytes the table never grows beyond this many bytes
   */
  constructor(
    initialCapacity = 1 << 12,
    private readonly maxBytes = 8 * 2 ** 30,
  ) {
    this.cap = Math.max(64, Math.min(initialCapacity, Math.floor(maxBytes / 8)));
    this.slots = new Int32Array(this.cap * 2);
    this.growAt = Math.floor(this.cap * GROW_AT);
  }

  get size(): number {
    return this.count;
  }
  get capacity(): number {
    return this.cap;
  }
  get bytes(): number {
    return this.slots.byteLength;
  }

  /** 1 if (hi, lo) was absent and is now stored, 0 if present, FPSET_FULL if the budget is spent. */
  insertIfAbsent(hi: number, lo: number): number {
    if (this.count >= this.growAt && !this.grow() && this.count >= this.cap - 1) {
      // budget spent and one empty slot left (kept so that probing terminates)
      return this.contains(hi, lo) ? 0 : FPSET_FULL;
    }
    if (hi === 0 && lo === 0) lo = 1;
    const slots = this.slots;
    const cap = this.cap;
    let i = home(hi, lo, cap);
    // right after has() said absent: its probe stopped at the slot this one would stop at, if no
    // insert has filled it since (inserts only fill empty slots, and the table has not grown)
    if (this.missAt >= 0 && this.missHi === hi && this.missLo === lo && slots[2 * this.missAt] === 0 && slots[2 * this.missAt + 1] === 0) i = this.missAt;
    this.missAt = -1;
    for (;;) {
      const a = slots[2 * i]!;
      const b = slots[2 * i + 1]!;
      if (a === 0 && b === 0) {
        slots[2 * i] = hi;
        slots[2 * i + 1] = lo;
        this.count++;
        return 1;
      }
      if (a === hi && b === lo) return 0;
      if (++i === cap) i = 0;
    }
  }

  has(hi: number, lo: number): boolean {
    return this.contains(hi, lo);
  }

  contains(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    const slots = this.slots;
    const cap = this.cap;
    let i = home(hi, lo, cap);
    for (;;) {
      const a = slots[2 * i]!;
      const b = slots[2 * i + 1]!;
      if (a === 0 && b === 0) {
        this.missAt = i;
        this.missHi = hi;
        this.missLo = lo;
        return false;
      }
      if (a === hi && b === lo) return true;
      if (++i === cap) i = 0;
    }
  }

  /** Calls f for every stored fingerprint. */
  forEach(f: (hi: number, lo: number) => void): void {
    const s = this.slots;
    for (let j = 0; j < s.length; j += 2) if (s[j] !== 0 || s[j + 1] !== 0) f(s[j]!, s[j + 1]!);
  }

  private grow(): boolean {
    const cap = Math.min(Math.ceil(this.cap * GROWTH), Math.floor(this.maxBytes / 8));
    if (cap <= this.cap) {
      this.growAt = this.cap - 1; // cannot grow: fill up to the last slot, then report full
      return false;
    }
    const old = this.slots;
    const slots = new Int32Array(cap * 2);
    for (let j = 0; j < old.length; j += 2) {
      const hi = old[j]!;
      const lo = old[j + 1]!;
      if (hi === 0 && lo === 0) continue;
      let i = home(hi, lo, cap);
      while (slots[2 * i] !== 0 || slots[2 * i + 1] !== 0) if (++i === cap) i = 0;
      slots[2 * i] = hi;
      slots[2 * i + 1] = lo;
    }
    this.slots = slots;
    this.cap = cap;
    this.missAt = -1;
    this.growAt = Math.floor(cap * GROW_AT);
    return true;
  }
}
