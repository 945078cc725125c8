// The Anthropic Messages client dialect: golden fixtures (requests, completions, streams, errors), the
// stream state machine event by event, and the real @anthropic-ai/sdk against a server answering with it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import {
  anthropicMessagesDialect as dialect, countTokensBody, modelListBody,
} from '../../src/dialects/anthropic-messages/index.js';
import { GatewayError } from '../../src/shared/errors.js';
import type { CanonicalError, ChatChunk, ChatCompletion, JsonObject } from '../../src/translate/canonical.js';
import type { EncodeContext } from '../../src/translate/dialect.js';

const root = new URL('../../../test/fixtures/translate/anthropic-dialect/', import.meta.url);
const text = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const json = <T = unknown>(path: string): T => JSON.parse(text(path)) as T;
const cases = (dir: string, suffix: string): string[] =>
  readdirSync(new URL(`${dir}/`, root)).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length)).sort();

const ctx: EncodeContext = { model: 'claude-sonnet-4-5', requestId: 'req-7f3a', created: 1700000000, request: {} };

/** A stream fixture: chunks, and `{error, status}` entries standing for a mid-stream failure. */
type StreamStep = ChatChunk | (CanonicalError & { status: number });
const isErrorStep = (s: StreamStep): s is CanonicalError & { status: number } => 'error' in s;

function encodeSteps(steps: StreamStep[]): string[] {
  const encoder = dialect.streamEncoder(ctx);
  const out = steps.map((s) => (isErrorStep(s) ? encoder.error({ error: s.error }, s.status) : encoder.push(s)));
  out.push(encoder.end());
  return out;
}

function sseEvents(sse: string): Array<{ event: string; data: JsonObject }> {
  return sse
    .split('\n\n')
    .filter((e) => e !== '')
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      assert.equal(rest.length, 0, `one event line and one data line: ${block}`);
      assert.ok(eventLine.startsWith('event: ') && dataLine.startsWith('data: '), block);
      return { event: eventLine.slice(7), data: JSON.parse(dataLine.slice(6)) as JsonObject };
    });
}

const chunk = (delta: JsonObject, finish: string | null = null): ChatChunk =>
  ({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] }) as ChatChunk;
const usageChunk = (prompt: number, completion: number): ChatChunk => ({
  id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [],
  usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
});
const types = (sse: string): string[] => sseEvents(sse).map((e) => e.event);

describe('requests: Anthropic → canonical (golden)', () => {
  const names = cases('requests', '.anthropic.json');
  test('there are request fixtures', () => assert.ok(names.length >= 10));
  for (const name of names) {
    test(name, () => {
      const canonical = dialect.toCanonical(json(`requests/${name}.anthropic.json`));
      assert.deepEqual(canonical, json(`requests/${name}.canonical.json`));
      assert.equal(canonical.stream_options, undefined, 'usage reporting is the gateway\'s business');
    });
  }
});

describe('requests: validation names the parameter', () => {
  const rows = json<Array<{ case: string; param: string; code: string; body: JsonObject }>>('requests/invalid.json');
  for (const row of rows) {
    test(row.case, () => {
      let thrown: unknown;
      try {
        dialect.toCanonical(row.body);
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof GatewayError, `expected a GatewayError, got ${String(thrown)}`);
      assert.deepEqual([thrown.status, thrown.param, thrown.code], [400, row.param, row.code], thrown.message);
      assert.ok(thrown.message.includes(row.param), `the message names ${row.param}: ${thrown.message}`);
      const answer = dialect.error(thrown.status, thrown.toBody());
      assert.equal(answer.status, 400);
      assert.deepEqual(JSON.parse(answer.body), { type: 'error', error: { type: 'invalid_request_error', message: thrown.message } });
    });
  }
});

describe('completions: canonical → Anthropic message (golden)', () => {
  for (const name of cases('completions', '.canonical.json')) {
    test(name, () => {
      const message = dialect.fromCompletion(json<ChatCompletion>(`completions/${name}.canonical.json`), ctx);
      assert.deepEqual(message, json(`completions/${name}.anthropic.json`));
    });
  }

  test('a thinking signature survives the round trip back into the next request', () => {
    const message = dialect.fromCompletion(json<ChatCompletion>('completions/thinking-signature.canonical.json'), ctx);
    const next = dialect.toCanonical({
      model: 'claude-sonnet-4-5', max_tokens: 2000,
      messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: message.content }, { role: 'user', content: 'more' }],
    });
    const original = json<ChatCompletion>('completions/thinking-signature.canonical.json').choices[0].message;
    assert.deepEqual(next.messages[1].thinking_blocks, original.thinking_blocks);
    assert.equal(next.messages[1].reasoning_content, original.reasoning_content);
  });
});

