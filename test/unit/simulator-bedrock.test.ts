// The simulator's Bedrock Converse / ConverseStream endpoints seen through the official AWS SDK, and its SigV4 check.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, type ConverseStreamOutput, type Message,
} from '@aws-sdk/client-bedrock-runtime';
import { Hash } from '@smithy/hash-node';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { signedHeaders } from '../../src/providers/bedrock/sign.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

let sim: RunningSimulator;
let endpoint: string;

function clientWith(secretAccessKey = 'sim-secret', accessKeyId = 'AKIDSIMULATOR'): BedrockRuntimeClient {
  // HTTP/1.1: the SDK's default HTTP/2 handler is for the bidirectional operations only.
  return new BedrockRuntimeClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
}
let client: BedrockRuntimeClient;

before(async () => {
  sim = await startSimulator({ ttft_ms: 0 });
  endpoint = `http://127.0.0.1:${sim.port}`;
  client = clientWith();
});
after(() => sim.close());

const words = (text: string | undefined): number => (text ?? '').split(' ').filter((w) => w !== '').length;
const hello: Message[] = [{ role: 'user', content: [{ text: 'hello world!' }] }];
const model = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const weather = { toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } };
const time = { toolSpec: { name: 'get_time', inputSchema: { json: { type: 'object', properties: { utc: { type: 'boolean' }, offset: { type: 'integer' } } } } } };

async function collect(stream: AsyncIterable<ConverseStreamOutput> | undefined): Promise<ConverseStreamOutput[]> {
  const events: ConverseStreamOutput[] = [];
  for await (const event of stream ?? []) events.push(event);
  return events;
}
const kinds = (events: ConverseStreamOutput[]): string[] => events.map((e) => Object.keys(e).find((k) => k !== '$unknown') ?? '?');

/** A request signed by AWS's signer with the simulator's credentials, then changed as a test wants. */
async function signedRequest(opts: { body?: string; date?: Date; tamper?: string; path?: string } = {}) {
  const signer = new SignatureV4({
    service: 'bedrock', region: 'eu-central-1', sha256: Hash.bind(null, 'sha256'),
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'sim-secret' },
  });
  const url = new URL(`${endpoint}${opts.path ?? '/model/m/converse'}`);
  const body = opts.body ?? JSON.stringify({ messages: hello });
  const headers: Array<[string, string]> = [['content-type', 'application/json']];
  const added = await signedHeaders(signer, 'POST', url, headers, body, opts.date ?? new Date());
  return request(url, { method: 'POST', headers: [...headers, ...added].flat(), body: opts.tamper ?? body });
}

