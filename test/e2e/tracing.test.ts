// OTLP trace export end to end: real OpenAI SDK traffic with a client traceparent through a gateway
// exporting to a local OTLP/HTTP collector; the span and the simulator's traceparent are checked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { clientKey, stackConfigObject } from '../helpers/stack.js';

/** The parts of an OTLP/JSON span these tests read. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number; message?: string };
}

interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

/** A collector that accepts OTLP/HTTP JSON on /v1/traces and keeps what it got. */
async function startCollector(): Promise<{ server: Server; port: number; exports: OtlpExport[]; authHeaders: string[] }> {
  const exports: OtlpExport[] = [];
  const authHeaders: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      exports.push(JSON.parse(body.toString('utf8')) as OtlpExport);
      authHeaders.push(String(req.headers['x-collector-token']));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, exports, authHeaders };
}

/** An OTLP AnyValue as a plain JS value (int64 arrives as a string or number). */
function plain(value: Record<string, unknown>): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('boolValue' in value) return value.boolValue;
  if ('arrayValue' in value) return ((value.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(plain);
  return undefined;
}

function attributesOf(span: OtlpSpan): Record<string, unknown> {
  return Object.fromEntries(span.attributes.map((a) => [a.key, plain(a.value)]));
}

const clientTraceId = '0af7651916cd43dd8448eb211c80319c';
const clientSpanId = 'b7ad6b7169203331';
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('OTLP trace export', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let sim: RunningSimulator;
  let gateway: RunningGateway | undefined;
  let dataDir: string;

  before(async () => {
    collector = await startCollector();
    sim = await startSimulator();
    dataDir = mkdtempSync(join(tmpdir(), 'sy-e2e-trace-'));
    const config = parseConfig(
      JSON.stringify({
        ...stackConfigObject(sim.port, dataDir),
        tracing: {
          enabled: true,
          otlp_endpoint: `http://127.0.0.1:${collector.port}/v1/traces`,
          service_name: 'switchyard-e2e',
          headers: { 'x-collector-token': 'tok-1' },
        },
      }),
      'test',
    );
    gateway = await startGateway(config, { threads: 1 });
  });

  after(async () => {
    await gateway?.stop();
    await sim.close();
    await new Promise((resolve) => collector.server.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('spans parented to the client trace reach the collector; the upstream sees the gateway span as parent', async () => {
    assert.ok(gateway);
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 });
    const completion = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'trace me' }] },
      { headers: { traceparent: `00-${clientTraceId}-${clientSpanId}-01` } },
    );
    const stream = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'new trace' }], stream: true });
    for await (const chunk of stream) void chunk;

    const upstream = sim.stats().last.map((r) => r.headers.traceparent);
    assert.equal(upstream.length, 2);
    const [withParent, fresh] = upstream.map((value) => traceparentPattern.exec(value ?? ''));
    assert.ok(withParent && fresh, `upstream traceparents: ${upstream.join(', ')}`);
    assert.equal(withParent[1], clientTraceId, 'the upstream request continues the client trace');
    assert.notEqual(withParent[2], clientSpanId, 'the upstream parent is the gateway span, not the client span');
    assert.notEqual(fresh[1], clientTraceId);

    // Stopping the gateway flushes the batch processor.
    await gateway.stop();
    gateway = undefined;
    const spans = collector.exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    assert.equal(spans.length, 2, `spans received: ${spans.map((s) => s.name).join(', ')}`);
    assert.ok(collector.authHeaders.every((h) => h === 'tok-1'), 'configured headers go with every export');
    const resource = collector.exports[0].resourceSpans[0].resource.attributes.find((a) => a.key === 'service.name');
    assert.equal(resource && plain(resource.value), 'switchyard-e2e');

    const chat = spans.find((s) => s.traceId === clientTraceId);
    assert.ok(chat, 'a span in the client trace');
    assert.equal(chat.parentSpanId, clientSpanId);
    assert.equal(chat.spanId, withParent[2], 'the upstream traceparent names the exported span');
    assert.equal(chat.name, 'chat gpt-4o-mini');
    assert.equal(chat.kind, 3, 'SPAN_KIND_CLIENT');
    const attrs = attributesOf(chat);
    assert.equal(attrs['gen_ai.operation.name'], 'chat');
    assert.equal(attrs['gen_ai.provider.name'], 'sim');
    assert.equal(attrs['switchyard.provider_type'], 'openai');
    assert.equal(attrs['switchyard.client_dialect'], 'openai-chat');
    assert.equal(attrs['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(attrs['gen_ai.response.model'], completion.model);
    assert.equal(attrs['gen_ai.usage.input_tokens'], completion.usage?.prompt_tokens);
    assert.equal(attrs['gen_ai.usage.output_tokens'], completion.usage?.completion_tokens);
    assert.equal(attrs['http.response.status_code'], 200);
    assert.equal(attrs['switchyard.request_id'], completion._request_id);
    assert.equal(typeof attrs['switchyard.ttft_ms'], 'number');
    assert.ok(!chat.status?.code, 'status unset on success');

    const streamed = spans.find((s) => s.traceId === fresh[1]);
    assert.ok(streamed, 'the request without a traceparent has its own trace');
    assert.equal(streamed.parentSpanId ?? '', '');
    assert.equal(streamed.spanId, fresh[2]);
    assert.equal(streamed.name, 'chat fast');
    const streamedAttrs = attributesOf(streamed);
    assert.ok(Number(streamedAttrs['gen_ai.usage.output_tokens']) > 0);
    assert.deepEqual(streamedAttrs['gen_ai.response.finish_reasons'], ['stop']);
    assert.equal(streamedAttrs['gen_ai.response.model'], 'sim-fast');
  });
});

