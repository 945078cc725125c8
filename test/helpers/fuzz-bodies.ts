// Body cases: valid requests for every endpoint and mutations of them, each with the answer it must get.
import { renderRequest, type Dialect, type Expectation, type FuzzCase, type HeaderLines } from './fuzz-case.js';
import { knownModels, type Json, type JsonObject, type PostEndpoint } from './fuzz-fields.js';
import type { Rng } from './fuzz-prng.js';

export interface BodyContext {
  /** The POST endpoints in play (the Anthropic one only when the gateway serves it). */
  post: readonly PostEndpoint[];
  weights: Readonly<Record<string, number>>;
  /** The gateway's server.max_body_bytes. */
  maxBodyBytes: number;
}

interface Draft {
  note: string;
  method: string;
  target: string;
  /** Undefined: no body and no framing headers. */
  body?: Buffer;
  /** null: no content-type header; undefined: application/json when there is a body. */
  contentType?: string | null;
  headers?: HeaderLines;
  expect: Expectation;
  dialect: Dialect;
  isHead?: boolean;
  /** Never send chunked (the case is about the length-framed body). */
  lengthOnly?: boolean;
}

type Maker = (rng: Rng, ep: PostEndpoint, ctx: BodyContext) => Draft;

const order: Record<Expectation, number> = { ok: 0, answer: 1, reject: 2 };
const worse = (a: Expectation, b: Expectation): Expectation => (order[b] > order[a] ? b : a);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What a body must get on `ep`: the worst of its fields' verdicts; unknown fields are the provider's. */
export function judgeBody(ep: PostEndpoint, body: unknown): Expectation {
  if (!isObj(body)) return 'reject';
  let verdict: Expectation = 'ok';
  for (const [key, spec] of Object.entries(ep.fields)) {
    const v = body[key];
    if (spec.required && (v === undefined || v === null)) return 'reject';
    if (v !== undefined) verdict = worse(verdict, spec.judge(v));
  }
  for (const key of Object.keys(body)) if (!(key in ep.fields)) verdict = worse(verdict, 'answer');
  return verdict;
}

const RAW = '__FUZZ_RAW__';
const RAW_JSON = `"${RAW}"`;

/** Serialises `body` with the value (or in-string marker) RAW replaced by raw bytes. */
function withRaw(body: JsonObject, raw: Buffer | string, inString = false): Buffer {
  const text = JSON.stringify(body);
  const marker = inString ? RAW : RAW_JSON;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`fuzz: marker missing in ${text.slice(0, 200)}`);
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.isBuffer(raw) ? raw : Buffer.from(raw), Buffer.from(text.slice(at + marker.length))]);
}

const post = (ep: PostEndpoint, note: string, body: Buffer | string, expect: Expectation, extra: Partial<Draft> = {}): Draft => ({
  note,
  method: 'POST',
  target: ep.path,
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  expect,
  dialect: ep.dialect,
  ...extra,
});

/** A string field to carry text (the first message's content, prompt or input), created when missing. */
function textSlot(ep: PostEndpoint, body: JsonObject): { holder: Record<string, Json>; key: string } {
  const slot = ep.textPath(body);
  if (slot) return slot;
  body.x_fuzz_text = 'text';
  return { holder: body, key: 'x_fuzz_text' };
}

const typedSamples: Json[] = [true, false, 0, -1, 1.5, 'str', '', [], [1, 'a'], {}, { a: 1 }, null];

const wrongType: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  const field = rng.pick(Object.keys(ep.fields));
  const current = body[field] ?? ep.fields[field].valid(rng);
  const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  const candidates = typedSamples.filter((v) => kind(v) !== kind(current));
  body[field] = rng.pick(candidates);
  return post(ep, `${field} = ${JSON.stringify(body[field])}`, JSON.stringify(body), judgeBody(ep, body));
};

const missingRequired: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  const required = Object.keys(ep.fields).filter((k) => ep.fields[k].required);
  const field = rng.pick(required);
  const how = rng.pick(['deleted', 'null', 'empty string']);
  if (how === 'deleted') delete body[field];
  else body[field] = how === 'null' ? null : '';
  return post(ep, `${field} ${how}`, JSON.stringify(body), judgeBody(ep, body));
};

