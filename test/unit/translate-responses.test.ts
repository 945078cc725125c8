// The Responses dialect and pass-through decoder: golden fixtures, the stream state machines event by
// event, and the real clients (openai, AI SDK, Agents SDK, LangChain) reading the dialect's answers.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { generateText, Output, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { openaiResponsesDialect as dialect } from '../../src/dialects/openai-responses/index.js';
import { responsesPassThrough } from '../../src/providers/openai-responses/index.js';
import { GatewayError } from '../../src/shared/errors.js';
import { SseParser } from '../../src/sse/parser.js';
import type { CanonicalError, ChatChunk, ChatCompletion, ChatRequest, JsonObject } from '../../src/translate/canonical.js';
import type { EncodeContext } from '../../src/translate/dialect.js';
import type { ProviderTarget } from '../../src/translate/provider.js';

// The AI SDK logs its warnings (e.g. reasoning it drops with store: false) to the console.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const fixtures = new URL('../../../test/fixtures/translate/responses/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), 'utf8');
const json = <T = JsonObject>(path: string): T => JSON.parse(read(path)) as T;
const cases = (dir: string, suffix: string): string[] =>
  readdirSync(new URL(dir, fixtures)).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length));

const ctxOf = (request: JsonObject): EncodeContext => ({ model: request.model as string, requestId: 'req_42', created: 1700000000, request });
const target: ProviderTarget = {
  provider: { name: 'openai', type: 'openai', base_url: 'https://api.openai.com/v1', timeouts: {} as never, connections: 1 },
  upstreamModel: 'gpt-5.1',
  stream: true,
  dropUnsupported: false,
  created: 1700000000,
  requestId: 'req_42',
};

interface SseEventData {
  event: string | undefined;
  data: JsonObject;
}

function parseSse(text: string): SseEventData[] {
  return new SseParser().push(Buffer.from(text)).map((e) => ({ event: e.event, data: JSON.parse(e.data) as JsonObject }));
}

const isError = (chunk: ChatChunk | CanonicalError): chunk is CanonicalError => !('choices' in chunk);

function encode(chunks: Array<ChatChunk | CanonicalError>, request: JsonObject): string {
  const encoder = dialect.streamEncoder(ctxOf(request));
  let text = '';
  for (const chunk of chunks) text += isError(chunk) ? encoder.error(chunk, 503) : encoder.push(chunk);
  return text + encoder.end();
}

function decode(sse: string): { complete: boolean; chunks: Array<ChatChunk | CanonicalError> } {
  const decoder = responsesPassThrough.stream(target);
  const chunks: Array<ChatChunk | CanonicalError> = [];
  for (const e of new SseParser().push(Buffer.from(sse))) chunks.push(...decoder.push({ event: e.event, data: e.data }));
  chunks.push(...decoder.end());
  return { complete: decoder.complete, chunks };
}

describe('requests: Responses → canonical', () => {
  for (const name of cases('requests/', '.responses.json')) {
    test(name, () => {
      assert.deepEqual(dialect.toCanonical(json(`requests/${name}.responses.json`)), json(`requests/${name}.canonical.json`));
    });
  }

  for (const { case: name, body, param } of json<Array<{ case: string; body: JsonObject; param: string }>>('requests/invalid.json')) {
    test(`400 naming ${param}: ${name}`, () => {
      assert.throws(
        () => dialect.toCanonical(body),
        (err: unknown) => err instanceof GatewayError && err.status === 400 && err.param === param && err.message.length > 0,
      );
    });
  }

  test('reasoning round trip: the encrypted content of an answer brings its thinking blocks back on the next turn', () => {
    const request = json('completions/reasoning.request.json');
    const completion = json<ChatCompletion>('completions/reasoning.canonical.json');
    const answer = dialect.fromCompletion(completion, ctxOf(request));
    const next = dialect.toCanonical({ ...request, input: [{ role: 'user', content: 'q' }, ...(answer.output as JsonObject[]), { role: 'user', content: 'and?' }] });
    const assistant = next.messages[1];
    assert.equal(assistant.role, 'assistant');
    assert.equal(assistant.content, '391');
    assert.deepEqual(assistant.thinking_blocks, completion.choices[0].message.thinking_blocks);
    assert.equal(assistant.reasoning_content, completion.choices[0].message.reasoning_content);
  });

  test('without include, no encrypted_content is sent (as OpenAI)', () => {
    const completion = json<ChatCompletion>('completions/reasoning.canonical.json');
    const answer = dialect.fromCompletion(completion, ctxOf({ model: 'm', input: 'x' }));
    assert.equal((answer.output as JsonObject[])[0].encrypted_content, undefined);
  });
});

