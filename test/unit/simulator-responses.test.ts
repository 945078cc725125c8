// The simulator's /v1/responses and chat response_format seen through the real clients (openai, AI SDK,
// Agents SDK, LangChain), and the schema → value generator checked by a JSON Schema validator.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { Ajv } from 'ajv';
import { generateText, Output, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { schemaValue } from '../../src/simulator/schema-value.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

// The AI SDK logs its warnings (e.g. reasoning it drops with store: false) to the console.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let sim: RunningSimulator;
let client: OpenAI;
let baseURL: string;

before(async () => {
  sim = await startSimulator({ ttft_ms: 0 });
  baseURL = `http://127.0.0.1:${sim.port}/v1`;
  client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });
});
after(() => sim.close());

const words = (text: string): number => text.split(' ').filter((w) => w !== '').length;
const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } as const;
const person = z.object({
  name: z.string(),
  age: z.number().int(),
  email: z.string().email(),
  role: z.enum(['admin', 'user']),
  active: z.boolean(),
  tags: z.array(z.string()),
  address: z.object({ city: z.string(), zip: z.string() }),
  nickname: z.string().nullable(),
});

describe('POST /v1/responses', () => {
  test('whole: a completed response of completion_tokens words with usage', async () => {
    const res = await client.responses.create({ model: 'gpt-4o', input: 'abcdefgh', instructions: 'abcd' });
    assert.equal(res.object, 'response');
    assert.equal(res.status, 'completed');
    assert.equal(words(res.output_text), 16);
    assert.deepEqual(res.usage, { input_tokens: 3, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 19 });
    assert.equal(res.instructions, 'abcd');
  });

  test('stream: the event sequence with sequence numbers, chunk_tokens tokens per delta', async () => {
    const stream = await client.responses.create({ model: 'm', input: 'hi', stream: true }, { headers: { 'x-sim-chunk-tokens': '4', 'x-sim-completion-tokens': '8' } });
    const events = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(events.map((e) => e.type), [
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.completed',
    ]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const last = events.at(-1);
    assert.ok(last?.type === 'response.completed');
    const message = last.response.output[0];
    assert.ok(message.type === 'message' && message.content[0].type === 'output_text');
    assert.equal(words(message.content[0].text), 8);
    assert.equal(last.response.usage?.output_tokens, 8);
  });

  test('max_output_tokens cuts the answer into an incomplete response, whole and streamed', async () => {
    const whole = await client.responses.create({ model: 'm', input: 'hi', max_output_tokens: 3 });
    assert.equal(whole.status, 'incomplete');
    assert.deepEqual(whole.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(words(whole.output_text), 3);
    const final = await client.responses.stream({ model: 'm', input: 'hi', max_output_tokens: 2 }).finalResponse();
    assert.equal(final.status, 'incomplete');
    assert.equal(final.usage?.output_tokens, 2);
  });

  test('tools: a function call with schema-shaped arguments streamed in pieces; none and answered calls give text', async () => {
    const tools = [{ type: 'function' as const, name: 'get_weather', parameters: weather, strict: true }];
    const call = await client.responses.stream({ model: 'm', input: 'weather?', tools }).finalResponse();
    const item = call.output[0];
    assert.ok(item.type === 'function_call');
    assert.deepEqual([item.name, item.call_id, JSON.parse(item.arguments)], ['get_weather', item.call_id, { city: 'sim' }]);
    assert.match(item.call_id, /^call_sim_/);
    const none = await client.responses.create({ model: 'm', input: 'hi', tools, tool_choice: 'none' });
    assert.equal(words(none.output_text), 16);
    const answered = await client.responses.create({
      model: 'm', tools,
      input: [{ role: 'user', content: 'weather?' }, { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{"city":"sim"}' }, { type: 'function_call_output', call_id: 'c1', output: '20C' }],
    });
    assert.equal(answered.output[0].type, 'message');
  });

  test('text.format json_schema: schema-valid JSON through responses.parse, whole and streamed; json_object', async () => {
    const format = zodTextFormat(person, 'person');
    const whole = await client.responses.parse({ model: 'm', input: 'who?', text: { format } });
    assert.deepEqual(whole.output_parsed, person.parse(JSON.parse(whole.output_text)));
    const streamed = await client.responses.stream({ model: 'm', input: 'who?', text: { format } }).finalResponse();
    assert.deepEqual(streamed.output_parsed, whole.output_parsed);
    const object = await client.responses.create({ model: 'm', input: 'json please', text: { format: { type: 'json_object' } } });
    assert.equal(typeof JSON.parse(object.output_text), 'object');
  });

  test('errors are OpenAI-shaped; faults apply', async () => {
    await assert.rejects(client.responses.create({ model: 'm' } as never), (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'input');
    await assert.rejects(client.responses.create({ model: 'sim-fault-status-429', input: 'hi' }), (err: unknown) => err instanceof OpenAI.RateLimitError);
    const stream = await client.responses.create({ model: 'sim-fault-key-echo-stream', input: 'hi', stream: true });
    await assert.rejects(async () => {
      for await (const _ of stream) void _;
    }, /Incorrect API key/);
  });
});

describe('chat completions response_format', () => {
  test('json_schema through chat.completions.parse, whole and streamed; json_object; max_tokens cuts it', async () => {
    const format = zodResponseFormat(person, 'person');
    const whole = await client.chat.completions.parse({ model: 'm', messages: [{ role: 'user', content: 'who?' }], response_format: format });
    const parsed = whole.choices[0].message.parsed;
    assert.ok(parsed !== null);
    assert.equal(person.safeParse(parsed).success, true);
    assert.equal(whole.usage?.completion_tokens, Math.ceil((whole.choices[0].message.content ?? '').length / 8));
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'who?' }], response_format: format, stream: true });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    assert.deepEqual(JSON.parse(content), parsed);
    const object = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'json' }], response_format: { type: 'json_object' } });
    assert.equal(typeof JSON.parse(object.choices[0].message.content ?? ''), 'object');
    const cut = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'who?' }], response_format: format, max_tokens: 2 });
    assert.equal(cut.choices[0].finish_reason, 'length');
    assert.equal(cut.choices[0].message.content?.length, 16);
  });
});

