// The Gemini provider family against golden fixtures (test/fixtures/translate/gemini), and end to end
// through the simulator's Gemini endpoints.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { ProviderConfig } from '../../src/config/types.js';
import { geminiAdapter } from '../../src/providers/gemini/index.js';
import { geminiPath, modelResource, signatureOf, toolCallId } from '../../src/providers/gemini/wire.js';
import { GatewayError } from '../../src/shared/errors.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { SseParser } from '../../src/sse/parser.js';
import type { CanonicalError, ChatChunk, ChatCompletion, ChatRequest, EmbeddingsRequest, JsonObject } from '../../src/translate/canonical.js';
import type { ProviderTarget, StreamDecoder, UpstreamEvent } from '../../src/translate/provider.js';

const fixtures = new URL('../../../test/fixtures/translate/gemini/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), 'utf8');
const readJson = <T = JsonObject>(path: string): T => JSON.parse(read(path)) as T;
const cases = (dir: string, suffix: string): string[] =>
  readdirSync(new URL(dir, fixtures)).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length)).sort();

function providerConfig(overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'gemini-main',
    type: 'gemini',
    base_url: 'https://generativelanguage.googleapis.com',
    api_key: 'AIza-test',
    drop_unsupported: false,
    timeouts: { connect_ms: 1000, first_byte_ms: 1000, idle_ms: 1000, total_ms: 1000 },
    connections: 1,
    ...overrides,
  };
}

const provider = providerConfig();

function targetFor(overrides: Partial<ProviderTarget> = {}): ProviderTarget {
  return { provider, upstreamModel: 'gemini-2.5-flash', stream: false, dropUnsupported: false, created: 1700000000, requestId: 'req-1', ...overrides };
}

interface ExpectedError {
  error: { status: number; param?: string; code?: string };
}

function assertGatewayError(run: () => unknown, expected: ExpectedError['error']): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.status, expected.status);
    if (expected.param !== undefined) assert.equal(err.param, expected.param);
    if (expected.code !== undefined) assert.equal(err.code, expected.code);
    return true;
  });
}

describe('gemini requests (golden)', () => {
  for (const name of cases('requests/', '.canonical.json')) {
    test(name, () => {
      const { _target: overrides, ...req } = readJson<ChatRequest & { _target?: Partial<ProviderTarget> }>(`requests/${name}.canonical.json`);
      const target = targetFor({ upstreamModel: req.model, stream: req.stream === true, ...overrides });
      const expected = readJson<{ path: string; body: JsonObject } | ExpectedError>(`requests/${name}.gemini.json`);
      if ('error' in expected) {
        assertGatewayError(() => geminiAdapter.chat.request(req, target), expected.error);
        return;
      }
      const wire = geminiAdapter.chat.request(req, target);
      assert.equal(wire.path, expected.path);
      assert.deepEqual(wire.headers, []);
      assert.deepEqual(JSON.parse(wire.body), expected.body);
    });
  }
});

describe('gemini responses (golden)', () => {
  for (const name of cases('responses/', '.gemini.json')) {
    test(name, () => {
      const body = readJson(`responses/${name}.gemini.json`);
      const expected = readJson<ChatCompletion | ExpectedError>(`responses/${name}.canonical.json`);
      if ('error' in expected) {
        assertGatewayError(() => geminiAdapter.chat.response(body, targetFor()), (expected as ExpectedError).error);
        return;
      }
      assert.deepEqual(geminiAdapter.chat.response(body, targetFor()), expected);
    });
  }
});

describe('gemini errors (golden)', () => {
  for (const name of cases('errors/', '.gemini.json')) {
    test(name, () => {
      const input = readJson<{ status: number; body: string }>(`errors/${name}.gemini.json`);
      assert.deepEqual(geminiAdapter.error(input.status, input.body), readJson(`errors/${name}.canonical.json`));
    });
  }
});

type Out = Array<ChatChunk | CanonicalError>;

function eventsOf(sse: string): UpstreamEvent[] {
  return new SseParser().push(Buffer.from(sse)).map((e) => ({ event: e.event, data: e.data }));
}

/** Bytes through the SSE parser in small pieces (splitting events, CRLFs and UTF-8 anywhere), then end(). */
function decodeSplit(sse: string, decoder: StreamDecoder, piece: number): Out {
  const parser = new SseParser();
  const bytes = Buffer.from(sse);
  const out: Out = [];
  for (let i = 0; i < bytes.length; i += piece) {
    for (const e of parser.push(bytes.subarray(i, i + piece))) out.push(...decoder.push({ event: e.event, data: e.data }));
  }
  out.push(...decoder.end());
  return out;
}

