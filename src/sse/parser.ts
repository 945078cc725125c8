// The one incremental SSE parser. It keeps each event's exact bytes so a relay can pass them on untouched.

export interface SseEvent {
  /** The event's bytes including its terminating blank line. */
  readonly raw: Buffer;
  /** `event:` field, if any. */
  readonly event: string | undefined;
  /** `data:` lines joined by "\n" ('' when the event had none). */
  readonly data: string;
  /**
   * Where `data` lies in `raw` when the event is one `data:` line, so its bytes can be checked without
   * encoding the string again; -1 for events parsed field by field.
   */
  readonly dataStart: number;
  readonly dataEnd: number;
}

const LF = 0x0a;
const CR = 0x0d;

function parseFields(block: Buffer): { event: string | undefined; data: string } {
  let event: string | undefined;
  let data: string | undefined;
  let lineStart = 0;
  while (lineStart < block.length) {
    let lineEnd = block.indexOf(LF, lineStart);
    if (lineEnd === -1) lineEnd = block.length;
    const contentEnd = lineEnd > lineStart && block[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    if (contentEnd > lineStart) {
      const line = block.toString('utf8', lineStart, contentEnd);
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 0x20) value = value.slice(1);
      if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
      else if (field === 'event') event = value;
    }
    lineStart = lineEnd + 1;
  }
  return { event, data: data ?? '' };
}

/** Whether the line at `start` begins with `data:` (what OpenAI-compatible providers send as the only line). */
function isDataLine(buf: Buffer, start: number): boolean {
  return buf[start] === 0x64 && buf[start + 1] === 0x61 && buf[start + 2] === 0x74 && buf[start + 3] === 0x61 && buf[start + 4] === 0x3a;
}

/**
 * Splits a byte stream into SSE events; call push() per chunk and read the complete events it returns.
 * An incomplete event is held as the chunks it came in and joined once, when a chunk completes it:
 * joining on every push made a single huge event cost quadratic time.
 */
export class SseParser {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** The last two bytes held (-1 for none): a blank line may start in them and end in the next chunk. */
  private last = -1;
  private beforeLast = -1;

  push(chunk: Buffer): SseEvent[] {
    let buf = chunk;
    if (this.heldBytes > 0) {
      if (!this.endsEvent(chunk)) {
        this.hold(chunk);
        return [];
      }
      this.held.push(chunk);
      buf = Buffer.concat(this.held, this.heldBytes + chunk.length);
      this.clear();
    }
    const events: SseEvent[] = [];
    let start = 0;
    let i = buf.indexOf(LF, 0);
    let firstLine = true;
    while (i !== -1) {
      // An event ends at an empty line: "\n\n" or "\n\r\n".
      let end = -1;
      if (buf[i + 1] === LF) end = i + 2;
      else if (buf[i + 1] === CR && buf[i + 2] === LF) end = i + 3;
      if (end !== -1) {
        const raw = buf.subarray(start, end);
        if (firstLine && isDataLine(buf, start)) {
          const valueStart = buf[start + 5] === 0x20 ? start + 6 : start + 5;
          const contentEnd = i > start && buf[i - 1] === CR ? i - 1 : i;
          const dataEnd = contentEnd > valueStart ? contentEnd : valueStart;
          events.push({ raw, event: undefined, data: buf.toString('utf8', valueStart, dataEnd), dataStart: valueStart - start, dataEnd: dataEnd - start });
        } else {
          const fields = parseFields(raw);
          events.push({ raw, event: fields.event, data: fields.data, dataStart: -1, dataEnd: -1 });
        }
        start = end;
        i = buf.indexOf(LF, end);
        firstLine = true;
      } else {
        i = buf.indexOf(LF, i + 1);
        firstLine = false;
      }
    }
    if (start < buf.length) this.hold(buf.subarray(start));
    return events;
  }

  /** Bytes of an incomplete last event, if the stream ended mid-event. */
  rest(): Buffer | undefined {
    return this.heldBytes > 0 ? Buffer.concat(this.held, this.heldBytes) : undefined;
  }

  /** Bytes held for an incomplete event: what a relay counts as buffered. */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  /** Whether a blank line ends in `chunk`, its first bytes possibly the last ones held. */
  private endsEvent(chunk: Buffer): boolean {
    for (let j = chunk.indexOf(LF); j !== -1; j = chunk.indexOf(LF, j + 1)) {
      const before = j >= 1 ? chunk[j - 1] : this.last;
      if (before === LF) return true;
      if (before === CR && (j >= 2 ? chunk[j - 2] : j === 1 ? this.last : this.beforeLast) === LF) return true;
    }
    return false;
  }

  /** Keeps a copy: the caller's buffer may be reused, and a small rest must not pin a large chunk. */
  private hold(bytes: Buffer): void {
    const n = bytes.length;
    if (n === 0) return;
    this.held.push(Buffer.from(bytes));
    this.heldBytes += n;
    this.beforeLast = n >= 2 ? bytes[n - 2] : this.last;
    this.last = bytes[n - 1];
  }

  private clear(): void {
    this.held = [];
    this.heldBytes = 0;
    this.last = -1;
    this.beforeLast = -1;
  }
}