/** Number literals as written in JSON text (some have no JS literal: 1e400 parses to Infinity). */
const numberLiterals = [
  '-1', '-0', '0', '1.5', '1.0', '1E2', '1e308', '-1e308', '1e400', '-1e400', '1e-400', '9007199254740993',
  '123456789012345678901234567890', '-9007199254740992', '0.0000001', '2147483648', '4294967296', '"16"', '"abc"', 'true', 'null',
];

const numberEdge: Maker = (rng, ep) => {
  const numeric = Object.keys(ep.fields).filter((k) => typeof ep.fields[k].valid(rng) === 'number');
  const body = ep.valid(rng);
  const field = rng.pick(numeric.length > 0 ? numeric : Object.keys(ep.fields));
  let literal = rng.pick(numberLiterals);
  // The simulator builds a vector of `dimensions` floats on its event loop: sizes that can be
  // allocated but not computed in time (2^31 takes it over a minute) would stall every case in flight.
  const n = Number(literal);
  if (field === 'dimensions' && Number.isInteger(n) && n > 65_536 && n <= 2 ** 32) literal = '65537';
  body[field] = RAW;
  const judged = { ...body, [field]: JSON.parse(literal) as Json };
  return post(ep, `${field} = ${literal}`, withRaw(body, literal), judgeBody(ep, judged));
};

const deepNesting: Maker = (rng, ep) => {
  const depth = rng.pick([32, 512, 5000, 50_000, 100_000]);
  const shape = rng.pick(['array', 'object', 'mixed'] as const);
  const open = shape === 'array' ? '[' : shape === 'object' ? '{"a":' : '[{"a":';
  const close = shape === 'array' ? ']' : shape === 'object' ? '}' : '}]';
  const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
  const body = ep.valid(rng);
  const where = rng.pick(['unknown field', 'model', 'text', 'tools', 'whole body'] as const);
  if (where === 'whole body') return post(ep, `the body is ${shape} nesting ${depth} deep`, nested, 'reject');
  let expect: Expectation;
  if (where === 'text') {
    const slot = textSlot(ep, body);
    slot.holder[slot.key] = RAW;
    expect = worse(judgeBody(ep, body), 'answer');
  } else {
    const key = where === 'unknown field' ? 'x_fuzz' : where;
    body[key] = RAW;
    // Any nested value there is either refused (model must be a string) or left to the provider.
    expect = key === 'model' ? 'reject' : 'answer';
  }
  return post(ep, `${shape} nesting ${depth} deep in ${where}`, withRaw(body, nested), expect);
};

const badUtf8 = [
  [0xff], [0xfe], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
  [0x80], [0xbf, 0x80], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3, 0x28],
].map((b) => Buffer.from(b));

/**
 * Invalid UTF-8 is not JSON text (RFC 8259 §8.1) and would reach the provider byte for byte while
 * the gateway's own stages saw U+FFFD: refused.
 */
const invalidUtf8: Maker = (rng, ep) => {
  const bytes = rng.pick(badUtf8);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const body = ep.valid(rng);
  const where = rng.pick(['text', 'model', 'key', 'unknown field', 'between tokens'] as const);
  if (where === 'between tokens') {
    const text = Buffer.from(JSON.stringify(body));
    return post(ep, `bytes ${hex} after the opening brace`, Buffer.concat([text.subarray(0, 1), bytes, text.subarray(1)]), 'reject');
  }
  if (where === 'key') body[`x_${RAW}`] = 1;
  else if (where === 'text') {
    const slot = textSlot(ep, body);
    slot.holder[slot.key] = `${String(slot.holder[slot.key]).slice(0, 8)}${RAW}tail`;
  } else body[where === 'model' ? 'model' : 'x_fuzz'] = `m${RAW}`;
  return post(ep, `bytes ${hex} inside a string (${where})`, withRaw(body, bytes, true), 'reject');
};

const truncated: Maker = (rng, ep) => {
  const text = Buffer.from(JSON.stringify(ep.valid(rng)));
  const cut = rng.chance(0.2) ? text.length - 1 : rng.int(1, text.length - 1);
  return post(ep, `cut at byte ${cut} of ${text.length}`, text.subarray(0, cut), 'reject');
};

const nonObject: Maker = (rng, ep) => {
  const valid = JSON.stringify(ep.valid(rng));
  const text = rng.pick(['[]', `[${valid}]`, '"gpt-4o-mini"', '123', '-0', 'null', 'true', 'false', '1e400', '""', '[{}]', '{}', ' \n\t ', '\u00a0{}']);
  return post(ep, `body ${JSON.stringify(text.slice(0, 40))}`, text, 'reject');
};