describe('other clients against /v1/responses', () => {
  test('AI SDK: generateText, streamText, a tool loop, an object', async () => {
    const openai = createOpenAI({ baseURL, apiKey: 'x' });
    const text = await generateText({ model: openai('gpt-4o'), prompt: 'hi', maxRetries: 0 });
    assert.equal(words(text.text), 16);
    assert.equal(text.usage.outputTokens, 16);
    const streamed = streamText({ model: openai('gpt-4o'), prompt: 'hi', maxRetries: 0 });
    assert.equal(words(await streamed.text), 16);
    const weatherTool = tool({ description: 'weather', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `${city}: 20C` });
    const loop = await generateText({ model: openai('gpt-4o'), prompt: 'weather?', tools: { weather: weatherTool }, stopWhen: stepCountIs(3), maxRetries: 0 });
    assert.deepEqual(loop.steps.map((s) => s.finishReason), ['tool-calls', 'stop']);
    assert.deepEqual(loop.steps[0].toolCalls.map((c) => c.input), [{ city: 'sim' }]);
    const object = await generateText({ model: openai('gpt-4o'), prompt: 'who?', output: Output.object({ schema: person }), maxRetries: 0 });
    assert.equal(person.safeParse(object.output).success, true);
  });

  test('Agents SDK: run and a tool run end with text', async () => {
    setTracingDisabled(true);
    setDefaultOpenAIClient(client as unknown as Parameters<typeof setDefaultOpenAIClient>[0]);
    const result = await run(new Agent({ name: 'a', instructions: 'be nice', model: 'gpt-4o' }), 'hi');
    assert.equal(words(String(result.finalOutput)), 16);
    const weatherTool = agentTool({ name: 'weather', description: 'weather', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `${city}: 20C` });
    const withTool = await run(new Agent({ name: 'b', instructions: 'use tools', model: 'gpt-4o', tools: [weatherTool] }), 'weather?', { stream: true });
    for await (const _ of withTool) void _;
    await withTool.completed;
    assert.equal(words(String(withTool.finalOutput)), 16);
  });

  test('LangChain with useResponsesApi: invoke, stream, tool call', async () => {
    const llm = new ChatOpenAI({ model: 'gpt-4o', apiKey: 'x', configuration: { baseURL }, useResponsesApi: true, maxRetries: 0 });
    const message = await llm.invoke('hi');
    assert.equal(words(message.text), 16);
    assert.equal(message.usage_metadata?.output_tokens, 16);
    let streamed = '';
    for await (const chunk of await llm.stream('hi')) streamed += chunk.text;
    assert.equal(words(streamed), 16);
    const call = await llm.bindTools([{ type: 'function', function: { name: 'weather', parameters: weather } }]).invoke('weather?');
    assert.deepEqual(call.tool_calls?.map((c) => [c.name, c.args]), [['weather', { city: 'sim' }]]);
  });
});

describe('schema → value', () => {
  // Formats are checked through zod (person's email) and below, not by ajv.
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const schemas: Record<string, object> = {
    'zod person (strict structured output)': zodTextFormat(person, 'p').schema,
    'nested objects, arrays of minItems, numbers with bounds': {
      type: 'object',
      properties: {
        items: { type: 'array', minItems: 2, items: { type: 'object', properties: { id: { type: 'integer', minimum: 10 }, price: { type: 'number', exclusiveMaximum: 1 } }, required: ['id', 'price'] } },
        code: { type: 'string', minLength: 7, maxLength: 9 },
        kind: { const: 'fixed' },
      },
      required: ['items', 'code', 'kind'],
    },
    '$ref, anyOf with null, allOf, type lists': {
      $defs: { node: { type: 'object', properties: { name: { type: 'string' }, child: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] } }, required: ['name', 'child'] } },
      type: 'object',
      properties: { root: { $ref: '#/$defs/node' }, when: { type: ['string', 'null'], format: 'date-time' }, both: { allOf: [{ type: 'object', properties: { a: { type: 'boolean' } } }, { type: 'object', properties: { b: { type: 'string', format: 'uuid' } } }] } },
      required: ['root', 'when', 'both'],
    },
  };
  for (const [name, schema] of Object.entries(schemas)) {
    test(name, () => {
      const value = schemaValue(schema);
      assert.equal(ajv.validate(schema, value), true, JSON.stringify(ajv.errors));
      assert.deepEqual(schemaValue(schema), value, 'deterministic');
    });
  }
  test('string formats zod checks', () => {
    const formats = z.object({ id: z.string().uuid(), at: z.string().datetime(), day: z.string().date(), site: z.string().url(), mail: z.string().email() });
    assert.equal(formats.safeParse(schemaValue(zodTextFormat(formats, 'f').schema)).success, true);
  });
});
