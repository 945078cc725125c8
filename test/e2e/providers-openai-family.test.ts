// Azure OpenAI and the OpenAI-compatible presets through the real gateway, with the official openai SDK.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { clientKey, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

before(async () => {
  stack = await startStack({
    threads: 1,
    extra: (port) => {
      const origin = `http://127.0.0.1:${port}`;
      return {
        providers: [
          { name: 'azure', type: 'azure', base_url: origin, api_key: 'azure-key-test', api_version: '2024-10-21' },
          { name: 'azure-v1', type: 'azure', base_url: origin, api_key: 'azure-key-test', api_version: 'v1' },
          { name: 'deepseek', type: 'deepseek', base_url: `${origin}/v1`, api_key: 'sk-deepseek-test' },
        ],
        models: [
          { name: 'azure-gpt', provider: 'azure', model: 'gpt-4o-deployment' },
          { name: 'azure-embed', provider: 'azure', model: 'embed-deployment' },
          { name: 'azure-v1-gpt', provider: 'azure-v1', model: 'gpt-4o' },
          { name: 'deepseek-chat', provider: 'deepseek' },
          { name: 'deepseek-lenient', provider: 'deepseek', model: 'deepseek-chat', drop_unsupported: true },
          { name: 'deepseek-reasoner', provider: 'deepseek' },
        ],
      };
    },
  });
});

after(() => stack.stop());

function lastRequest() {
  const last = stack.sim.stats().last;
  return last[last.length - 1];
}

describe('azure', () => {
  test('a deployment path carries the deployment, the api-version and the api-key, never the bearer token', async () => {
    stack.sim.reset();
    const answer = await stack.client.chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: 'hello there' }] });
    assert.ok(answer.choices[0].message.content);
    const seen = lastRequest();
    assert.equal(seen.path, '/openai/deployments/gpt-4o-deployment/chat/completions');
    assert.equal(new URLSearchParams(seen.query).get('api-version'), '2024-10-21');
    assert.equal(seen.headers['api-key'], 'azure-key-test');
    assert.equal(seen.headers.authorization, undefined);
  });

  test('streams through the deployment path with usage metered and not shown unasked', async () => {
    const stream = await stack.client.chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let usageChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usageChunks++;
    }
    assert.ok(text.length > 0);
    assert.equal(usageChunks, 0);
  });

  test('the v1 path keeps the model in the body', async () => {
    stack.sim.reset();
    await stack.client.chat.completions.create({ model: 'azure-v1-gpt', messages: [{ role: 'user', content: 'hi' }] });
    const seen = lastRequest();
    assert.equal(seen.path, '/openai/v1/chat/completions');
    assert.equal((seen.body as { model: string }).model, 'gpt-4o');
  });

  test('embeddings go to the deployment', async () => {
    stack.sim.reset();
    const result = await stack.client.embeddings.create({ model: 'azure-embed', input: 'one', dimensions: 8 });
    assert.equal(result.data[0].embedding.length, 8);
    assert.equal(lastRequest().path, '/openai/deployments/embed-deployment/embeddings');
  });

  test("a content-filter refusal reaches the client as Azure's 400 with code content_filter", async () => {
    const client = new OpenAI({ baseURL: stack.baseURL, apiKey: clientKey, maxRetries: 0, defaultHeaders: { 'x-sim-azure-content-filter': 'prompt' } });
    await assert.rejects(
      client.chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'content_filter',
    );
  });
});

describe('presets', () => {
  test('a preset fills in its path and bearer key', async () => {
    stack.sim.reset();
    await stack.client.chat.completions.create({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'hi' }] });
    const seen = lastRequest();
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.headers.authorization, 'Bearer sk-deepseek-test');
  });

  test('a parameter the preset cannot honour is a 400 naming it', async () => {
    await assert.rejects(
      stack.client.chat.completions.create({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'hi' }], n: 2 }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'n' && /does not support 'n'/.test(err.message),
    );
  });

  test('with drop_unsupported the parameter is dropped and the request served', async () => {
    stack.sim.reset();
    const answer = await stack.client.chat.completions.create({ model: 'deepseek-lenient', messages: [{ role: 'user', content: 'hi' }], n: 2 });
    assert.equal(answer.choices.length, 1);
    assert.equal((lastRequest().body as { n: unknown }).n, null);
  });

  test("DeepSeek's reasoning_content reaches an OpenAI client as it is, with its reasoning tokens", async () => {
    const answer = await stack.client.chat.completions.create({ model: 'deepseek-reasoner', messages: [{ role: 'user', content: 'hi' }] });
    const message = answer.choices[0].message as { reasoning_content?: string; content: string | null };
    assert.ok((message.reasoning_content ?? '').length > 0);
    assert.ok((message.content ?? '').length > 0);
    assert.ok((answer.usage?.completion_tokens_details?.reasoning_tokens ?? 0) > 0);
  });

  test('…and an Anthropic client gets it as a thinking block, whole and streamed', async () => {
    const anthropic = new Anthropic({ baseURL: stack.baseURL.replace(/\/v1$/, ''), apiKey: clientKey, maxRetries: 0 });
    const whole = await anthropic.messages.create({ model: 'deepseek-reasoner', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(whole.content.map((b) => b.type), ['thinking', 'text']);
    const streamed = await anthropic.messages.stream({ model: 'deepseek-reasoner', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    assert.deepEqual(streamed.content.map((b) => b.type), ['thinking', 'text']);
    const thinking = streamed.content[0];
    assert.ok(thinking.type === 'thinking' && thinking.thinking === (whole.content[0] as { thinking: string }).thinking);
  });
});
