// The Anthropic provider family: golden fixtures (requests, answers, streams, errors), the stream state
// machine event by event, and the adapter against the simulator's /v1/messages end to end.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { ProviderConfig } from '../../src/config/types.js';
import { anthropicAdapter } from '../../src/providers/anthropic/index.js';
import { simThinkingSignature } from '../../src/simulator/anthropic.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { GatewayError } from '../../src/shared/errors.js';
import { SseParser } from '../../src/sse/parser.js';
import type { CanonicalError, ChatChunk, ChatRequest, JsonObject, ThinkingBlock } from '../../src/translate/canonical.js';
import type { ProviderTarget, UpstreamEvent } from '../../src/translate/provider.js';

const fixtures = new URL('../../../test/fixtures/translate/anthropic-provider/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), 'utf8');
const readJson = <T = JsonObject>(path: string): T => JSON.parse(read(path)) as T;
const cases = (dir: string, input: string): string[] =>
  readdirSync(new URL(dir, fixtures))
    .filter((file) => file.endsWith(input))
    .map((file) => file.slice(0, -input.length))
    .filter((name) => !name.includes('.'))
    .sort();

function provider(overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'claude',
    type: 'anthropic',
    base_url: 'https://api.anthropic.com',
    api_key: 'sk-ant-test',
    drop_unsupported: false,
    timeouts: { connect_ms: 1000, first_byte_ms: 5000, idle_ms: 5000, total_ms: 10000 },
    connections: 4,
    ...overrides,
  };
}

function target(overrides: Partial<ProviderTarget> = {}): ProviderTarget {
  return { provider: provider(), upstreamModel: 'claude-sonnet-4-5', stream: false, dropUnsupported: false, created: 1700000000, requestId: 'req-1', ...overrides };
}

interface ExpectedError {
  $error: { status: number; param?: string; code?: string; message?: string };
}

function assertGatewayError(run: () => unknown, expected: ExpectedError['$error']): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.status, expected.status);
    if (expected.param !== undefined) assert.equal(err.param, expected.param);
    if (expected.code !== undefined) assert.equal(err.code, expected.code);
    if (expected.message !== undefined) assert.equal(err.message, expected.message);
    return true;
  });
}

function events(sse: string | Buffer, pieceBytes = Infinity): UpstreamEvent[] {
  const bytes = Buffer.isBuffer(sse) ? sse : Buffer.from(sse);
  const parser = new SseParser();
  const out: UpstreamEvent[] = [];
  for (let i = 0; i < bytes.length; i += Math.min(pieceBytes, bytes.length)) {
    for (const event of parser.push(bytes.subarray(i, i + pieceBytes))) out.push({ event: event.event, data: event.data });
  }
  return out;
}

function decode(sse: string | Buffer, t: ProviderTarget = target({ stream: true }), pieceBytes = Infinity) {
  const decoder = anthropicAdapter.chat.stream(t);
  const chunks: Array<ChatChunk | CanonicalError> = [];
  for (const event of events(sse, pieceBytes)) chunks.push(...decoder.push(event));
  chunks.push(...decoder.end());
  return { chunks, complete: decoder.complete };
}

describe('anthropic provider: request fixtures', () => {
  for (const name of cases('requests/', '.json')) {
    test(name, () => {
      const request = readJson<ChatRequest>(`requests/${name}.json`);
      const expected = readJson<JsonObject | ExpectedError>(`requests/${name}.anthropic.json`);
      let overrides: Partial<ProviderTarget> = {};
      try {
        overrides = readJson<Partial<ProviderTarget>>(`requests/${name}.target.json`);
      } catch {
        // no target overrides for this case
      }
      const t = target({ stream: request.stream === true, ...overrides });
      if ('$error' in expected) {
        assertGatewayError(() => anthropicAdapter.chat.request(request, t), (expected as ExpectedError).$error);
        return;
      }
      const wire = anthropicAdapter.chat.request(request, t);
      assert.equal(wire.path, '/v1/messages');
      assert.deepEqual(wire.headers, []);
      assert.deepEqual(JSON.parse(wire.body), expected);
    });
  }
});

