// Metering and audit on translated and pass-through paths: the usage each client was told is the usage
// recorded, normalised (prompt tokens include cache reads and writes), with the dialects named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import { clientKey, multiProviders, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let anthropic: Anthropic;

before(async () => {
  stack = await startStack({ threads: 1, extra: multiProviders, config: { audit: { sinks: { file: { fsync_ms: 10 } } } } });
  anthropic = new Anthropic({ baseURL: stack.baseURL.replace(/\/v1$/, ''), apiKey: clientKey, maxRetries: 0 });
});
after(() => stack.stop());

async function auditRecord(requestId: string): Promise<AuditRecord> {
  let found: AuditRecord | undefined;
  const deadline = Date.now() + 5000;
  while (found === undefined && Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/admin/audit?limit=200&full=true`, { headers: { authorization: `Bearer ${stack.gateway.adminToken}` } });
    const records = ((await res.json()) as { data: AuditRecord[] }).data;
    found = records.find((r) => r.request_id === requestId);
    if (found === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(found, `audit record ${requestId}`);
  return found;
}

test('Anthropic → Anthropic (pass-through), with a cache write: usage normalised, request and answer as the client saw them', async () => {
  const id = 'meter-anthropic-1';
  const body = {
    model: 'claude',
    max_tokens: 12,
    system: [{ type: 'text' as const, text: 'You are a very long and cacheable system prompt.', cache_control: { type: 'ephemeral' as const } }],
    messages: [{ role: 'user' as const, content: 'hi' }],
  };
  const message = await anthropic.messages.create(body, { headers: { 'x-request-id': id } });
  const u = message.usage;
  assert.ok((u.cache_creation_input_tokens ?? 0) > 0, 'the simulator reports a cache write');
  const r = await auditRecord(id);
  assert.equal(r.client_dialect, 'anthropic-messages');
  assert.equal(r.provider_type, 'anthropic');
  assert.equal(r.usage?.prompt_tokens, u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0));
  assert.equal(r.usage?.cache_write_tokens, u.cache_creation_input_tokens);
  assert.equal(r.usage?.completion_tokens, u.output_tokens);
  assert.ok((r.cost_usd ?? 0) > 0, 'priced as claude-sonnet-4');
  assert.deepEqual(r.request_body, body);
  assert.equal((r.response_body as { type?: string }).type, 'message');
  assert.equal((r.response_body as { id?: string }).id, message.id);
});

test('Anthropic stream → Anthropic: the cumulative message_delta usage is recorded once', async () => {
  const id = 'meter-anthropic-2';
  const message = await anthropic.messages.stream({ model: 'claude', max_tokens: 20, messages: [{ role: 'user', content: 'count to ten' }] }, { headers: { 'x-request-id': id } }).finalMessage();
  const r = await auditRecord(id);
  assert.equal(r.usage?.completion_tokens, message.usage.output_tokens);
  assert.equal(r.usage?.prompt_tokens, message.usage.input_tokens + (message.usage.cache_creation_input_tokens ?? 0) + (message.usage.cache_read_input_tokens ?? 0));
});

test('Responses → OpenAI (pass-through stream): usage read from response.completed', async () => {
  const id = 'meter-responses-1';
  const stream = await stack.client.responses.create({ model: 'gpt-4o-mini', input: 'hello there', stream: true, max_output_tokens: 9 }, { headers: { 'x-request-id': id } });
  let usage: OpenAI.Responses.ResponseUsage | undefined;
  for await (const event of stream) if (event.type === 'response.completed' || event.type === 'response.incomplete') usage = event.response.usage ?? undefined;
  assert.ok(usage);
  const r = await auditRecord(id);
  assert.equal(r.client_dialect, 'openai-responses');
  assert.equal(r.usage?.prompt_tokens, usage.input_tokens);
  assert.equal(r.usage?.completion_tokens, usage.output_tokens);
});

for (const model of ['gemini', 'bedrock-claude']) {
  test(`OpenAI stream → ${model}: the usage chunk the client got is the usage recorded`, async () => {
    const id = `meter-${model}`;
    const stream = await stack.client.chat.completions.create(
      { model, max_tokens: 10, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'one two three' }] },
      { headers: { 'x-request-id': id } },
    );
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    assert.ok(usage);
    const r = await auditRecord(id);
    assert.equal(r.client_dialect, 'openai-chat');
    assert.equal(r.usage?.prompt_tokens, usage.prompt_tokens);
    assert.equal(r.usage?.completion_tokens, usage.completion_tokens);
    assert.equal(r.usage?.total_tokens, usage.total_tokens);
  });
}
