// The simulator seen through the real OpenAI SDK: chat, streaming, tools, images, completions, embeddings, models.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

let sim: RunningSimulator;
let client: OpenAI;

before(async () => {
  sim = await startSimulator();
  client = new OpenAI({ baseURL: `http://127.0.0.1:${sim.port}/v1`, apiKey: 'x', maxRetries: 0 });
});
after(() => sim.close());
beforeEach(() => sim.reset());

const words = (text: string): number => text.split(' ').filter((w) => w !== '').length;
const user = (content: string) => [{ role: 'user' as const, content }];

describe('chat completions', () => {
  test('non-stream answers completion_tokens words with usage and finish_reason stop', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('abcdefgh12') });
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.model, 'gpt-4o-mini');
    const choice = res.choices[0];
    assert.equal(choice.finish_reason, 'stop');
    assert.equal(choice.message.role, 'assistant');
    assert.equal(words(choice.message.content ?? ''), 16);
    assert.deepEqual(
      { p: res.usage?.prompt_tokens, c: res.usage?.completion_tokens, t: res.usage?.total_tokens },
      { p: 3, c: 16, t: 19 },
    );
  });

  test('max_tokens and max_completion_tokens cut the answer with finish_reason length', async () => {
    const cut = await client.chat.completions.create({ model: 'm', messages: user('hi'), max_tokens: 5 });
    assert.equal(cut.choices[0].finish_reason, 'length');
    assert.equal(words(cut.choices[0].message.content ?? ''), 5);
    assert.equal(cut.usage?.completion_tokens, 5);
    const cut2 = await client.chat.completions.create({ model: 'm', messages: user('hi'), max_completion_tokens: 3 });
    assert.equal(cut2.usage?.completion_tokens, 3);
    const roomy = await client.chat.completions.create({ model: 'm', messages: user('hi'), max_tokens: 100 });
    assert.equal(roomy.choices[0].finish_reason, 'stop');
    assert.equal(roomy.usage?.completion_tokens, 16);
  });

  test('x-sim-completion-tokens and sim-len-<n> set the answer length', async () => {
    const byHeader = await client.chat.completions.create(
      { model: 'm', messages: user('hi') },
      { headers: { 'x-sim-completion-tokens': '7' } },
    );
    assert.equal(byHeader.usage?.completion_tokens, 7);
    const byModel = await client.chat.completions.create({ model: 'sim-len-4', messages: user('hi') });
    assert.equal(words(byModel.choices[0].message.content ?? ''), 4);
  });

  test('stream without include_usage: role chunk, content chunks, finish chunk, no usage chunk', async () => {
    const stream = await client.chat.completions.create({ model: 'm', messages: user('hi'), stream: true, max_tokens: 6 });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
    const content = chunks.slice(1, -1).map((c) => c.choices[0].delta.content ?? '');
    assert.equal(content.length, 6);
    assert.ok(content.every((piece) => words(piece) === 1));
    const last = chunks[chunks.length - 1];
    assert.equal(last.choices[0].finish_reason, 'length');
    assert.deepEqual(last.choices[0].delta, {});
    assert.ok(chunks.every((c) => c.usage == null && c.choices.length === 1));
  });

  test('stream with include_usage ends with a usage chunk whose counts add up', async () => {
    const stream = await client.chat.completions.create(
      { model: 'm', messages: user('12345678'), stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-sim-chunk-tokens': '3' } },
    );
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const usageChunk = chunks[chunks.length - 1];
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage?.prompt_tokens, 2);
    assert.equal(usageChunk.usage?.completion_tokens, 16);
    assert.equal(usageChunk.usage?.total_tokens, 18);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(words(text), 16);
    // 16 tokens in chunks of 3: six content chunks, the last with one token.
    const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '');
    assert.deepEqual(contentChunks.map((c) => words(c.choices[0].delta.content ?? '')), [3, 3, 3, 3, 3, 1]);
    assert.equal(chunks[chunks.length - 2].choices[0].finish_reason, 'stop');
  });

  test('image_url parts are accepted and only text parts count as prompt', async () => {
    const res = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'describe this picture please' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    assert.equal(res.usage?.prompt_tokens, Math.ceil('describe this picture please'.length / 4));
    assert.equal(res.choices[0].finish_reason, 'stop');
  });

  test('records the authorization header and parsed body it received', async () => {
    await client.chat.completions.create({ model: 'gpt-4o', messages: user('remember me'), temperature: 0.5 });
    const stats = sim.stats();
    assert.equal(stats.requests, 1);
    assert.equal(stats.completed, 1);
    assert.equal(stats.byPath['/v1/chat/completions'], 1);
    const [last] = stats.last;
    assert.equal(last.path, '/v1/chat/completions');
    assert.equal(last.headers.authorization, 'Bearer x');
    assert.deepEqual(last.body, { model: 'gpt-4o', messages: user('remember me'), temperature: 0.5 });
  });
});

describe('tools', () => {
  const tools = [
    {
      type: 'function' as const,
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, metric: { type: 'boolean' } } },
      },
    },
    { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
  ];

  test('non-stream: one call to the first tool with schema-shaped arguments', async () => {
    const res = await client.chat.completions.create({ model: 'm', messages: user('weather?'), tools });
    const choice = res.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'sim', days: 1, metric: true });
  });

  test('tool_choice picks the named tool; "none" answers with text', async () => {
    const named = await client.chat.completions.create({
      model: 'm',
      messages: user('time?'),
      tools,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const call = named.choices[0].message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_time');
    assert.equal(call.function.arguments, '{}');
    const none = await client.chat.completions.create({ model: 'm', messages: user('hi'), tools, tool_choice: 'none' });
    assert.equal(none.choices[0].finish_reason, 'stop');
    assert.equal(none.choices[0].message.tool_calls, undefined);
  });

  test('stream: the SDK accumulates the same tool call from the deltas', async () => {
    const runner = client.chat.completions.stream({ model: 'm', messages: user('weather?'), tools, stream_options: { include_usage: true } });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.match(call.id, /^call_sim_\d+$/);
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'sim', days: 1, metric: true });
    assert.ok((final.usage?.completion_tokens ?? 0) > 1);
  });
});