describe('streams: canonical chunks → Anthropic SSE (golden)', () => {
  const names = cases('streams', '.canonical.json');
  for (const name of names) {
    test(name, () => {
      const sse = encodeSteps(json<StreamStep[]>(`streams/${name}.canonical.json`)).join('');
      assert.equal(sse, text(`streams/${name}.anthropic.sse`));
      for (const { event, data } of sseEvents(sse)) assert.equal(data.type, event, 'event name and data type agree');
    });
  }

  test('every stream has well-nested blocks with increasing indexes and ends once', () => {
    for (const name of names) {
      const events = sseEvents(encodeSteps(json<StreamStep[]>(`streams/${name}.canonical.json`)).join(''));
      let open = -1;
      let next = 0;
      for (const { event, data } of events) {
        if (event === 'content_block_start') {
          assert.equal(open, -1, `${name}: a block opens while ${open} is open`);
          assert.equal(data.index, next++, name);
          open = data.index as number;
        } else if (event === 'content_block_delta') assert.equal(data.index, open, name);
        else if (event === 'content_block_stop') {
          assert.equal(data.index, open, name);
          open = -1;
        }
      }
      const last = events.at(-1)?.event;
      assert.ok(last === 'message_stop' || last === 'error', `${name} ends with ${last}`);
      assert.equal(events.filter((e) => e.event === 'message_stop' || e.event === 'error').length, 1, name);
      assert.equal(events[0].event, 'message_start', name);
    }
  });
});

describe('stream encoder, event by event', () => {
  test('the first chunk (role only) opens the message and nothing else; empty deltas write nothing', () => {
    const enc = dialect.streamEncoder(ctx);
    assert.deepEqual(types(enc.push(chunk({ role: 'assistant', content: '' }))), ['message_start', 'ping']);
    assert.equal(enc.push(chunk({})), '');
    assert.equal(enc.push(chunk({ content: '' })), '');
    assert.deepEqual(types(enc.push(chunk({ content: 'a' }))), ['content_block_start', 'content_block_delta']);
    assert.deepEqual(types(enc.push(chunk({ content: 'b' }))), ['content_block_delta']);
  });

  test('finish_reason closes the block and holds message_delta until the usage arrives', () => {
    const enc = dialect.streamEncoder(ctx);
    enc.push(chunk({ role: 'assistant', content: 'Hi' }));
    assert.deepEqual(types(enc.push(chunk({}, 'stop'))), ['content_block_stop']);
    assert.equal(enc.push(chunk({})), '');
    const tail = enc.push(usageChunk(12, 3));
    assert.deepEqual(types(tail), ['message_delta', 'message_stop']);
    assert.deepEqual(sseEvents(tail)[0].data.usage, { input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 3 });
    assert.equal(enc.end(), '');
    assert.equal(enc.push(chunk({ content: 'late' })), '');
    assert.equal(enc.error({ error: { message: 'x', type: 'api_error', param: null, code: null } }, 500), '');
  });

  test('without usage, end() sends the held stop reason', () => {
    const enc = dialect.streamEncoder(ctx);
    enc.push(chunk({ role: 'assistant', content: 'Hi' }));
    enc.push(chunk({}, 'length'));
    const tail = enc.end();
    assert.deepEqual(types(tail), ['message_delta', 'message_stop']);
    assert.equal((sseEvents(tail)[0].data.delta as JsonObject).stop_reason, 'max_tokens');
  });

  test('usage before the finish_reason: the finish sends everything at once', () => {
    const enc = dialect.streamEncoder(ctx);
    enc.push(chunk({ role: 'assistant', content: 'Hi' }));
    assert.equal(enc.push(usageChunk(1, 1)), '');
    assert.deepEqual(types(enc.push(chunk({}, 'stop'))), ['content_block_stop', 'message_delta', 'message_stop']);
  });

  test('a tool call whose id is repeated on later deltas stays one block; a different id opens another', () => {
    const enc = dialect.streamEncoder(ctx);
    enc.push(chunk({ role: 'assistant' }));
    const first = enc.push(chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] }));
    assert.deepEqual(types(first), ['content_block_start']);
    assert.deepEqual(types(enc.push(chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { arguments: '{}' } }] }))), ['content_block_delta']);
    const second = enc.push(chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{"x":1}' } }] }));
    assert.deepEqual(types(second), ['content_block_stop', 'content_block_start', 'content_block_delta']);
    assert.equal(sseEvents(second)[1].data.index, 1);
    // A late piece of the closed first call has no block left to go to.
    assert.equal(enc.push(chunk({ tool_calls: [{ index: 0, function: { arguments: ' ' } }] })), '');
  });

  test('an error before anything was written is the error event alone, and ends the stream', () => {
    const enc = dialect.streamEncoder(ctx);
    const out = enc.error({ error: { message: 'Rate limit reached.', type: 'rate_limit_error', param: null, code: null } }, 429);
    assert.equal(out, 'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached."}}\n\n');
    assert.equal(enc.end(), '');
  });

  test('a thinking block without a signature closes without a signature_delta', () => {
    const enc = dialect.streamEncoder(ctx);
    enc.push(chunk({ role: 'assistant', reasoning_content: 'hmm' }));
    const out = enc.push(chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'hmm' }] }));
    assert.deepEqual(types(out), ['content_block_stop']);
  });
});

