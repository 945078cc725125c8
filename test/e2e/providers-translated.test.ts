// The official openai SDK against models on Anthropic, Gemini and Bedrock providers: translated both ways.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { clientKey, multiProviders, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ threads: 1, extra: multiProviders });
});
after(() => stack.stop());

const tools: OpenAI.Chat.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Time', parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } } },
];

for (const model of ['claude', 'gemini', 'bedrock-claude']) {
  describe(`openai SDK → ${model}`, () => {
    test('whole answer with a system prompt and multi-turn history', async () => {
      const answer = await stack.client.chat.completions.create({
        model,
        max_tokens: 20,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
          { role: 'assistant', content: 'Hi! How can I help?' },
          { role: 'user', content: 'Tell me about trains.' },
        ],
      });
      assert.equal(answer.object, 'chat.completion');
      assert.ok((answer.choices[0].message.content ?? '').length > 0);
      assert.ok(['stop', 'length'].includes(answer.choices[0].finish_reason));
      assert.ok((answer.usage?.prompt_tokens ?? 0) > 0);
      assert.ok((answer.usage?.completion_tokens ?? 0) > 0);
      assert.equal(answer.usage?.total_tokens, (answer.usage?.prompt_tokens ?? 0) + (answer.usage?.completion_tokens ?? 0));
    });

    test('a stream ends with finish_reason, and usage only when asked', async () => {
      const stream = await stack.client.chat.completions.create({ model, max_tokens: 16, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Count' }] });
      let text = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.ok(text.length > 0);
      assert.ok(finish === 'stop' || finish === 'length');
      assert.ok((usage?.completion_tokens ?? 0) > 0);
    });

    test('a required tool call streams arguments that reassemble to valid JSON', async () => {
      const stream = await stack.client.chat.completions.create({
        model,
        max_tokens: 64,
        stream: true,
        tools: [tools[0]],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      });
      const args: string[] = [];
      let name = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
          if (call.function?.name) name = call.function.name;
          if (call.function?.arguments) args.push(call.function.arguments);
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(name, 'get_weather');
      assert.equal(typeof (JSON.parse(args.join('')) as { city?: unknown }).city, 'string');
      assert.equal(finish, 'tool_calls');
    });

    test('a tool result round trip is accepted', async () => {
      const answer = await stack.client.chat.completions.create({
        model,
        max_tokens: 16,
        tools,
        messages: [
          { role: 'user', content: 'Weather in Oslo?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 3}' },
        ],
        tool_choice: 'none',
      });
      assert.ok((answer.choices[0].message.content ?? '').length > 0);
    });

    test('an upstream 429 is an OpenAI RateLimitError with the retry headers', async () => {
      const faulty = new OpenAI({ baseURL: stack.baseURL, apiKey: clientKey, maxRetries: 0, defaultHeaders: { 'x-sim-fault': 'status-429' } });
      await assert.rejects(faulty.chat.completions.create({ model, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError);
        // Relayed from the provider's headers (Gemini's RetryInfo detail alone: test/unit/translate-gemini).
        assert.equal(err.headers?.get('retry-after'), '1');
        return true;
      });
    });

    // Gemini has candidateCount; Anthropic and Bedrock Converse answer one choice only.
    test('n > 1 is a 400 naming n', { skip: model === 'gemini' }, async () => {
      await assert.rejects(
        stack.client.chat.completions.create({ model, max_tokens: 4, n: 2, messages: [{ role: 'user', content: 'hi' }] }),
        (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'n',
      );
    });
  });
}

describe('provider-specific', () => {
  test('a gzip-encoded answer from a translated provider is refused with 502, streamed or not', async () => {
    const faulty = new OpenAI({ baseURL: stack.baseURL, apiKey: clientKey, maxRetries: 0, defaultHeaders: { 'x-sim-fault': 'gzip' } });
    for (const model of ['claude', 'gemini']) {
      for (const stream of [false, true]) {
        await assert.rejects(
          (async () => {
            const answer = await faulty.chat.completions.create({ model, max_tokens: 4, stream, messages: [{ role: 'user', content: 'hi' }] });
            if (stream) for await (const _ of answer as AsyncIterable<unknown>) void _;
          })(),
          (err: unknown) => err instanceof OpenAI.APIError && err.status === 502 && err.code === 'upstream_unsupported_encoding',
          `${model} stream=${stream}`,
        );
      }
    }
  });

  test('Anthropic 529 overloaded becomes 503 for an OpenAI client', async () => {
    const faulty = new OpenAI({ baseURL: stack.baseURL, apiKey: clientKey, maxRetries: 0, defaultHeaders: { 'x-sim-fault': 'status-529' } });
    await assert.rejects(faulty.chat.completions.create({ model: 'claude', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 503);
      return true;
    });
  });

  test('Gemini embeddings through the OpenAI SDK (base64 by default)', async () => {
    const result = await stack.client.embeddings.create({ model: 'gemini-embed', input: ['one', 'two'], dimensions: 8 });
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0].embedding.length, 8);
  });

  test('Anthropic has no embeddings: a 400', async () => {
    await assert.rejects(stack.client.embeddings.create({ model: 'claude', input: 'x' }), (err: unknown) => err instanceof OpenAI.BadRequestError);
  });

  test('the Gemini request carries the key header and the model in the path', async () => {
    stack.sim.reset();
    await stack.client.chat.completions.create({ model: 'gemini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    const seen = stack.sim.stats().last.at(-1)!;
    assert.equal(seen.path, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(seen.headers['x-goog-api-key'], 'gemini-key-test');
  });
});