describe('gemini streams (golden)', () => {
  for (const name of cases('streams/', '.sse')) {
    const sse = read(`streams/${name}.sse`);
    const expected = readJson<{ complete: boolean; chunks: Out }>(`streams/${name}.canonical.json`);

    test(`${name}: event by event`, () => {
      const decoder = geminiAdapter.chat.stream(targetFor({ stream: true }));
      const events = eventsOf(sse);
      const out: Out = [];
      events.forEach((event, i) => {
        out.push(...decoder.push(event));
        // Only the last event (or end()) can complete a stream: nothing may look final before it.
        if (i < events.length - 1) assert.equal(decoder.complete, false, `complete after event ${i}`);
      });
      out.push(...decoder.end());
      assert.deepEqual(out, expected.chunks);
      assert.equal(decoder.complete, expected.complete);
    });

    test(`${name}: split bytes end to end`, () => {
      for (const piece of [1, 7, 64]) {
        const decoder = geminiAdapter.chat.stream(targetFor({ stream: true }));
        assert.deepEqual(decodeSplit(sse, decoder, piece), expected.chunks, `pieces of ${piece} bytes`);
        assert.equal(decoder.complete, expected.complete);
      }
    });
  }

  test('a finish_reason without usage completes only at end(), which then adds nothing', () => {
    const decoder = geminiAdapter.chat.stream(targetFor({ stream: true }));
    const events = eventsOf(read('streams/no-ids-no-usage.sse'));
    for (const event of events) decoder.push(event);
    assert.equal(decoder.complete, false);
    assert.deepEqual(decoder.end(), []);
    assert.equal(decoder.complete, true);
  });

  test('a cut stream stays incomplete and end() emits nothing final', () => {
    const decoder = geminiAdapter.chat.stream(targetFor({ stream: true }));
    for (const event of eventsOf(read('streams/cut.sse'))) decoder.push(event);
    assert.deepEqual(decoder.end(), []);
    assert.equal(decoder.complete, false);
  });

  test('an event that is not JSON is a 502 naming the provider', () => {
    const decoder = geminiAdapter.chat.stream(targetFor({ stream: true }));
    assertGatewayError(() => decoder.push({ event: undefined, data: '{"candidates":[' }), { status: 502, code: 'upstream_invalid_response' });
  });
});

describe('gemini embeddings (golden)', () => {
  for (const name of cases('embeddings/requests/', '.canonical.json')) {
    test(`request ${name}`, () => {
      const req = readJson<EmbeddingsRequest>(`embeddings/requests/${name}.canonical.json`);
      const target = targetFor({ upstreamModel: req.model });
      const expected = readJson<{ path: string; body: JsonObject } | ExpectedError>(`embeddings/requests/${name}.gemini.json`);
      const translator = geminiAdapter.embeddings;
      assert.ok(translator);
      if ('error' in expected) {
        assertGatewayError(() => translator.request(req, target), expected.error);
        return;
      }
      const wire = translator.request(req, target);
      assert.equal(wire.path, expected.path);
      assert.deepEqual(JSON.parse(wire.body), expected.body);
    });
  }
  for (const name of cases('embeddings/responses/', '.gemini.json')) {
    test(`response ${name}`, () => {
      const body = readJson(`embeddings/responses/${name}.gemini.json`);
      assert.deepEqual(geminiAdapter.embeddings?.response(body, targetFor({ upstreamModel: 'gemini-embedding-001' })), readJson(`embeddings/responses/${name}.canonical.json`));
    });
  }
});

