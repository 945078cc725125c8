// Upstream faults end to end (issue 11, items 1, 3 and 14): a broken upstream answer becomes an OpenAI-shaped
// error the client can act on, with the audit record and metrics saying why; provider credentials quoted by an
// upstream never reach the client or the audit log; buffered upstream bodies are bounded per server thread.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { SseParser } from '../../src/sse/parser.js';
import { clientKey, expectErrorShape, stackConfigObject, upstreamKey, type OpenAIErrorBody } from '../helpers/stack.js';

type Json = Record<string, unknown>;
const user = (content: string) => [{ role: 'user' as const, content }];
const budget = 256 * 1024;

/** A chat.completion body of exactly `size` bytes. */
function bodyOfSize(size: number): string {
  const head = '{"id":"chatcmpl-big","object":"chat.completion","created":1,"model":"big","choices":[{"index":0,"message":{"role":"assistant","content":"';
  const tail = '"},"finish_reason":"stop"}]}';
  return head + 'a'.repeat(size - head.length - tail.length) + tail;
}

/**
 * An upstream that answers a body of the size the prompt asks for ("<bytes> [chunked] [hold]"), with
 * content-length unless chunked; on hold it sends half the body and waits for release() (so the gateway
 * holds the bytes meanwhile). The prompt carries the orders: the gateway forwards no unknown header.
 */
function startBigUpstream(): Promise<{ server: Server; port: number; held: Promise<void>; release(): void }> {
  let holding: ServerResponse | undefined;
  let heldBody = '';
  let markHeld: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (markHeld = resolve));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const prompt = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: Array<{ content: string }> }).messages[0].content;
      const [size, ...orders] = prompt.split(' ');
      if (orders.includes('sse')) {
        // One whole event, then one that never ends: the gateway holds it while it waits for its blank line.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n');
        res.write(`data: {"choices":[{"index":0,"delta":{"content":"${'a'.repeat(Number(size))}`);
        req.socket.on('close', () => res.destroy());
        return;
      }
      const body = bodyOfSize(Number(size));
      const headers: Record<string, string | number> = { 'content-type': 'application/json' };
      if (!orders.includes('chunked')) headers['content-length'] = body.length;
      res.writeHead(200, headers);
      if (!orders.includes('hold')) {
        res.end(body);
        return;
      }
      res.write(body.slice(0, body.length >> 1), () => markHeld());
      holding = res;
      heldBody = body.slice(body.length >> 1);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as { port: number }).port, held, release: () => holding?.end(heldBody) }),
    ),
  );
}

interface FaultStack {
  gateway: RunningGateway;
  base: string;
  client: OpenAI;
  stop(): Promise<void>;
}

