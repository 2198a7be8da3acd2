// The visited set: an open-addressing table of 64-bit fingerprints (two int32 lanes per slot, linear
// probing, (0,0) = empty). Grows by doubling up to a byte budget; past it, insert reports "full" and the
// run ends as incomplete (never as "holds").

export const FPSET_FULL = -1;

export class FingerprintSet {
  private slots: Int32Array;
  private mask: number;
  private count = 0;
  private growAt: number;

  /**
   * @param initialCapacity slots to start with (rounded up to a power of two)
   * @param maxBytes the table never grows beyond this many bytes
   * @param maxLoad fill ratio that triggers growth
   */
  constructor(
    initialCapacity = 1 << 16,
    private readonly maxBytes = 8 * 2 ** 30,
    private readonly maxLoad = 0.75,
  ) {
    let cap = 1024;
    while (cap < initialCapacity) cap *= 2;
    this.slots = new Int32Array(cap * 2);
    this.mask = cap - 1;
    this.growAt = Math.floor(cap * maxLoad);
  }

  get size(): number {
    return this.count;
  }
  get capacity(): number {
    return this.mask + 1;
  }
  get bytes(): number {
    return this.slots.byteLength;
  }

  /** 1 if (hi, lo) was absent and is now stored, 0 if present, FPSET_FULL if the budget is spent. */
  insertIfAbsent(hi: number, lo: number): number {
    if (this.count >= this.growAt && !this.grow() && this.count >= this.mask) {
      // budget spent and one empty slot left (kept so that probing terminates)
      return this.contains(hi, lo) ? 0 : FPSET_FULL;
    }
    const slots = this.slots;
    const mask = this.mask;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
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
      i = (i + 1) & mask;
    }
  }

  contains(hi: number, lo: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
    for (;;) {
      const a = slots[2 * i]!;
      const b = slots[2 * i + 1]!;
      if (a === 0 && b === 0) return false;
      if (a === hi && b === lo) return true;
      i = (i + 1) & mask;
    }
  }

  private grow(): boolean {
    const cap = (this.mask + 1) * 2;
    if (cap * 8 > this.maxBytes) {
      this.growAt = this.mask; // cannot grow: fill up to the last slot, then report full
      return false;
    }
    const old = this.slots;
    const slots = new Int32Array(cap * 2);
    const mask = cap - 1;
    for (let j = 0; j < old.length; j += 2) {
      const hi = old[j]!;
      const lo = old[j + 1]!;
      if (hi === 0 && lo === 0) continue;
      let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & mask;
      while (slots[2 * i] !== 0 || slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = hi;
      slots[2 * i + 1] = lo;
    }
    this.slots = slots;
    this.mask = mask;
    this.growAt = Math.floor(cap * this.maxLoad);
    return true;
  }
}
