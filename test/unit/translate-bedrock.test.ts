// The Bedrock provider family: golden fixtures (requests, answers, streams, errors), the event-stream
// framer, SigV4 against AWS's documented example, and the adapter signing real requests to the simulator.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { request } from 'undici';
import type { ProviderConfig } from '../../src/config/types.js';
import { bedrockAdapter } from '../../src/providers/bedrock/index.js';
import { credentialsOf } from '../../src/providers/bedrock/credentials.js';
import { EventStreamFramer } from '../../src/providers/bedrock/eventstream.js';
import { signedHeaders } from '../../src/providers/bedrock/sign.js';
import { GatewayError } from '../../src/shared/errors.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import type { CanonicalError, ChatChunk, ChatRequest, JsonObject } from '../../src/translate/canonical.js';
import type { ProviderTarget, StreamDecoder, UpstreamEvent } from '../../src/translate/provider.js';

const fixtures = new URL('../../../test/fixtures/translate/bedrock/', import.meta.url);
const read = <T>(path: string): T => JSON.parse(readFileSync(new URL(path, fixtures), 'utf8')) as T;

const timeouts = { connect_ms: 1000, first_byte_ms: 5000, idle_ms: 5000, total_ms: 10000 };
function providerConfig(extra: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: 'aws', type: 'bedrock', base_url: 'https://bedrock-runtime.us-east-1.amazonaws.com', drop_unsupported: false,
    region: 'us-east-1', aws_access_key_id: 'AKIDSIMULATOR', aws_secret_access_key: 'sim-secret', timeouts, connections: 1, ...extra,
  };
}
const provider = providerConfig();
const responseModel = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

function targetFor(model: string, opts: { stream?: boolean; drop?: boolean; provider?: ProviderConfig } = {}): ProviderTarget {
  return {
    provider: opts.provider ?? provider, upstreamModel: model, stream: opts.stream ?? false, dropUnsupported: opts.drop ?? false,
    created: 1700000000, requestId: 'req-1',
  };
}

const chat = bedrockAdapter.chat;

describe('requests: canonical → Converse', () => {
  const cases = [
    'system-multiturn', 'image', 'image-http-url', 'tools-parallel', 'tool-choice-named', 'tool-choice-none', 'tool-choice-none-with-history',
    'reasoning-signature', 'reasoning-effort', 'reasoning-unsupported-model', 'stop-sequences-arn', 'stop-sequences-list',
    'response-format-json', 'response-format-with-tools', 'unsupported-n', 'unsupported-seed', 'unsupported-dropped',
  ];
  for (const name of cases) {
    test(name, () => {
      const input = read<{ target: { model: string; stream?: boolean; drop?: boolean }; request: ChatRequest }>(`requests/${name}.json`);
      const expected = read<{ path: string; headers: string[][]; body: JsonObject } | { error: { status: number; param: string; code: string } }>(`requests/${name}.bedrock.json`);
      const target = targetFor(input.target.model, input.target);
      if ('error' in expected) {
        assert.throws(() => chat.request(input.request, target), (err: unknown) => {
          assert.ok(err instanceof GatewayError);
          assert.deepEqual({ status: err.status, param: err.param, code: err.code }, expected.error);
          assert.match(err.message, /Provider 'aws' \(bedrock\)|Bedrock|tool_choice/);
          return true;
        });
        return;
      }
      const wire = chat.request(input.request, target);
      assert.equal(wire.path, expected.path);
      assert.deepEqual(wire.headers, expected.headers);
      assert.deepEqual(JSON.parse(wire.body), expected.body);
    });
  }

  test('an unsupported parameter names itself and how to drop it', () => {
    assert.throws(() => chat.request({ model: 'm', messages: [{ role: 'user', content: 'x' }], frequency_penalty: 1 }, targetFor('anthropic.claude-v2')), {
      message: "Provider 'aws' (bedrock) does not support 'frequency_penalty'. Remove it, or set drop_unsupported: true on the provider or model to drop it.",
    });
  });

  test('tool arguments that are not JSON are a 400 naming them', () => {
    const req: ChatRequest = {
      model: 'm',
      messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }],
    };
    assert.throws(() => chat.request(req, targetFor('anthropic.claude-v2')), { param: 'messages[0].tool_calls[0].function.arguments' });
  });
});