describe('completions: canonical → Responses', () => {
  for (const name of cases('completions/', '.canonical.json')) {
    test(name, () => {
      const answer = dialect.fromCompletion(json<ChatCompletion>(`completions/${name}.canonical.json`), ctxOf(json(`completions/${name}.request.json`)));
      assert.deepEqual(answer, json(`completions/${name}.responses.json`));
    });
  }

  test('errors keep the OpenAI shape and status', () => {
    const body: CanonicalError = { error: { message: 'slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } };
    assert.deepEqual(dialect.error(429, body), { status: 429, body: JSON.stringify(body) });
  });
});

describe('streams: canonical chunks → Responses events', () => {
  for (const name of cases('streams/', '.chunks.json')) {
    test(name, () => {
      const text = encode(json(`streams/${name}.chunks.json`) as never, json(`streams/${name}.request.json`));
      assert.equal(text, read(`streams/${name}.sse`));
      const events = parseSse(text);
      events.forEach((e, i) => {
        assert.equal(e.data.sequence_number, i, 'sequence_number counts from 0 without gaps');
        assert.equal(e.event, e.data.type, 'the event: line names the type');
      });
      assert.deepEqual(events.slice(0, 2).map((e) => e.event), ['response.created', 'response.in_progress']);
      assert.match(events.at(-1)?.event ?? '', /^response\.(completed|incomplete|failed)$/);
    });
  }

  const textChunks = json<ChatChunk[]>('streams/text.chunks.json');
  const request = json('streams/text.request.json');

  test('event by event: created on the first chunk, nothing for empty deltas, completed only with the usage chunk', () => {
    const encoder = dialect.streamEncoder(ctxOf(request));
    const types = (text: string): string[] => parseSse(text).map((e) => e.event ?? '');
    assert.deepEqual(types(encoder.push(textChunks[0])), ['response.created', 'response.in_progress']);
    assert.deepEqual(types(encoder.push(textChunks[1])), ['response.output_item.added', 'response.content_part.added', 'response.output_text.delta']);
    assert.equal(encoder.push(textChunks[2]), '');
    encoder.push(textChunks[3]);
    encoder.push(textChunks[4]);
    assert.deepEqual(types(encoder.push(textChunks[5])), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done']);
    const completed = parseSse(encoder.push(textChunks[6]));
    assert.equal(completed[0].event, 'response.completed');
    const response = completed[0].data.response as JsonObject;
    assert.deepEqual(response.usage, { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 13 });
    assert.equal(encoder.end(), '');
    assert.equal(encoder.push(textChunks[1]), '', 'nothing after the terminal event');
  });

  test('a stream ended without a usage chunk completes at end() with usage null', () => {
    const encoder = dialect.streamEncoder(ctxOf(request));
    for (const chunk of textChunks.slice(0, 6)) encoder.push(chunk);
    const [last] = parseSse(encoder.end());
    assert.equal(last.event, 'response.completed');
    assert.equal((last.data.response as JsonObject).usage, null);
  });

  test('an error before any chunk still opens the response, then error and response.failed', () => {
    const encoder = dialect.streamEncoder(ctxOf(request));
    const events = parseSse(encoder.error({ error: { message: 'boom', type: 'api_error', param: null, code: 'upstream_error' } }, 502));
    assert.deepEqual(events.map((e) => e.event), ['response.created', 'response.in_progress', 'error', 'response.failed']);
    assert.deepEqual(events[2].data, {
      type: 'error', sequence_number: 2, code: 'upstream_error', message: 'boom', param: null,
      error: { type: 'api_error', code: 'upstream_error', message: 'boom', param: null },
    });
    assert.deepEqual((events[3].data.response as JsonObject).error, { code: 'upstream_error', message: 'boom' });
  });

  test('the pass-through decoder reads the encoder back to the same text, calls and usage', () => {
    const chunks = json<ChatChunk[]>('streams/parallel-tools.chunks.json');
    const back = decode(encode(chunks, json('streams/parallel-tools.request.json')));
    assert.equal(back.complete, true);
    const args = new Map<number, string>();
    for (const chunk of back.chunks as ChatChunk[]) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) args.set(call.index, (args.get(call.index) ?? '') + (call.function?.arguments ?? ''));
    }
    assert.deepEqual([...args.values()], ['{"city":"Paris"}', '{"city":"Rome"}']);
    assert.equal((back.chunks.at(-2) as ChatChunk).choices[0].finish_reason, 'tool_calls');
    assert.deepEqual((back.chunks.at(-1) as ChatChunk).usage?.prompt_tokens, 30);
  });
});

describe('pass-through: Responses answers → canonical', () => {
  for (const name of cases('passthrough/', '.sse')) {
    test(`stream ${name}`, () => {
      assert.deepEqual(decode(read(`passthrough/${name}.sse`)), json(`passthrough/${name}.chunks.json`));
    });
  }
  for (const name of cases('passthrough/', '.response.json')) {
    test(`whole ${name}`, () => {
      assert.deepEqual(responsesPassThrough.response(json(`passthrough/${name}.response.json`), target), json(`passthrough/${name}.completion.json`));
    });
  }

  test('event by event: arguments split mid-string pass on as they come; a .done fills in what no delta carried', () => {
    const decoder = responsesPassThrough.stream(target);
    const push = (data: JsonObject) => decoder.push({ event: data.type as string, data: JSON.stringify(data) });
    assert.equal(push({ type: 'response.created', response: { id: 'resp_1', model: 'gpt-5.1', created_at: 5, status: 'in_progress' } }).length, 1);
    const added = push({ type: 'response.output_item.added', output_index: 0, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '' } });
    assert.deepEqual((added[0] as ChatChunk).choices[0].delta, { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] });
    const piece = push({ type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta: '{"a":"x' });
    assert.deepEqual((piece[0] as ChatChunk).choices[0].delta.tool_calls, [{ index: 0, function: { arguments: '{"a":"x' } }]);
    const rest = push({ type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 0, arguments: '{"a":"xy"}' });
    assert.deepEqual((rest[0] as ChatChunk).choices[0].delta.tool_calls, [{ index: 0, function: { arguments: 'y"}' } }]);
    assert.equal(push({ type: 'response.output_item.done', output_index: 0, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":"xy"}' } }).length, 0);
    assert.equal(decoder.complete, false);
    const end = push({ type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 } } });
    assert.equal(decoder.complete, true);
    assert.equal((end[0] as ChatChunk).choices[0].finish_reason, 'tool_calls');
    assert.deepEqual((end[1] as ChatChunk).usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } });
  });

  test('a stream cut before its terminal event is not made complete', () => {
    const cut = read('passthrough/text.sse').split('event: response.completed')[0];
    const out = decode(cut);
    assert.equal(out.complete, false);
    assert.ok(out.chunks.every((c) => 'choices' in c && c.choices.every((ch) => ch.finish_reason === null)));
  });

  test('an event that is not JSON, or a body that is not a response, is a 502', () => {
    const decoder = responsesPassThrough.stream(target);
    assert.throws(() => decoder.push({ event: 'response.output_text.delta', data: '{"type":' }), (e: unknown) => e instanceof GatewayError && e.status === 502);
    assert.throws(() => responsesPassThrough.response({ object: 'chat.completion', choices: [] }, target), (e: unknown) => e instanceof GatewayError && e.status === 502);
  });
});

