// What a fuzz case is (bytes to send and what each answer must be), and how an ordinary request is rendered to bytes.

/**
 * What the answer to one request must be:
 * - `ok`: the input is valid → 2xx;
 * - `reject`: the input is invalid → a 4xx in the endpoint's dialect;
 * - `answer`: the input is invalid by the API but judged by the provider, or the HTTP spec allows
 *   both refusing and repairing it → 2xx or a dialect 4xx; never a 5xx, a close or a hang.
 */
export type Expectation = 'ok' | 'reject' | 'answer';

/** The wire dialect of an endpoint, which fixes the shape its errors must have. */
export type Dialect = 'openai' | 'anthropic';

export interface FuzzRequest {
  /** HEAD: the answer carries no body. */
  isHead: boolean;
  expect: Expectation;
  dialect: Dialect;
}

export interface FuzzCase {
  /** Index within the run; with the seed it regenerates the case alone. */
  index: number;
  kind: 'body' | 'head';
  family: string;
  /** One line on what was done to the input, for reports. */
  note: string;
  /** Written in order, each in its own socket write. */
  writes: Buffer[];
  /** One entry per answer awaited, in order (several for pipelined requests). */
  requests: FuzzRequest[];
  /** Send FIN after the last write. */
  halfClose: boolean;
  /** Needs a connection of its own (everything but well-framed single requests). */
  fresh: boolean;
}

export type HeaderLines = Array<[string, string]>;

export interface PlainRequest {
  method: string;
  target: string;
  headers: HeaderLines;
  body?: Buffer;
  /** Send the body chunked instead of with content-length. */
  chunked?: boolean;
  /** Chunk sizes to cut a chunked body into (cycled); default one chunk. */
  chunkSizes?: number[];
}

/** Renders a well-framed HTTP/1.1 request (host and framing headers added). */
export function renderRequest(req: PlainRequest): Buffer {
  const lines = [`${req.method} ${req.target} HTTP/1.1`, 'host: 127.0.0.1'];
  for (const [name, value] of req.headers) lines.push(`${name}: ${value}`);
  const body = req.body;
  if (body === undefined) return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (!req.chunked) {
    lines.push(`content-length: ${body.length}`);
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  }
  lines.push('transfer-encoding: chunked');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), chunkedBody(body, req.chunkSizes ?? [body.length || 1])]);
}

export function chunkedBody(body: Buffer, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let k = 0;
  while (at < body.length) {
    const size = Math.max(1, Math.min(sizes[k++ % sizes.length], body.length - at));
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
    at += size;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** The bytes of a case as one escaped string (JSON string syntax, long runs shortened), for reports. */
export function showBytes(bytes: Buffer, max = 600): string {
  const text = JSON.stringify(bytes.toString('latin1'))
    // latin1 decoding turns each byte into one code unit: show bytes ≥ 0x7f as \xNN.
    .replace(/[\u007f-\u00ff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/(.)\1{40,}/g, (run, c: string) => `${c}…(×${run.length})…`);
  return text.length > max ? `${text.slice(0, max)}…(${bytes.length} bytes)` : text;
}
