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

/**
 * The value of an event that is one `data:` line (what OpenAI-compatible providers send), read
 * without splitting it into fields; undefined for anything else, which parseFields handles.
 */
function singleDataLine(buf: Buffer, start: number, lineEnd: number): string | undefined {
  if (buf[start] !== 0x64 || buf[start + 1] !== 0x61 || buf[start + 2] !== 0x74 || buf[start + 3] !== 0x61 || buf[start + 4] !== 0x3a) {
    return undefined;
  }
  const valueStart = buf[start + 5] === 0x20 ? start + 6 : start + 5;
  const contentEnd = lineEnd > start && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
  return contentEnd > valueStart ? buf.toString('utf8', valueStart, contentEnd) : '';
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
    let firstLine = true;
    while (i !== -1) {
      // An event ends at an empty line: "\n\n" or "\n\r\n".
      let end = -1;
      if (buf[i + 1] === LF) end = i + 2;
      else if (buf[i + 1] === CR && buf[i + 2] === LF) end = i + 3;
      if (end !== -1) {
        const raw = buf.subarray(start, end);
        const data = firstLine ? singleDataLine(buf, start, i) : undefined;
        if (data !== undefined) events.push({ raw, event: undefined, data });
        else {
          const fields = parseFields(raw);
          events.push({ raw, event: fields.event, data: fields.data });
        }
        start = end;
        i = buf.indexOf(LF, end);
        firstLine = true;
      } else {
        i = buf.indexOf(LF, i + 1);
        firstLine = false;
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
