// Builds a batch of audit JSON lines straight into bytes. Bodies arrive as bytes and leave as bytes:
// decoding them to strings, joining and encoding again cost more than the rest of the record.
import { ByteBuffer } from '../shared/byte-buffer.js';

/** Buffer#write without its argument checks (a Node.js Buffer method since v0.x, untyped). */
type Utf8Writable = Buffer & { utf8Write(s: string, offset: number): number };

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DIGIT_0 = 0x30;
const DOT = 0x2e;
/** Up to this many UTF-16 units, text is copied in JavaScript; beyond, by Buffer#utf8Write. */
const shortText = 128;

export class AuditBatchWriter extends ByteBuffer {
  private lines = 0;

  constructor(initialBytes = 64 * 1024) {
    super(initialBytes, initialBytes * 16);
  }

  /** Records written since the last takeView(). */
  get count(): number {
    return this.lines;
  }

  /** JSON text as UTF-8; the caller guarantees it holds no raw newline. */
  text(s: string): void {
    this.reserve(s.length * 3);
    if (s.length > shortText) {
      this.used += (this.buf as Utf8Writable).utf8Write(s, this.used);
      return;
    }
    // A record is mostly short ASCII pieces: copied here, each costs less than a call into C++.
    const buf = this.buf;
    let at = this.used;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.used = at + (buf as Utf8Writable).utf8Write(s.slice(i), at);
        return;
      }
      buf[at++] = c;
    }
    this.used = at;
  }

  /** `s` as a JSON string, quoted and escaped. */
  string(s: string): void {
    if (s.length > shortText) {
      this.text(JSON.stringify(s));
      return;
    }
    this.reserve(s.length + 2);
    const buf = this.buf;
    let at = this.used;
    buf[at++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === QUOTE || c === BACKSLASH || c >= 0x80) {
        this.text(JSON.stringify(s)); // this.used has not moved: what was copied is overwritten
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = QUOTE;
    this.used = at;
  }

  /** Bytes written so far, to hand to copySince(). */
  get position(): number {
    return this.used;
  }

  /** A copy of what was written from `start` (a position) on. */
  copySince(start: number): Uint8Array {
    return new Uint8Array(this.buf.subarray(start, this.used));
  }

  /** JSON text given as bytes holding no raw newline (e.g. a copySince() of this writer). */
  bytes(data: Uint8Array): void {
    this.appendBytes(data);
  }

  /**
   * A number as JSON: whole numbers from 0 to 2^53 - 1 as their digits, written here without a
   * string in between; others as String() writes them; NaN and infinities as null.
   */
  int(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && n === Math.floor(n))) {
      this.text(Number.isFinite(n) ? String(n) : 'null');
      return;
    }
    this.reserve(16);
    this.used = writeDigits(this.buf, this.used, n, 1);
  }

  /**
   * Milliseconds rounded to the µs, as JSON ("12.345"); undefined, NaN and infinities as null.
   * Written as digits here: String() of an arbitrary double looks for its shortest form, which costs
   * more than the rest of the field.
   */
  milliseconds(n: number | undefined): void {
    if (n === undefined || !Number.isFinite(n)) {
      this.text('null');
      return;
    }
    const us = Math.round(n * 1000);
    if (!(us >= 0 && us <= Number.MAX_SAFE_INTEGER)) {
      // Negative, or past 2^53 µs: not a duration this gateway measures, but still valid JSON.
      this.text(String(us / 1000));
      return;
    }
    const fraction = us % 1000;
    this.reserve(17);
    const at = writeDigits(this.buf, this.used, (us - fraction) / 1000, 1);
    this.buf[at] = DOT;
    this.used = writeDigits(this.buf, at + 1, fraction, 3);
  }

  /** `prefix` (JSON text ending where a value goes) followed by `value`, a JSON text. */
  field(prefix: string, value: string): void {
    this.text(prefix);
    this.text(value);
  }

  /** `prefix` followed by int(n). */
  intField(prefix: string, n: number): void {
    this.text(prefix);
    this.int(n);
  }

  /** `prefix` followed by milliseconds(n). */
  millisecondsField(prefix: string, n: number | undefined): void {
    this.text(prefix);
    this.milliseconds(n);
  }

  /** `prefix` followed by `s` as a JSON string, or null. */
  stringField(prefix: string, s: string | undefined): void {
    this.text(prefix);
    if (s === undefined) this.text('null');
    else this.string(s);
  }

  /**
   * A JSON text given as bytes (already known to be valid). Raw CR/LF can only be whitespace between
   * tokens (inside strings they are escaped), so they become spaces to keep the record on one line.
   */
  json(bytes: Uint8Array): void {
    const start = this.used;
    this.appendBytes(bytes);
    const written = this.buf.subarray(start, this.used);
    for (let at = written.indexOf(LF); at !== -1; at = written.indexOf(LF, at + 1)) written[at] = SPACE;
    for (let at = written.indexOf(CR); at !== -1; at = written.indexOf(CR, at + 1)) written[at] = SPACE;
  }

  endLine(): void {
    this.reserve(1);
    this.buf[this.used++] = LF;
    this.lines++;
  }

  /** The lines written so far, as a view to copy from before the next write; the writer starts over. */
  takeView(): { count: number; bytes: Uint8Array } {
    const taken = { count: this.lines, bytes: this.held() };
    this.lines = 0;
    this.reset();
    return taken;
  }
}

/** Writes the digits of `n` (a whole number, 0 to 2^53 - 1), at least `width` of them, at `at`; returns the end. */
function writeDigits(buf: Uint8Array, at: number, n: number, width: number): number {
  let length = 1;
  for (let limit = 10; n >= limit && length < 16; limit *= 10) length++;
  if (length < width) length = width;
  let i = at + length;
  for (let k = 0; k < length; k++) {
    const digit = n % 10;
    buf[--i] = DIGIT_0 + digit;
    n = (n - digit) / 10;
  }
  return at + length;
}
