// The official OpenAI SDK against gateway → simulator: every endpoint, streaming and not, and what the upstream saw.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type OpenAI from 'openai';
import { clientKey, startStack, upstreamKey, type Stack } from '../helpers/stack.js';

let stack: Stack;
let client: OpenAI;

before(async () => {
  stack = await startStack();
  client = stack.client;
});
after(() => stack.stop());
beforeEach(() => stack.sim.reset());

const user = (content: string) => [{ role: 'user' as const, content }];

/** The most recent request the simulator received. */
function lastUpstream(): { path: string; headers: Readonly<Record<string, string>>; body: Record<string, unknown> } {
  const last = stack.sim.stats().last.at(-1);
  assert.ok(last, 'the simulator received no request');
  return { path: last.path, headers: last.headers, body: last.body as Record<string, unknown> };
}

describe('chat completions', () => {
  test('non-stream: content and usage come through', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('abcdefgh12') });
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.model, 'gpt-4o-mini');
    assert.equal(res.choices[0].finish_reason, 'stop');
    assert.equal((res.choices[0].message.content ?? '').trim().split(' ').length, 16);
    assert.deepEqual(
      { p: res.usage?.prompt_tokens, c: res.usage?.completion_tokens, t: res.usage?.total_tokens },
      { p: 3, c: 16, t: 19 },
    );
    const upstream = lastUpstream();
    assert.equal(upstream.path, '/v1/chat/completions');
    assert.equal(upstream.body.model, 'gpt-4o-mini');
  });

  test('stream without include_usage: no usage chunk reaches the client, but the upstream was asked for it', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 6 });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 3, `only ${chunks.length} chunks`);
    for (const chunk of chunks) {
      assert.ok(chunk.choices.length > 0, `a usage-only chunk reached the client: ${JSON.stringify(chunk)}`);
      assert.ok(!chunk.usage, `a chunk carries usage: ${JSON.stringify(chunk)}`);
    }
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text.trim().split(' ').length, 6);
    assert.equal(chunks.at(-1)?.choices[0].finish_reason, 'length');
    const upstream = lastUpstream();
    assert.equal(upstream.body.stream, true);
    assert.deepEqual(upstream.body.stream_options, { include_usage: true });
  });

  test('stream with include_usage: the usage chunk arrives last with the counts', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('abcdefgh12'),
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 5,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    assert.ok(last);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(
      { p: last.usage?.prompt_tokens, c: last.usage?.completion_tokens, t: last.usage?.total_tokens },
      { p: 3, c: 5, t: 8 },
    );
    assert.equal(chunks.filter((c) => c.usage).length, 1);
    assert.deepEqual(lastUpstream().body.stream_options, { include_usage: true });
  });

  test('tools, non-stream: the tool call comes back whole', async () => {
    const res = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: user('weather in Paris?'),
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } },
          },
        },
      ],
      tool_choice: 'auto',
    });
    const choice = res.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'sim', days: 1 });
    const upstream = lastUpstream();
    assert.deepEqual((upstream.body.tools as unknown[]).length, 1);
    assert.equal(upstream.body.tool_choice, 'auto');
  });

  test('tools, stream: the SDK accumulates the streamed tool call', async () => {
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      messages: user('weather in Paris?'),
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' }, days: { type: 'integer' } } },
          },
        },
      ],
    });
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'sim', unit: 'sim', days: 1 });
  });

  test('image parts are accepted and forwarded untouched', async () => {
    const content: OpenAI.ChatCompletionContentPart[] = [
      { type: 'text', text: 'what is in this image?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', detail: 'low' } },
    ];
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }] });
    assert.ok((res.choices[0].message.content ?? '').length > 0);
    const upstream = lastUpstream();
    assert.deepEqual(upstream.body.messages, [{ role: 'user', content }]);
  });

  test('model alias: the upstream sees the upstream model name, unknown top-level fields reach it untouched', async () => {
    const extra = { custom_field: { nested: [1, 'two', { model: 'not-this-one' }] }, another_unknown: 'x\u00e9\\"y' };
    const params = {
      model: 'fast',
      messages: [{ role: 'user' as const, content: 'a message mentioning "model": "gpt-4o"' }],
      ...extra,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming;
    const res = await client.chat.completions.create(params);
    assert.equal(res.model, 'sim-fast');
    const upstream = lastUpstream();
    assert.equal(upstream.body.model, 'sim-fast');
    assert.deepEqual(upstream.body.custom_field, extra.custom_field);
    assert.equal(upstream.body.another_unknown, extra.another_unknown);
    assert.deepEqual(upstream.body.messages, params.messages);
  });

  test('the upstream gets the provider key as authorization, never the client key', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
    const upstream = lastUpstream();
    assert.equal(upstream.headers.authorization, `Bearer ${upstreamKey}`);
    for (const [name, value] of Object.entries(upstream.headers)) {
      assert.ok(!value.includes(clientKey), `client key leaked upstream in header ${name}`);
    }
  });

  test("the client's OpenAI-Organization / OpenAI-Project (tied to its own key) are not sent with the provider key", async () => {
    // OpenAI answers 401 mismatched_organization when these do not belong to the key that is used.
    const scoped = new (client.constructor as typeof OpenAI)({
      baseURL: stack.baseURL,
      apiKey: clientKey,
      organization: 'org-client',
      project: 'proj_client',
      maxRetries: 0,
    });
    await scoped.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
    const upstream = lastUpstream();
    assert.equal(upstream.headers.authorization, `Bearer ${upstreamKey}`);
    assert.equal(upstream.headers['openai-organization'], undefined, 'client organization forwarded with the provider key');
    assert.equal(upstream.headers['openai-project'], undefined, 'client project forwarded with the provider key');
  });

  test('x-request-id: echoed and forwarded when given, generated otherwise', async () => {
    const given = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: user('hi') }, { headers: { 'x-request-id': 'req-test-123' } })
      .withResponse();
    assert.equal(given.response.headers.get('x-request-id'), 'req-test-123');
    assert.equal(lastUpstream().headers['x-request-id'], 'req-test-123');

    const generated = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') }).withResponse();
    const id = generated.response.headers.get('x-request-id');
    assert.ok(id && id.length >= 16, `no generated x-request-id: ${id}`);
    assert.notEqual(id, 'req-test-123');
    assert.equal(lastUpstream().headers['x-request-id'], id);

    const streamed = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: user('hi'), stream: true }, { headers: { 'x-request-id': 'req-stream-1' } })
      .withResponse();
    assert.equal(streamed.response.headers.get('x-request-id'), 'req-stream-1');
    for await (const _chunk of streamed.data) void _chunk;
  });

  test('an x-request-id that is not a plain token is replaced, never echoed or forwarded', async () => {
    const bad = 'evil\tvalue with spaces<script>';
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': bad },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }),
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-request-id');
    assert.ok(id && id !== bad && /^[\w.:-]+$/.test(id), `x-request-id ${id}`);
    assert.equal(lastUpstream().headers['x-request-id'], id);
  });

  test('stream_options.include_usage: false is treated like absent: usage asked upstream, not relayed', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('hi'),
      stream: true,
      stream_options: { include_usage: false },
      max_tokens: 3,
    });
    for await (const chunk of stream) assert.ok(chunk.choices.length > 0 && !chunk.usage, JSON.stringify(chunk));
    assert.deepEqual(lastUpstream().body.stream_options, { include_usage: true });
  });

  test('the upstream always gets content-type application/json (curl -d sends a form content-type)', async () => {
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }),
    });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(lastUpstream().headers['content-type'], 'application/json');
  });

  test('a large request body (2 MB) reaches the upstream intact', async () => {
    const content = 'lorem ipsum dolor sit amet, \u00e9\u00e8 \u2713 '.repeat(60_000);
    assert.ok(Buffer.byteLength(content) > 2_000_000);
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user(content) });
    assert.ok(res.usage && res.usage.prompt_tokens > 400_000);
    assert.equal((lastUpstream().body.messages as Array<{ content: string }>)[0].content, content);
  });

  test('a chunked request body (no content-length) is read whole', async () => {
    const body = JSON.stringify({ model: 'fast', messages: user('chunked upload'), max_tokens: 2 });
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          const bytes = new TextEncoder().encode(body);
          for (let i = 0; i < bytes.length; i += 10) controller.enqueue(bytes.slice(i, i + 10));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 200, await res.clone().text());
    const json = (await res.json()) as OpenAI.ChatCompletion;
    assert.equal(json.usage?.completion_tokens, 2);
    assert.equal(lastUpstream().body.model, 'sim-fast');
    assert.deepEqual(lastUpstream().body.messages, user('chunked upload'));
  });
});

