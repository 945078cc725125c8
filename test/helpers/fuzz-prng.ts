// The fuzz suite's seeded PRNG: case i of seed s is the same bytes on every machine, alone or in a run.

/** 32-bit integer hash (murmur3 finaliser), to spread (seed, index) over the PRNG's state space. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: small, fast and good enough for choosing test inputs. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator of case `index` under `seed`, independent of every other case. */
  static forCase(seed: number, index: number): Rng {
    return new Rng(mix32((seed >>> 0) ^ mix32(index + 0x9e3779b9)));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** One entry of `table` with probability proportional to its weight. */
  weighted<T>(table: ReadonlyArray<readonly [number, T]>): T {
    let total = 0;
    for (const [w] of table) total += w;
    let r = this.next() * total;
    for (const [w, value] of table) {
      r -= w;
      if (r < 0) return value;
    }
    return table[table.length - 1][1];
  }

  /** A few words of text, sometimes with non-ASCII characters that must survive byte for byte. */
  text(maxWords = 8): string {
    const words: string[] = [];
    const n = this.int(1, maxWords);
    for (let i = 0; i < n; i++) words.push(this.chance(0.15) ? this.pick(exoticWords) : this.pick(plainWords));
    return words.join(' ');
  }
}

const plainWords = ['hello', 'route', 'the', 'train', 'to', 'track', 'seven', 'please', 'summarise', 'this', 'in', 'one', 'line', 'why', 'is', 'sky', 'blue', '42', 'JSON', 'a'];
const exoticWords = ['héllo', 'Grüße', '日本語', 'مرحبا', '🚂🚃', 'e\u0301', '\u2028', 'tab\there', 'quote"d', 'back\\slash', '<b>&amp;</b>', 'ß\u200dz', '\ufeffbom', 'İstanbul'];

/** A seed from SWITCHYARD_FUZZ_SEED (decimal or 0x hex), else a fresh one; either way printed by the runner. */
export function seedFromEnv(value: string | undefined): number {
  if (value !== undefined && value.trim() !== '') {
    const n = Number(value.trim());
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`SWITCHYARD_FUZZ_SEED must be an integer in [0, 2^32): ${value}`);
    return n;
  }
  return (Math.floor(Math.random() * 0x100000000) ^ Date.now()) >>> 0;
}