describe('gemini adapter details', () => {
  test('family, framing and the key header', () => {
    assert.equal(geminiAdapter.family, 'gemini');
    assert.equal(geminiAdapter.framing, 'sse');
    assert.deepEqual(geminiAdapter.authHeaders(provider), [['x-goog-api-key', 'AIza-test']]);
    assert.deepEqual(geminiAdapter.authHeaders(providerConfig({ api_key: undefined })), []);
  });

  test('paths: a versioned base URL gets no second version; model names are encoded, prefixes kept', () => {
    assert.equal(geminiPath(providerConfig({ base_url: 'https://generativelanguage.googleapis.com/v1beta/' }), 'gemini-2.5-flash', 'generateContent'), '/models/gemini-2.5-flash:generateContent');
    assert.equal(geminiPath(providerConfig({ base_url: 'https://proxy.example/google' }), 'gemini-2.5-flash', 'streamGenerateContent'), '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    assert.equal(modelResource('odd:name/x'), 'models/odd%3Aname%2Fx');
    assert.equal(modelResource('tunedModels/my-tune'), 'tunedModels/my-tune');
    assert.equal(modelResource('models/gemini-2.5-pro'), 'models/gemini-2.5-pro');
  });

  test('a thought signature survives the tool-call id both ways, in the id alphabet', () => {
    for (const signature of ['CiQBjz1rX+ab/w==', 'AAEC', 'Zm9vYmFy/+8=']) {
      const id = toolCallId('call_r_0', signature);
      assert.match(id, /^[A-Za-z0-9_-]+$/);
      assert.equal(signatureOf(id), signature);
    }
    assert.equal(toolCallId('call_r_0', undefined), 'call_r_0');
    assert.equal(signatureOf('call_r_0'), undefined);
  });

  test('a response tool call sent back carries the same thoughtSignature', () => {
    const completion = geminiAdapter.chat.response(readJson('responses/parallel-function-calls.gemini.json'), targetFor());
    const message = completion.choices[0].message;
    const req: ChatRequest = {
      model: 'gemini-3-pro-preview',
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: message.role, content: message.content, tool_calls: message.tool_calls },
        ...(message.tool_calls ?? []).map((call) => ({ role: 'tool' as const, tool_call_id: call.id, content: 'sunny' })),
      ],
    };
    const body = JSON.parse(geminiAdapter.chat.request(req, targetFor()).body) as { contents: Array<{ role: string; parts: JsonObject[] }> };
    assert.deepEqual(body.contents[1].parts.map((p) => p.thoughtSignature), [undefined, 'CiQBjz1rX+ab/w==', undefined]);
    assert.deepEqual(body.contents[2].parts.map((p) => (p.functionResponse as JsonObject).name), ['get_weather', 'get_weather']);
  });

  test('events after the stream completed are ignored', () => {
    const decoder = geminiAdapter.chat.stream(targetFor({ stream: true }));
    for (const event of eventsOf(read('streams/text.sse'))) decoder.push(event);
    assert.equal(decoder.complete, true);
    assert.deepEqual(decoder.push(eventsOf(read('streams/text.sse'))[0]), []);
  });
});