const syntaxEdits: ReadonlyArray<[string, (t: string) => string]> = [
  ['trailing comma', (t) => `${t.slice(0, -1)},}`],
  ['single-quoted key', (t) => t.replace('"model"', "'model'")],
  ['unquoted key', (t) => t.replace('"model"', 'model')],
  ['NaN value', (t) => `${t.slice(0, -1)},"temperature":NaN}`],
  ['Infinity value', (t) => `${t.slice(0, -1)},"temperature":-Infinity}`],
  ['undefined value', (t) => `${t.slice(0, -1)},"user":undefined}`],
  ['block comment', (t) => `{/*c*/${t.slice(1)}`],
  ['line comment', (t) => `{//c\n${t.slice(1)}`],
  ['missing colon', (t) => t.replace('"model":', '"model" ')],
  ['missing comma', (t) => t.replace(',"', ' "')],
  ['extra closing brace', (t) => `${t}}`],
  ['two objects', (t) => `${t}${t}`],
  ['raw newline in a string', (t) => t.replace('"model":"', '"model":"\n')],
  ['raw tab in a string', (t) => t.replace('"model":"', '"model":"\t')],
  ['raw NUL in a string', (t) => t.replace('"model":"', '"model":"\u0000')],
  ['invalid escape \\x41', (t) => t.replace('"model":"', '"model":"\\x41')],
  ['short unicode escape', (t) => t.replace('"model":"', '"model":"\\u12')],
  ['escaped single quote', (t) => t.replace('"model":"', '"model":"\\\'')],
  ['leading zero', (t) => `${t.slice(0, -1)},"seed":01}`],
  ['plus sign', (t) => `${t.slice(0, -1)},"seed":+1}`],
  ['bare fraction', (t) => `${t.slice(0, -1)},"temperature":.5}`],
  ['trailing dot', (t) => `${t.slice(0, -1)},"temperature":1.}`],
  ['hex number', (t) => `${t.slice(0, -1)},"seed":0x10}`],
  ['True literal', (t) => `${t.slice(0, -1)},"logprobs":True}`],
  ['nul literal', (t) => `${t.slice(0, -1)},"user":nul}`],
  ['unclosed string', (t) => `${t.slice(0, -1)},"user":"abc}`],
  ['missing closing brace', (t) => t.slice(0, -1)],
  ['array closed by a brace', (t) => t.replace(/\]/, '}')],
];

const syntaxError: Maker = (rng, ep) => {
  const text = JSON.stringify(ep.valid(rng));
  // An edit whose anchor the body lacks (no array to misclose) leaves it valid: pick another.
  for (;;) {
    const [name, edit] = rng.pick(syntaxEdits);
    const broken = edit(text);
    if (broken !== text) return post(ep, name, broken, 'reject');
  }
};

/** Duplicate keys: RFC 8259 leaves the meaning open, so refusing and last-wins are both fine — but consistently. */
const duplicateKeys: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  const text = JSON.stringify(body);
  const inner = text.slice(1, -1);
  const variants: Array<[string, string]> = [
    ['model: unknown first, valid last', `{"model":"no-such-model",${inner}}`],
    ['model: valid first, unknown last', `{${inner},"model":"no-such-model"}`],
    ['model: a simulator fault first, an alias last', `{"model":"sim-fault-status-500",${inner},"model":"fast"}`],
    ['model: an alias first, a simulator fault last', `{"model":"fast",${inner},"model":"sim-fault-status-500"}`],
    ['stream true then false', `{${inner},"stream":true,"stream":false}`],
    ['stream false then true', `{${inner},"stream":false,"stream":true}`],
    ['max_tokens string then number', `{"max_tokens":"abc",${inner},"max_tokens":5}`],
    ['the whole body twice', `{${inner},${inner}}`],
  ];
  const [note, dup] = rng.pick(variants);
  return post(ep, note, dup, 'answer');
};

const contentEscapes: ReadonlyArray<[string, Expectation]> = [
  ['\\u0000', 'ok'], ['\\u001f', 'ok'], ['\\u2028\\u2029', 'ok'], ['\\ud83d\\ude80', 'ok'], ['\\ufeff', 'ok'], ['\\uffff', 'ok'],
  ['\\u00e9', 'ok'], ['\\/', 'ok'], ['\\b\\f\\n\\r\\t', 'ok'], ['\\"\\\\', 'ok'],
  // Lone surrogates are JSON grammar but not Unicode text (I-JSON forbids them): the provider's call.
  ['\\ud800', 'answer'], ['\\udfff', 'answer'], ['\\udc00\\ud800', 'answer'],
];

