// The official Anthropic SDK against Switchyard's /v1/messages, in front of every provider family.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { createAnthropic } from '@ai-sdk/anthropic';
import { generateText, streamText } from 'ai';
import { clientKey, multiProviders, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let client: Anthropic;

before(async () => {
  stack = await startStack({ threads: 1, extra: multiProviders });
  client = new Anthropic({ baseURL: stack.baseURL.replace(/\/v1$/, ''), apiKey: clientKey, maxRetries: 0 });
});
after(() => stack.stop());

const weather = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

function lastUpstream() {
  return stack.sim.stats().last.at(-1)!;
}

for (const model of ['gpt-4o-mini', 'claude', 'gemini', 'bedrock-claude']) {
  describe(`/v1/messages → ${model}`, () => {
    test('whole answer: text, stop_reason, usage', async () => {
      const message = await client.messages.create({ model, max_tokens: 32, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello there, how are you?' }] });
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      const text = message.content.find((b) => b.type === 'text');
      assert.ok(text && text.type === 'text' && text.text.length > 0);
      assert.ok(['end_turn', 'max_tokens'].includes(message.stop_reason ?? ''));
      assert.ok(message.usage.input_tokens > 0);
      assert.ok(message.usage.output_tokens > 0);
    });

    test('streamed: the SDK assembles the same kind of message from the events', async () => {
      const stream = client.messages.stream({ model, max_tokens: 24, messages: [{ role: 'user', content: 'Tell me a story' }] });
      const types: string[] = [];
      let startInput = -1;
      stream.on('streamEvent', (e) => {
        types.push(e.type);
        if (e.type === 'message_start') startInput = e.message.usage.input_tokens;
      });
      const message = await stream.finalMessage();
      assert.equal(types[0], 'message_start');
      assert.equal(types.at(-1), 'message_stop');
      assert.ok(types.includes('content_block_delta'));
      const text = message.content.find((b) => b.type === 'text');
      assert.ok(text && text.type === 'text' && text.text.length > 0);
      assert.ok(message.usage.output_tokens > 0);
      // Translated or forwarded, message_start already says how large the prompt is.
      assert.ok(startInput > 0, `message_start input_tokens ${startInput}`);
    });

    test('a forced tool call streams its input JSON and parses to an object', async () => {
      const stream = client.messages.stream({
        model,
        max_tokens: 64,
        tools: [weather],
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      });
      const message = await stream.finalMessage();
      const use = message.content.find((b) => b.type === 'tool_use');
      assert.ok(use && use.type === 'tool_use');
      assert.equal(use.name, 'get_weather');
      assert.equal(typeof (use.input as { city?: unknown }).city, 'string');
      assert.equal(message.stop_reason, 'tool_use');
    });
  });
}

describe('/v1/messages: pass-through and errors', () => {
  test('Anthropic → Anthropic forwards the client bytes, model renamed, with the provider key', async () => {
    stack.sim.reset();
    await client.messages.create({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'u-1' } });
    const seen = lastUpstream();
    assert.equal(seen.path, '/v1/messages');
    assert.equal(seen.headers['x-api-key'], 'sk-ant-test');
    assert.equal(typeof seen.headers['anthropic-version'], 'string');
    assert.deepEqual(seen.body, { model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'u-1' } });
  });

  test('x-api-key authenticates like Authorization: Bearer', async () => {
    const res = await fetch(`${stack.baseURL}/messages`, {
      method: 'POST',
      headers: { 'x-api-key': clientKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { type: string }).type, 'message');
  });

  test('an unknown model is a NotFoundError in Anthropic shape', async () => {
    await assert.rejects(client.messages.create({ model: 'nope', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.equal((err.error as { type: string }).type, 'error');
      return true;
    });
  });

  test('missing max_tokens is a 400 naming it', async () => {
    const res = await fetch(`${stack.baseURL}/messages`, {
      method: 'POST',
      headers: { 'x-api-key': clientKey, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /max_tokens/);
  });

  test('an upstream 529 from Anthropic reaches the Anthropic client as 529 overloaded_error', async () => {
    const faulty = new Anthropic({ baseURL: stack.baseURL.replace(/\/v1$/, ''), apiKey: clientKey, maxRetries: 0, defaultHeaders: { 'x-sim-fault': 'status-529' } });
    await assert.rejects(faulty.messages.create({ model: 'claude', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.equal(err.status, 529);
      assert.equal((err.error as { error: { type: string } }).error.type, 'overloaded_error');
      return true;
    });
  });

  test('an OpenAI provider 429 reaches the Anthropic client as rate_limit_error with retry headers', async () => {
    const faulty = new Anthropic({ baseURL: stack.baseURL.replace(/\/v1$/, ''), apiKey: clientKey, maxRetries: 0, defaultHeaders: { 'x-sim-fault': 'status-429' } });
    await assert.rejects(faulty.messages.create({ model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      assert.equal(err.headers?.get('retry-after'), '1');
      return true;
    });
  });

  test("the Vercel AI SDK's Anthropic provider works against any model through /v1/messages", async () => {
    const anthropicProvider = createAnthropic({ baseURL: stack.baseURL, apiKey: clientKey });
    for (const model of ['gpt-4o-mini', 'gemini']) {
      const whole = await generateText({ model: anthropicProvider(model), prompt: 'hi', maxOutputTokens: 16, maxRetries: 0 });
      assert.ok(whole.text.length > 0, model);
      assert.ok((whole.usage.outputTokens ?? 0) > 0, model);
      const streamed = streamText({ model: anthropicProvider(model), prompt: 'hi', maxOutputTokens: 16, maxRetries: 0 });
      assert.ok((await streamed.text).length > 0, model);
    }
  });

  test('count_tokens answers input_tokens', async () => {
    const counted = await client.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'How many tokens is this sentence?' }] });
    assert.ok(counted.input_tokens > 0);
  });

  test('models are listed in Anthropic shape for the Anthropic SDK', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.ok(ids.includes('claude'));
    assert.ok(ids.includes('gpt-4o-mini'));
    assert.equal(page.data[0].type, 'model');
  });
});