describe('anthropic provider: response fixtures', () => {
  for (const name of cases('responses/', '.anthropic.json')) {
    test(name, () => {
      const body = readJson(`responses/${name}.anthropic.json`);
      const expected = readJson<JsonObject | ExpectedError>(`responses/${name}.canonical.json`);
      if ('$error' in expected) {
        assertGatewayError(() => anthropicAdapter.chat.response(body, target()), (expected as ExpectedError).$error);
        return;
      }
      assert.deepEqual(anthropicAdapter.chat.response(body, target()), expected);
    });
  }
});

describe('anthropic provider: error fixtures', () => {
  for (const name of cases('errors/', '.json')) {
    test(name, () => {
      const input = readJson<{ status: number; body: string }>(`errors/${name}.json`);
      assert.deepEqual(anthropicAdapter.error(input.status, input.body), readJson(`errors/${name}.canonical.json`));
    });
  }
});

/** Streams that end without message_stop, or with an error event: never complete. */
const incompleteStreams = new Set(['cut', 'cut-after-delta', 'error']);

describe('anthropic provider: stream fixtures', () => {
  const names = cases('streams/', '.sse');
  test('every stream case has its expectation', () => assert.ok(names.length >= 9, names.join(',')));
  for (const name of names) {
    test(name, () => {
      const sse = read(`streams/${name}.sse`);
      const expected = readJson<unknown[]>(`streams/${name}.canonical.json`);
      const whole = decode(sse);
      assert.deepEqual(whole.chunks, expected);
      assert.equal(whole.complete, !incompleteStreams.has(name));
      // The same events however the bytes were split (a multi-byte character falls across pieces too).
      assert.deepEqual(decode(sse, undefined, 7).chunks, expected);
    });
  }
});

