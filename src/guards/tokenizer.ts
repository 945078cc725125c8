// Exact OpenAI token counting in O(n log n): js-tiktoken's rank tables and pre-tokenizer regex, with our
// own heap-based byte-pair merge. js-tiktoken's merge rescans every pair after every merge, which is
// quadratic in the length of one pre-token (8,000 × "a" takes ~14 s); merging the lowest-ranked pair
// from a priority queue performs exactly the same merges in the same order in O(n log n).
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';
import { RankTable } from './rank-table.js';

export type EncodingName = 'o200k_base' | 'cl100k_base';
export const encodingNames: readonly EncodingName[] = ['o200k_base', 'cl100k_base'];

interface RankFile {
  pat_str: string;
  bpe_ranks: string;
}

const rankFiles: Record<EncodingName, RankFile> = { o200k_base: o200kBase, cl100k_base: cl100kBase };

/** Counting stops being exact once this deadline (performance.now()) passes; the rest is estimated. */
export interface CountResult {
  count: number;
  exact: boolean;
}

/** Tokens for text the tokenizer did not see: one token per 4 UTF-8 bytes, OpenAI's rule of thumb. */
export function estimateTokens(utf8Bytes: number): number {
  return Math.ceil(utf8Bytes / 4);
}

// Heap keys pack (rank, start) into one double: rank < 2^21, start < 2^32, so the key is exact and
// ordering by key orders by rank first, then leftmost position (tiktoken's tie-break).
const positionSpan = 2 ** 32;
const nonAscii = /[^\x00-\x7f]/;

/** The UTF-8 bytes of a string as a latin1 string (one char per byte); ASCII is already that. */
function utf8Bytes(text: string): string {
  return nonAscii.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** A min-heap of numbers in a growable Float64Array. */
class NumberHeap {
  private items = new Float64Array(64);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  push(value: number): void {
    if (this.size === this.items.length) {
      const grown = new Float64Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items[--this.size]!;
    let i = 0;
    const half = this.size >> 1;
    while (i < half) {
      let child = 2 * i + 1;
      if (child + 1 < this.size && items[child + 1]! < items[child]!) child++;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

export class TokenCounter {
  readonly encoding: EncodingName;
  /** Token byte strings (one char per byte, latin1) → rank. */
  private readonly ranks: RankTable;
  private readonly preTokenizer: RegExp;
  private readonly heap = new NumberHeap();
  private next = new Int32Array(256);
  private prev = new Int32Array(256);

  constructor(encoding: EncodingName) {
    this.encoding = encoding;
    const file = rankFiles[encoding];
    const tokens: string[] = [];
    const ranks: number[] = [];
    // Format (js-tiktoken): one line per run, "<prefix> <first rank> <base64 token> <base64 token> …".
    for (const line of file.bpe_ranks.split('\n')) {
      if (!line) continue;
      const fields = line.split(' ');
      const first = Number.parseInt(fields[1]!, 10);
      for (let i = 2; i < fields.length; i++) {
        tokens.push(Buffer.from(fields[i]!, 'base64').toString('latin1'));
        ranks.push(first + i - 2);
      }
    }
    this.ranks = new RankTable(tokens, ranks);
    this.preTokenizer = new RegExp(file.pat_str, 'gu');
  }

  /**
   * Number of tokens of `text` encoded as ordinary text (special-token strings count as text, as they
   * would for user content). Past `deadline` (performance.now() ms) the remainder is estimated.
   */
  count(text: string, deadline = Number.POSITIVE_INFINITY): CountResult {
    let total = 0;
    let checked = 0;
    const re = this.preTokenizer;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const bytes = utf8Bytes(m[0]);
      total += this.ranks.get(bytes, 0, bytes.length) >= 0 ? 1 : this.mergeCount(bytes);
      checked += bytes.length;
      if (checked >= 65536) {
        checked = 0;
        if (performance.now() > deadline) {
          const rest = text.slice(re.lastIndex);
          return { count: total + estimateTokens(Buffer.byteLength(rest, 'utf8')), exact: false };
        }
      }
    }
    return { count: total, exact: true };
  }

  /** Token ranks of `text` (for tests comparing against js-tiktoken). */
  encode(text: string): number[] {
    const out: number[] = [];
    const re = this.preTokenizer;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const bytes = utf8Bytes(m[0]);
      const whole = this.ranks.get(bytes, 0, bytes.length);
      if (whole >= 0) out.push(whole);
      else for (const [start, end] of this.merge(bytes)) out.push(this.ranks.get(bytes, start, end));
    }
    return out;
  }

  private mergeCount(bytes: string): number {
    let parts = 0;
    for (const _ of this.merge(bytes)) parts++;
    return parts;
  }

  /** Byte-pair merge of one pre-token; yields the [start, end) byte ranges of its tokens. */
  private *merge(bytes: string): Generator<[number, number]> {
    const n = bytes.length;
    if (this.next.length < n + 1) {
      this.next = new Int32Array(n + 1);
      this.prev = new Int32Array(n + 1);
    }
    // Parts form a linked list of start offsets; a part ends where the next one starts (n = end).
    const next = this.next;
    const prev = this.prev;
    for (let i = 0; i < n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    const heap = this.heap;
    heap.clear();
    for (let i = 0; i + 1 < n; i++) {
      const rank = this.ranks.get(bytes, i, i + 2);
      if (rank >= 0) heap.push(rank * positionSpan + i);
    }
    while (heap.size > 0) {
      const key = heap.pop();
      const start = key % positionSpan;
      const rank = (key - start) / positionSpan;
      if (prev[start] === -2) continue;
      const right = next[start]!;
      // Lazy deletion: a stale entry is skipped unless the pair now at `start` has the same rank,
      // in which case merging it is exactly what the fresh entry would have done.
      if (right >= n) continue;
      if (this.ranks.get(bytes, start, next[right]!) !== rank) continue;
      const after = next[right]!;
      next[start] = after;
      if (after < n) prev[after] = start;
      prev[right] = -2; // dead
      const before = prev[start]!;
      if (before >= 0) {
        const r = this.ranks.get(bytes, before, after);
        if (r >= 0) heap.push(r * positionSpan + before);
      }
      if (after < n) {
        const r = this.ranks.get(bytes, start, next[after]!);
        if (r >= 0) heap.push(r * positionSpan + start);
      }
    }
    for (let i = 0; i < n; i = next[i]!) yield [i, next[i]!];
  }
}
