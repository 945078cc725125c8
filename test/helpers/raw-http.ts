// A byte-exact HTTP/1.x client over node:net for tests that must send what a real client never would.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** The status line as received, without CRLF. */
  statusLine: string;
  /** Header names lower-cased; a repeated header keeps its values joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** How an exchange ended: every expected answer read, the server closed first, or the deadline passed. */
export type Ending = 'complete' | 'closed' | 'timeout' | 'malformed';

export interface ExchangeResult {
  responses: RawResponse[];
  ending: Ending;
  /** Bytes received after the last complete answer (or all of them when none parsed). */
  rest: Buffer;
  /** Why the answer could not be parsed, when ending is 'malformed'. */
  problem?: string;
  elapsedMs: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * Incremental parser of HTTP/1.x answers. `push` bytes in, `next` yields each complete answer;
 * `closed` says the connection ended, which completes a close-delimited body.
 */
export class ResponseReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** One flag per request sent: the answer to a HEAD request has no body whatever it announces. */
  private readonly headRequests: boolean[] = [];
  problem: string | undefined;

  expect(isHead: boolean): void {
    this.headRequests.push(isHead);
  }

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  get pending(): Buffer {
    return this.buffer;
  }

  /** The next complete answer, or undefined when more bytes are needed (or the bytes are not HTTP). */
  next(closed: boolean): RawResponse | undefined {
    for (;;) {
      if (this.problem !== undefined || this.buffer.length === 0) return undefined;
      const headEnd = this.buffer.indexOf(CRLF2);
      if (headEnd < 0) {
        if (this.buffer.length > 64 * 1024) this.problem = 'answer head over 64 KiB';
        else if (closed) this.problem = 'connection closed inside an answer head';
        else if (!'HTTP/'.startsWith(this.buffer.subarray(0, 5).toString('latin1'))) this.problem = 'answer does not start with HTTP/';
        return undefined;
      }
      const lines = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
      const statusLine = lines[0];
      const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
      if (!m) {
        this.problem = `bad status line ${JSON.stringify(statusLine.slice(0, 80))}`;
        return undefined;
      }
      const status = Number(m[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) {
          this.problem = `bad answer header line ${JSON.stringify(line.slice(0, 80))}`;
          return undefined;
        }
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const bodyStart = headEnd + 4;
      if (status >= 100 && status < 200) {
        // Interim answer (100 Continue): skip it, the final one follows.
        this.buffer = this.buffer.subarray(bodyStart);
        continue;
      }
      const isHead = this.headRequests[0] ?? false;
      let bodyEnd: number;
      let body: Buffer;
      if (isHead || status === 204 || status === 304) {
        bodyEnd = bodyStart;
        body = Buffer.alloc(0);
      } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
        const decoded = decodeChunked(this.buffer, bodyStart);
        if (decoded === 'bad') {
          this.problem = 'bad chunked framing in the answer';
          return undefined;
        }
        if (decoded === undefined) {
          if (closed) this.problem = 'connection closed inside a chunked answer';
          return undefined;
        }
        bodyEnd = decoded.end;
        body = decoded.body;
      } else if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (!Number.isSafeInteger(length) || length < 0) {
          this.problem = `bad content-length ${headers['content-length']}`;
          return undefined;
        }
        if (this.buffer.length < bodyStart + length) {
          if (closed) this.problem = 'connection closed inside an answer body';
          return undefined;
        }
        bodyEnd = bodyStart + length;
        body = this.buffer.subarray(bodyStart, bodyEnd);
      } else {
        // Close-delimited body.
        if (!closed) return undefined;
        bodyEnd = this.buffer.length;
        body = this.buffer.subarray(bodyStart);
      }
      this.buffer = this.buffer.subarray(bodyEnd);
      this.headRequests.shift();
      return { status, statusLine, headers, body: Buffer.from(body) };
    }
  }
}

function decodeChunked(buf: Buffer, start: number): { body: Buffer; end: number } | undefined | 'bad' {
  const parts: Buffer[] = [];
  let i = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', i);
    if (lineEnd < 0) return buf.length - i > 1024 ? 'bad' : undefined;
    const sizeText = buf.subarray(i, lineEnd).toString('latin1').split(';')[0].trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) return 'bad';
    const size = parseInt(sizeText, 16);
    i = lineEnd + 2;
    if (size === 0) {
      // Trailers end with an empty line.
      for (;;) {
        const end = buf.indexOf('\r\n', i);
        if (end < 0) return undefined;
        if (end === i) return { body: Buffer.concat(parts), end: end + 2 };
        i = end + 2;
      }
    }
    if (buf.length < i + size + 2) return undefined;
    parts.push(buf.subarray(i, i + size));
    if (buf[i + size] !== 0x0d || buf[i + size + 1] !== 0x0a) return 'bad';
    i += size + 2;
  }
}

