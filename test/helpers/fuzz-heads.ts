// Head cases: request lines and header blocks a client library would never send, each on a connection of its own.
import { chunkedBody, type Expectation, type FuzzCase, type FuzzRequest } from './fuzz-case.js';
import type { Rng } from './fuzz-prng.js';

export interface HeadContext {
  /** The gateway's port, for absolute-form targets. */
  port: number;
}

interface Base {
  method: string;
  target: string;
  /** Header lines after Host, as text. */
  headers: string[];
  body?: Buffer;
}

interface HeadDraft {
  note: string;
  writes: Buffer[];
  requests: FuzzRequest[];
  halfClose?: boolean;
}

type Maker = (rng: Rng, ctx: HeadContext) => HeadDraft;

const chatBody = (rng: Rng) =>
  Buffer.from(JSON.stringify({ model: rng.pick(['gpt-4o-mini', 'fast']), messages: [{ role: 'user', content: rng.text(4) }], max_tokens: rng.int(1, 8), stream: rng.chance(0.3) }));

/** A valid request of one of the gateway's common kinds, before any head mutation. */
function base(rng: Rng): Base {
  return rng.weighted<() => Base>([
    [3, () => ({ method: 'GET', target: '/v1/models', headers: [] })],
    [1, () => ({ method: 'GET', target: '/healthz', headers: [] })],
    [4, () => ({ method: 'POST', target: '/v1/chat/completions', headers: ['Content-Type: application/json'], body: chatBody(rng) })],
    [1, () => ({ method: 'POST', target: '/v1/embeddings', headers: ['Content-Type: application/json'], body: Buffer.from(JSON.stringify({ model: 'text-embedding-3-small', input: rng.text(3), dimensions: 4 })) })],
  ])();
}

interface Assembly {
  requestLine?: string;
  version?: string;
  /** Replaces the Host line; null drops it. */
  host?: string | null;
  /** Header lines added after the base ones. */
  extra?: string[];
  /** Line terminator of every head line. */
  eol?: string;
  /** Replaces the framing (content-length) line; null drops it. */
  framing?: string | null;
  /** Replaces the body bytes as sent. */
  rawBody?: Buffer;
}

function assemble(b: Base, a: Assembly = {}): Buffer {
  const eol = a.eol ?? '\r\n';
  const lines = [a.requestLine ?? `${b.method} ${b.target} ${a.version ?? 'HTTP/1.1'}`];
  if (a.host !== null) lines.push(a.host ?? 'Host: 127.0.0.1');
  lines.push(...b.headers);
  if (b.body !== undefined && a.framing !== null) lines.push(a.framing ?? `Content-Length: ${b.body.length}`);
  lines.push(...(a.extra ?? []));
  return Buffer.concat([Buffer.from(lines.join(eol) + eol + eol, 'latin1'), a.rawBody ?? b.body ?? Buffer.alloc(0)]);
}

const one = (b: Base, expect: Expectation): FuzzRequest[] => [{ isHead: b.method === 'HEAD', expect, dialect: 'openai' }];
const draft = (note: string, b: Base, bytes: Buffer, expect: Expectation): HeadDraft => ({ note, writes: [bytes], requests: one(b, expect) });

const casing = (name: string, rng: Rng) => [...name].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');

const headValid: Maker = (rng) => {
  const b = base(rng);
  const sep = rng.pick([': ', ':', ':   ', ':\t', ': \t ']);
  const trail = rng.pick(['', ' ', '\t', '  ']);
  b.headers = b.headers.map((h) => {
    const [name, value] = h.split(': ');
    return `${casing(name, rng)}${sep}${value}${trail}`;
  });
  const extra = rng.pick([[], ['Connection: keep-alive'], ['Connection: close'], ['User-Agent: fuzz/1.0', 'Accept: */*'], ['X-Empty:']]);
  return draft(`${b.method} ${b.target}, separator ${JSON.stringify(sep)}, trailing ${JSON.stringify(trail)}, ${extra.join(', ') || 'no extra header'}`, b, assemble(b, { host: `${casing('Host', rng)}${sep}127.0.0.1`, extra }), 'ok');
};

const http10: Maker = (rng) => {
  const b = base(rng);
  const host = rng.chance(0.5) ? undefined : null;
  const extra = rng.chance(0.5) ? ['Connection: keep-alive'] : [];
  return draft(`${b.method} ${b.target} HTTP/1.0${host === null ? ' without Host' : ''}${extra.length ? ', keep-alive' : ''}`, b, assemble(b, { version: 'HTTP/1.0', host, extra }), 'ok');
};