describe('errors: canonical → Anthropic status and type', () => {
  const rows = json<Array<{ case: string; status: number; body: CanonicalError; expect: { status: number; body: JsonObject } }>>('errors.json');
  for (const row of rows) {
    test(`${row.case}: ${row.status} ${row.body.error.type} → ${row.expect.status}`, () => {
      const answer = dialect.error(row.status, row.body);
      assert.equal(answer.status, row.expect.status);
      assert.deepEqual(JSON.parse(answer.body), row.expect.body);
    });
  }
});

describe('count_tokens and models bodies', () => {
  test('count_tokens', () => assert.equal(countTokensBody(2095), '{"input_tokens":2095}'));
  test('models list in Anthropic\'s shape', () => {
    assert.deepEqual(JSON.parse(modelListBody([{ id: 'claude-sonnet-4-5', ownedBy: 'anthropic' }, { id: 'gpt-4o', ownedBy: 'openai' }], 1759104000)), {
      data: [
        { type: 'model', id: 'claude-sonnet-4-5', display_name: 'claude-sonnet-4-5', created_at: '2025-09-29T00:00:00Z' },
        { type: 'model', id: 'gpt-4o', display_name: 'gpt-4o', created_at: '2025-09-29T00:00:00Z' },
      ],
      has_more: false,
      first_id: 'claude-sonnet-4-5',
      last_id: 'gpt-4o',
    });
    assert.deepEqual(JSON.parse(modelListBody([])), { data: [], has_more: false, first_id: null, last_id: null });
  });
});

