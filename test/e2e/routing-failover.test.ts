// Failover through the gateway with the official OpenAI SDK as the client: across deployments of a
// group, across providers (an Anthropic deployment answering an OpenAI-format request), to fallback
// groups; streams retried only before their first byte; the attempts visible in headers and audit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { APIError } from 'openai';
import { clientKey, startStack, type Stack } from '../helpers/stack.js';

const user = (content: string) => [{ role: 'user' as const, content }];

function models(simPort: number) {
  return {
    providers: [{ name: 'anthropic', type: 'anthropic', base_url: `http://127.0.0.1:${simPort}`, api_key: 'sk-ant-test' }],
    models: [
      { name: 'claude', provider: 'anthropic', model: 'claude-sonnet-4-5' },
      {
        name: 'mixed',
        strategy: 'weighted',
        deployments: [
          { provider: 'sim', model: 'sim-fault-status-503', id: 'broken-openai' },
          { provider: 'anthropic', model: 'claude-sonnet-4-5', id: 'healthy-anthropic', priority: 2 },
        ],
      },
      { name: 'lonely', provider: 'sim', model: 'sim-fault-status-503', fallbacks: ['claude'] },
      {
        name: 'cut-stream',
        deployments: [
          { provider: 'sim', model: 'sim-fault-reset-after-2', id: 'cutter' },
          { provider: 'sim', model: 'gpt-4o-mini', id: 'spare', priority: 2 },
        ],
      },
      {
        name: 'headers-then-nothing',
        deployments: [
          { provider: 'sim', model: 'sim-fault-stall-headers', id: 'stalled', timeouts: { first_byte_ms: 300 } },
          { provider: 'sim', model: 'gpt-4o-mini', id: 'spare-2', priority: 2 },
        ],
      },
      { name: 'no-fallback-on-429', provider: 'sim', model: 'sim-fault-status-429', fallbacks: ['claude'], retry: { on: ['5xx'] } },
      {
        name: 'anthropic-first',
        deployments: [
          { provider: 'anthropic', model: 'sim-fault-status-529', id: 'overloaded-anthropic' },
          { provider: 'sim', model: 'gpt-4o-mini', id: 'openai-spare', priority: 2 },
        ],
      },
      {
        name: 'tools-somewhere',
        deployments: [
          { provider: 'sim', model: 'gpt-4o-mini', id: 'no-tools', supports: { tools: false } },
          { provider: 'sim', model: 'gpt-4o', id: 'with-tools', priority: 2 },
        ],
      },
    ],
  };
}