const versionMinor: Maker = (rng) => {
  const b = base(rng);
  const version = `HTTP/1.${rng.int(2, 9)}`;
  return draft(`${b.method} ${b.target} ${version}`, b, assemble(b, { version }), 'answer');
};

const garbageVersions = ['HTTP/2.0', 'HTTP/3.0', 'HTTP/0.9', 'HTTP/1', 'HTTP/1.1.1', 'http/1.1', 'HTTP/11', 'HTTP/1.x', 'HTTP/ 1.1', 'HTTPS/1.1', 'HTTP/1.01', 'HTTP/9.9', 'HTTP\\1.1', 'HTTP/-1.1', 'ICE/1.0'];

const versionGarbage: Maker = (rng) => {
  const b = base(rng);
  const version = rng.pick(garbageVersions);
  return draft(`${b.method} ${b.target} ${version}`, b, assemble(b, { version }), 'reject');
};

const headerNoColon: Maker = (rng) => {
  const b = base(rng);
  const line = rng.pick(['X-Fuzz value', 'X-Fuzz', 'just-a-token-line', 'X-Fuzz = value', 'X-Fuzz\tvalue']);
  return draft(`header line ${JSON.stringify(line)}`, b, assemble(b, { extra: [line] }), 'reject');
};

const invalidNames = ['X Fuzz: v', 'X-Fuzz : v', 'X-Fuzz\t: v', ': v', '(x): v', 'x@y: v', 'x"y: v', 'x\u0001y: v', 'x\u007fy: v', 'x\u00e9: v', 'x{}: v', 'x/y: v', 'x[]: v', 'x\u0000y: v'];

const headerNameInvalid: Maker = (rng) => {
  const b = base(rng);
  if (rng.chance(0.1)) {
    // Whitespace before the first header: reject, or ignore that line (RFC 9112 §2.2).
    return draft('whitespace-led line before the first header', b, assemble(b, { requestLine: `${b.method} ${b.target} HTTP/1.1\r\n X-Fuzz: v` }), 'answer');
  }
  const line = rng.pick(invalidNames);
  return draft(`header line ${JSON.stringify(line)}`, b, assemble(b, { extra: [line] }), 'reject');
};

const ctlValues = ['\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001b', '\u007f', '\r'];

/** CTLs in a field value: refuse, or replace (NUL, CR) / retain (others) — RFC 9110 §5.5. Either way, answered. */
const headerValueCtl: Maker = (rng) => {
  const b = base(rng);
  const ctl = rng.pick(ctlValues);
  const name = rng.pick(['X-Fuzz', 'User-Agent', 'Accept', 'X-Request-Id']);
  return draft(`${name} value with ${JSON.stringify(ctl)}`, b, assemble(b, { extra: [`${name}: a${ctl}b`] }), 'answer');
};

const headerFlood: Maker = (rng) => {
  const b = base(rng);
  const n = rng.pick([20, 40, 49, 50, 51, 60, 64, 100, 101, 128, 200, 500, 1000]);
  const extra = Array.from({ length: n }, (_, i) => `x-f${i}: ${i}`);
  // Up to 40 headers is an ordinary request; past that, serving it or a 431 are both right.
  return draft(`${n} extra headers (${extra.join('\r\n').length} bytes)`, b, assemble(b, { extra }), n <= 40 ? 'ok' : 'answer');
};

const tlsHello = Buffer.from('16030100a5010000a10303' + '00'.repeat(32) + '000004c02f00ff01000074', 'hex');

const requestLineGarbage: Maker = (rng) => {
  const b = base(rng);
  const printable = () => Array.from({ length: rng.int(1, 60) }, () => String.fromCharCode(rng.int(0x21, 0x7e))).join('');
  const binary = () => Buffer.from(Array.from({ length: rng.int(1, 60) }, () => rng.int(0, 255)));
  const variants: Array<() => [string, Buffer | string, Expectation]> = [
    () => ['random printable request line', printable(), 'reject'],
    () => ['random bytes as the head', binary(), 'reject'],
    () => ['TLS ClientHello', tlsHello, 'reject'],
    () => ['method only', 'GET', 'reject'],
    () => ['no HTTP version', `GET ${b.target}`, 'reject'],
    () => ['two spaces after the method', `GET  ${b.target} HTTP/1.1`, 'answer'],
    () => ['tabs as separators', `GET\t${b.target}\tHTTP/1.1`, 'answer'],
    () => ['text after the version', `GET ${b.target} HTTP/1.1 extra`, 'reject'],
    () => ['lower-case method', `get ${b.target} HTTP/1.1`, 'reject'],
    () => ['invalid character in the method', `G(T ${b.target} HTTP/1.1`, 'reject'],
    () => ['unknown method', `FOO ${b.target} HTTP/1.1`, 'reject'],
    () => ['space inside the target', 'GET /v1/mo dels HTTP/1.1', 'reject'],
    () => ['NUL inside the target', 'GET /v1/mo\u0000dels HTTP/1.1', 'reject'],
    () => ['target without a leading slash', 'GET v1/models HTTP/1.1', 'reject'],
    () => ['empty target', 'GET  HTTP/1.1', 'reject'],
    () => ['1000-character method', `${'G'.repeat(1000)} /v1/models HTTP/1.1`, 'reject'],
    () => ['non-ASCII bytes in the target', 'GET /v1/mod\u00e9ls HTTP/1.1', 'reject'],
  ];
  const [note, line, expect] = rng.pick(variants)();
  const get: Base = { method: 'GET', target: b.target, headers: [] };
  if (Buffer.isBuffer(line)) return { note, writes: [Buffer.concat([line, Buffer.from('\r\n\r\n')])], requests: one(get, expect) };
  return draft(note, get, assemble(get, { requestLine: line }), expect);
};