// --- Real clients against a server that answers with the dialect's encoder --------------------------------

interface FakeUpstream {
  baseURL: string;
  requests: JsonObject[];
  close(): Promise<void>;
}

const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 3 }, completion_tokens_details: { reasoning_tokens: 2 } };

function completionOf(message: Partial<ChatCompletion['choices'][number]['message']>, finish: ChatCompletion['choices'][number]['finish_reason']): ChatCompletion {
  return { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'upstream', choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }], usage };
}

/** The model's answer to a canonical request: a call while tools are offered and unanswered, JSON when asked, else text. */
function answerTo(req: ChatRequest): ChatCompletion {
  if (req.tools !== undefined && req.tools.length > 0 && req.messages.at(-1)?.role !== 'tool') {
    return completionOf({ tool_calls: [{ id: 'call_1', type: 'function', function: { name: req.tools[0].function.name, arguments: '{"city":"Paris"}' } }] }, 'tool_calls');
  }
  if (req.response_format?.type === 'json_schema') return completionOf({ content: '{"name":"Ann","age":31}' }, 'stop');
  return completionOf({ content: 'Hello there, friend.', reasoning_content: 'thinking hard' }, 'stop');
}

/** A canonical stream of a completion, text in 5-character pieces and arguments in 4 (split mid-string). */
function chunksOf(c: ChatCompletion): ChatChunk[] {
  const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk =>
    ({ id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model, choices: [{ index: 0, delta, finish_reason: finish }] });
  const pieces = (text: string, n: number): string[] => text.match(new RegExp(`[^]{1,${n}}`, 'g')) ?? [];
  const m = c.choices[0].message;
  const out = [chunk({ role: 'assistant', content: '' })];
  for (const p of pieces(m.reasoning_content ?? '', 5)) out.push(chunk({ reasoning_content: p }));
  for (const p of pieces(m.content ?? '', 5)) out.push(chunk({ content: p }));
  (m.tool_calls ?? []).forEach((call, index) => {
    out.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }));
    for (const p of pieces(call.function.arguments, 4)) out.push(chunk({ tool_calls: [{ index, function: { arguments: p } }] }));
  });
  out.push(chunk({}, c.choices[0].finish_reason), { ...chunk({}), choices: [], usage: c.usage });
  return out;
}

