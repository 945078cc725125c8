// The simulator's /v1/messages seen through the real Anthropic SDK.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { simThinkingSignature } from '../../src/simulator/anthropic.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

let sim: RunningSimulator;
let client: Anthropic;

before(async () => {
  sim = await startSimulator();
  client = new Anthropic({ baseURL: `http://127.0.0.1:${sim.port}`, apiKey: 'ak-test', maxRetries: 0 });
});
after(() => sim.close());

const words = (text: string): number => text.split(' ').filter((w) => w !== '').length;
const weatherTool = {
  name: 'get_weather',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
};

describe('anthropic messages', () => {
  test('non-stream: text, usage, stop_reason; the x-api-key header is recorded', async () => {
    const message = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      system: 'be brief',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello world!' }] }],
    });
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.stop_reason, 'end_turn');
    const block = message.content[0];
    assert.ok(block.type === 'text');
    assert.equal(words(block.text), 16);
    assert.deepEqual([message.usage.input_tokens, message.usage.output_tokens], [Math.ceil(('be brief'.length + 12) / 4), 16]);
    assert.equal(sim.stats().last.at(-1)?.headers['x-api-key'], 'ak-test');
  });

  test('max_tokens cuts with stop_reason max_tokens', async () => {
    const message = await client.messages.create({ model: 'c', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(message.stop_reason, 'max_tokens');
    assert.equal(message.usage.output_tokens, 3);
  });

  test('stream: event sequence and the SDK-accumulated message', async () => {
    const stream = client.messages.stream({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    const final = await stream.finalMessage();
    assert.deepEqual(types, [
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const block = final.content[0];
    assert.ok(block.type === 'text');
    assert.equal(words(block.text), 5);
    assert.equal(final.stop_reason, 'max_tokens');
    assert.equal(final.usage.output_tokens, 5);
  });

  test('tools: tool_use block, whole and streamed', async () => {
    const whole = await client.messages.create({
      model: 'c', max_tokens: 50, tools: [weatherTool], messages: [{ role: 'user', content: 'weather?' }],
    });
    assert.equal(whole.stop_reason, 'tool_use');
    const block = whole.content[0];
    assert.ok(block.type === 'tool_use');
    assert.deepEqual([block.name, block.input], ['get_weather', { city: 'sim' }]);
    const streamed = await client.messages
      .stream({ model: 'c', max_tokens: 50, tools: [weatherTool], messages: [{ role: 'user', content: 'weather?' }] })
      .finalMessage();
    const streamedBlock = streamed.content[0];
    assert.ok(streamedBlock.type === 'tool_use');
    assert.deepEqual(streamedBlock.input, { city: 'sim' });
    assert.equal(streamed.stop_reason, 'tool_use');
  });

  test('faults answer in the Anthropic error shape', async () => {
    await assert.rejects(
      client.messages.create({ model: 'sim-fault-status-429', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.RateLimitError);
        assert.deepEqual((err.error as { type: string }).type, 'error');
        return true;
      },
    );
    await assert.rejects(
      client.messages.create({ model: 'c', messages: [{ role: 'user', content: 'hi' }] } as never),
      (err: unknown) => err instanceof Anthropic.BadRequestError,
    );
  });
});

const timeTool = {
  name: 'get_time',
  input_schema: { type: 'object' as const, properties: { zone: { type: 'string' }, offset: { type: 'integer' } } },
};
const thinkingWords = 'The simulator thinks about the request before it answers. ';

describe('anthropic messages: thinking, tool_choice, cache usage, count_tokens', () => {
  test('thinking: a signed thinking block before the text, whole and streamed (thinking_delta, signature_delta)', async () => {
    const params = {
      model: 'c', max_tokens: 1030, thinking: { type: 'enabled' as const, budget_tokens: 1024 }, messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const whole = await client.messages.create(params);
    assert.deepEqual(whole.content.map((b) => b.type), ['thinking', 'text']);
    const thinking = whole.content[0];
    assert.ok(thinking.type === 'thinking');
    assert.deepEqual([thinking.thinking, thinking.signature], [thinkingWords, simThinkingSignature]);
    // Nine thinking tokens plus the 16 of the text (max_tokens counts both).
    assert.equal(whole.usage.output_tokens, 9 + 16);

    const deltas: string[] = [];
    const stream = client.messages.stream(params);
    stream.on('streamEvent', (event) => {
      if (event.type === 'content_block_delta') deltas.push(`${event.index}:${event.delta.type}`);
      if (event.type === 'content_block_start') deltas.push(`${event.index}:start:${event.content_block.type}`);
    });
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, whole.content);
    assert.deepEqual(deltas.slice(0, 2), ['0:start:thinking', '0:thinking_delta']);
    assert.deepEqual(deltas.slice(10, 13), ['0:signature_delta', '1:start:text', '1:text_delta']);
    assert.equal(final.usage.output_tokens, 25);
  });

  test('thinking is checked as Anthropic checks it', async () => {
    const message = (extra: object) =>
      client.messages.create({ model: 'c', max_tokens: 2000, messages: [{ role: 'user', content: 'hi' }], ...extra } as never);
    for (const [extra, param] of [
      [{ thinking: { type: 'enabled', budget_tokens: 500 } }, 'thinking.budget_tokens'],
      [{ thinking: { type: 'enabled', budget_tokens: 2000 } }, 'max_tokens'],
      [{ thinking: { type: 'enabled', budget_tokens: 1024 }, tools: [weatherTool], tool_choice: { type: 'any' } }, 'tool_choice'],
    ] as const) {
      await assert.rejects(message(extra), (err: unknown) => {
        assert.ok(err instanceof Anthropic.BadRequestError, String(err));
        assert.match((err.error as { error: { message: string } }).error.message, new RegExp(param.split('.')[0]));
        return true;
      });
    }
  });

  test('tool_choice: any with two tools calls both (parallel), unless disable_parallel_tool_use; tool names one; none answers text', async () => {
    const ask = (tool_choice: Anthropic.Messages.ToolChoice) =>
      client.messages.create({ model: 'c', max_tokens: 50, tools: [weatherTool, timeTool], tool_choice, messages: [{ role: 'user', content: 'x' }] });
    const names = (message: Anthropic.Message) => message.content.map((b) => (b.type === 'tool_use' ? b.name : b.type));
    const both = await ask({ type: 'any' });
    assert.deepEqual(names(both), ['get_weather', 'get_time']);
    assert.deepEqual(both.content.map((b) => (b.type === 'tool_use' ? b.input : null)), [{ city: 'sim' }, { zone: 'sim', offset: 1 }]);
    assert.equal(new Set(both.content.map((b) => (b.type === 'tool_use' ? b.id : ''))).size, 2);
    assert.deepEqual(names(await ask({ type: 'any', disable_parallel_tool_use: true })), ['get_weather']);
    assert.deepEqual(names(await ask({ type: 'auto' })), ['get_weather']);
    assert.deepEqual(names(await ask({ type: 'tool', name: 'get_time' })), ['get_time']);
    const none = await ask({ type: 'none' });
    assert.deepEqual([names(none), none.stop_reason], [['text'], 'end_turn']);

    const streamed = await client.messages
      .stream({ model: 'c', max_tokens: 50, tools: [weatherTool, timeTool], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage();
    assert.deepEqual(names(streamed), ['get_weather', 'get_time']);
    assert.deepEqual(streamed.content.map((b) => (b.type === 'tool_use' ? b.input : null)), [{ city: 'sim' }, { zone: 'sim', offset: 1 }]);
    assert.equal(streamed.stop_reason, 'tool_use');
  });

  test('cache usage: zeros without cache_control; written, or read with x-sim-cache: read', async () => {
    const system = [{ type: 'text' as const, text: 'y'.repeat(40), cache_control: { type: 'ephemeral' as const } }];
    const params = { model: 'c', max_tokens: 5, system, messages: [{ role: 'user' as const, content: 'abcdefgh' }] };
    const plain = await client.messages.create({ ...params, system: 'y'.repeat(40) });
    assert.deepEqual([plain.usage.input_tokens, plain.usage.cache_creation_input_tokens, plain.usage.cache_read_input_tokens], [12, 0, 0]);
    const written = await client.messages.create(params);
    assert.deepEqual([written.usage.input_tokens, written.usage.cache_creation_input_tokens, written.usage.cache_read_input_tokens], [2, 10, 0]);
    const read = await client.messages.create(params, { headers: { 'x-sim-cache': 'read' } });
    assert.deepEqual([read.usage.input_tokens, read.usage.cache_creation_input_tokens, read.usage.cache_read_input_tokens], [2, 0, 10]);
    await assert.rejects(client.messages.create(params, { headers: { 'x-sim-cache': 'maybe' } }), (err: unknown) => err instanceof Anthropic.BadRequestError);
  });

  test('streamed message_delta usage is cumulative: the totals, input fields included', async () => {
    const res = await fetch(`http://127.0.0.1:${sim.port}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-cache': 'read' },
      body: JSON.stringify({
        model: 'c', max_tokens: 4, stream: true,
        system: [{ type: 'text', text: 'z'.repeat(8), cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'abcd' }],
      }),
    });
    const text = await res.text();
    const data = (type: string) => JSON.parse(/data: (.*)/.exec(text.slice(text.indexOf(`event: ${type}`)))?.[1] ?? 'null') as { usage: object; message: { usage: object } };
    assert.deepEqual(data('message_start').message.usage, { input_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 2, output_tokens: 1 });
    assert.deepEqual(data('message_delta').usage, { input_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 2, output_tokens: 4 });
  });

  test('output_config json_schema: the text is JSON shaped by the schema', async () => {
    const message = await client.messages.create({
      model: 'c', max_tokens: 50, messages: [{ role: 'user', content: 'x' }],
      output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { name: { type: 'string' }, ok: { type: 'boolean' } } } } },
    } as never);
    const block = message.content[0];
    assert.ok(block.type === 'text');
    assert.deepEqual(JSON.parse(block.text), { name: 'sim', ok: true });
    assert.equal(message.stop_reason, 'end_turn');
  });

  test('count_tokens: input tokens of system and messages, model and messages required', async () => {
    const counted = await client.messages.countTokens({ model: 'c', system: 'be brief', messages: [{ role: 'user', content: 'hello world!' }] });
    assert.deepEqual(counted, { input_tokens: 5 });
    await assert.rejects(client.messages.countTokens({ model: 'c' } as never), (err: unknown) => err instanceof Anthropic.BadRequestError);
  });
});