// The server answers /v1/messages with this dialect: `stream:<fixture>` and `whole:<fixture>` models pick
// a canonical fixture, `error:<status>:<type>` an error; every request first goes through toCanonical.
describe('the real @anthropic-ai/sdk against the dialect', () => {
  let server: Server;
  let client: Anthropic;
  const seen: JsonObject[] = [];

  function answer(body: JsonObject, res: import('node:http').ServerResponse): void {
    try {
      seen.push(dialect.toCanonical(body) as JsonObject);
    } catch (e) {
      const err = e as GatewayError;
      const out = dialect.error(err.status, err.toBody());
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body);
      return;
    }
    const [kind, name, type] = String(body.model).split(':');
    if (kind === 'error') {
      const out = dialect.error(Number(name), { error: { message: `failed with ${type}`, type, param: null, code: null } });
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body);
    } else if (kind === 'whole') {
      const completion = json<ChatCompletion>(`completions/${name}.canonical.json`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dialect.fromCompletion(completion, { ...ctx, model: String(body.model) })));
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const piece of encodeSteps(json<StreamStep[]>(`streams/${name}.canonical.json`))) {
        // Split each write in two so events also cross network chunks mid-line.
        const cut = Math.floor(piece.length / 2);
        res.write(piece.slice(0, cut));
        res.write(piece.slice(cut));
      }
      res.end();
    }
  }

  before(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => answer(JSON.parse(raw) as JsonObject, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'x', maxRetries: 0 });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const tools: Anthropic.Tool[] = [
    { name: 'get_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } },
    { name: 'get_time', input_schema: { type: 'object', properties: { timezone: { type: 'string' } } }, cache_control: { type: 'ephemeral' } },
  ];

  test('messages.stream: text then two tool calls, inputs parsed from split input_json_delta, cached usage', async () => {
    const stream = client.messages.stream({
      model: 'stream:parallel-tools-split', max_tokens: 1024, tools, tool_choice: { type: 'auto' },
      system: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Weather and time in Paris?' }],
    });
    const jsonSnapshots: unknown[] = [];
    stream.on('inputJson', (_partial, snapshot) => jsonSnapshots.push(snapshot));
    const message = await stream.finalMessage();
    assert.equal(message.id, 'msg_req7f3a');
    assert.deepEqual(message.content, [
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
      { type: 'tool_use', id: 'toolu_01T1me', name: 'get_time', input: { timezone: 'Europe/Paris' } },
    ]);
    assert.equal(message.stop_reason, 'tool_use');
    assert.equal(message.stop_sequence, null);
    assert.deepEqual(message.usage, { input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 20 });
    assert.ok(jsonSnapshots.length >= 5, 'the SDK saw the partial inputs');
    assert.deepEqual(seen.at(-1)?.messages, [{ role: 'system', content: 'sys' }, { role: 'user', content: 'Weather and time in Paris?' }]);
  });

  test('messages.stream: thinking with its signature, then text', async () => {
    const message = await client.messages
      .stream({
        model: 'stream:thinking-then-text', max_tokens: 16000, thinking: { type: 'enabled', budget_tokens: 10000 },
        messages: [{ role: 'user', content: 'What is the answer?' }],
      })
      .finalMessage();
    assert.equal(message.id, 'msg_01ThinkStream');
    assert.deepEqual(message.content, [
      { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' },
      { type: 'text', text: 'The answer is 42.' },
    ]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 300);
    assert.equal(message.usage.input_tokens, 50);
  });

  test('messages.stream: redacted thinking, a whole thinking block, text', async () => {
    const message = await client.messages
      .stream({ model: 'stream:redacted-and-whole-thinking', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage();
    assert.deepEqual(message.content, [
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
      { type: 'thinking', thinking: 'Sent whole, not streamed.', signature: 'c2lnbmF0dXJlMg==' },
      { type: 'text', text: 'Done.' },
    ]);
  });

  test('messages.stream: a stream without finish_reason still ends properly', async () => {
    const message = await client.messages
      .stream({ model: 'stream:no-finish', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage();
    assert.deepEqual(message.content, [{ type: 'text', text: 'partial answer' }]);
    assert.equal(message.stop_reason, 'end_turn');
  });

  test('messages.create({stream: true}): the raw events in order', async () => {
    const stream = await client.messages.create({ model: 'stream:text', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const seenTypes: string[] = [];
    for await (const event of stream) seenTypes.push(event.type);
    assert.deepEqual(seenTypes, [
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
  });

  test('messages.create: a whole message with thinking, redacted thinking and text', async () => {
    const message = await client.messages.create({ model: 'whole:thinking-signature', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual({ ...message, model: 'claude-sonnet-4-5' }, json('completions/thinking-signature.anthropic.json'));
  });

  test('messages.create: tool calls come back as input objects', async () => {
    const message = await client.messages.create({ model: 'whole:tool-calls-cached-usage', max_tokens: 100, tools, messages: [{ role: 'user', content: 'x' }] });
    const toolUse = message.content.find((b) => b.type === 'tool_use');
    assert.ok(toolUse?.type === 'tool_use');
    assert.deepEqual(toolUse.input, { location: 'Paris', unit: 'celsius' });
    assert.equal(message.stop_reason, 'tool_use');
  });

  const errorCases: Array<[string, new (...args: never[]) => Error, number]> = [
    ['error:429:rate_limit_error', Anthropic.RateLimitError, 429],
    ['error:503:overloaded_error', Anthropic.InternalServerError, 529],
    ['error:500:server_error', Anthropic.InternalServerError, 500],
    ['error:401:authentication_error', Anthropic.AuthenticationError, 401],
    ['error:403:permission_error', Anthropic.PermissionDeniedError, 403],
    ['error:404:not_found_error', Anthropic.NotFoundError, 404],
  ];
  for (const [model, errorClass, status] of errorCases) {
    test(`${model} is raised as ${errorClass.name} (${status})`, async () => {
      await assert.rejects(client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => {
        assert.ok(e instanceof errorClass, `got ${String(e)}`);
        assert.equal((e as InstanceType<typeof Anthropic.APIError>).status, status);
        const body = (e as InstanceType<typeof Anthropic.APIError>).error as { type: string; error: { type: string } };
        assert.equal(body.type, 'error');
        return true;
      });
    });
  }

  test('an overloaded answer carries overloaded_error', async () => {
    await assert.rejects(
      client.messages.create({ model: 'error:503:api_error', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof Anthropic.InternalServerError && e.status === 529 && (e.error as { error: { type: string } }).error.type === 'overloaded_error',
    );
  });

  test('a request the dialect refuses is a BadRequestError naming the parameter', async () => {
    await assert.rejects(
      client.messages.create({
        model: 'whole:text', max_tokens: 10, messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      }),
      (e: unknown) => e instanceof Anthropic.BadRequestError && e.message.includes('tools.0.type'),
    );
  });

  test('a mid-stream error event is raised by the stream', async () => {
    const stream = client.messages.stream({ model: 'stream:mid-stream-error', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    await assert.rejects(stream.finalMessage(), (e: unknown) => e instanceof Anthropic.APIError && e.message.includes('overloaded'));
  });
});
