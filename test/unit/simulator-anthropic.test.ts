// The simulator's /v1/messages seen through the real Anthropic SDK.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
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
