// Guards end to end: the real OpenAI SDK → gateway (server thread + guard worker pool) → the
// simulator, and an echo upstream that answers with the text it received (to see placeholders
// come back and be restored, split across SSE chunks).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { parseConfig } from '../../src/config/load.js';
import { createFeatures } from '../../src/features.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { stackConfigObject } from '../helpers/stack.js';

type Json = Record<string, unknown>;

/** An OpenAI-compatible upstream that answers with the last user text, streamed 3 characters per chunk. */
function startEchoUpstream(): Promise<{ server: Server; port: number; bodies: Json[] }> {
  const bodies: Json[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      bodies.push(body);
      const messages = body.messages as Array<{ content: unknown }>;
      const content = messages.at(-1)!.content;
      const text = typeof content === 'string' ? content : (content as Array<{ text?: string }>).map((p) => p.text ?? '').join('');
      const base = { id: 'chatcmpl-echo', created: 1, model: String(body.model) };
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const send = (json: Json) => res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...json })}\n\n`);
        send({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
        for (let i = 0; i < text.length; i += 3) send({ choices: [{ index: 0, delta: { content: text.slice(i, i + 3) }, finish_reason: null }] });
        send({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
        send({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } });
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
        }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, bodies })));
}

describe('guards through the gateway', () => {
  let sim: RunningSimulator;
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gateway: RunningGateway;
  let client: OpenAI;
  let dataDir: string;

  before(async () => {
    assert.ok(
      createFeatures().some((f) => f.name === 'guards'),
      "guardsFeature is not listed in src/features.ts (import { guardsFeature } from './guards/feature.js')",
    );
    sim = await startSimulator();
    echo = await startEchoUpstream();
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-guards-'));
    const object = stackConfigObject(sim.port, dataDir) as Json;
    (object.providers as Json[]).push({ name: 'echo', type: 'openai', base_url: `http://127.0.0.1:${echo.port}/v1` });
    (object.models as Json[]).push({ name: 'echo', provider: 'echo' });
    object.guards = {
      prompt: [
        { name: 'no-weapons', deny: ['\\bbuild\\b.*\\bbomb'] },
        { name: 'polite', deny: ['forbidden topic'], action: 'refuse', refusal_message: 'Let us talk about something else.' },
      ],
      output: [{ name: 'no-codenames', models: ['echo'], patterns: ['project\\s+phoenix'] }],
    };
    object.pii = [{ name: 'default', detectors: { email: 'pseudonymize', credit_card: 'mask', secret: 'block' } }];
    object.pool = { size: 1, task_timeout_ms: 5000 };
    gateway = await startGateway(parseConfig(JSON.stringify(object), 'guards-e2e'), { threads: 1 });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  });

  after(async () => {
    await gateway?.stop();
    await sim?.close();
    await new Promise<void>((resolve) => (echo ? echo.server.close(() => resolve()) : resolve()));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('a denied prompt is refused with 400 content_policy_violation and never reaches the provider', async () => {
    const before = sim.stats().requests;
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'How do I build a bomb?' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.code, 'content_policy_violation');
        assert.match(err.message, /Request blocked by guard no-weapons/);
        assert.doesNotMatch(err.message, /bomb/);
        return true;
      },
    );
    assert.equal(sim.stats().requests, before);
  });

  test('PII is redacted before the provider sees it', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Charge 4111 1111 1111 1111 and mail jane@example.com' }],
    });
    assert.equal(completion.choices[0]!.finish_reason, 'stop');
    const seen = sim.stats().last.at(-1)!.body as { messages: Array<{ content: string }> };
    assert.equal(seen.messages[0]!.content, 'Charge [CREDIT_CARD] and mail <EMAIL_1>');
  });

  test('action refuse answers with a normal completion (stream and not) and never calls the provider', async () => {
    const before = sim.stats().requests;
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the forbidden topic' }] });
    assert.equal(plain.choices[0]?.message.content, 'Let us talk about something else.');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'the forbidden topic' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Let us talk about something else.');
    assert.equal(sim.stats().requests, before);
  });

  test('a secret in block mode refuses the request', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'key sk-proj-abcdefghijklmnopqrstuvwxyz0123' }] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'content_policy_violation',
    );
  });

  test('streamed: pseudonyms are restored across chunk boundaries and the output guard masks', async () => {
    const stream = await client.chat.completions.create({
      model: 'echo',
      stream: true,
      messages: [{ role: 'user', content: 'Write to bob@example.com and ann@example.org about Project Phoenix, cc bob@example.com.' }],
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, 'Write to bob@example.com and ann@example.org about [REDACTED], cc bob@example.com.');
    assert.equal(finish, 'stop');
    const upstream = echo.bodies.at(-1) as { messages: Array<{ content: string }> };
    assert.equal(upstream.messages[0]!.content, 'Write to <EMAIL_1> and <EMAIL_2> about Project Phoenix, cc <EMAIL_1>.');
  });

  test('non-streamed: restored and masked too', async () => {
    const completion = await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Reply to zoë@example.com re project  phoenix' }] }],
    });
    assert.equal(completion.choices[0]!.message.content, 'Reply to zoë@example.com re [REDACTED]');
  });

  // Above keptJsonMaxBytes and the inline threshold: the server thread keeps only the bytes, the
  // worker parses, guards, redacts and re-serialises, and the forwarded body is edited as bytes.
  test('a 100 KB prompt goes through as bytes: redacted upstream, restored in the answer, audited as sent', async () => {
    const clause = 'The supplier shall deliver the goods within thirty days of the written order. ';
    const filler = clause.repeat(Math.ceil((100 * 1024) / clause.length));
    const text = `Contact jane@example.com. ${filler}Pay with 4111 1111 1111 1111, then mail jane@example.com.`;
    const completion = await client.chat.completions.create(
      { model: 'echo', messages: [{ role: 'user', content: text }] },
      { headers: { 'x-request-id': 'large-prompt-1' } },
    );
    const sent = echo.bodies.at(-1) as { model: string; messages: Array<{ content: string }> };
    assert.equal(sent.model, 'echo');
    assert.equal(sent.messages[0]!.content, `Contact <EMAIL_1>. ${filler}Pay with [CREDIT_CARD], then mail <EMAIL_1>.`);
    assert.equal(completion.choices[0]!.message.content, `Contact jane@example.com. ${filler}Pay with [CREDIT_CARD], then mail jane@example.com.`);

    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: text }] });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    assert.equal(usage, undefined, 'the usage chunk the gateway asked for is not passed to a client that did not');
    const seen = sim.stats().last.at(-1)!.body as { stream_options?: { include_usage?: boolean }; messages: Array<{ content: string }> };
    assert.deepEqual(seen.stream_options, { include_usage: true });
    assert.ok(seen.messages[0]!.content.startsWith('Contact <EMAIL_1>. The supplier'));

    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `${filler}How do I build a bomb?` }] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'content_policy_violation',
    );

    const auditUrl = `http://127.0.0.1:${gateway.adminPort}/admin/audit?model=echo&limit=20&full=true`;
    let record: { request_body: { messages: Array<{ content: string }> } } | undefined;
    for (let i = 0; i < 50 && !record; i++) {
      const res = await fetch(auditUrl, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
      const { data } = (await res.json()) as { data: Array<{ request_id: string; request_body: { messages: Array<{ content: string }> } }> };
      record = data.find((r) => r.request_id === 'large-prompt-1');
      if (!record) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(record, 'the audit record arrived');
    assert.equal(record.request_body.messages[0]!.content, sent.messages[0]!.content, 'the audit log holds what was forwarded');
  });
});
