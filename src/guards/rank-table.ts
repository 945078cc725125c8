// BPE rank lookup in typed arrays: an open-addressing hash table over the tokens' bytes. A Map of
// 200,000 string keys is 200,000 objects every full GC of the thread must mark (~10 ms of a 26 ms
// pause on this box, in each pool worker and in the server thread that counts small prompts inline);
// here the whole table is five array buffers, and a lookup hashes a range of the pre-token in place
// instead of slicing a substring for each pair the merge considers.

/** FNV-1a over the char codes (bytes: the text is latin1, one char per byte) of text[start, end). */
function hashRange(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class RankTable {
  private readonly bytes: Uint8Array;
  /** Token i's bytes are bytes[start[i], start[i + 1]). */
  private readonly start: Int32Array;
  private readonly rank: Int32Array;
  /** Token index + 1, or 0 for an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly maxTokenBytes: number;

  /** `tokens` are latin1 strings (one char per byte), `ranks` their ranks, in the same order. */
  constructor(tokens: readonly string[], ranks: readonly number[]) {
    let total = 0;
    let longest = 0;
    for (const t of tokens) {
      total += t.length;
      if (t.length > longest) longest = t.length;
    }
    this.maxTokenBytes = longest;
    this.bytes = new Uint8Array(total);
    this.start = new Int32Array(tokens.length + 1);
    this.rank = Int32Array.from(ranks);
    let capacity = 1;
    while (capacity < tokens.length * 2) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    let at = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      this.start[i] = at;
      for (let k = 0; k < t.length; k++) this.bytes[at + k] = t.charCodeAt(k);
      at += t.length;
      let slot = hashRange(t, 0, t.length) & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = i + 1;
    }
    this.start[tokens.length] = at;
  }

  /** Rank of the token text[start, end), or -1 when it is not one. */
  get(text: string, start: number, end: number): number {
    const length = end - start;
    if (length > this.maxTokenBytes) return -1;
    const bytes = this.bytes;
    for (let slot = hashRange(text, start, end) & this.mask; ; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const from = this.start[entry - 1]!;
      if (this.start[entry]! - from !== length) continue;
      let k = 0;
      while (k < length && bytes[from + k] === text.charCodeAt(start + k)) k++;
      if (k === length) return this.rank[entry - 1]!;
    }
  }
}