const leadingEmptyLine: Maker = (rng) => {
  const b = base(rng);
  const lead = rng.pick(['\r\n', '\r\n\r\n', '\n']);
  // A server SHOULD ignore at least one empty line before the request line (RFC 9112 §2.2).
  return draft(`${JSON.stringify(lead)} before the request line`, b, Buffer.concat([Buffer.from(lead), assemble(b)]), 'answer');
};

/** Obsolete line folding: refuse with 400 or replace each fold by SP (RFC 9112 §5.2). */
const obsFold: Maker = (rng) => {
  const b = base(rng);
  const fold = rng.pick(['\r\n ', '\r\n\t', '\r\n  \t ']);
  return draft(`X-Fuzz value folded with ${JSON.stringify(fold)}`, b, assemble(b, { extra: [`X-Fuzz: first${fold}second`] }), 'answer');
};

/** A recipient MAY accept a bare LF as a line end (RFC 9112 §2.2); refusing is right too. */
const bareLf: Maker = (rng) => {
  const b = base(rng);
  const how = rng.pick(['every line', 'the blank line only', 'one header line'] as const);
  if (how === 'every line') return draft('bare LF ends every head line', b, assemble(b, { eol: '\n' }), 'answer');
  const bytes = assemble(b);
  const text = bytes.toString('latin1');
  const at = how === 'the blank line only' ? text.indexOf('\r\n\r\n') + 2 : text.indexOf('\r\n');
  return draft(`bare LF on ${how}`, b, Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]), 'answer');
};

/** A bare CR must be refused or replaced by SP (RFC 9112 §2.2). */
const bareCr: Maker = (rng) => {
  const b = base(rng);
  return draft('bare CR ends one header line', b, assemble(b, { extra: ['X-A: 1\rX-B: 2'] }), 'answer');
};

/** A server MUST accept the absolute form (RFC 9112 §3.2.2). */
const absoluteForm: Maker = (rng, ctx) => {
  const b = base(rng);
  const own = rng.chance(0.75);
  const target = own ? `http://127.0.0.1:${ctx.port}${b.target}` : `http://example.com${b.target}`;
  const host = rng.pick(['Host: 127.0.0.1', `Host: 127.0.0.1:${ctx.port}`, 'Host: other.example']);
  return draft(`${b.method} ${target} with ${host}`, b, assemble(b, { requestLine: `${b.method} ${target} HTTP/1.1`, host }), own ? 'ok' : 'answer');
};

const otherForms: Maker = (rng) => {
  const get: Base = { method: 'GET', target: '/v1/models', headers: [] };
  const [note, line, expect] = rng.pick<[string, string, Expectation]>([
    ['OPTIONS *', 'OPTIONS * HTTP/1.1', 'answer'],
    ['CONNECT authority-form', 'CONNECT 127.0.0.1:443 HTTP/1.1', 'reject'],
    ['TRACE /', 'TRACE / HTTP/1.1', 'reject'],
    ['GET *', 'GET * HTTP/1.1', 'reject'],
  ]);
  return draft(note, get, assemble(get, { requestLine: line }), expect);
};