describe('responses: Converse → chat.completion', () => {
  for (const name of ['text', 'tools-parallel', 'tool-only', 'reasoning', 'guardrail', 'max-tokens', 'cache-usage', 'json-mode']) {
    test(name, () => {
      const completion = chat.response(read<JsonObject>(`responses/${name}.bedrock.json`), targetFor(responseModel));
      assert.deepEqual(completion, read(`responses/${name}.canonical.json`));
    });
  }

  test('a body without output.message.content is a 502', () => {
    assert.throws(() => chat.response({ message: 'hi' }, targetFor(responseModel)), (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.status, 502);
      assert.equal(err.code, 'upstream_invalid_response');
      return true;
    });
  });
});

type StreamFixture = { complete: boolean; chunks: Array<ChatChunk | CanonicalError> };
const eventsOf = (name: string): UpstreamEvent[] =>
  read<Array<{ event: string; data: unknown }>>(`streams/${name}.events.json`).map((e) => ({ event: e.event, data: JSON.stringify(e.data) }));

function decodeAll(decoder: StreamDecoder, events: UpstreamEvent[]): Array<ChatChunk | CanonicalError> {
  return [...events.flatMap((e) => decoder.push(e)), ...decoder.end()];
}

describe('streams: ConverseStream events → chunks', () => {
  for (const name of ['text', 'two-tools', 'reasoning', 'cut', 'throttled', 'model-stream-error', 'cache-usage', 'json-mode', 'guardrail']) {
    test(name, () => {
      const expected = read<StreamFixture>(`streams/${name}.canonical.json`);
      const decoder = chat.stream(targetFor(responseModel, { stream: true }));
      assert.deepEqual(decodeAll(decoder, eventsOf(name)), expected.chunks);
      assert.equal(decoder.complete, expected.complete);
    });
  }

  test('event by event: each event yields its own chunks, metadata last completes', () => {
    const decoder = chat.stream(targetFor(responseModel, { stream: true }));
    const counts = eventsOf('two-tools').map((e) => {
      const out = decoder.push(e);
      return [e.event, out.length, decoder.complete] as const;
    });
    assert.deepEqual(counts, [
      ['messageStart', 1, false], ['contentBlockDelta', 1, false], ['contentBlockStop', 0, false],
      ['contentBlockStart', 1, false], ['contentBlockDelta', 1, false], ['contentBlockDelta', 1, false], ['contentBlockDelta', 1, false],
      ['contentBlockDelta', 1, false], ['contentBlockStop', 0, false], ['contentBlockStart', 1, false], ['contentBlockDelta', 1, false],
      ['contentBlockDelta', 1, false], ['contentBlockStop', 0, false], ['messageStop', 1, false], ['metadata', 1, true],
    ]);
  });

  test('a toolUse delta for a block that never started is a 502', () => {
    const decoder = chat.stream(targetFor(responseModel, { stream: true }));
    assert.throws(() => decoder.push({ event: 'contentBlockDelta', data: '{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{"}}}' }), { status: 502 });
  });

  test('an event whose payload is not JSON is a 502; unknown events are ignored', () => {
    const decoder = chat.stream(targetFor(responseModel, { stream: true }));
    assert.deepEqual(decoder.push({ event: 'somethingNew', data: '{"x":1}' }), []);
    assert.throws(() => decoder.push({ event: 'messageStop', data: 'not json' }), { status: 502 });
  });
});

const codec = new EventStreamCodec(toUtf8, fromUtf8);
/** Wire bytes of one decoded event, as Bedrock frames it. */
function frame(event: UpstreamEvent): Uint8Array {
  const name = event.event as string;
  const exception = name.endsWith('Exception');
  return codec.encode({
    headers: {
      [exception ? ':exception-type' : ':event-type']: { type: 'string', value: name },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: exception ? 'exception' : 'event' },
    },
    body: fromUtf8(event.data),
  });
}