/** A gateway (one server thread, audit on) in front of the simulator, a guarded model and the big-body upstream. */
async function startFaultStack(sim: RunningSimulator, bigPort: number, server: Json = {}): Promise<FaultStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-faults-'));
  const object = stackConfigObject(sim.port, dataDir, { server }) as Json;
  (object.providers as Json[]).push({ name: 'big', type: 'openai', base_url: `http://127.0.0.1:${bigPort}/v1` });
  (object.models as Json[]).push({ name: 'guarded', provider: 'sim', model: 'gpt-4o-mini' }, { name: 'big', provider: 'big' });
  // An output guard makes the relay parse the non-streamed body (the path that hung).
  object.guards = { output: [{ name: 'no-codenames', models: ['guarded'], patterns: ['project\\s+phoenix'] }] };
  object.pool = { size: 1, task_timeout_ms: 5000 };
  // Bodies off for gpt-4o: no stream observer then, so events are checked on their bytes rather than by the observer's parse.
  object.audit = { sinks: { file: { fsync_ms: 10 } }, bodies_off_models: ['gpt-4o'] };
  const gateway = await startGateway(parseConfig(JSON.stringify(object), 'faults-e2e'), { threads: 1 });
  const base = `http://127.0.0.1:${gateway.port}/v1`;
  return {
    gateway,
    base,
    client: new OpenAI({ baseURL: base, apiKey: clientKey, maxRetries: 0, timeout: 10_000 }),
    async stop() {
      await gateway.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('upstream faults through the gateway', { timeout: 120_000 }, () => {
  let sim: RunningSimulator;
  let big: Awaited<ReturnType<typeof startBigUpstream>>;
  let stack: FaultStack;
  let limited: FaultStack;

  before(async () => {
    sim = await startSimulator();
    big = await startBigUpstream();
    stack = await startFaultStack(sim, big.port);
  });

  after(async () => {
    await stack?.stop();
    await limited?.stop();
    await sim?.close();
    await new Promise<void>((resolve) => (big ? big.server.close(() => resolve()) : resolve()));
  });

  /** POST without a client that decodes or parses anything: status, headers and the exact bytes. */
  async function raw(body: Json, headers: Record<string, string> = {}, on: FaultStack = stack) {
    const res = await request(`${on.base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, bytes, text: bytes.toString('utf8') };
  }

  async function auditRecord(requestId: string, on: FaultStack = stack): Promise<AuditRecord> {
    let found: AuditRecord | undefined;
    for (let i = 0; i < 100 && !found; i++) {
      const res = await fetch(`http://127.0.0.1:${on.gateway.adminPort}/admin/audit?limit=1000&full=true`, { headers: { authorization: `Bearer ${on.gateway.adminToken}` } });
      found = ((await res.json()) as { data: AuditRecord[] }).data.find((r) => r.request_id === requestId);
      if (!found) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(found, `no audit record for ${requestId}`);
    return found;
  }

  async function upstreamErrors(reason: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('switchyard_upstream_errors_total{') && line.includes(`reason="${reason}"`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  function lastEvent(text: string): OpenAIErrorBody {
    const events = new SseParser().push(Buffer.from(text));
    const last = events.at(-1);
    assert.ok(last, `no complete event in ${JSON.stringify(text.slice(0, 300))}`);
    return expectErrorShape(JSON.parse(last.data));
  }

  describe('item 1: invalid upstream answers', () => {
    for (const fault of ['truncated', 'malformed', 'invalid-json']) {
      test(`not guarded, fault ${fault}: 502 upstream_invalid_response instead of the broken body with 200`, async () => {
        const res = await raw({ model: 'gpt-4o-mini', messages: user('hi') }, { 'x-sim-fault': fault, 'x-request-id': `inv-${fault}` });
        assert.equal(res.status, 502, res.text.slice(0, 200));
        assert.equal(res.headers['content-type'], 'application/json');
        const error = expectErrorShape(JSON.parse(res.text)).error;
        assert.equal(error.code, 'upstream_invalid_response');
        assert.equal(error.type, 'api_error');
        const record = await auditRecord(`inv-${fault}`);
        assert.equal(record.status, 502);
        assert.equal(record.outcome, 'upstream_error');
        assert.equal(record.error?.code, 'upstream_invalid_response');
        assert.match(record.error?.message ?? '', /not a valid JSON object/);
      });
    }

    test('guarded model, truncated body: the SDK gets a 502 APIError instead of waiting forever', async () => {
      for (const fault of ['truncated', 'invalid-json']) {
        await assert.rejects(
          stack.client.chat.completions.create({ model: 'guarded', messages: user('hi') }, { headers: { 'x-sim-fault': fault, 'x-request-id': `guarded-${fault}` } }),
          (err: unknown) => {
            assert.ok(err instanceof OpenAI.APIError && !(err instanceof OpenAI.APIConnectionTimeoutError), String(err));
            assert.equal(err.status, 502);
            assert.equal(err.code, 'upstream_invalid_response');
            return true;
          },
        );
        assert.equal((await auditRecord(`guarded-${fault}`)).error?.code, 'upstream_invalid_response');
      }
      const ok = await stack.client.chat.completions.create({ model: 'guarded', messages: user('hi') });
      assert.equal(ok.object, 'chat.completion', 'the gateway still answers the guarded model');
      assert.ok((await upstreamErrors('upstream_invalid_response')) >= 2, 'counted in switchyard_upstream_errors_total by reason');
    });

    test('a stream that ends cleanly without finish_reason or [DONE] ends with an error event, which the SDK raises', async () => {
      const stream = await stack.client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: user('hi'), stream: true },
        { headers: { 'x-sim-fault': 'end-after-2', 'x-request-id': 'end-early' } },
      );
      const received: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) received.push(chunk.choices[0]?.delta?.content ?? '');
        })(),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.APIError, String(err));
          assert.equal((err.error as OpenAIErrorBody['error']).code, 'upstream_incomplete_stream');
          return true;
        },
      );
      assert.equal(received.length, 3, 'the role chunk and the two content chunks were relayed first');
      const record = await auditRecord('end-early');
      assert.equal(record.outcome, 'upstream_error');
      assert.equal(record.error?.code, 'upstream_incomplete_stream');
      assert.ok((await upstreamErrors('upstream_incomplete_stream')) >= 1);
    });

    test('a stream that ends mid-event: the partial event is not relayed, the stream ends with an error event', async () => {
      const res = await raw({ model: 'gpt-4o-mini', messages: user('hi'), stream: true }, { 'x-sim-fault': 'truncated' });
      assert.equal(res.status, 200);
      const events = new SseParser().push(res.bytes);
      assert.equal(events.map((e) => e.raw.toString()).join(''), res.text, 'only whole events reach the client');
      for (const e of events) JSON.parse(e.data);
      assert.equal(lastEvent(res.text).error.code, 'upstream_incomplete_stream');
    });

    for (const model of ['gpt-4o-mini', 'gpt-4o']) {
      test(`a malformed data: line is not passed on: the stream fails with an error event (${model})`, async () => {
        const id = `bad-event-${model}`;
        const res = await raw({ model, messages: user('hi'), stream: true }, { 'x-sim-fault': 'malformed', 'x-request-id': id });
        assert.equal(res.status, 200);
        assert.doesNotMatch(res.text, /unterminated/);
        const events = new SseParser().push(res.bytes);
        for (const e of events) JSON.parse(e.data); // every relayed event is valid JSON
        assert.equal(lastEvent(res.text).error.code, 'upstream_invalid_response');
        assert.ok(!res.text.includes('[DONE]'));
        const record = await auditRecord(id);
        assert.equal(record.error?.code, 'upstream_invalid_response');
        assert.match(record.error?.message ?? '', /SSE event/);
      });
    }

    test('gzip despite accept-encoding: identity is refused with 502, streamed or not, never relayed as binary', async () => {
      for (const stream of [false, true]) {
        const res = await raw({ model: 'gpt-4o-mini', messages: user('hi'), stream }, { 'x-sim-fault': 'gzip', 'x-request-id': `gzip-${stream}` });
        assert.equal(res.status, 502, `stream ${stream}: ${res.bytes.subarray(0, 20).toString('hex')}`);
        assert.equal(res.headers['content-encoding'], undefined);
        assert.equal(expectErrorShape(JSON.parse(res.text)).error.code, 'upstream_unsupported_encoding');
        assert.match((await auditRecord(`gzip-${stream}`)).error?.message ?? '', /gzip/);
      }
    });
  });

  describe('item 3: provider credentials quoted by the upstream', () => {
    test('a 401 quoting the key: redacted for the client (stream and not) and in the audit record', async () => {
      for (const stream of [false, true]) {
        const res = await raw({ model: 'gpt-4o-mini', messages: user('hi'), stream }, { 'x-sim-fault': 'key-echo', 'x-request-id': `key-${stream}` });
        assert.equal(res.status, 401);
        assert.ok(!res.text.includes(upstreamKey), res.text);
        const error = expectErrorShape(JSON.parse(res.text)).error;
        assert.match(error.message, /^Incorrect API key provided: \[REDACTED\]/);
        assert.equal(error.code, 'invalid_api_key');
        const record = await auditRecord(`key-${stream}`);
        assert.ok(!JSON.stringify(record).includes(upstreamKey), JSON.stringify(record.error));
        assert.match(record.error?.message ?? '', /\[REDACTED\]/);
      }
    });

    test('the SDK sees the redacted message', async () => {
      await assert.rejects(stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') }, { headers: { 'x-sim-fault': 'key-echo' } }), (err: unknown) => {
        assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
        assert.ok(!err.message.includes(upstreamKey), err.message);
        return true;
      });
    });

    test('an error event mid-stream quoting the key: redacted, and the audit record says the stream failed', async () => {
      const res = await raw({ model: 'gpt-4o-mini', messages: user('hi'), stream: true }, { 'x-sim-fault': 'key-echo-stream', 'x-request-id': 'key-mid' });
      assert.equal(res.status, 200);
      assert.ok(!res.text.includes(upstreamKey), res.text);
      const error = lastEvent(res.text).error;
      assert.equal(error.code, 'invalid_api_key', 'the upstream error event is relayed (redacted), not replaced');
      assert.match(error.message, /\[REDACTED\]/);
      assert.equal(res.text.match(/"error"/g)?.length, 1, 'one error event, no second one from the gateway');
      const record = await auditRecord('key-mid');
      assert.equal(record.outcome, 'upstream_error');
      assert.equal(record.error?.code, 'invalid_api_key');
      assert.ok(!JSON.stringify(record).includes(upstreamKey));
    });
  });

  describe('item 14: buffered upstream bytes per thread', () => {
    before(async () => {
      limited = await startFaultStack(sim, big.port, { max_buffered_upstream_bytes: budget });
    });
    test('a body that would overrun the thread budget is refused with 503 while another holds it, then served', async () => {
      const size = 160 * 1024;
      const first = raw({ model: 'big', messages: user(`${size} hold`) }, {}, limited);
      await big.held;
      const refused = await raw({ model: 'big', messages: user(String(size)) }, { 'x-request-id': 'budget-full' }, limited);
      assert.equal(refused.status, 503, refused.text.slice(0, 200));
      assert.equal(refused.headers['retry-after'], '1');
      const error = expectErrorShape(JSON.parse(refused.text)).error;
      assert.equal(error.code, 'upstream_buffer_full');
      assert.equal(error.type, 'overloaded_error');
      assert.equal((await auditRecord('budget-full', limited)).error?.code, 'upstream_buffer_full');
      big.release();
      const served = await first;
      assert.equal(served.status, 200);
      assert.equal(served.bytes.length, size);
      const again = await raw({ model: 'big', messages: user(String(size)) }, {}, limited);
      assert.equal(again.status, 200, 'the budget was given back');
      JSON.parse(again.text);
    });

    test('a body larger than the whole budget is refused with 502 upstream_too_large, with or without content-length', async () => {
      for (const chunked of [false, true]) {
        const res = await raw({ model: 'big', messages: user(`${budget + 1024}${chunked ? ' chunked' : ''}`) }, {}, limited);
        assert.equal(res.status, 502, `chunked ${chunked}`);
        assert.equal(expectErrorShape(JSON.parse(res.text)).error.code, 'upstream_too_large');
      }
      const ok = await raw({ model: 'big', messages: user('1024') }, {}, limited);
      assert.equal(ok.status, 200, 'nothing stays reserved after a refusal');
    });

    test('a streamed event that grows past the budget without its blank line ends the stream with an error event', async () => {
      const res = await raw({ model: 'big', messages: user(`${budget + 1024} sse`), stream: true }, { 'x-request-id': 'huge-event' }, limited);
      assert.equal(res.status, 200);
      assert.equal(new SseParser().push(res.bytes).length, 2, 'the whole first event, then the error event');
      assert.equal(lastEvent(res.text).error.code, 'upstream_too_large');
      assert.equal((await auditRecord('huge-event', limited)).error?.code, 'upstream_too_large');
      const ok = await raw({ model: 'big', messages: user(String(budget - 1024)) }, {}, limited);
      assert.equal(ok.status, 200, 'the held event was given back');
    });
  });
});