describe('bedrock converse', () => {
  test('text, usage, stopReason, request id; the model id is percent-encoded in the path', async () => {
    const res = await client.send(new ConverseCommand({ modelId: model, system: [{ text: 'be brief' }], messages: hello }));
    assert.equal(res.stopReason, 'end_turn');
    assert.equal(res.output?.message?.role, 'assistant');
    assert.equal(words(res.output?.message?.content?.[0].text), 16);
    assert.deepEqual(res.usage, { inputTokens: Math.ceil(('be brief'.length + 12) / 4), outputTokens: 16, totalTokens: 21 });
    assert.equal(res.metrics?.latencyMs, 0);
    assert.match(res.$metadata.requestId ?? '', /^00000000-0000-4000-8000-\d{12}$/);
    const recorded = sim.stats().last.at(-1);
    assert.equal(recorded?.path, '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    assert.match(recorded?.headers.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
  });

  test('maxTokens cuts the answer: stopReason max_tokens', async () => {
    const res = await client.send(new ConverseCommand({ modelId: model, messages: hello, inferenceConfig: { maxTokens: 3 } }));
    assert.equal(res.stopReason, 'max_tokens');
    assert.equal(words(res.output?.message?.content?.[0].text), 3);
    assert.equal(res.usage?.outputTokens, 3);
  });

  test('toolChoice names the tool: a toolUse with schema-shaped input', async () => {
    const res = await client.send(new ConverseCommand({
      modelId: model, messages: hello, toolConfig: { tools: [weather, time], toolChoice: { tool: { name: 'get_time' } } },
    }));
    assert.equal(res.stopReason, 'tool_use');
    const use = res.output?.message?.content?.[0].toolUse;
    assert.equal(use?.name, 'get_time');
    assert.match(use?.toolUseId ?? '', /^tooluse_sim_\d+$/);
    assert.deepEqual(use?.input, { utc: true, offset: 1 });
  });

  test('after tool results the answer is text, unless toolChoice forces a tool', async () => {
    const messages: Message[] = [
      ...hello,
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ text: '3 degrees' }] } }] },
    ];
    const answered = await client.send(new ConverseCommand({ modelId: model, messages, toolConfig: { tools: [weather] } }));
    assert.equal(answered.stopReason, 'end_turn');
    assert.equal(words(answered.output?.message?.content?.[0].text), 16);
    const forced = await client.send(new ConverseCommand({ modelId: model, messages, toolConfig: { tools: [weather], toolChoice: { any: {} } } }));
    assert.equal(forced.stopReason, 'tool_use');
  });

  test('thinking enabled: a reasoningContent block with text and signature comes first', async () => {
    const res = await client.send(new ConverseCommand({
      modelId: model, messages: hello, inferenceConfig: { maxTokens: 4 },
      additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } },
    }));
    const [reasoning, text] = res.output?.message?.content ?? [];
    assert.equal(words(reasoning.reasoningContent?.reasoningText?.text), 8);
    assert.ok((reasoning.reasoningContent?.reasoningText?.signature ?? '').length > 0);
    assert.equal(words(text.text), 4);
    assert.equal(res.usage?.outputTokens, 12);
  });

  test('a cachePoint: the prefix is written to the cache once, then read; inputTokens excludes both', async () => {
    const prompt = `A long and unique system prompt ${Date.now()} `.repeat(10);
    const system = [{ text: prompt }, { cachePoint: { type: 'default' as const } }];
    const prefixTokens = Math.ceil(prompt.length / 4);
    const first = await client.send(new ConverseCommand({ modelId: model, system, messages: hello }));
    assert.deepEqual(first.usage, { inputTokens: 3, outputTokens: 16, totalTokens: 3 + prefixTokens + 16, cacheReadInputTokens: 0, cacheWriteInputTokens: prefixTokens });
    const second = await client.send(new ConverseCommand({ modelId: model, system, messages: hello }));
    assert.deepEqual(second.usage, { inputTokens: 3, outputTokens: 16, totalTokens: 3 + prefixTokens + 16, cacheReadInputTokens: prefixTokens, cacheWriteInputTokens: 0 });
  });

  test('a model id sim-len-<n> sets the length, as other families do through the model name', async () => {
    const res = await client.send(new ConverseCommand({ modelId: 'sim-len-2', messages: hello }));
    assert.equal(words(res.output?.message?.content?.[0].text), 2);
  });
});