describe('event-stream framer', () => {
  test('binary round trip: a chunk split inside a prelude and inside a payload', () => {
    const events = eventsOf('two-tools');
    const frames = events.map(frame);
    const bytes = Buffer.concat(frames);
    const start = (i: number): number => frames.slice(0, i).reduce((n, f) => n + f.length, 0);
    const insidePrelude = start(2) + 5;
    const insidePayload = start(5) + frames[5].length - 10;
    const framer = new EventStreamFramer('aws');
    const pieces = [bytes.subarray(0, insidePrelude), bytes.subarray(insidePrelude, insidePayload), bytes.subarray(insidePayload)];
    const first = framer.push(Buffer.from(pieces[0]));
    assert.equal(first.length, 2);
    assert.equal(framer.pendingBytes, 5);
    const second = framer.push(Buffer.from(pieces[1]));
    assert.equal(second.length, 3);
    assert.equal(framer.pendingBytes, frames[5].length - 10);
    const third = framer.push(Buffer.from(pieces[2]));
    assert.equal(framer.pendingBytes, 0);
    const decoded = [...first, ...second, ...third];
    assert.deepEqual(decoded, events);
    const decoder = chat.stream(targetFor(responseModel, { stream: true }));
    assert.deepEqual(decodeAll(decoder, decoded), read<StreamFixture>('streams/two-tools.canonical.json').chunks);
    assert.equal(decoder.complete, true);
  });

  test('byte by byte, and an exception message named by its :exception-type', () => {
    const events = eventsOf('throttled');
    const bytes = Buffer.concat(events.map(frame));
    const framer = new EventStreamFramer();
    const out: UpstreamEvent[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...framer.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(out, events);
  });

  test('an error message becomes event "error" with its code and message', () => {
    const bytes = codec.encode({
      headers: {
        ':message-type': { type: 'string', value: 'error' },
        ':error-code': { type: 'string', value: 'InternalFailure' },
        ':error-message': { type: 'string', value: 'It broke' },
      },
      body: new Uint8Array(0),
    });
    const [event] = new EventStreamFramer().push(Buffer.from(bytes));
    assert.deepEqual(event, { event: 'error', data: '{"__type":"InternalFailure","message":"It broke"}' });
    assert.deepEqual(chat.stream(targetFor(responseModel, { stream: true })).push(event), [
      { error: { message: 'It broke', type: 'api_error', param: null, code: 'InternalFailure' } },
    ]);
  });

  test('a corrupted prelude is a 502 at once, before the bytes it claims arrive', () => {
    const bytes = Buffer.from(frame({ event: 'messageStart', data: '{"role":"assistant"}' }));
    bytes.writeUInt32BE(50_000_000, 0);
    assert.throws(() => new EventStreamFramer('aws').push(bytes.subarray(0, 12)), (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.status, 502);
      assert.match(err.message, /Provider 'aws' sent an invalid response: the prelude checksum/);
      return true;
    });
  });

  test('a corrupted payload is a 502 (message checksum)', () => {
    const bytes = Buffer.from(frame({ event: 'messageStart', data: '{"role":"assistant"}' }));
    bytes[bytes.length - 6] ^= 0x01;
    assert.throws(() => new EventStreamFramer().push(bytes), { status: 502, code: 'upstream_invalid_response' });
  });
});

describe('errors', () => {
  for (const c of read<Array<{ name: string; status: number; body: string; expected: unknown }>>('errors.json')) {
    test(c.name, () => assert.deepEqual(bedrockAdapter.error(c.status, c.body), c.expected));
  }
});