const oversizedHead: Maker = (rng) => {
  const b = base(rng);
  const size = rng.int(16 * 1024 + 1, 64 * 1024);
  const how = rng.pick(['one header value', 'many headers', 'request target'] as const);
  if (how === 'request target') {
    const target = `/v1/models/${'t'.repeat(size)}`;
    const get: Base = { method: 'GET', target, headers: [] };
    return draft(`request target of ${target.length} bytes`, get, assemble(get), 'reject');
  }
  if (how === 'one header value') return draft(`one ${size}-byte header value`, b, assemble(b, { extra: [`X-Big: ${'v'.repeat(size)}`] }), 'reject');
  // 40 headers: under any header-count limit, so only the size is over.
  const each = Math.ceil(size / 40);
  const extra = Array.from({ length: 40 }, (_, i) => `X-Big-${i}: ${'v'.repeat(each)}`);
  return draft(`${extra.length} headers, ${extra.join('\r\n').length} bytes of head`, b, assemble(b, { extra }), 'reject');
};

/** Pipelined requests: every answer, in order. */
const pipelined: Maker = (rng) => {
  const n = rng.int(2, 5);
  const parts: Buffer[] = [];
  const requests: FuzzRequest[] = [];
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.15)) {
      const bad: Base = { method: 'POST', target: '/v1/chat/completions', headers: ['Content-Type: application/json'], body: Buffer.from('{"model":') };
      parts.push(assemble(bad));
      requests.push({ isHead: false, expect: 'reject', dialect: 'openai' });
    } else {
      const b = base(rng);
      parts.push(assemble(b));
      requests.push({ isHead: false, expect: 'ok', dialect: 'openai' });
    }
  }
  const all = Buffer.concat(parts);
  const split = rng.chance(0.5);
  const at = rng.int(1, all.length - 1);
  return { note: `${n} pipelined requests (${requests.map((r) => r.expect).join(', ')})${split ? `, written in two pieces split at byte ${at}` : ', one write'}`, writes: split ? [all.subarray(0, at), all.subarray(at)] : [all], requests };
};

/** FIN right after a complete request: the answer must still come (RFC 9112 §9.6: the client may half-close). */
const halfClosed: Maker = (rng) => {
  const b = base(rng);
  const close = rng.chance(0.3) ? ['Connection: close'] : [];
  return { ...draft(`${b.method} ${b.target}${close.length ? ' with Connection: close' : ''}, then FIN`, b, assemble(b, { extra: close }), 'ok'), halfClose: true };
};

/** RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, with two, or with an invalid one. */
const hostHeader: Maker = (rng) => {
  const b = base(rng);
  const [note, assembly, expect] = rng.pick<[string, Assembly, Expectation]>([
    ['no Host header', { host: null }, 'reject'],
    ['two Host headers', { extra: ['Host: other.example'] }, 'reject'],
    ['Host with a space', { host: 'Host: a b' }, 'reject'],
    ['Host with @', { host: 'Host: user@127.0.0.1' }, 'reject'],
    ['empty Host', { host: 'Host:' }, 'answer'],
  ]);
  return draft(note, b, assemble(b, assembly), expect);
};

const postBase = (rng: Rng): Base & { body: Buffer } => ({ method: 'POST', target: '/v1/chat/completions', headers: ['Content-Type: application/json'], body: chatBody(rng) });

/** Smuggling-shaped lengths: RFC 9112 §6.3 makes an invalid Content-Length an unrecoverable error (400, close). */
const contentLengthInvalid: Maker = (rng) => {
  const b = postBase(rng);
  const n = b.body.length;
  const [note, framing, expect] = rng.pick<[string, string, Expectation]>([
    ['Content-Length: abc', 'Content-Length: abc', 'reject'],
    ['Content-Length: -1', 'Content-Length: -1', 'reject'],
    ['Content-Length: +N', `Content-Length: +${n}`, 'reject'],
    ['Content-Length in hex', `Content-Length: 0x${n.toString(16)}`, 'reject'],
    ['Content-Length: "N N"', `Content-Length: ${n} ${n}`, 'reject'],
    ['two different Content-Length values in one line', `Content-Length: ${n}, ${n + 1}`, 'reject'],
    ['two different Content-Length headers', `Content-Length: ${n}\r\nContent-Length: ${n - 1}`, 'reject'],
    ['empty Content-Length', 'Content-Length:', 'reject'],
    ['Content-Length of 20 digits', 'Content-Length: 99999999999999999999', 'reject'],
    ['the same Content-Length twice', `Content-Length: ${n}\r\nContent-Length: ${n}`, 'answer'],
    ['Content-Length: "N, N"', `Content-Length: ${n}, ${n}`, 'answer'],
    ['Content-Length with leading zeros', `Content-Length: 000${n}`, 'answer'],
  ]);
  return draft(note, b, assemble(b, { framing }), expect);
};

