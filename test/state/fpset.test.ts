import { describe, expect, it } from 'vitest';
import { FingerprintSet, FPSET_FULL } from '../../src/state/fpset.ts';
import { Fingerprinter, collisionProbability } from '../../src/state/fingerprint.ts';

describe('fingerprints', () => {
  it('differ for vectors that differ in one word, and are never (0, 0)', () => {
    const f = new Fingerprinter();
    const seen = new Set<string>();
    const a = new Int32Array(8);
    for (let i = 0; i < 8; i++) {
      for (let v = -2; v < 50; v++) {
        a.fill(0);
        a[i] = v;
        f.hash(a, 0, 8);
        expect(f.hi === 0 && f.lo === 0).toBe(false);
        seen.add(`${f.hi},${f.lo}`);
      }
    }
    expect(seen.size).toBe(8 * 51 + 1); // the all-zero vector recurs once per position
  });

  it('collision probability grows with the square of the state count', () => {
    expect(collisionProbability(1)).toBe(0);
    const p = collisionProbability(1e6);
    expect(p).toBeGreaterThan(2e-8);
    expect(p).toBeLessThan(3e-8);
  });
});

describe('fingerprint set', () => {
  it('inserts once, grows, and remembers everything', () => {
    const s = new FingerprintSet(1024);
    for (let i = 1; i <= 10_000; i++) expect(s.insertIfAbsent(i, i * 7)).toBe(1);
    for (let i = 1; i <= 10_000; i++) expect(s.insertIfAbsent(i, i * 7)).toBe(0);
    expect(s.size).toBe(10_000);
    expect(s.capacity).toBeGreaterThanOrEqual(10_000 / 0.8);
    // between growths the table is 53-80% full: at most 16 bytes per stored fingerprint
    expect(s.bytes / s.size).toBeLessThanOrEqual(16);
    expect(s.contains(5, 35)).toBe(true);
    expect(s.contains(5, 36)).toBe(false);
  });

  it('reports full at its byte budget instead of looping or crashing', () => {
    const s = new FingerprintSet(1024, 1024 * 8);
    let full = false;
    for (let i = 1; i <= 5000 && !full; i++) full = s.insertIfAbsent(i, 1) === FPSET_FULL;
    expect(full).toBe(true);
    expect(s.size).toBe(1023);
    expect(s.insertIfAbsent(1, 1)).toBe(0);
  });

  it('stays at or under 16 bytes per state at every size', () => {
    const s = new FingerprintSet(64);
    for (let i = 1; i <= 200_000; i++) {
      s.insertIfAbsent(Math.imul(i, 0x9e3779b1), i);
      if (i > 1000 && i % 997 === 0) expect(s.bytes / s.size).toBeLessThanOrEqual(16);
    }
  });
  it('an insert right after has() said absent lands where a plain insert would, whatever came between', () => {
    // a small table, so that probe chains are long and growth happens often; the reference is a Set
    const s = new FingerprintSet(64);
    const ref = new Set<string>();
    let x = 0x9e3779b9;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x;
    };
    // fingerprints from a small pool, (0, 0) among them, so that many are asked for again
    const pool = Array.from({ length: 3000 }, (_, i) => (i === 0 ? [0, 0] : [next() % 5, next()]) as [number, number]);
    const key = ([hi, lo]: [number, number]) => `${hi},${hi === 0 && lo === 0 ? 1 : lo}`;
    // has() then insert of new fingerprints only: every growth comes between a has() and its insert
    let grown = 0;
    for (const f of pool.slice(0, 1500)) {
      const cap = s.capacity;
      expect(s.has(f[0], f[1])).toBe(false);
      expect(s.insertIfAbsent(f[0], f[1])).toBe(1);
      ref.add(key(f));
      if (s.capacity !== cap) grown++;
    }
    expect(grown).toBeGreaterThan(5);
    for (const f of pool) expect(s.contains(f[0], f[1])).toBe(ref.has(key(f)));
    for (let step = 0; step < 20_000; step++) {
      const a = pool[Math.abs(next()) % pool.length]!;
      const b = pool[Math.abs(next()) % pool.length]!;
      expect(s.has(a[0], a[1])).toBe(ref.has(key(a)));
      // then an insert of the same fingerprint, or of another one first (which may fill the slot
      // the probe stopped at, or grow the table), then of the first
      const kind = Math.abs(next()) % 3;
      if (kind === 1) {
        expect(s.insertIfAbsent(b[0], b[1])).toBe(ref.has(key(b)) ? 0 : 1);
        ref.add(key(b));
      }
      if (kind !== 2) {
        expect(s.insertIfAbsent(a[0], a[1])).toBe(ref.has(key(a)) ? 0 : 1);
        ref.add(key(a));
      }
      expect(s.size).toBe(ref.size);
    }
    for (const f of pool) expect(s.contains(f[0], f[1])).toBe(ref.has(key(f)));
  });
});
