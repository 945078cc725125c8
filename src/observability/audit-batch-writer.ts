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

  /** `prefix` (JSON text ending where a value goes) followed by `value`, a JSON text. */
  field(prefix: string, value: string): void {
    this.text(prefix);
    this.text(value);
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