describe('legacy completions', () => {
  test('non-stream text_completion', async () => {
    const res = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'once upon a time', max_tokens: 4 });
    assert.equal(res.object, 'text_completion');
    assert.equal(words(res.choices[0].text), 4);
    assert.equal(res.choices[0].finish_reason, 'length');
    assert.deepEqual([res.usage?.prompt_tokens, res.usage?.completion_tokens], [4, 4]);
  });

  test('stream with include_usage', async () => {
    const stream = await client.completions.create({
      model: 'm',
      prompt: ['ab', 'cd'],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      if (chunk.choices.length > 0) {
        text += chunk.choices[0].text;
        finishes.push(chunk.choices[0].finish_reason);
      } else usage = chunk.usage;
    }
    assert.equal(words(text), 16);
    assert.equal(finishes[finishes.length - 1], 'stop');
    assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens, usage?.total_tokens], [1, 16, 17]);
  });
});

describe('embeddings and models', () => {
  test('float and SDK-default base64 give the same deterministic vectors', async () => {
    const float = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float' });
    const viaBase64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    assert.equal(sim.stats().last[1].headers['content-type'], 'application/json');
    assert.equal((sim.stats().last[1].body as { encoding_format?: string }).encoding_format, 'base64');
    assert.equal(float.data[0].embedding.length, 1536);
    assert.deepEqual(Array.from(viaBase64.data[0].embedding), float.data[0].embedding);
    assert.ok(float.data[0].embedding.some((v) => v !== 0));
    assert.equal(float.usage.prompt_tokens, 2);
  });

  test('arrays of inputs and dimensions', async () => {
    const res = await client.embeddings.create({ model: 'e', input: ['one', 'two', 'one'], dimensions: 8, encoding_format: 'float' });
    assert.deepEqual(res.data.map((d) => d.index), [0, 1, 2]);
    assert.ok(res.data.every((d) => d.embedding.length === 8));
    assert.deepEqual(res.data[0].embedding, res.data[2].embedding);
    assert.notDeepEqual(res.data[0].embedding, res.data[1].embedding);
  });

  /** POSTs a raw embeddings body; the status and, for an error, its param. */
  async function embed(body: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${sim.port}/v1/embeddings`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const json = (await res.json()) as { error?: { type: string; param: string | null } };
    return json.error ? `${res.status} ${json.error.type} ${json.error.param}` : `${res.status}`;
  }
  const refused = (param: string) => `400 invalid_request_error ${param}`;

  test('dimensions is an integer from 1 to 8192; larger is refused before any vector is built', async () => {
    // 1e308 failed allocating; 2^31..2^32 allocated and then held the event loop for minutes.
    for (const dims of ['1e308', '8193', '2147483648', '4294967295', '0', '-1', '1.5', '"8"']) {
      assert.equal(await embed(`{"model":"e","input":"x","dimensions":${dims}}`), refused('dimensions'), dims);
    }
    for (const dims of ['1', '8192']) assert.equal(await embed(`{"model":"e","input":"x","dimensions":${dims}}`), '200', dims);
  });

  test("input is a string, strings, a token array or token arrays (OpenAI's four shapes); anything else is refused", async () => {
    const deep = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    for (const input of [deep, `[${deep}]`, '[[[1]]]', '[[1,"a"]]', '[["a"]]', '[[]]', '[[1],2]', '[1,"a"]', '[1.5]', '[[1.5]]', '[true]', '[null]', '[]', '{}', '5', 'null']) {
      assert.equal(await embed(`{"model":"e","input":${input}}`), refused('input'), input.slice(0, 20));
    }
    for (const input of ['"x"', '""', '["a","b"]', '[1,2]', '[[1],[2,3]]']) assert.equal(await embed(`{"model":"e","input":${input}}`), '200', input);
    const tokens = await client.embeddings.create({ model: 'e', input: [[1, 2], [1, 2], [3]], dimensions: 4, encoding_format: 'float' });
    assert.deepEqual(tokens.data[0].embedding, tokens.data[1].embedding, 'the same tokens embed the same');
    assert.notDeepEqual(tokens.data[0].embedding, tokens.data[2].embedding);
  });

  test('models list and retrieve', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes('gpt-4o-mini'));
    const one = await client.models.retrieve('any-model');
    assert.deepEqual([one.id, one.object], ['any-model', 'model']);
  });
});

describe('errors', () => {
  test('bad JSON is a 400 and an unknown path a 404, both OpenAI-shaped', async () => {
    const base = `http://127.0.0.1:${sim.port}`;
    const bad = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{"model":', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    const badBody = (await bad.json()) as { error: { type: string; code: string; param: null; message: string } };
    assert.equal(badBody.error.type, 'invalid_request_error');
    assert.equal(badBody.error.code, 'invalid_json');
    assert.deepEqual(Object.keys(badBody.error).sort(), ['code', 'message', 'param', 'type']);
    const missing = await fetch(`${base}/v1/nothing-here`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { type: string } }).error.type, 'not_found_error');
    await assert.rejects(client.chat.completions.create({ model: 'm' } as never), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.param, 'messages');
      return true;
    });
  });
});
