// What reaches a provider and what bad input gets (issue 11, items 5, 8, 9 and 13): a gateway in front of
// an upstream of this file's own that records every request it gets, driven with raw requests.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { expectErrorShape, waitFor } from '../helpers/stack.js';

const clientKey = 'sk-client-request-validation';
const tightKey = 'sk-client-tpm-2000';

interface Recorded {
  path: string;
  /** Lower-case name → every value it came with, as latin1 text (the bytes as sent). */
  headers: Map<string, string[]>;
  body: Record<string, unknown>;
}

/** An OpenAI-compatible upstream that answers every POST with a small completion and keeps what it got. */
async function startRecorder(): Promise<{ server: Server; port: number; seen: Recorded[] }> {
  const seen: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = new Map<string, string[]>();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i].toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), req.rawHeaders[i + 1]]);
      }
      seen.push({ path: req.url ?? '', headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-rec', object: 'chat.completion', created: 0, model: 'recorded',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, seen };
}

interface ValidationStack {
  gateway: RunningGateway;
  base: string;
  dataDir: string;
  seen: Recorded[];
  /** POSTs JSON with the client key (unless `headers` names another authorization); the answer as status, headers and JSON. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; json: unknown }>;
  stop(): Promise<void>;
}

async function startValidationStack(providers: Array<Record<string, unknown>>, models: Array<Record<string, unknown>>): Promise<ValidationStack> {
  const root = mkdtempSync(join(tmpdir(), 'switchyard-validation-'));
  // Not created beforehand: the gateway creates it, with the mode it chooses.
  const dataDir = join(root, 'data');
  const recorder = await startRecorder();
  const closeRecorder = () => new Promise((resolve) => recorder.server.close(resolve));
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    data_dir: dataDir,
    providers: providers.map((p) => ({ base_url: `http://127.0.0.1:${recorder.port}/v1`, ...p })),
    models,
    auth: 'keys',
    keys: [
      { name: 'open', key: clientKey },
      { name: 'tight', key: tightKey, limits: { tpm: 2000 } },
    ],
  };
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(parseConfig(JSON.stringify(config), 'test'), { threads: 1 });
  } catch (err) {
    await closeRecorder();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const base = `http://127.0.0.1:${gateway.port}`;
  return {
    gateway,
    base,
    dataDir,
    seen: recorder.seen,
    async post(path, body, headers = {}) {
      const res = await request(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as unknown };
    },
    async stop() {
      await gateway.stop();
      await closeRecorder();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });

/** Sends one request as raw bytes (for header values no HTTP client would send) and returns status and body. */
function rawPost(port: number, path: string, headerLines: Buffer, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        Buffer.concat([
          Buffer.from(`POST ${path} HTTP/1.1\r\nhost: gw\r\nconnection: close\r\ncontent-type: application/json\r\n`),
          Buffer.from(`authorization: Bearer ${clientKey}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`),
          headerLines,
          Buffer.from(`\r\n${body}`),
        ]),
      );
    });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('default forwarding, validation and answers', () => {
  let stack: ValidationStack;
  before(async () => {
    stack = await startValidationStack(
      [{ name: 'up', api_key: 'sk-upstream-secret', headers: { 'X-Team': 'configured', 'OpenAI-Organization': 'org-gateway' } }],
      [{ name: 'gpt-4o-mini', provider: 'up' }],
    );
  });
  after(() => stack.stop());

  test('only allowlisted client headers reach the provider; configured headers and the provider key win, once each', async () => {
    const res = await stack.post('/v1/chat/completions', chat(), {
      forwarded: 'for=10.1.2.3;proto=https',
      'x-real-ip': '10.1.2.3',
      'true-client-ip': '10.1.2.3',
      'x-forwarded-host': 'internal.example',
      'x-forwarded-for': '10.1.2.3',
      'x-stainless-os': 'Linux',
      'x-stainless-retry-count': '0',
      'x-custom-user': 'alice@example.com',
      'user-agent': 'OpenAI/JS 4.77.0',
      cookie: 'session=1',
      'openai-organization': 'org-client',
      'x-team': 'from-client',
      'openai-beta': 'assistants=v2',
      'anthropic-beta': 'prompt-caching-2024-07-31',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=abc',
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const got = stack.seen.at(-1)?.headers;
    assert.ok(got);
    for (const name of ['forwarded', 'x-real-ip', 'true-client-ip', 'x-forwarded-host', 'x-forwarded-for', 'x-stainless-os', 'x-stainless-retry-count', 'x-custom-user', 'user-agent', 'cookie']) {
      assert.equal(got.get(name), undefined, `${name} reached the provider`);
    }
    assert.deepEqual(got.get('x-team'), ['configured']);
    assert.deepEqual(got.get('openai-organization'), ['org-gateway']);
    assert.deepEqual(got.get('authorization'), ['Bearer sk-upstream-secret']);
    assert.deepEqual(got.get('openai-beta'), ['assistants=v2']);
    assert.deepEqual(got.get('anthropic-beta'), ['prompt-caching-2024-07-31']);
    assert.deepEqual(got.get('traceparent'), ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);
    assert.deepEqual(got.get('tracestate'), ['vendor=abc']);
  });

  test('a forwarded header value with a control character → 400 invalid_header naming it, never a 502', async () => {
    const before = stack.seen.length;
    const res = await rawPost(stack.gateway.port, '/v1/chat/completions', Buffer.from('openai-beta: assistants\x7fv2\r\n'), JSON.stringify(chat()));
    assert.equal(res.status, 400, res.body);
    const error = expectErrorShape(JSON.parse(res.body)).error;
    assert.deepEqual([error.type, error.code, error.param], ['invalid_request_error', 'invalid_header', 'openai-beta']);
    // Bytes that are not UTF-8 arrive decoded to U+FFFD (uWS): they cannot be forwarded as sent.
    const latin1 = await rawPost(stack.gateway.port, '/v1/chat/completions', Buffer.from('openai-beta: caf\xe9-latte\r\n', 'latin1'), JSON.stringify(chat()));
    assert.equal(latin1.status, 400, latin1.body);
    assert.equal(expectErrorShape(JSON.parse(latin1.body)).error.code, 'invalid_header');
    assert.equal(stack.seen.length, before, 'nothing went upstream');
  });

  test('a UTF-8 header value reaches the provider as the bytes the client sent', async () => {
    // Inner ones: uWS drops bytes above 0x7f at either end of a value before the gateway sees it.
    const utf8 = Buffer.from('team-€-ü-1', 'utf8');
    const res = await rawPost(stack.gateway.port, '/v1/chat/completions', Buffer.concat([Buffer.from('openai-beta: '), utf8, Buffer.from('\r\n')]), JSON.stringify(chat()));
    assert.equal(res.status, 200, res.body);
    const value = stack.seen.at(-1)?.headers.get('openai-beta')?.[0] ?? '';
    assert.deepEqual(Buffer.from(value, 'latin1'), utf8);
  });

  test('max_tokens and max_completion_tokens are both validated: integers ≥ 1', async () => {
    const before = stack.seen.length;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ max_completion_tokens: 10, max_tokens: -1 }, 'max_tokens'],
      [{ max_completion_tokens: 10, max_tokens: '100' }, 'max_tokens'],
      [{ max_completion_tokens: 10, max_tokens: 1.5 }, 'max_tokens'],
      [{ max_completion_tokens: 10, max_tokens: 0 }, 'max_tokens'],
      [{ max_completion_tokens: 0 }, 'max_completion_tokens'],
      [{ max_completion_tokens: 2.5, max_tokens: 10 }, 'max_completion_tokens'],
      [{ max_tokens: -5 }, 'max_tokens'],
      [{ n: 0 }, 'n'],
      [{ n: '2' }, 'n'],
    ];
    for (const [extra, param] of cases) {
      const res = await stack.post('/v1/chat/completions', chat(extra));
      assert.equal(res.status, 400, `${JSON.stringify(extra)} → ${res.status}`);
      const error = expectErrorShape(res.json).error;
      assert.deepEqual([error.type, error.param, error.code], ['invalid_request_error', param, 'invalid_value'], JSON.stringify(extra));
    }
    assert.equal(stack.seen.length, before, 'none of them went upstream');
    const ok = await stack.post('/v1/chat/completions', chat({ max_completion_tokens: 10, max_tokens: 20, n: 2 }));
    assert.equal(ok.status, 200);
  });

  test('n and best_of count in token admission: n 100 × max_tokens 100 on a 2,000 TPM key → 429', async () => {
    const tight = { authorization: `Bearer ${tightKey}` };
    const before = stack.seen.length;
    const many = await stack.post('/v1/chat/completions', chat({ n: 100, max_tokens: 100 }), tight);
    assert.equal(many.status, 429, JSON.stringify(many.json));
    assert.equal(expectErrorShape(many.json).error.code, 'rate_limit_exceeded');
    const bestOf = await stack.post('/v1/completions', { model: 'gpt-4o-mini', prompt: 'hi', best_of: 20, n: 2, max_tokens: 100 }, tight);
    assert.equal(bestOf.status, 429, JSON.stringify(bestOf.json));
    assert.equal(stack.seen.length, before, 'neither went upstream');
    const one = await stack.post('/v1/chat/completions', chat({ n: 1, max_tokens: 100 }), tight);
    assert.equal(one.status, 200, JSON.stringify(one.json));
  });

  test('404 and 405 carry x-request-id, the client’s when it is sane', async () => {
    const unknown = await request(`${stack.base}/v1/nope`, { method: 'POST', headers: { 'x-request-id': 'req-404-a' }, body: '{}' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.headers['x-request-id'], 'req-404-a');
    assert.equal(expectErrorShape(await unknown.body.json()).error.code, 'unknown_url');
    const wrong = await request(`${stack.base}/v1/chat/completions`, { method: 'GET' });
    assert.equal(wrong.statusCode, 405);
    assert.match(String(wrong.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(wrong.headers.allow, 'POST');
    await wrong.body.text();
  });

  test('admin: a route parameter with malformed percent-encoding → 400 JSON, not 500', async () => {
    const res = await request(`http://127.0.0.1:${stack.gateway.adminPort}/admin/keys/%E0%A4%A`, {
      headers: { authorization: `Bearer ${stack.gateway.adminToken}` },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'application/json');
    const error = expectErrorShape(await res.body.json()).error;
    assert.deepEqual([error.type, error.code], ['invalid_request_error', 'invalid_url']);
  });

  test('the data dir and every directory under it are 0700, every file in it 0600', async () => {
    // A key written through the admin API puts limits/limits.json on disk; the requests above an audit file.
    const created = await request(`http://127.0.0.1:${stack.gateway.adminPort}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.gateway.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mode-check' }),
    });
    assert.equal(created.statusCode, 201);
    await created.body.text();
    const audit = join(stack.dataDir, 'audit');
    assert.ok(await waitFor(() => readdirSync(audit).some((n) => n.endsWith('.jsonl'))), 'an audit file was written');
    const modes: string[] = [];
    const walk = (path: string) => {
      const st = statSync(path);
      modes.push(`${path.slice(stack.dataDir.length) || '/'} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    };
    walk(stack.dataDir);
    for (const line of ['/ 700', '/audit 700', '/limits 700', '/admin.token 600', '/limits/limits.json 600']) {
      assert.ok(modes.includes(line), `${line} in ${modes.join(', ')}`);
    }
    const wider = modes.filter((line) => !line.endsWith(' 700') && !line.endsWith(' 600'));
    assert.deepEqual(wider, []);
    assert.ok(modes.some((line) => /^\/audit\/audit-.*\.jsonl 600$/.test(line)), modes.join(', '));
  });
});

describe('providers[].forward_headers', () => {
  let stack: ValidationStack;
  before(async () => {
    stack = await startValidationStack(
      [
        { name: 'custom', api_key: 'sk-custom', headers: { 'x-custom-team': 'configured' }, forward_headers: ['x-custom-*', 'user-agent'] },
        { name: 'closed', forward_headers: [] },
      ],
      [
        { name: 'gpt-4o-mini', provider: 'custom' },
        { name: 'closed-model', provider: 'closed' },
      ],
    );
  });
  after(() => stack.stop());

  const sent = {
    'x-custom-user': 'alice',
    'x-custom-team': 'from-client',
    'user-agent': 'OpenAI/JS 4.77.0',
    'openai-beta': 'assistants=v2',
    'x-stainless-os': 'Linux',
  };

  test('the list replaces the defaults, a trailing * forwards a prefix, configured headers still win', async () => {
    const res = await stack.post('/v1/chat/completions', chat(), sent);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const got = stack.seen.at(-1)?.headers;
    assert.ok(got);
    assert.deepEqual(got.get('x-custom-user'), ['alice']);
    assert.deepEqual(got.get('x-custom-team'), ['configured']);
    assert.deepEqual(got.get('user-agent'), ['OpenAI/JS 4.77.0']);
    assert.equal(got.get('openai-beta'), undefined, 'not in this provider’s list');
    assert.equal(got.get('x-stainless-os'), undefined);
  });

  test('an empty list forwards no client header, and a provider without api_key gets no authorization', async () => {
    const res = await stack.post('/v1/chat/completions', chat({ model: 'closed-model' }), { ...sent, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const got = stack.seen.at(-1)?.headers;
    assert.ok(got);
    assert.deepEqual(
      [...got.keys()].filter((name) => !['host', 'connection', 'content-length'].includes(name)).sort(),
      ['accept-encoding', 'content-type', 'x-request-id'],
    );
  });

  test('a prefix-forwarded header with an invalid value → 400 invalid_header', async () => {
    const res = await rawPost(stack.gateway.port, '/v1/chat/completions', Buffer.from('x-custom-note: a\x7fb\r\n'), JSON.stringify(chat()));
    assert.equal(res.status, 400, res.body);
    assert.deepEqual(
      [expectErrorShape(JSON.parse(res.body)).error.code, expectErrorShape(JSON.parse(res.body)).error.param],
      ['invalid_header', 'x-custom-note'],
    );
  });
});