describe('anthropic provider: stream state machine, event by event', () => {
  const chunkOf = (out: Array<ChatChunk | CanonicalError>): ChatChunk => {
    assert.equal(out.length, 1);
    return out[0] as ChatChunk;
  };

  test('tool blocks: indexes count tool blocks only, pieces pass as sent, complete only at message_stop', () => {
    const decoder = anthropicAdapter.chat.stream(target({ stream: true }));
    const push = (data: JsonObject) => decoder.push({ event: String(data.type), data: JSON.stringify(data) });
    const start = chunkOf(push({ type: 'message_start', message: { id: 'msg_1', model: 'claude-x', usage: { input_tokens: 7, output_tokens: 1 } } }));
    assert.deepEqual(start.choices[0].delta, { role: 'assistant', content: '' });
    assert.equal(start.id, 'msg_1');
    assert.deepEqual(push({ type: 'ping' }), []);
    assert.deepEqual(push({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }), []);
    assert.deepEqual(chunkOf(push({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } })).choices[0].delta, { reasoning_content: 'hmm' });
    assert.deepEqual(push({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'c2ln' } }), []);
    assert.deepEqual(chunkOf(push({ type: 'content_block_stop', index: 0 })).choices[0].delta, {
      thinking_blocks: [{ type: 'thinking', thinking: 'hmm', signature: 'c2ln' }],
    });
    const call = chunkOf(push({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_9', name: 'f', input: {} } }));
    assert.deepEqual(call.choices[0].delta.tool_calls, [{ index: 0, id: 'toolu_9', type: 'function', function: { name: 'f', arguments: '' } }]);
    const piece = chunkOf(push({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a": "b\\' } }));
    assert.deepEqual(piece.choices[0].delta.tool_calls, [{ index: 0, function: { arguments: '{"a": "b\\' } }]);
    assert.deepEqual(push({ type: 'content_block_stop', index: 1 }), []);
    assert.equal(decoder.complete, false);
    const finish = chunkOf(push({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 30 } }));
    assert.deepEqual([finish.choices[0].delta, finish.choices[0].finish_reason], [{}, 'tool_calls']);
    assert.equal(decoder.complete, false);
    const usage = chunkOf(push({ type: 'message_stop' }));
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, { prompt_tokens: 7, completion_tokens: 30, total_tokens: 37, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } });
    assert.equal(decoder.complete, true);
    assert.deepEqual(decoder.end(), []);
  });

  test("message_delta usage replaces message_start's (cumulative), and a 0 there does not erase the input count", () => {
    const sse = (delta: JsonObject): string =>
      [
        { type: 'message_start', message: { id: 'm', model: 'c', usage: { input_tokens: 471, cache_read_input_tokens: 50, output_tokens: 5 } } },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: delta },
        { type: 'message_stop' },
      ]
        .map((data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)
        .join('');
    const usageOf = (delta: JsonObject) => (decode(sse(delta)).chunks.at(-1) as ChatChunk).usage;
    assert.deepEqual(usageOf({ input_tokens: 0, output_tokens: 80 }), {
      prompt_tokens: 521, completion_tokens: 80, total_tokens: 601, prompt_tokens_details: { cached_tokens: 50, cache_write_tokens: 0 },
    });
    assert.deepEqual(usageOf({ input_tokens: 471, cache_read_input_tokens: 50, cache_creation_input_tokens: 9, output_tokens: 80 }), {
      prompt_tokens: 530, completion_tokens: 80, total_tokens: 610, prompt_tokens_details: { cached_tokens: 50, cache_write_tokens: 9 },
    });
  });

  test('an event that is not JSON is a 502; events after message_stop are ignored', () => {
    const decoder = anthropicAdapter.chat.stream(target({ stream: true }));
    assertGatewayError(() => decoder.push({ event: 'content_block_delta', data: '{"type":"content_block_delta",' }), { status: 502, code: 'upstream_invalid_response' });
    decoder.push({ event: 'message_stop', data: '{"type":"message_stop"}' });
    assert.equal(decoder.complete, true);
    assert.deepEqual(decoder.push({ event: 'error', data: '{"type":"error","error":{"type":"api_error","message":"late"}}' }), []);
  });

  test('a stream without message_start still starts with the role chunk, with ids from the target', () => {
    const { chunks } = decode('event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}\n\n');
    assert.deepEqual(chunks, [
      { id: 'chatcmpl-req-1', object: 'chat.completion.chunk', created: 1700000000, model: 'claude-sonnet-4-5', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { id: 'chatcmpl-req-1', object: 'chat.completion.chunk', created: 1700000000, model: 'claude-sonnet-4-5', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] },
    ]);
  });
});

describe('anthropic provider: thinking round trip', () => {
  test('streamed thinking blocks go back on the next turn first, signatures byte for byte', () => {
    const { chunks } = decode(read('streams/thinking.sse'));
    const blocks: ThinkingBlock[] = [];
    let text = '';
    for (const chunk of chunks) {
      const delta = 'choices' in chunk ? chunk.choices[0]?.delta : undefined;
      blocks.push(...(delta?.thinking_blocks ?? []));
      text += delta?.content ?? '';
    }
    const request: ChatRequest = {
      model: 'm',
      messages: [
        { role: 'user', content: 'hey' },
        { role: 'assistant', content: text, thinking_blocks: blocks },
        { role: 'user', content: 'and now?' },
      ],
      thinking: { type: 'enabled', budget_tokens: 1024 },
      max_tokens: 2048,
    };
    const body = JSON.parse(anthropicAdapter.chat.request(request, target()).body) as { messages: Array<{ content: JsonObject[] }> };
    const sse = read('streams/thinking.sse');
    const signature = /"signature":"([^"]+)"/.exec(sse.slice(sse.indexOf('signature_delta')))?.[1];
    assert.deepEqual(body.messages[1].content, [
      { type: 'thinking', thinking: 'The user said hey, so I greet back.', signature },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' },
      { type: 'text', text: 'Hello! How can I help?' },
    ]);
  });
});