describe('bedrock converse-stream', () => {
  test('event sequence, text in chunk_tokens pieces, metadata last with usage', async () => {
    const res = await client.send(new ConverseStreamCommand({ modelId: model, messages: hello, inferenceConfig: { maxTokens: 5 } }));
    const events = await collect(res.stream);
    assert.deepEqual(kinds(events), [
      'messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta',
      'contentBlockStop', 'messageStop', 'metadata',
    ]);
    const text = events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');
    assert.equal(text, 'The quick switchyard routes every ');
    assert.equal(events.at(-2)?.messageStop?.stopReason, 'max_tokens');
    assert.deepEqual(events.at(-1)?.metadata?.usage, { inputTokens: 3, outputTokens: 5, totalTokens: 8 });
  });

  test('a tool: contentBlockStart with its id and name, input in pieces', async () => {
    const res = await client.send(new ConverseStreamCommand({ modelId: model, messages: hello, toolConfig: { tools: [weather], toolChoice: { any: {} } } }));
    const events = await collect(res.stream);
    const start = events.find((e) => e.contentBlockStart)?.contentBlockStart;
    assert.equal(start?.start?.toolUse?.name, 'get_weather');
    assert.equal(start?.contentBlockIndex, 0);
    const input = events.map((e) => e.contentBlockDelta?.delta?.toolUse?.input ?? '').join('');
    assert.deepEqual(JSON.parse(input), { city: 'sim' });
    assert.equal(events.find((e) => e.messageStop)?.messageStop?.stopReason, 'tool_use');
  });

  test('thinking: reasoning deltas, a signature delta and a stop at block 0; the text at block 1', async () => {
    const res = await client.send(new ConverseStreamCommand({
      modelId: model, messages: hello, inferenceConfig: { maxTokens: 2 }, additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 2000 } },
    }));
    const events = await collect(res.stream);
    const reasoning = events.filter((e) => e.contentBlockDelta?.delta?.reasoningContent);
    assert.equal(reasoning.length, 9);
    assert.ok(reasoning.every((e) => e.contentBlockDelta?.contentBlockIndex === 0));
    assert.ok((reasoning.at(-1)?.contentBlockDelta?.delta?.reasoningContent?.signature ?? '').length > 0);
    const text = events.filter((e) => e.contentBlockDelta?.delta?.text !== undefined);
    assert.deepEqual(text.map((e) => e.contentBlockDelta?.contentBlockIndex), [1, 1]);
  });

  test('faults: end-after-2 stops cleanly without messageStop; malformed breaks the checksum', async () => {
    const cut = await client.send(new ConverseStreamCommand({ modelId: 'sim-fault-end-after-2', messages: hello }));
    assert.deepEqual(kinds(await collect(cut.stream)), ['messageStart', 'contentBlockDelta', 'contentBlockDelta']);
    const broken = await client.send(new ConverseStreamCommand({ modelId: 'sim-fault-malformed', messages: hello }));
    await assert.rejects(collect(broken.stream), /checksum/);
  });
});

describe('bedrock errors and signatures', () => {
  test('a wrong secret: the SDK raises InvalidSignatureException (403)', async () => {
    await assert.rejects(clientWith('not-the-secret').send(new ConverseCommand({ modelId: model, messages: hello })), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'InvalidSignatureException');
      assert.equal(err.$metadata?.httpStatusCode, 403);
      assert.match(err.message, /^The request signature we calculated does not match/);
      return true;
    });
  });

  test('an unknown access key: UnrecognizedClientException; no signature at all: MissingAuthenticationTokenException', async () => {
    await assert.rejects(clientWith('sim-secret', 'AKIDOTHER').send(new ConverseStreamCommand({ modelId: model, messages: hello })), { name: 'UnrecognizedClientException' });
    const res = await request(`${endpoint}/model/m/converse`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[]}' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
    assert.deepEqual(await res.body.json(), { message: 'Missing Authentication Token' });
  });

  test('any region in the scope is accepted; a body changed after signing, or an old date, is refused', async () => {
    const fine = await signedRequest();
    assert.equal(fine.statusCode, 200);
    await fine.body.dump();
    const tampered = await signedRequest({ tamper: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'other' }] }] }) });
    assert.equal(tampered.statusCode, 403);
    assert.equal(tampered.headers['x-amzn-errortype'], 'InvalidSignatureException');
    await tampered.body.dump();
    const old = await signedRequest({ date: new Date(Date.now() - 20 * 60 * 1000) });
    assert.equal(old.statusCode, 403);
    assert.match(((await old.body.json()) as { message: string }).message, /^Signature expired/);
  });

  test('a status fault by model id and by header: Bedrock exceptions the SDK recognises', async () => {
    await assert.rejects(client.send(new ConverseCommand({ modelId: 'sim-fault-status-503', messages: hello })), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'ServiceUnavailableException');
      assert.equal(err.$metadata?.httpStatusCode, 503);
      return true;
    });
    const faulty = clientWith();
    faulty.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-sim-fault'] = 'status-429';
        return next(args);
      },
      { step: 'build' },
    );
    await assert.rejects(faulty.send(new ConverseCommand({ modelId: model, messages: hello })), { name: 'ThrottlingException' });
  });

  test('an invalid request: 400 ValidationException with the message in {"message"}', async () => {
    await assert.rejects(client.send(new ConverseCommand({ modelId: model, messages: undefined })), (err: Error) => {
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, "Missing required parameter: 'messages'.");
      return true;
    });
    const res = await signedRequest({ body: '{"messages":[],"inferenceConfig":{"maxTokens":-1}}' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(await res.body.json(), { __type: 'ValidationException', message: "'maxTokens' must be a non-negative integer." });
  });
});