const modelEscapes: Record<string, string> = { 'gpt-4o-mini': 'gpt\\u002d4o\\u002dmini', 'gpt-4o': '\\u0067pt-4o', fast: 'f\\u0061st', 'text-embedding-3-small': 'text\\u002dembedding-3-small' };

const unicodeEscapes: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  const verdict = judgeBody(ep, body);
  const how = rng.pick(['escaped key', 'escaped model', 'escaped stream key', 'content escape', 'raw UTF-8'] as const);
  if (how === 'escaped key') return post(ep, '"\\u006dodel" as the key', JSON.stringify(body).replace('"model":', '"\\u006dodel":'), verdict);
  if (how === 'escaped model') {
    const m = String(body.model);
    return post(ep, `model written ${modelEscapes[m]}`, JSON.stringify(body).replace(`"model":"${m}"`, `"model":"${modelEscapes[m] ?? m}"`), verdict);
  }
  if (how === 'escaped stream key' && 'stream' in ep.fields) {
    body.stream = true;
    delete body.stream_options;
    return post(ep, '"\\u0073tream":true', JSON.stringify(body).replace('"stream":', '"\\u0073tream":'), judgeBody(ep, body));
  }
  const slot = textSlot(ep, body);
  if (how === 'raw UTF-8') {
    slot.holder[slot.key] = `🚂 ${rng.pick(['日本語のテキスト', 'Ελληνικά', 'עִבְרִית', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇'])}`;
    return post(ep, 'raw non-ASCII UTF-8 text', JSON.stringify(body), judgeBody(ep, body));
  }
  const [escape, expect] = rng.pick(contentEscapes);
  slot.holder[slot.key] = `a${RAW}b`;
  return post(ep, `text with ${escape}`, withRaw(body, escape, true), worse(judgeBody(ep, { ...body }), expect));
};

const validEnvelope: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  const verdict = judgeBody(ep, body);
  const how = rng.pick(['pretty-printed', 'surrounding whitespace', 'query string', 'trailing slash', 'chunked in small pieces'] as const);
  const text = JSON.stringify(body);
  if (how === 'pretty-printed') return post(ep, how, JSON.stringify(body, null, rng.pick([1, 2, '\t'])), verdict);
  if (how === 'surrounding whitespace') return post(ep, how, ` \r\n\t${text}\n `, verdict);
  if (how === 'query string') {
    const query = rng.pick(['a=1', '', 'x=%zz', 'api-version=2024-02-01&b', 'a=1#frag']);
    return post(ep, how, text, query.includes('#') ? worse(verdict, 'answer') : verdict, { target: `${ep.path}?${query}` });
  }
  if (how === 'trailing slash') return post(ep, how, text, verdict, { target: `${ep.path}/` });
  return post(ep, how, text, verdict);
};

const emptyBody: Maker = (rng, ep) => post(ep, rng.pick(['content-length 0', 'empty chunked body']), Buffer.alloc(0), 'reject');

const contentTypes = [
  null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-8',
  'APPLICATION/JSON', 'application/json; charset=latin1', 'application/xml', '*/*', '', 'application/json, text/plain',
];

const contentType: Maker = (rng, ep) => {
  const ct = rng.pick(contentTypes);
  if (rng.chance(0.25)) {
    return post(ep, `invalid body (form fields) with content-type ${JSON.stringify(ct)}`, 'model=gpt-4o-mini&messages=hi', 'reject', { contentType: ct });
  }
  const body = ep.valid(rng);
  const verdict = judgeBody(ep, body);
  return post(ep, `content-type ${JSON.stringify(ct)}`, JSON.stringify(body), ct === 'application/json; charset=utf-8' ? verdict : worse(verdict, 'answer'), { contentType: ct });
};

const oversize: Maker = (rng, ep, ctx) => {
  const body = ep.valid(rng);
  const slot = textSlot(ep, body);
  slot.holder[slot.key] = 'x'.repeat(ctx.maxBodyBytes + rng.int(1, ctx.maxBodyBytes));
  return post(ep, `body over server.max_body_bytes (${ctx.maxBodyBytes})`, JSON.stringify(body), 'reject');
};