async function fakeUpstream(): Promise<FakeUpstream> {
  const requests: JsonObject[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (data: Buffer) => (raw += data.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as JsonObject;
      requests.push(body);
      let canonical: ChatRequest;
      try {
        canonical = dialect.toCanonical(body);
      } catch (err) {
        const e = err as GatewayError;
        const answer = dialect.error(e.status, e.toBody());
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
        return;
      }
      const ctx: EncodeContext = { model: body.model as string, requestId: `req${requests.length}`, created: 1700000000, request: body };
      const completion = answerTo(canonical);
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dialect.fromCompletion(completion, ctx)));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const encoder = dialect.streamEncoder(ctx);
      for (const c of chunksOf(completion)) res.write(encoder.push(c));
      res.end(encoder.end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}/v1`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('real clients read the dialect', () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await fakeUpstream();
  });
  after(() => upstream.close());
  const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } as const;

  test('openai SDK: create whole and streamed, a function call, parse with zodTextFormat', async () => {
    const client = new OpenAI({ baseURL: upstream.baseURL, apiKey: 'x', maxRetries: 0 });
    const whole = await client.responses.create({ model: 'gpt-4o', input: 'hi', instructions: 'be nice' });
    assert.equal(whole.output_text, 'Hello there, friend.');
    assert.deepEqual(whole.usage, { input_tokens: 11, input_tokens_details: { cached_tokens: 3 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 18 });
    const stream = client.responses.stream({ model: 'gpt-4o', input: 'hi' });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    assert.equal(deltas, 'Hello there, friend.');
    assert.equal(final.output_text, 'Hello there, friend.');
    assert.equal(final.usage?.total_tokens, 18);
    const tools = await client.responses.stream({ model: 'gpt-4o', input: 'weather?', tools: [{ type: 'function', name: 'get_weather', parameters: weather, strict: true }] }).finalResponse();
    const call = tools.output.find((item) => item.type === 'function_call');
    assert.ok(call?.type === 'function_call');
    assert.deepEqual([call.name, call.call_id, call.arguments], ['get_weather', 'call_1', '{"city":"Paris"}']);
    const parsed = await client.responses.parse({ model: 'gpt-4o', input: 'who?', text: { format: zodTextFormat(z.object({ name: z.string(), age: z.number() }), 'person') } });
    assert.deepEqual(parsed.output_parsed, { name: 'Ann', age: 31 });
  });

  test('AI SDK (@ai-sdk/openai, Responses by default): generateText, streamText, a tool loop, an object', async () => {
    const openai = createOpenAI({ baseURL: upstream.baseURL, apiKey: 'x' });
    const text = await generateText({ model: openai('gpt-4o'), prompt: 'hi', maxRetries: 0 });
    assert.equal(text.text, 'Hello there, friend.');
    assert.equal(text.reasoningText, 'thinking hard');
    assert.deepEqual([text.usage.inputTokens, text.usage.outputTokens, text.usage.inputTokenDetails.cacheReadTokens, text.usage.outputTokenDetails.reasoningTokens], [11, 7, 3, 2]);
    const streamed = streamText({ model: openai('gpt-4o'), prompt: 'hi', maxRetries: 0 });
    let joined = '';
    for await (const part of streamed.textStream) joined += part;
    assert.equal(joined, 'Hello there, friend.');
    assert.equal((await streamed.usage).totalTokens, 18);
    const weatherTool = tool({ description: 'weather', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `${city}: 20C` });
    const loop = { model: openai('gpt-4o'), prompt: 'weather?', tools: { weather: weatherTool }, stopWhen: stepCountIs(3), maxRetries: 0 };
    const streamedLoop = streamText(loop);
    for (const steps of [(await generateText(loop)).steps, await streamedLoop.steps]) {
      assert.deepEqual(steps.map((s) => s.finishReason), ['tool-calls', 'stop']);
      assert.deepEqual(steps[0].toolCalls.map((c) => [c.toolName, c.input]), [['weather', { city: 'Paris' }]]);
      assert.equal(steps[1].text, 'Hello there, friend.');
    }
    const second = upstream.requests.at(-1)?.input as JsonObject[];
    assert.deepEqual(second.slice(1).map((item) => item.type), ['function_call', 'function_call_output']);
    const object = await generateText({ model: openai('gpt-4o'), prompt: 'who?', output: Output.object({ schema: z.object({ name: z.string(), age: z.number() }) }), maxRetries: 0 });
    assert.deepEqual(object.output, { name: 'Ann', age: 31 });
  });

  test('AI SDK multi-turn: stored item references are refused with a 400 naming them; store: false works', async () => {
    const openai = createOpenAI({ baseURL: upstream.baseURL, apiKey: 'x' });
    const first = await generateText({ model: openai('gpt-4o'), prompt: 'hi', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hi' }, ...first.response.messages, { role: 'user' as const, content: 'again' }];
    await assert.rejects(generateText({ model: openai('gpt-4o'), messages, maxRetries: 0 }), (err: Error) => /item references/.test(err.message) && /input\[1\]/.test(JSON.stringify(err)));
    const again = await generateText({ model: openai('gpt-4o'), messages, maxRetries: 0, providerOptions: { openai: { store: false } } });
    assert.equal(again.text, 'Hello there, friend.');
  });

  test('OpenAI Agents SDK: run, streamed run, a function tool', async () => {
    setTracingDisabled(true);
    // The Agents SDK's types name the CommonJS build of the same openai package.
    setDefaultOpenAIClient(new OpenAI({ baseURL: upstream.baseURL, apiKey: 'x', maxRetries: 0 }) as unknown as Parameters<typeof setDefaultOpenAIClient>[0]);
    const agent = new Agent({ name: 'greeter', instructions: 'be nice', model: 'gpt-4o' });
    const result = await run(agent, 'hi');
    assert.equal(result.finalOutput, 'Hello there, friend.');
    assert.equal(result.state.usage.totalTokens, 18);
    const streamed = await run(agent, 'hi', { stream: true });
    let text = '';
    for await (const piece of streamed.toTextStream()) text += piece;
    await streamed.completed;
    assert.equal(text, 'Hello there, friend.');
    const weatherTool = agentTool({ name: 'weather', description: 'weather', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `${city}: 20C` });
    const withTool = await run(new Agent({ name: 'forecaster', instructions: 'use tools', model: 'gpt-4o', tools: [weatherTool] }), 'weather?');
    assert.equal(withTool.finalOutput, 'Hello there, friend.');
    const sent = upstream.requests.at(-1)?.input as JsonObject[];
    assert.deepEqual(sent.at(-1), { type: 'function_call_output', call_id: 'call_1', output: 'Paris: 20C', status: 'completed' });
  });

  test('LangChain ChatOpenAI with useResponsesApi: invoke, stream, tool calls and their follow-up', async () => {
    const llm = new ChatOpenAI({ model: 'gpt-4o', apiKey: 'x', configuration: { baseURL: upstream.baseURL }, useResponsesApi: true, maxRetries: 0 });
    const message = await llm.invoke('hi');
    assert.equal(message.text, 'Hello there, friend.');
    assert.deepEqual([message.usage_metadata?.input_tokens, message.usage_metadata?.output_tokens, message.usage_metadata?.total_tokens], [11, 7, 18]);
    let streamed = '';
    for await (const chunk of await llm.stream('hi')) streamed += chunk.text;
    assert.equal(streamed, 'Hello there, friend.');
    const bound = llm.bindTools([{ type: 'function', function: { name: 'weather', description: 'weather', parameters: weather } }]);
    const call = await bound.invoke('weather?');
    assert.deepEqual(call.tool_calls?.map((c) => [c.name, c.args, c.id]), [['weather', { city: 'Paris' }, 'call_1']]);
    const follow = await bound.invoke([new HumanMessage('weather?'), call, new ToolMessage({ content: '20C', tool_call_id: 'call_1' })]);
    assert.equal(follow.text, 'Hello there, friend.');
  });
});