describe('anthropic provider: adapter facts', () => {
  test('family, framing, auth headers, no embeddings', () => {
    assert.equal(anthropicAdapter.family, 'anthropic');
    assert.equal(anthropicAdapter.framing, 'sse');
    assert.equal(anthropicAdapter.embeddings, undefined);
    assert.deepEqual(anthropicAdapter.authHeaders(provider()), [['x-api-key', 'sk-ant-test'], ['anthropic-version', '2023-06-01']]);
    assert.deepEqual(anthropicAdapter.authHeaders(provider({ api_key: undefined, anthropic_version: '2024-01-01' })), [['anthropic-version', '2024-01-01']]);
  });

  test('a tool message without tool_call_id is a 400 naming it', () => {
    const request: ChatRequest = { model: 'm', messages: [{ role: 'tool', content: 'x' }] };
    assertGatewayError(() => anthropicAdapter.chat.request(request, target()), { status: 400, param: 'messages[0].tool_call_id' });
  });

  test('tool_choice without tools is not sent; an explicit thinking budget raises the default max_tokens', () => {
    const body = JSON.parse(
      anthropicAdapter.chat.request({ model: 'm', messages: [{ role: 'user', content: 'x' }], tool_choice: 'required', thinking: { type: 'enabled', budget_tokens: 2000 } }, target()).body,
    ) as JsonObject;
    assert.equal(body.tool_choice, undefined);
    assert.equal(body.max_tokens, 6096);
  });
});