const largeValid: Maker = (rng, ep, ctx) => {
  const body = ep.valid(rng);
  const slot = textSlot(ep, body);
  slot.holder[slot.key] = rng.text(6).repeat(Math.floor(rng.int(ctx.maxBodyBytes >> 4, ctx.maxBodyBytes >> 2) / 40));
  return post(ep, `large text (${JSON.stringify(body).length} bytes)`, JSON.stringify(body), judgeBody(ep, body));
};

const streamFlags: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  const flag = rng.pick([true, false, null]);
  body.stream = flag;
  const options = rng.pick<Json | undefined>([undefined, { include_usage: true }, { include_usage: false }, {}, null]);
  if (options === undefined) delete body.stream_options;
  else body.stream_options = options;
  let verdict = judgeBody(ep, body);
  // stream_options without stream: true is refused by OpenAI; a gateway may also pass it on.
  if (flag !== true && options !== undefined && options !== null) verdict = worse(verdict, 'answer');
  // A stream flag on embeddings is not part of that API.
  if (ep.name === 'embeddings') verdict = worse(verdict, 'answer');
  return post(ep, `stream ${flag}, stream_options ${JSON.stringify(options)}`, JSON.stringify(body), verdict);
};

const unknownModel: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  body.model = rng.pick(['no-such-model', 'GPT-4O-MINI', ' gpt-4o-mini', 'gpt-4o-mini ', 'gpt-4o-mini\u0000', 'sim-fast', '../gpt-4o', '💥', 'x'.repeat(rng.int(100, 20_000))]);
  return post(ep, `model ${JSON.stringify(String(body.model).slice(0, 40))}`, JSON.stringify(body), judgeBody(ep, body));
};