export interface ExchangeOptions {
  host?: string;
  port: number;
  /** Written in order, each in its own write (so a head and a body can arrive apart). */
  writes: Buffer[];
  /** One entry per answer awaited: true when its request was HEAD. */
  expectAnswers: boolean[];
  /** Send FIN after the last write (a half-closed client). */
  halfClose?: boolean;
  deadlineMs: number;
}

/** Opens a connection, sends the bytes, reads answers until all expected ones came, the server closed, or the deadline. */
export function exchange(opts: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const reader = new ResponseReader();
    for (const isHead of opts.expectAnswers) reader.expect(isHead);
    const responses: RawResponse[] = [];
    let settled = false;
    const socket: Socket = connect({ host: opts.host ?? '127.0.0.1', port: opts.port });
    socket.setNoDelay(true);
    const finish = (ending: Ending): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.on('error', () => {});
      socket.destroy();
      resolve({ responses, ending, rest: reader.pending, problem: reader.problem, elapsedMs: performance.now() - started });
    };
    const drain = (closed: boolean): void => {
      for (;;) {
        if (responses.length >= opts.expectAnswers.length) return finish('complete');
        const response = reader.next(closed);
        if (response === undefined) break;
        responses.push(response);
      }
      if (reader.problem !== undefined) finish('malformed');
      else if (closed) finish('closed');
    };
    const timer = setTimeout(() => finish('timeout'), opts.deadlineMs);
    socket.on('connect', () => {
      for (const bytes of opts.writes) socket.write(bytes);
      if (opts.halfClose) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      drain(false);
    });
    // A reset after a full answer still leaves that answer; 'close' follows 'error'.
    socket.on('error', () => {});
    socket.on('close', () => drain(true));
  });
}

/**
 * One keep-alive connection that sends one request at a time; after an answer that closes (or any
 * failure) the next request opens a fresh connection. For many well-framed requests without
 * exhausting ephemeral ports.
 */
export class KeepAliveConnection {
  private socket: Socket | undefined;
  private reader = new ResponseReader();
  private closed = false;
  private onEvent: ((closed: boolean) => void) | undefined;

  constructor(
    private readonly port: number,
    private readonly host = '127.0.0.1',
  ) {}

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      this.reader = new ResponseReader();
      this.closed = false;
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        this.reader.push(chunk);
        this.onEvent?.(false);
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        this.closed = true;
        this.onEvent?.(true);
      });
      this.socket = socket;
    });
  }

  /** Sends one request and waits for its answer; the result has the same meaning as exchange()'s. */
  async send(bytes: Buffer, isHead: boolean, deadlineMs: number): Promise<ExchangeResult> {
    if (this.socket === undefined || this.closed || this.reader.pending.length > 0) {
      this.drop();
      await this.open();
    }
    const socket = this.socket as Socket;
    const reader = this.reader;
    reader.expect(isHead);
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const finish = (ending: Ending, responses: RawResponse[]): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.onEvent = undefined;
        const result: ExchangeResult = { responses, ending, rest: reader.pending, problem: reader.problem, elapsedMs: performance.now() - started };
        const keep = ending === 'complete' && reader.pending.length === 0 && !/\bclose\b/i.test(responses[0]?.headers.connection ?? '');
        if (!keep) this.drop();
        resolve(result);
      };
      const timer = setTimeout(() => finish('timeout', []), deadlineMs);
      this.onEvent = (closed) => {
        const response = reader.next(closed);
        if (response !== undefined) finish('complete', [response]);
        else if (reader.problem !== undefined) finish('malformed', []);
        else if (closed) finish('closed', []);
      };
      socket.write(bytes);
    });
  }

  drop(): void {
    if (this.socket) {
      this.socket.removeAllListeners('data');
      this.socket.removeAllListeners('close');
      this.socket.destroy();
    }
    this.socket = undefined;
    this.onEvent = undefined;
  }
}