describe('byte identity', () => {
  /** Same request, raw, to a base URL; returns the body with per-answer ids and timestamps normalised. */
  async function rawPost(base: string, body: unknown): Promise<{ status: number; text: string }> {
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}` },
      body: JSON.stringify(body),
    });
    const text = (await res.text()).replace(/"id":"[^"]*"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0');
    return { status: res.status, text };
  }

  test('a stream with include_usage is byte-identical direct and through the gateway', async () => {
    const body = { model: 'gpt-4o-mini', messages: user('hello there'), stream: true, stream_options: { include_usage: true }, max_tokens: 9 };
    const direct = await rawPost(stack.simURL, body);
    const proxied = await rawPost(stack.baseURL, body);
    assert.equal(direct.status, 200);
    assert.equal(proxied.status, 200);
    assert.ok(direct.text.endsWith('data: [DONE]\n\n'));
    assert.equal(proxied.text, direct.text);
  });

  test('a stream without include_usage is the upstream stream minus its usage chunk and the usage fields asked for it', async () => {
    const body = { model: 'gpt-4o-mini', messages: user('hello there'), stream: true, max_tokens: 9 };
    // The gateway asks the upstream for usage, so what the upstream sends is the include_usage stream.
    const direct = await rawPost(stack.simURL, { ...body, stream_options: { include_usage: true } });
    const proxied = await rawPost(stack.baseURL, body);
    const events = direct.text.split(/(?<=\n\n)/);
    const usageEvents = events.filter((e) => e.includes('"choices":[]'));
    assert.equal(usageEvents.length, 1);
    assert.ok(events.filter((e) => !e.includes('"choices":[]') && e.startsWith('data: {')).every((e) => e.includes(',"usage":null')));
    const expected = events.filter((e) => !e.includes('"choices":[]')).map((e) => e.replace(',"usage":null', ''));
    assert.equal(proxied.text, expected.join(''));
    // …which is exactly what the upstream sends a client that never asked for usage.
    assert.equal(proxied.text, (await rawPost(stack.simURL, body)).text);
  });

  test('a non-stream body is byte-identical direct and through the gateway', async () => {
    const body = { model: 'gpt-4o-mini', messages: user('hello there'), max_tokens: 9, temperature: 0.5 };
    const direct = await rawPost(stack.simURL, body);
    const proxied = await rawPost(stack.baseURL, body);
    assert.equal(proxied.status, 200);
    assert.equal(proxied.text, direct.text);
  });
});

describe('legacy completions', () => {
  test('non-stream', async () => {
    const res = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'Say this is a test', max_tokens: 7 });
    assert.equal(res.object, 'text_completion');
    assert.equal(res.choices[0].text.trim().split(' ').length, 7);
    assert.equal(res.choices[0].finish_reason, 'length');
    assert.equal(res.usage?.completion_tokens, 7);
    assert.equal(lastUpstream().path, '/v1/completions');
  });

  test('stream: text arrives in chunks, no usage chunk unless asked', async () => {
    const stream = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'Say this is a test', max_tokens: 7, stream: true });
    const chunks: OpenAI.Completion[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 7);
    for (const chunk of chunks) assert.ok(chunk.choices.length > 0, 'usage-only chunk reached the client');
    assert.equal(chunks.map((c) => c.choices[0].text).join('').trim().split(' ').length, 7);
    assert.deepEqual(lastUpstream().body.stream_options, { include_usage: true });

    const withUsage = await client.completions.create({
      model: 'gpt-4o-mini',
      prompt: 'Say this is a test',
      max_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of withUsage) if (chunk.usage) usage = chunk.usage;
    assert.equal(usage?.completion_tokens, 7);
  });
});

describe('embeddings', () => {
  test('float and the SDK default (base64) decode to the same vector', async () => {
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float' });
    assert.equal(lastUpstream().body.encoding_format, 'float');
    const vector = floats.data[0].embedding;
    assert.equal(vector.length, 1536);
    assert.ok(vector.every((v) => typeof v === 'number' && Number.isFinite(v)));

    const defaulted = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    assert.equal(lastUpstream().body.encoding_format, 'base64');
    assert.deepEqual(defaulted.data[0].embedding, vector);
    assert.ok((defaulted.usage?.prompt_tokens ?? 0) > 0);
    assert.equal(lastUpstream().path, '/v1/embeddings');
  });

  test('several inputs give one embedding each', async () => {
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b', 'c'], dimensions: 8 });
    assert.equal(res.data.length, 3);
    assert.deepEqual(res.data.map((d) => d.index), [0, 1, 2]);
  });
});

describe('models', () => {
  test('models.list() lists the configured client-facing names, answered by the gateway', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids.sort(), ['fast', 'gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small']);
    assert.equal(stack.sim.stats().requests, 0);
  });

  test('models.retrieve() returns one model', async () => {
    const model = await client.models.retrieve('fast');
    assert.equal(model.id, 'fast');
    assert.equal(model.object, 'model');
    assert.equal(model.owned_by, 'sim');
  });
});

describe('health', () => {
  test('/healthz and /readyz answer 200', async () => {
    const origin = stack.baseURL.replace(/\/v1$/, '');
    const health = await fetch(`${origin}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${origin}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });
});