const oddHeaders: Array<(rng: Rng) => [string, string]> = [
  () => ['x-request-id', ''],
  (rng) => ['x-request-id', 'r'.repeat(rng.int(200, 8000))],
  () => ['x-request-id', 'with spaces and "quotes" <tags>'],
  () => ['x-request-id', 'caf\u00e9\u00ff'],
  () => ['authorization', 'Bearer '],
  () => ['authorization', 'Basic Zm9vOmJhcg=='],
  () => ['authorization', 'garbage'],
  () => ['accept', 'text/event-stream'],
  () => ['accept', 'application/xml'],
  () => ['content-encoding', 'gzip'],
  () => ['x-forwarded-for', 'not-an-ip, , 999.1.1.1'],
  () => ['traceparent', '00-zzzz-yyyy-01'],
  () => ['traceparent', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`],
  () => ['tracestate', '='.repeat(600)],
  () => ['content-type', 'application/json'],
];

const requestHeaders: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  const header = rng.pick(oddHeaders)(rng);
  return post(ep, `header ${header[0]}: ${JSON.stringify(header[1].slice(0, 40))}`, JSON.stringify(body), worse(judgeBody(ep, body), 'answer'), { headers: [header] });
};

const getTargets: Array<(rng: Rng) => [string, Expectation]> = [
  () => ['/v1/models', 'ok'],
  () => ['/v1/models/', 'ok'],
  (rng) => [`/v1/models/${rng.pick([...knownModels])}`, 'ok'],
  (rng) => [`/v1/models/${encodeURIComponent(rng.pick([...knownModels])).replace(/-/g, '%2D')}`, 'ok'],
  () => ['/v1/models/no-such-model', 'reject'],
  () => ['/v1/models/%ZZ', 'reject'],
  () => ['/v1/models/%00', 'reject'],
  () => ['/v1/models/%E0%A4%A', 'reject'],
  () => ['/v1/models/gpt-4o-mini/extra', 'reject'],
  () => ['/v1/models/%F0%9F%92%A5', 'reject'],
  (rng) => [`/v1/models/${'m'.repeat(rng.int(1000, 8000))}`, 'reject'],
  () => ['/healthz', 'ok'],
  () => ['/readyz', 'ok'],
  () => ['/healthz/', 'ok'],
  () => ['/v1/models?limit=1', 'ok'],
];

const getEndpoints: Maker = (rng) => {
  const [target, expect] = rng.pick(getTargets)(rng);
  const head = expect === 'ok' && rng.chance(0.2);
  return { note: `${head ? 'HEAD' : 'GET'} ${target.slice(0, 60)}`, method: head ? 'HEAD' : 'GET', target, expect, dialect: 'openai', isHead: head };
};

const methodPath: Maker = (rng, ep) => {
  const body = JSON.stringify(ep.valid(rng));
  const how = rng.int(0, 5);
  if (how === 0) {
    const method = rng.pick(['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    return { ...post(ep, `${method} on a POST endpoint`, body, 'reject'), method, body: method === 'GET' && rng.chance(0.5) ? undefined : Buffer.from(body) };
  }
  if (how === 1) {
    const target = rng.pick(['/v1/models', '/healthz', '/readyz', '/v1/models/gpt-4o']);
    return post(ep, `POST on GET ${target}`, body, 'reject', { target, dialect: 'openai' });
  }
  if (how === 2) {
    const target = rng.pick(['/v1/chat', '/v2/chat/completions', `${ep.path}/extra`, '/', '/v1', '/V1/chat/completions', '/v1/chat%2Fcompletions', '/v1/responses/extra', '/%2e%2e/v1/chat/completions']);
    // Unknown paths under an endpoint answer in its dialect (an Anthropic SDK reads Anthropic's 404).
    return post(ep, `unknown path ${target}`, body, 'reject', { target, dialect: target.startsWith(`${ep.path}/`) ? ep.dialect : 'openai' });
  }
  if (how === 3) return post(ep, 'double slash', body, 'answer', { target: `/${ep.path}` });
  if (how === 4) {
    const target = `${ep.path.slice(0, 4)}%${ep.path.charCodeAt(4).toString(16)}${ep.path.slice(5)}`;
    return post(ep, 'percent-encoded unreserved character in the path', body, 'answer', { target });
  }
  return post(ep, 'fragment in the request target', body, 'answer', { target: `${ep.path}#frag` });
};

const valid: Maker = (rng, ep) => {
  const body = ep.valid(rng);
  return post(ep, 'valid', JSON.stringify(body), judgeBody(ep, body));
};

/** Families with their weights; every family appears at least once in a run of any size. */
export const bodyFamilies: ReadonlyArray<readonly [string, number, Maker]> = [
  ['valid', 20, valid],
  ['valid-envelope', 6, validEnvelope],
  ['large-valid', 1, largeValid],
  ['stream-flags', 5, streamFlags],
  ['wrong-type', 14, wrongType],
  ['missing-required', 5, missingRequired],
  ['number-edge', 10, numberEdge],
  ['unknown-model', 3, unknownModel],
  ['deep-nesting', 4, deepNesting],
  ['invalid-utf8', 5, invalidUtf8],
  ['truncated-json', 5, truncated],
  ['non-object-json', 3, nonObject],
  ['syntax-error', 5, syntaxError],
  ['duplicate-keys', 4, duplicateKeys],
  ['unicode-escapes', 5, unicodeEscapes],
  ['empty-body', 2, emptyBody],
  ['content-type', 4, contentType],
  ['oversize-body', 1, oversize],
  ['request-headers', 3, requestHeaders],
  ['method-path', 5, methodPath],
  ['get-endpoints', 6, getEndpoints],
];

export function makeBodyCase(rng: Rng, index: number, ordinal: number, ctx: BodyContext): FuzzCase {
  const family = ordinal < bodyFamilies.length ? bodyFamilies[ordinal] : rng.weighted(bodyFamilies.map((f) => [f[1], f] as const));
  const ep = rng.weighted(ctx.post.map((e) => [ctx.weights[e.name] ?? 1, e] as const));
  const draft = family[2](rng, ep, ctx);
  const headers: HeaderLines = [['authorization', 'Bearer sk-client-test']];
  if (draft.body !== undefined && draft.contentType !== null) headers.push(['content-type', draft.contentType ?? 'application/json']);
  if (draft.headers) headers.push(...draft.headers);
  const chunked = draft.body !== undefined && !draft.lengthOnly && (draft.note === 'chunked in small pieces' || draft.note === 'empty chunked body' || rng.chance(0.15));
  const chunkSizes = draft.note === 'chunked in small pieces' ? [1, 3, 7] : [rng.int(1, 4096)];
  const bytes = renderRequest({ method: draft.method, target: draft.target, headers, body: draft.body, chunked, chunkSizes });
  return {
    index,
    kind: 'body',
    family: family[0],
    note: `${draft.method} ${draft.target.slice(0, 50)}${draft.target.length > 50 ? '…' : ''}: ${draft.note}${chunked ? ' (chunked)' : ''}`,
    writes: [bytes],
    requests: [{ isHead: draft.isHead ?? false, expect: draft.expect, dialect: draft.dialect }],
    halfClose: false,
    fresh: false,
  };
}