describe('SigV4', () => {
  test("AWS's documented example (IAM ListUsers, 2015-08-30) signs to the published signature", async () => {
    const signer = new SignatureV4({
      service: 'iam', region: 'us-east-1', sha256: Hash.bind(null, 'sha256'), applyChecksum: false,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    });
    const added = await signedHeaders(
      signer, 'GET', new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'),
      [['content-type', 'application/x-www-form-urlencoded; charset=utf-8']], '', new Date('2015-08-30T12:36:00Z'),
    );
    assert.deepEqual(added, [
      ['x-amz-date', '20150830T123600Z'],
      ['authorization', 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7'],
    ]);
  });

  test('sign() adds date, payload hash, session token and authorization; content-type when missing', async () => {
    const withToken = providerConfig({ aws_session_token: 'tok-1' });
    const url = new URL('https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-v2%3A1/converse');
    const added = new Map(await bedrockAdapter.sign!(withToken, 'POST', url, [['x-sim-ignored', '1']], '{}'));
    assert.deepEqual([...added.keys()].sort(), ['authorization', 'content-type', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']);
    assert.equal(added.get('x-amz-security-token'), 'tok-1');
    assert.equal(added.get('x-amz-content-sha256'), '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    assert.match(added.get('authorization') as string, /^AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
  });

  test('one signer per provider config: its region is read once', async () => {
    const p = providerConfig({ region: 'eu-west-1' });
    const url = new URL('https://example.com/model/m/converse');
    const scope = async (): Promise<string | undefined> =>
      new Map(await bedrockAdapter.sign!(p, 'POST', url, [['content-type', 'application/json']], '{}')).get('authorization')?.split('/')[2];
    assert.equal(await scope(), 'eu-west-1');
    p.region = 'ap-south-1';
    assert.equal(await scope(), 'eu-west-1');
    assert.equal(new Map(await bedrockAdapter.sign!(providerConfig({ region: 'ap-south-1' }), 'POST', url, [], '{}')).get('authorization')?.split('/')[2], 'ap-south-1');
  });

  test('credentials: config first, then the environment; none is a 500 naming the provider', async () => {
    const bare = providerConfig({ name: 'bedrock-east', aws_access_key_id: undefined, aws_secret_access_key: undefined });
    assert.deepEqual(credentialsOf(bare, { AWS_ACCESS_KEY_ID: 'AKENV', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'env-token' }), {
      accessKeyId: 'AKENV', secretAccessKey: 'env-secret', sessionToken: 'env-token',
    });
    assert.deepEqual(credentialsOf(provider, { AWS_SESSION_TOKEN: 'env-token' }), { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'sim-secret' });
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      await assert.rejects(bedrockAdapter.sign!(bare, 'POST', new URL('https://x.example/model/m/converse'), [], '{}'), (err: unknown) => {
        assert.ok(err instanceof GatewayError);
        assert.equal(err.status, 500);
        assert.equal(err.code, 'provider_credentials_missing');
        assert.match(err.message, /Provider 'bedrock-east' \(bedrock\) has no AWS credentials/);
        return true;
      });
    } finally {
      if (saved.id !== undefined) process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret !== undefined) process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});

describe('adapter → sign → undici → simulator → framer → decoder', () => {
  let sim: RunningSimulator;
  let simProvider: ProviderConfig;
  before(async () => {
    sim = await startSimulator({ ttft_ms: 0 });
    simProvider = providerConfig({ base_url: `http://127.0.0.1:${sim.port}` });
  });
  after(() => sim.close());

  async function send(req: ChatRequest, target: ProviderTarget, extra: Array<[string, string]> = []) {
    const wire = chat.request(req, target);
    const url = new URL(target.provider.base_url + wire.path);
    const headers: Array<[string, string]> = [['content-type', 'application/json'], ['accept-encoding', 'identity'], ...wire.headers, ...extra];
    const added = await bedrockAdapter.sign!(target.provider, 'POST', url, headers, wire.body);
    return request(url, { method: 'POST', headers: [...headers, ...added].flat(), body: wire.body });
  }

  const hello: ChatRequest = { model: 'x', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello world!' }], max_tokens: 5 };

  test('non-stream, a model id with ":" (encoded once in the path, twice in the canonical URI)', async () => {
    const target = targetFor('anthropic.claude-3-5-sonnet-20240620-v1:0', { provider: simProvider });
    const res = await send(hello, target);
    assert.equal(res.statusCode, 200);
    const completion = chat.response((await res.body.json()) as JsonObject, target);
    assert.equal(completion.choices[0].message.content, 'The quick switchyard routes every ');
    assert.equal(completion.choices[0].finish_reason, 'length');
    assert.deepEqual(completion.usage, { prompt_tokens: Math.ceil(('be brief'.length + 12) / 4), completion_tokens: 5, total_tokens: 10 });
    assert.equal(sim.stats().last.at(-1)?.path, '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
  });

  test('stream with a tool, an ARN model id with "/" and ":"', async () => {
    const target = targetFor('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0', {
      provider: simProvider, stream: true,
    });
    const req: ChatRequest = {
      ...hello,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    };
    const res = await send(req, target);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.amazon.eventstream');
    const framer = new EventStreamFramer();
    const decoder = chat.stream(target);
    const chunks: Array<ChatChunk | CanonicalError> = [];
    for await (const piece of res.body) chunks.push(...framer.push(piece as Buffer).flatMap((e) => decoder.push(e)));
    chunks.push(...decoder.end());
    assert.equal(decoder.complete, true);
    const deltas = (chunks as ChatChunk[]).flatMap((c) => c.choices.map((ch) => ch.delta));
    const args = deltas.flatMap((d) => d.tool_calls ?? []).map((t) => t.function?.arguments ?? '').join('');
    assert.equal(args, '{"city":"sim"}');
    assert.equal(deltas.flatMap((d) => d.tool_calls ?? [])[0].function?.name, 'get_weather');
    assert.equal((chunks as ChatChunk[]).find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual((chunks.at(-1) as ChatChunk).usage?.completion_tokens, 2);
  });

  test('stream with thinking: reasoning text, then the signed thinking block, then the answer', async () => {
    const target = targetFor('anthropic.claude-3-7-sonnet-20250219-v1:0', { provider: simProvider, stream: true });
    const res = await send({ ...hello, max_tokens: 3, thinking: { type: 'enabled', budget_tokens: 1024 } }, target);
    const framer = new EventStreamFramer();
    const decoder = chat.stream(target);
    const chunks: ChatChunk[] = [];
    for await (const piece of res.body) chunks.push(...(framer.push(piece as Buffer).flatMap((e) => decoder.push(e)) as ChatChunk[]));
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta));
    const reasoning = deltas.map((d) => d.reasoning_content ?? '').join('');
    assert.equal(reasoning.split(' ').filter(Boolean).length, 8);
    const blocks = deltas.flatMap((d) => d.thinking_blocks ?? []);
    assert.equal(blocks.length, 1);
    assert.ok(blocks[0].type === 'thinking' && blocks[0].thinking === reasoning && typeof blocks[0].signature === 'string');
    assert.equal(deltas.map((d) => d.content ?? '').join(''), 'The quick switchyard ');
    assert.equal(chunks.at(-1)?.usage?.completion_tokens, 11);
  });

  test('a signature made with the wrong secret is refused: 403, mapped for an OpenAI client', async () => {
    const wrong = providerConfig({ base_url: simProvider.base_url, aws_secret_access_key: 'not-the-secret' });
    const res = await send(hello, targetFor('anthropic.claude-v2', { provider: wrong }));
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
    const mapped = bedrockAdapter.error(res.statusCode, await res.body.text());
    assert.equal(mapped.status, 403);
    assert.equal(mapped.body.error.type, 'permission_error');
    assert.match(mapped.body.error.message, /^The request signature we calculated does not match/);
  });

  test('unsigned headers (x-sim-*) may be added; a fault comes back in Bedrock shape and maps to 429', async () => {
    const res = await send(hello, targetFor('anthropic.claude-v2', { provider: simProvider }), [['x-sim-fault', 'status-429']]);
    assert.equal(res.statusCode, 429);
    const mapped = bedrockAdapter.error(429, await res.body.text());
    assert.deepEqual([mapped.status, mapped.body.error.type, mapped.body.error.code], [429, 'rate_limit_error', 'ThrottlingException']);
  });
});