describe('OTLP spans of a request that failed over', () => {
  test('one child span per attempt under the request span, the failed one marked as an error', async () => {
    const collector = await startCollector();
    const sim = await startSimulator();
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-e2e-trace-'));
    const base = stackConfigObject(sim.port, dataDir);
    const config = parseConfig(
      JSON.stringify({
        ...base,
        models: [
          ...(base.models as unknown[]),
          { name: 'group', deployments: [{ provider: 'sim', model: 'sim-fault-status-503', id: 'down' }, { provider: 'sim', model: 'gpt-4o-mini', id: 'up', priority: 2 }] },
        ],
        tracing: { enabled: true, otlp_endpoint: `http://127.0.0.1:${collector.port}/v1/traces` },
      }),
      'test',
    );
    const gateway = await startGateway(config, { threads: 1 });
    try {
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: clientKey, maxRetries: 0 });
      await client.chat.completions.create({ model: 'group', messages: [{ role: 'user', content: 'fail over' }] });
      const upstream = sim.stats().last.map((r) => r.headers.traceparent);
      assert.equal(upstream.length, 2);
      assert.equal(upstream[0], upstream[1], 'every attempt carries the request span as parent');
    } finally {
      await gateway.stop();
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const spans = collector.exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    await new Promise((resolve) => collector.server.close(resolve));
    assert.equal(spans.length, 3, `spans: ${spans.map((s) => s.name).join(', ')}`);
    const request = spans.find((s) => s.name === 'chat group');
    assert.ok(request);
    assert.equal(attributesOf(request)['switchyard.deployment'], 'up');
    const attempts = spans.filter((s) => s.name.startsWith('attempt '));
    assert.deepEqual(attempts.map((s) => s.name).sort(), ['attempt down', 'attempt up']);
    for (const a of attempts) assert.equal(a.parentSpanId, request.spanId);
    const down = attempts.find((s) => s.name === 'attempt down');
    assert.equal(down?.status?.code, 2, 'STATUS_CODE_ERROR');
    assert.equal(attributesOf(down as OtlpSpan)['http.response.status_code'], 503);
    assert.equal(attributesOf(attempts.find((s) => s.name === 'attempt up') as OtlpSpan)['switchyard.attempt'], 2);
  });
});