describe('failover', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ extra: models, config: { audit: { enabled: true } } });
  });
  after(() => stack?.stop());

  test('a failing deployment is replaced by the next tier, on another provider, unseen by the client', async () => {
    stack.sim.reset();
    const { data, response } = await stack.client.chat.completions.create({ model: 'mixed', messages: user('hello there') }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.ok((data.choices[0].message.content ?? '').length > 0);
    assert.equal(response.headers.get('x-switchyard-deployment'), 'healthy-anthropic');
    assert.equal(response.headers.get('x-switchyard-attempts'), '2');
    assert.equal(response.headers.get('x-switchyard-fallback'), null);
    const paths = stack.sim.stats().last.map((r) => r.path);
    assert.deepEqual(paths, ['/v1/chat/completions', '/v1/messages']);
    // The Anthropic deployment got an Anthropic request translated from the OpenAI one.
    const anthropic = stack.sim.stats().last[1].body as { model: string; messages: unknown[]; max_tokens: number };
    assert.equal(anthropic.model, 'claude-sonnet-4-5');
    assert.equal(typeof anthropic.max_tokens, 'number');
  });

  test('a group with nothing left falls back to another model, and says so', async () => {
    const { data, response } = await stack.client.chat.completions.create({ model: 'lonely', messages: user('hi') }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(response.headers.get('x-switchyard-fallback'), 'claude');
    assert.equal(response.headers.get('x-switchyard-deployment'), 'anthropic/claude-sonnet-4-5');
    assert.equal(response.headers.get('x-switchyard-attempts'), '2');
  });

  test('a stream whose first attempt fails before any byte is failed over and streams normally', async () => {
    const stream = await stack.client.chat.completions.create({ model: 'mixed', messages: user('stream please'), stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(text.length > 0);
    assert.equal(finish, 'stop');
  });

  test('a stream cut after its first bytes is not retried: the client gets the error', async () => {
    stack.sim.reset();
    const stream = await stack.client.chat.completions.create({ model: 'cut-stream', messages: user('stream please'), stream: true });
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) chunks++;
      })(),
      (err: unknown) => err instanceof Error,
    );
    assert.ok(chunks >= 1, 'content arrived before the cut');
    const models = stack.sim.stats().last.map((r) => (r.body as { model: string }).model);
    assert.deepEqual(models, ['sim-fault-reset-after-2'], 'the spare deployment was never asked');
  });

  test('an upstream that sends nothing before its first-byte timeout is failed over', async () => {
    const { data, response } = await stack.client.chat.completions.create({ model: 'headers-then-nothing', messages: user('hi') }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(response.headers.get('x-switchyard-deployment'), 'spare-2');
  });

  test('a failure kind left out of retry.on is relayed as it came, without trying the fallback', async () => {
    stack.sim.reset();
    const err = await stack.client.chat.completions.create({ model: 'no-fallback-on-429', messages: user('hi') }).then(
      () => assert.fail('succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof APIError);
    assert.equal(err.status, 429);
    assert.equal(err.headers?.get?.('x-switchyard-attempts') ?? (err.headers as Record<string, string> | undefined)?.['x-switchyard-attempts'], '1');
    assert.equal(stack.sim.stats().requests, 1);
  });

  test('an Anthropic client is failed over from an overloaded Anthropic deployment to an OpenAI one, whole and streamed', async () => {
    const anthropic = new Anthropic({ baseURL: stack.baseURL.replace(/\/v1$/, ''), apiKey: clientKey, maxRetries: 0 });
    const { data, response } = await anthropic.messages.create({ model: 'anthropic-first', max_tokens: 20, messages: user('hi') }).withResponse();
    assert.equal(data.type, 'message');
    assert.equal(data.content[0].type, 'text');
    assert.equal(response.headers.get('x-switchyard-deployment'), 'openai-spare');
    const stream = anthropic.messages.stream({ model: 'anthropic-first', max_tokens: 20, messages: user('stream it') });
    const final = await stream.finalMessage();
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.content.length > 0);
  });

  test('a deployment without a feature the request uses is skipped', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const withTools = await stack.client.chat.completions.create({ model: 'tools-somewhere', messages: user('hi'), tools }).withResponse();
    assert.equal(withTools.response.headers.get('x-switchyard-deployment'), 'with-tools');
    const plain = await stack.client.chat.completions.create({ model: 'tools-somewhere', messages: user('hi') }).withResponse();
    assert.equal(plain.response.headers.get('x-switchyard-deployment'), 'no-tools');
  });

  test('metrics count attempts per deployment and breaker transitions', async () => {
    const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/metrics`);
    const text = await res.text();
    assert.match(text, /switchyard_attempts_total\{deployment="broken-openai",outcome="failed"\} [1-9]/);
    assert.match(text, /switchyard_attempts_total\{deployment="healthy-anthropic",outcome="ok"\} [1-9]/);
    assert.match(text, /switchyard_fallbacks_total [1-9]/);
    assert.match(text, /switchyard_breaker_transitions_total\{deployment="sim\/sim-fault-status-503",to="open"\} [0-9]/);
    assert.match(text, /switchyard_deployment_in_flight\{deployment="anthropic\/claude-sonnet-4-5"\} 0/);
  });

  test('the audit record lists every attempt', async () => {
    const { response } = await stack.client.chat.completions.create({ model: 'mixed', messages: user('audited') }).withResponse();
    const id = response.headers.get('x-request-id');
    assert.ok(id);
    const record = await auditRecord(stack, id);
    const attempts = record.attempt_log as Array<Record<string, unknown>>;
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0].deployment, 'broken-openai');
    assert.equal(attempts[0].status, 503);
    assert.equal(attempts[0].outcome, 'failed');
    assert.equal(attempts[1].deployment, 'healthy-anthropic');
    assert.equal(attempts[1].status, 200);
    assert.equal(attempts[1].outcome, 'ok');
    assert.equal(typeof attempts[1].duration_ms, 'number');
  });
});

async function auditRecord(stack: Stack, requestId: string): Promise<Record<string, unknown>> {
  const gateway = stack.gateway;
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`http://127.0.0.1:${gateway.adminPort}/admin/audit?limit=1000&full=true`, {
      headers: { authorization: `Bearer ${gateway.adminToken}` },
    });
    const body = (await res.json()) as { records?: Array<Record<string, unknown>>; data?: Array<Record<string, unknown>> };
    const found = (body.records ?? body.data ?? []).find((r) => r.request_id === requestId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no audit record for ${requestId}`);
}
