// A minimal keep-alive HTTP/1.1 client over one socket, timing each exchange with hrtime. It does no
// more work than reading the status, the framing and (for streams) spotting content events, so its
// own cost stays a few microseconds and differences between targets show at µs resolution.
import { connect, type Socket } from 'node:net';

/** How a streamed chat answer marks a content event (the role chunk and tail do not match). */
const contentMarker = '"delta":{"content":';

export interface ExchangeTiming {
  status: number;
  /** Nanoseconds from writing the request to the end of the response. */
  totalNs: number;
  /** Nanoseconds to the read that completed the first content event; -1 when none came. */
  firstContentNs: number;
  /** Arrival of every content event (ns after the request), only when content is tracked. */
  contentNs: number[];
}

type BodyFraming = { kind: 'length'; remaining: number } | { kind: 'chunked' };

interface Exchange {
  startedAt: bigint;
  trackContent: boolean;
  resolve(timing: ExchangeTiming): void;
  reject(err: Error): void;
  head: string;
  status: number;
  framing: BodyFraming | undefined;
  /** Chunked decoding state: bytes of the current chunk still due, or -1 while reading a size line. */
  chunkLeft: number;
  sizeLine: string;
  /** CRLF bytes still to skip after a chunk's data. */
  crlfLeft: number;
  finalChunk: boolean;
  text: string;
  scanFrom: number;
  timing: ExchangeTiming;
}

export class RawHttpConnection {
  private current: Exchange | undefined;
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawHttpConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Writes one complete request and resolves when its response has fully arrived. */
  send(request: Buffer, trackContent: boolean): Promise<ExchangeTiming> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.current) return Promise.reject(new Error('one exchange at a time per connection'));
    return new Promise((resolve, reject) => {
      this.current = {
        startedAt: process.hrtime.bigint(),
        trackContent, resolve, reject,
        head: '', status: 0, framing: undefined,
        chunkLeft: -1, sizeLine: '', crlfLeft: 0, finalChunk: false,
        text: '', scanFrom: 0,
        timing: { status: 0, totalNs: 0, firstContentNs: -1, contentNs: [] },
      };
      this.socket.write(request);
    });
  }

  close(): void {
    this.closedError ??= new Error('closed');
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    const exchange = this.current;
    this.current = undefined;
    exchange?.reject(err);
  }

  private onData(data: Buffer): void {
    const ex = this.current;
    if (!ex) return;
    const now = process.hrtime.bigint();
    let offset = 0;
    if (ex.framing === undefined) {
      ex.head += data.toString('latin1');
      const end = ex.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      offset = data.length - (ex.head.length - end - 4);
      ex.framing = parseHead(ex, ex.head.slice(0, end));
    }
    const body = offset === 0 ? data : data.subarray(offset);
    const done = ex.framing.kind === 'length' ? this.takeLength(ex, ex.framing, body, now) : this.takeChunked(ex, body, now);
    if (done) {
      ex.timing.status = ex.status;
      ex.timing.totalNs = Number(now - ex.startedAt);
      this.current = undefined;
      ex.resolve(ex.timing);
    }
  }

  private takeLength(ex: Exchange, framing: { remaining: number }, body: Buffer, now: bigint): boolean {
    framing.remaining -= body.length;
    this.seeContent(ex, body, now);
    return framing.remaining <= 0;
  }

  private takeChunked(ex: Exchange, body: Buffer, now: bigint): boolean {
    let i = 0;
    while (i < body.length) {
      if (ex.crlfLeft > 0) {
        const skip = Math.min(ex.crlfLeft, body.length - i);
        ex.crlfLeft -= skip;
        i += skip;
        if (ex.crlfLeft === 0 && ex.finalChunk) return true;
        continue;
      }
      if (ex.chunkLeft < 0) {
        const lf = body.indexOf(10, i);
        if (lf < 0) {
          ex.sizeLine += body.toString('latin1', i);
          return false;
        }
        ex.sizeLine += body.toString('latin1', i, lf);
        i = lf + 1;
        const size = parseInt(ex.sizeLine, 16);
        ex.sizeLine = '';
        if (!Number.isFinite(size)) throw new Error('bad chunk size line');
        if (size === 0) {
          ex.finalChunk = true;
          ex.crlfLeft = 2; // the empty trailer line
        } else {
          ex.chunkLeft = size;
        }
        continue;
      }
      const take = Math.min(ex.chunkLeft, body.length - i);
      this.seeContent(ex, body.subarray(i, i + take), now);
      ex.chunkLeft -= take;
      i += take;
      if (ex.chunkLeft === 0) {
        ex.chunkLeft = -1;
        ex.crlfLeft = 2;
      }
    }
    return false;
  }

  private seeContent(ex: Exchange, bytes: Buffer, now: bigint): void {
    if (!ex.trackContent || bytes.length === 0) return;
    ex.text += bytes.toString('latin1');
    for (;;) {
      const at = ex.text.indexOf(contentMarker, ex.scanFrom);
      if (at < 0) break;
      const ns = Number(now - ex.startedAt);
      if (ex.timing.firstContentNs < 0) ex.timing.firstContentNs = ns;
      ex.timing.contentNs.push(ns);
      ex.scanFrom = at + contentMarker.length;
    }
    // Keep only what a marker split across reads could still need.
    if (ex.text.length > 4096) {
      const keep = Math.max(ex.scanFrom, ex.text.length - contentMarker.length);
      ex.text = ex.text.slice(keep);
      ex.scanFrom = 0;
    }
  }
}

function parseHead(ex: Exchange, head: string): BodyFraming {
  const lines = head.split('\r\n');
  ex.status = Number(lines[0].split(' ')[1]);
  let length = -1;
  let chunked = false;
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    const value = lines[i].slice(colon + 1).trim();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding' && value.toLowerCase().includes('chunked')) chunked = true;
  }
  if (chunked) return { kind: 'chunked' };
  if (length >= 0) return { kind: 'length', remaining: length };
  throw new Error(`response without content-length or chunked framing (status ${ex.status})`);
}

/** The bytes of one POST request, built once and reused for every exchange. */
export function postRequest(port: number, path: string, body: string, headers: Readonly<Record<string, string>> = {}): Buffer {
  let head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]);
}
