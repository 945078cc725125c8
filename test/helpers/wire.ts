// Raw-socket exchanges and a strict HTTP/1.1 response reader, for tests where a client library would hide
// a framing bug (a header written into a chunked body, a response after a close, a missing answer).
import { connect } from 'node:net';

export interface WireAnswer {
  /** Every byte received, in order. */
  bytes: Buffer;
  /** The server closed the connection (or it was reset) before the deadline. */
  closed: boolean;
  /** Milliseconds from the write to the close, or to the deadline. */
  elapsedMs: number;
}

/**
 * Writes `request` on a fresh connection (optionally half-closing after it) and collects what comes
 * back until the server closes, `until` says the answer is complete, or `deadlineMs` passes.
 */
export function exchange(
  port: number,
  request: Buffer | string,
  opts: { deadlineMs?: number; halfClose?: boolean; until?: (bytes: Buffer) => boolean; host?: string } = {},
): Promise<WireAnswer> {
  const deadlineMs = opts.deadlineMs ?? 3000;
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = connect(port, opts.host ?? '127.0.0.1');
    let settled = false;
    const settle = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => settle(false), deadlineMs);
    socket.on('connect', () => {
      socket.write(request);
      if (opts.halfClose) socket.end();
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (opts.until?.(Buffer.concat(chunks))) settle(false);
    });
    socket.on('error', () => settle(true));
    socket.on('close', () => settle(true));
  });
}

export interface ParsedResponse {
  status: number;
  /** Lower-cased names, in order, repeated names kept. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Bytes after this response (a pipelined next response, or garbage). */
  rest: Buffer;
}

/** The first response in `bytes`, read strictly (Content-Length or chunked); throws on any framing error or an incomplete response. */
export function parseResponse(bytes: Buffer): ParsedResponse {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) throw new Error(`no complete head in ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
  const lines = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0] + ' ');
  if (!statusMatch) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const headers: Array<[string, string]> = lines.slice(1).map((line) => {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line ${JSON.stringify(line)}`);
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  const header = (name: string) => headers.filter(([n]) => n === name).map(([, v]) => v);
  let at = headEnd + 4;
  const status = Number(statusMatch[1]);
  if (header('transfer-encoding').some((v) => v.toLowerCase() === 'chunked')) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = bytes.indexOf('\r\n', at);
      if (lineEnd === -1) throw new Error('incomplete chunked body');
      const sizeText = bytes.subarray(at, lineEnd).toString('latin1');
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`invalid chunk size ${JSON.stringify(sizeText.slice(0, 80))}`);
      const size = parseInt(sizeText, 16);
      at = lineEnd + 2;
      if (size === 0) {
        if (bytes.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new Error('last chunk not followed by CRLF');
        at += 2;
        break;
      }
      if (bytes.length < at + size + 2) throw new Error('incomplete chunk');
      parts.push(bytes.subarray(at, at + size));
      if (bytes.subarray(at + size, at + size + 2).toString('latin1') !== '\r\n') throw new Error('chunk not followed by CRLF');
      at += size + 2;
    }
    return { status, headers, body: Buffer.concat(parts), rest: bytes.subarray(at) };
  }
  const lengths = header('content-length');
  if (lengths.length > 1) throw new Error(`repeated content-length ${lengths.join(',')}`);
  const length = lengths.length === 1 ? Number(lengths[0]) : 0;
  if (bytes.length < at + length) throw new Error('incomplete body');
  return { status, headers, body: bytes.subarray(at, at + length), rest: bytes.subarray(at + length) };
}

/** True once `bytes` holds one complete response (for `exchange`'s `until`). */
export function completeResponse(bytes: Buffer): boolean {
  try {
    parseResponse(bytes);
    return true;
  } catch {
    return false;
  }
}