/** Transfer-Encoding: chunked must be last, or the length is unknowable (RFC 9112 §6.3: 400 and close). */
const transferEncoding: Maker = (rng) => {
  const b = postBase(rng);
  const n = b.body.length;
  const chunked = chunkedBody(b.body, [rng.int(1, n)]);
  const [note, framing, body, expect, version] = rng.pick<[string, string, Buffer, Expectation, string?]>([
    ['Transfer-Encoding: chunked and Content-Length', `Transfer-Encoding: chunked\r\nContent-Length: ${n}`, chunked, 'answer'],
    ['Content-Length then Transfer-Encoding: chunked', `Content-Length: 3\r\nTransfer-Encoding: chunked`, chunked, 'answer'],
    ['Transfer-Encoding: gzip', 'Transfer-Encoding: gzip', b.body, 'reject'],
    ['Transfer-Encoding: chunked, gzip', 'Transfer-Encoding: chunked, gzip', chunked, 'reject'],
    ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked', chunked, 'reject'],
    ['Transfer-Encoding: identity', 'Transfer-Encoding: identity', b.body, 'reject'],
    ['Transfer-Encoding: CHUNKED', 'Transfer-Encoding: CHUNKED', chunked, 'ok'],
    ['two Transfer-Encoding: chunked headers', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', chunked, 'answer'],
    ['chunk size zz', 'Transfer-Encoding: chunked', Buffer.from(`zz\r\n${b.body}\r\n0\r\n\r\n`), 'reject'],
    ['chunk size of 20 hex digits', 'Transfer-Encoding: chunked', Buffer.from(`ffffffffffffffffffff\r\n${b.body}\r\n0\r\n\r\n`), 'reject'],
    ['chunk size -1', 'Transfer-Encoding: chunked', Buffer.from(`-1\r\n${b.body}\r\n0\r\n\r\n`), 'reject'],
    ['chunk data without its CRLF', 'Transfer-Encoding: chunked', Buffer.from(`${n.toString(16)}\r\n${b.body}XX0\r\n\r\n`), 'reject'],
    ['chunk extension', 'Transfer-Encoding: chunked', Buffer.from(`${n.toString(16)};name=value\r\n${b.body}\r\n0\r\n\r\n`), 'ok'],
    ['trailer fields after the last chunk', 'Transfer-Encoding: chunked', Buffer.concat([chunked.subarray(0, chunked.length - 2), Buffer.from('X-Trailer: 1\r\n\r\n')]), 'ok'],
    ['Transfer-Encoding: chunked on HTTP/1.0', 'Transfer-Encoding: chunked', chunked, 'answer', 'HTTP/1.0'],
  ]);
  return draft(note, b, assemble(b, { framing, rawBody: body, version }), expect);
};

const expectContinue: Maker = (rng) => {
  const b = postBase(rng);
  const value = rng.pick(['100-continue', '100-Continue', 'something-else']);
  return draft(`Expect: ${value}, body sent at once`, b, assemble(b, { extra: [`Expect: ${value}`] }), value === 'something-else' ? 'answer' : 'ok');
};

/** Families with weights; every family appears at least once in a run of any size. */
export const headFamilies: ReadonlyArray<readonly [string, number, Maker]> = [
  ['head-valid', 4, headValid],
  ['http-1.0', 3, http10],
  ['version-minor', 1, versionMinor],
  ['version-garbage', 2, versionGarbage],
  ['header-no-colon', 2, headerNoColon],
  ['header-name-invalid', 2, headerNameInvalid],
  ['header-value-ctl', 2, headerValueCtl],
  ['header-flood', 2, headerFlood],
  ['request-line-garbage', 3, requestLineGarbage],
  ['leading-empty-line', 1, leadingEmptyLine],
  ['obs-fold', 1, obsFold],
  ['bare-lf', 2, bareLf],
  ['bare-cr', 1, bareCr],
  ['absolute-form', 2, absoluteForm],
  ['other-target-forms', 1, otherForms],
  ['oversized-head', 2, oversizedHead],
  ['pipelined', 3, pipelined],
  ['half-closed', 3, halfClosed],
  ['host-header', 2, hostHeader],
  ['content-length-invalid', 2, contentLengthInvalid],
  ['transfer-encoding', 3, transferEncoding],
  ['expect-continue', 1, expectContinue],
];

export function makeHeadCase(rng: Rng, index: number, ordinal: number, ctx: HeadContext): FuzzCase {
  const family = ordinal < headFamilies.length ? headFamilies[ordinal] : rng.weighted(headFamilies.map((f) => [f[1], f] as const));
  const d = family[2](rng, ctx);
  return { index, kind: 'head', family: family[0], note: d.note, writes: d.writes, requests: d.requests, halfClose: d.halfClose ?? false, fresh: true };
}
