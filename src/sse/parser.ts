// The one incremental SSE parser. It keeps each event's exact bytes so a relay can pass them on untouched.

export interface SseEvent {
  /** The event's bytes including its terminating blank line. */
  readonly raw: Buffer;
  /** `event:` field, if any. */
  readonly event: string | undefined;
  /** `data:` lines joined by "\n" ('' when the event had none). */
  readonly data: string;
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

/** Splits a byte stream into SSE events; call push() per chunk and read the complete events it returns. */
export class SseParser {
  private pending: Buffer | undefined;

  push(chunk: Buffer): SseEvent[] {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const events: SseEvent[] = [];
    let start = 0;
    let i = buf.indexOf(LF, 0);
    while (i !== -1) {
      // An event ends at an empty line: "\n\n" or "\n\r\n".
      let end = -1;
      if (buf[i + 1] === LF) end = i + 2;
      else if (buf[i + 1] === CR && buf[i + 2] === LF) end = i + 3;
      if (end !== -1) {
        const raw = buf.subarray(start, end);
        const fields = parseFields(raw);
        events.push({ raw, event: fields.event, data: fields.data });
        start = end;
        i = buf.indexOf(LF, end);
      } else {
        i = buf.indexOf(LF, i + 1);
      }
    }
    if (start < buf.length) this.pending = Buffer.from(buf.subarray(start));
    return events;
  }

  /** Bytes of an incomplete last event, if the stream ended mid-event. */
  rest(): Buffer | undefined {
    return this.pending;
  }
}