describe('gemini end to end: adapter → simulator → adapter', () => {
  let sim: RunningSimulator;
  let simProvider: ProviderConfig;
  before(async () => {
    sim = await startSimulator({ ttft_ms: 0 });
    simProvider = providerConfig({ base_url: `http://127.0.0.1:${sim.port}`, api_key: 'AIza-e2e' });
  });
  after(() => sim.close());

  const simTarget = (overrides: Partial<ProviderTarget> = {}): ProviderTarget => targetFor({ provider: simProvider, ...overrides });

  async function send(path: string, body: string, auth = true): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) for (const [name, value] of geminiAdapter.authHeaders(simProvider)) headers[name] = value;
    const res = await request(`${simProvider.base_url}${path}`, { method: 'POST', headers, body });
    return { status: res.statusCode, text: await res.body.text() };
  }

  test('non-stream: text, usage, model and id from the answer', async () => {
    const req: ChatRequest = { model: 'g', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello world!' }], max_tokens: 5 };
    const target = simTarget({ upstreamModel: 'gemini-2.5-flash' });
    const wire = geminiAdapter.chat.request(req, target);
    const res = await send(wire.path, wire.body);
    assert.equal(res.status, 200);
    const completion = geminiAdapter.chat.response(JSON.parse(res.text) as JsonObject, target);
    assert.equal(completion.model, 'gemini-2.5-flash');
    assert.match(completion.id, /^sim-\d+$/);
    assert.equal(completion.choices[0].finish_reason, 'length');
    assert.equal(completion.choices[0].message.content, 'The quick switchyard routes every ');
    const prompt = Math.ceil(('be brief'.length + 'hello world!'.length) / 4);
    assert.deepEqual(completion.usage, { prompt_tokens: prompt, completion_tokens: 5, total_tokens: prompt + 5, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } });
    assert.equal(sim.stats().last.at(-1)?.headers['x-goog-api-key'], 'AIza-e2e');
  });

  test('stream: canonical chunks, finish, usage last, complete', async () => {
    const req: ChatRequest = { model: 'g', stream: true, messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'low' };
    const target = simTarget({ upstreamModel: 'sim-len-6', stream: true });
    const wire = geminiAdapter.chat.request(req, target);
    assert.match(wire.path, /:streamGenerateContent\?alt=sse$/);
    const res = await send(wire.path, wire.body);
    const decoder = geminiAdapter.chat.stream(target);
    const out = decodeSplit(res.text, decoder, 13) as ChatChunk[];
    assert.equal(decoder.complete, true);
    assert.deepEqual(out[0].choices[0].delta, { role: 'assistant', content: '' });
    const reasoning = out.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('');
    const text = out.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(reasoning, 'The quick switchyard routes ');
    assert.equal(text, 'The quick switchyard routes every train ');
    assert.equal(out.at(-2)?.choices[0].finish_reason, 'stop');
    const usage = out.at(-1);
    assert.deepEqual(usage?.choices, []);
    assert.equal(usage?.usage?.completion_tokens, 6 + 4);
    assert.equal(usage?.usage?.completion_tokens_details?.reasoning_tokens, 4);
  });

  test('tool round trip: the call (with its thought signature) and its result go back as Gemini wants them', async () => {
    const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, additionalProperties: false } } }];
    const first: ChatRequest = { model: 'g', messages: [{ role: 'user', content: 'weather?' }], tools, tool_choice: 'required', reasoning_effort: 'medium' };
    const target = simTarget({ upstreamModel: 'gemini-3-pro-preview' });
    const wire = geminiAdapter.chat.request(first, target);
    const completion = geminiAdapter.chat.response(JSON.parse((await send(wire.path, wire.body)).text) as JsonObject, target);
    const choice = completion.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    assert.ok(call);
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'sim', days: 1 });
    assert.match(call.id, /^call_req-1_0__thought__/);

    const second: ChatRequest = { ...first, tool_choice: 'auto', messages: [...first.messages, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '{"temp":20}' }] };
    const wire2 = geminiAdapter.chat.request(second, target);
    const sent = JSON.parse(wire2.body) as { contents: Array<{ parts: JsonObject[] }> };
    assert.equal(Buffer.from(String(sent.contents[1].parts[0].thoughtSignature), 'base64').toString(), `sim-signature-${completion.id.slice(4)}`);
    const answer = geminiAdapter.chat.response(JSON.parse((await send(wire2.path, wire2.body)).text) as JsonObject, target);
    assert.equal(answer.choices[0].finish_reason, 'stop');
    assert.equal(typeof answer.choices[0].message.content, 'string');
  });

  test('stream with a tool call: opener then arguments, finish tool_calls', async () => {
    const req: ChatRequest = { model: 'g', stream: true, messages: [{ role: 'user', content: 'go' }], tools: [{ type: 'function', function: { name: 'ping', parameters: { type: 'object', properties: { n: { type: 'number' } } } } }] };
    const target = simTarget({ stream: true });
    const wire = geminiAdapter.chat.request(req, target);
    const decoder = geminiAdapter.chat.stream(target);
    const out = decodeSplit((await send(wire.path, wire.body)).text, decoder, 5) as ChatChunk[];
    const calls = out.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    assert.deepEqual(calls, [{ index: 0, id: 'call_req-1_0', type: 'function', function: { name: 'ping', arguments: '' } }, { index: 0, function: { arguments: '{"n":1}' } }]);
    assert.equal(out.at(-2)?.choices[0].finish_reason, 'tool_calls');
    assert.equal(decoder.complete, true);
  });

  test('a stream cut by the simulator (end-after-2) is not complete', async () => {
    const target = simTarget({ upstreamModel: 'sim-fault-end-after-2', stream: true });
    const wire = geminiAdapter.chat.request({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }, target);
    const decoder = geminiAdapter.chat.stream(target);
    const out = decodeSplit((await send(wire.path, wire.body)).text, decoder, 9) as ChatChunk[];
    assert.equal(out.length, 3);
    assert.ok(out.every((c) => c.choices[0].finish_reason === null && c.usage === undefined));
    assert.equal(decoder.complete, false);
  });

  test('embeddings: one text and a batch', async () => {
    const translator = geminiAdapter.embeddings;
    assert.ok(translator);
    const target = simTarget({ upstreamModel: 'gemini-embedding-001' });
    for (const input of ['one', ['a', 'b', 'c']]) {
      const wire = translator.request({ model: 'e', input, dimensions: 8 }, target);
      const res = await send(wire.path, wire.body);
      assert.equal(res.status, 200, res.text);
      const embeddings = translator.response(JSON.parse(res.text) as JsonObject, target);
      assert.equal(embeddings.data.length, typeof input === 'string' ? 1 : input.length);
      assert.ok(embeddings.data.every((d, i) => d.index === i && d.embedding.length === 8));
    }
  });

  test('errors: a 429 and a missing key, mapped for an OpenAI client', async () => {
    const target = simTarget({ upstreamModel: 'sim-fault-status-429' });
    const wire = geminiAdapter.chat.request({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }, target);
    const limited = await send(wire.path, wire.body);
    assert.deepEqual(geminiAdapter.error(limited.status, limited.text), {
      status: 429,
      body: { error: { message: 'Simulated HTTP 429 (simulator fault status-429).', type: 'rate_limit_error', param: null, code: 'RESOURCE_EXHAUSTED' } },
      // The simulator's RetryInfo (1s), as headers an OpenAI SDK reads.
      retryHeaders: [['retry-after', '1'], ['retry-after-ms', '1000']],
    });
    const anonymous = await send(geminiAdapter.chat.request({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }, simTarget()).path, '{"contents":[]}', false);
    const mapped = geminiAdapter.error(anonymous.status, anonymous.text);
    assert.equal(mapped.status, 403);
    assert.equal(mapped.body.error.type, 'permission_error');
    assert.equal(mapped.body.error.code, 'PERMISSION_DENIED');
  });
});