describe('anthropic provider against the simulator', () => {
  let sim: RunningSimulator;
  let base: string;
  before(async () => {
    sim = await startSimulator({ ttft_ms: 0 });
    base = `http://127.0.0.1:${sim.port}`;
  });
  after(() => sim.close());

  async function send(request: ChatRequest, extraHeaders: Record<string, string> = {}) {
    const t = target({ stream: request.stream === true, upstreamModel: request.model, provider: provider({ base_url: base }) });
    const wire = anthropicAdapter.chat.request(request, t);
    const headers = new Headers({ 'content-type': 'application/json', ...extraHeaders });
    for (const [name, value] of [...anthropicAdapter.authHeaders(t.provider), ...wire.headers]) headers.set(name, value);
    const res = await fetch(`${base}${wire.path}`, { method: 'POST', headers, body: wire.body });
    return { t, res };
  }

  async function whole(request: ChatRequest, extraHeaders?: Record<string, string>) {
    const { t, res } = await send(request, extraHeaders);
    assert.equal(res.status, 200);
    return anthropicAdapter.chat.response((await res.json()) as JsonObject, t);
  }

  async function streamed(request: ChatRequest) {
    const { t, res } = await send({ ...request, stream: true });
    assert.equal(res.status, 200);
    return decode(Buffer.from(await res.arrayBuffer()), t, 5);
  }

  const user = (text: string): ChatRequest['messages'] => [{ role: 'user', content: text }];
  const tools: ChatRequest['tools'] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
  ];

  test('whole text answer with the sent headers', async () => {
    const completion = await whole({ model: 'sim-len-4', messages: [{ role: 'system', content: 'be brief' }, ...user('hello world!')] });
    assert.equal(completion.choices[0].message.content, 'The quick switchyard routes ');
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.deepEqual(completion.usage, { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } });
    const recorded = sim.stats().last.at(-1);
    assert.equal(recorded?.headers['x-api-key'], 'sk-ant-test');
    assert.equal(recorded?.headers['anthropic-version'], '2023-06-01');
    assert.equal((recorded?.body as JsonObject).max_tokens, 4096);
  });

  test('streamed text: role chunk, content, finish, usage, complete', async () => {
    const { chunks, complete } = await streamed({ model: 'sim-len-3', messages: user('hi') });
    assert.equal(complete, true);
    const deltas = chunks.map((c) => ('choices' in c ? c.choices[0] : undefined));
    assert.deepEqual(deltas[0]?.delta, { role: 'assistant', content: '' });
    assert.equal(deltas.map((d) => d?.delta.content ?? '').join(''), 'The quick switchyard ');
    assert.equal(deltas.at(-2)?.finish_reason, 'stop');
    assert.deepEqual((chunks.at(-1) as ChatChunk).usage?.completion_tokens, 3);
  });

  test('thinking from reasoning_effort: reasoning text and the signature, whole and streamed', async () => {
    const request: ChatRequest = { model: 'sim-len-2', messages: user('think'), reasoning_effort: 'low' };
    const completion = await whole(request);
    const message = completion.choices[0].message;
    assert.equal(message.reasoning_content, 'The simulator thinks about the request before it answers. ');
    assert.deepEqual(message.thinking_blocks, [{ type: 'thinking', thinking: message.reasoning_content, signature: simThinkingSignature }]);
    assert.equal(message.content, 'The quick ');
    const { chunks, complete } = await streamed(request);
    assert.equal(complete, true);
    const blocks = chunks.flatMap((c) => ('choices' in c ? (c.choices[0]?.delta.thinking_blocks ?? []) : []));
    assert.deepEqual(blocks, message.thinking_blocks);
    const reasoning = chunks.map((c) => ('choices' in c ? (c.choices[0]?.delta.reasoning_content ?? '') : '')).join('');
    assert.equal(reasoning, message.reasoning_content);
  });

  test('required tool choice with two tools: two parallel calls, streamed with indexes 0 and 1', async () => {
    const request: ChatRequest = { model: 'm', messages: user('weather and time'), tools, tool_choice: 'required' };
    const completion = await whole(request);
    assert.equal(completion.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(
      completion.choices[0].message.tool_calls?.map((c) => [c.function.name, c.function.arguments]),
      [['get_weather', '{"city":"sim"}'], ['get_time', '{"zone":"sim"}']],
    );
    const { chunks } = await streamed(request);
    const args = ['', ''];
    for (const chunk of chunks) {
      for (const call of ('choices' in chunk ? chunk.choices[0]?.delta.tool_calls : undefined) ?? []) args[call.index] += call.function?.arguments ?? '';
    }
    assert.deepEqual(args, ['{"city":"sim"}', '{"zone":"sim"}']);
    const single = await whole({ ...request, parallel_tool_calls: false });
    assert.equal(single.choices[0].message.tool_calls?.length, 1);
  });

  test('JSON mode comes back as text, whole and streamed', async () => {
    const request: ChatRequest = { model: 'm', messages: user('json'), response_format: { type: 'json_object' } };
    const completion = await whole(request);
    assert.deepEqual([completion.choices[0].message.content, completion.choices[0].finish_reason, completion.choices[0].message.tool_calls], ['{}', 'stop', undefined]);
    const { chunks } = await streamed(request);
    assert.equal(chunks.map((c) => ('choices' in c ? (c.choices[0]?.delta.content ?? '') : '')).join(''), '{}');
    const schema = await whole({
      model: 'm',
      messages: user('json'),
      response_format: { type: 'json_schema', json_schema: { name: 'p', schema: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } } } } },
    });
    assert.deepEqual(JSON.parse(schema.choices[0].message.content ?? ''), { name: 'sim', age: 1 });
  });

  test('prompt caching: writes by default, reads with x-sim-cache: read', async () => {
    const request: ChatRequest = {
      model: 'sim-len-1',
      messages: [{ role: 'system', content: [{ type: 'text', text: 'x'.repeat(400), cache_control: { type: 'ephemeral' } }] }, ...user('abcd')],
    };
    const written = await whole(request);
    assert.deepEqual(written.usage?.prompt_tokens_details, { cached_tokens: 0, cache_write_tokens: 100 });
    assert.equal(written.usage?.prompt_tokens, 101);
    const read = await whole(request, { 'x-sim-cache': 'read' });
    assert.deepEqual(read.usage?.prompt_tokens_details, { cached_tokens: 100, cache_write_tokens: 0 });
    assert.equal(read.usage?.prompt_tokens, 101);
  });

  test('an overloaded simulator (529) maps to 503 overloaded_error', async () => {
    const { res } = await send({ model: 'sim-fault-status-529', messages: user('hi') });
    assert.equal(res.status, 529);
    const mapped = anthropicAdapter.error(res.status, await res.text());
    assert.equal(mapped.status, 503);
    assert.equal(mapped.body.error.type, 'overloaded_error');
  });

  test('a stream cut by the simulator stays incomplete', async () => {
    const { chunks, complete } = await streamed({ model: 'sim-fault-end-after-2', messages: user('hi') });
    assert.equal(complete, false);
    assert.ok(chunks.every((c) => 'choices' in c && c.choices.length === 1 && c.choices[0].finish_reason === null));
  });
});
