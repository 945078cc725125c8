// POST /v1/chat/completions/count_tokens through the gateway: exact o200k count with the tokenizer on
// (no guard runs, nothing is redacted, nothing reaches the provider, no tokens are charged), the key
// rules of any request, and an estimate flagged exact: false where no tokenizer runs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { TokenCounter } from '../../src/guards/tokenizer.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { stackConfigObject } from '../helpers/stack.js';

type Json = Record<string, unknown>;

const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Please build a bomb shelter plan and mail it to ann@example.org.' },
];

async function count(port: number, body: Json, key = 'sk-team-count-1'): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions/count_tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

const simRequests = (sim: RunningSimulator): number => sim.stats().requests;

describe('count_tokens', () => {
  let sim: RunningSimulator;
  let exact: RunningGateway;
  let estimate: RunningGateway;
  const dirs: string[] = [];

  const start = async (extra: Json): Promise<RunningGateway> => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-count-'));
    dirs.push(dir);
    const base = stackConfigObject(sim.port, dir, {
      extra: (port) => ({
        providers: [{ name: 'ant', type: 'anthropic', base_url: `http://127.0.0.1:${port}`, api_key: 'sk-ant' }],
        models: [{ name: 'claude', provider: 'ant', model: 'claude-sonnet-4-5' }],
      }),
    });
    const object = { ...base, ...extra };
    return startGateway(parseConfig(JSON.stringify(object), 'count-e2e'), { threads: 1 });
  };

  before(async () => {
    sim = await startSimulator();
    exact = await start({
      tokenizer: { enabled: true },
      guards: { prompt: [{ name: 'no-weapons', deny: ['\\bbuild\\b.*\\bbomb'] }] },
      pii: [{ name: 'default', detectors: { email: 'pseudonymize' } }],
      auth: 'keys',
      keys: [{ name: 'team', key: 'sk-team-count-1', models: ['gpt-4o-mini', 'claude'], limits: { rpm: 1000, tpm: 10 } }],
    });
    estimate = await start({});
  });

  after(async () => {
    await exact?.stop();
    await estimate?.stop();
    await sim?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('exact count of the prompt as sent: no guard, no redaction, no upstream call, no tokens charged', async () => {
    const before = simRequests(sim);
    const o200k = new TokenCounter('o200k_base');
    // OpenAI's chat framing: 3 per message + 3 reply priming.
    const expected = 2 * 3 + 3 + messages.reduce((n, m) => n + o200k.count(m.content).count, 0);
    // tpm is 10: a chat request of this size would be refused, a count is not (it spends no tokens).
    for (let i = 0; i < 3; i++) {
      const res = await count(exact.port, { model: 'gpt-4o-mini', messages });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { object: 'chat.completion.input_tokens', model: 'gpt-4o-mini', input_tokens: expected, exact: true });
      assert.ok(res.headers.get('x-request-id'));
      assert.equal(res.headers.get('x-ratelimit-limit-requests'), '1000', 'counted against request limits');
    }
    assert.equal(simRequests(sim), before, 'the provider was not called');

    // Audited like any request, with the answer as its response body (a "stream": true body included).
    const streamed = await count(exact.port, { model: 'gpt-4o-mini', messages, stream: true });
    assert.equal(streamed.status, 200);
    assert.equal(streamed.body.input_tokens, expected);
    let records: Array<{ request_id: string; operation: string; stream: boolean; response_body: Json | null }> = [];
    for (let i = 0; i < 50 && !records.some((r) => r.request_id === streamed.headers.get('x-request-id')); i++) {
      await new Promise((r) => setTimeout(r, 50));
      const res = await fetch(`http://127.0.0.1:${exact.adminPort}/admin/audit?limit=10&full=true`, { headers: { authorization: `Bearer ${exact.adminToken}` } });
      records = ((await res.json()) as { data: typeof records }).data;
    }
    const record = records.find((r) => r.request_id === streamed.headers.get('x-request-id'));
    assert.ok(record, 'the count request was audited');
    assert.equal(record.operation, 'chat.count_tokens');
    assert.equal(record.stream, false);
    assert.deepEqual(record.response_body, streamed.body);
  });

  test('a 100 KB prompt is counted exactly in the pool, from its bytes', async () => {
    const o200k = new TokenCounter('o200k_base');
    const long = 'Clause 7: the supplier shall deliver within thirty days of the written order, jane@example.com. '.repeat(1100);
    const large = [{ role: 'user', content: long }];
    const res = await count(exact.port, { model: 'gpt-4o-mini', messages: large });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual({ tokens: res.body.input_tokens, exact: res.body.exact }, { tokens: 3 + 3 + o200k.count(long).count, exact: true }, 'counted as sent: the email is not redacted first');
  });

  test('the rules of any request: key required, model allowed, body validated', async () => {
    assert.equal((await count(exact.port, { model: 'gpt-4o-mini', messages }, 'sk-wrong')).status, 401);
    const forbidden = await count(exact.port, { model: 'gpt-4o', messages });
    assert.equal(forbidden.status, 403);
    assert.equal((forbidden.body.error as Json).type, 'permission_error');
    const missing = await count(exact.port, { model: 'gpt-4o-mini' });
    assert.equal(missing.status, 400);
    assert.equal((missing.body.error as Json).param, 'messages');
    const unknown = await count(estimate.port, { model: 'no-such-model', messages });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body.error as Json).code, 'model_not_found');
    const get = await fetch(`http://127.0.0.1:${exact.port}/v1/chat/completions/count_tokens`);
    assert.equal(get.status, 405);
  });

  test("another family's model is counted with the default encoding and flagged exact: false; /v1/messages/count_tokens agrees", async () => {
    const before = simRequests(sim);
    const res = await count(exact.port, { model: 'claude', messages });
    assert.equal(res.status, 200);
    assert.equal(res.body.exact, false);
    assert.equal(typeof res.body.input_tokens, 'number');
    const anthropic = await fetch(`http://127.0.0.1:${exact.port}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-team-count-1', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude', system: 'You are terse.', messages: messages.slice(1) }),
    });
    assert.equal(anthropic.status, 200);
    assert.deepEqual(await anthropic.json(), { input_tokens: res.body.input_tokens });
    assert.equal(simRequests(sim), before, 'counted by the gateway, no upstream call');
  });

  test('without a tokenizer: the size estimate, flagged exact: false', async () => {
    const body = { model: 'gpt-4o-mini', messages };
    const res = await count(estimate.port, body);
    assert.equal(res.status, 200);
    assert.equal(res.body.exact, false);
    assert.equal(res.body.input_tokens, Math.ceil(Buffer.byteLength(JSON.stringify(body)) / 4));
  });
});
