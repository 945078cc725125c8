// Request spans on synthetic contexts, exported to memory: name, parent, attributes, status and the upstream traceparent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parseConfig } from '../../src/config/load.js';
import { compileRoutes } from '../../src/config/compile.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { createContext, type Operation, type RequestContext } from '../../src/pipeline/context.js';
import { startRequestTracing, type RequestTracing } from '../../src/observability/tracing.js';

const clientTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const clientSpanId = '00f067aa0ba902b7';

function config(tracing = 'tracing:\n  enabled: true\n'): SwitchyardConfig {
  return parseConfig(
    `
providers:
  - name: sim
    base_url: http://127.0.0.1:1/v1
models:
  - name: gpt-4o-mini
    provider: sim
    model: sim-mini
${tracing}`,
    'test.yaml',
  );
}

function context(cfg: SwitchyardConfig, headers: Record<string, string> = {}, operation: Operation = 'chat.completions'): RequestContext {
  const ctx = createContext({ method: 'POST', path: '/v1/chat/completions', query: '', headers, remoteAddress: '10.0.0.1' }, Buffer.from('{}'), operation);
  ctx.model = 'gpt-4o-mini';
  ctx.key = { id: 'key_1', name: 'team-a' };
  ctx.deployment = compileRoutes(cfg).byModel.get('gpt-4o-mini');
  return ctx;
}

function completeOk(ctx: RequestContext): void {
  Object.assign(ctx.result, {
    status: 200,
    outcome: 'ok',
    responseModel: 'sim-mini-2024',
    usage: { promptTokens: 12, completionTokens: 34, totalTokens: 46, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    finishReason: 'stop',
    ttftMs: 42.5,
    durationMs: 120,
  });
}

function setup(cfg = config()): { tracing: RequestTracing; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  return { tracing: startRequestTracing(cfg.tracing, new SimpleSpanProcessor(exporter)), exporter };
}

function only(exporter: InMemorySpanExporter): ReadableSpan {
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, 1, `one span, got ${spans.length}`);
  return spans[0];
}

function upstreamTraceparent(ctx: RequestContext): string {
  const found = ctx.upstreamHeaders.filter(([name]) => name === 'traceparent');
  assert.equal(found.length, 1, 'exactly one traceparent for the upstream');
  return found[0][1];
}

describe('request tracing', () => {
  test('config defaults', () => {
    assert.deepEqual(config('').tracing, {
      enabled: false,
      otlp_endpoint: 'http://127.0.0.1:4318/v1/traces',
      service_name: 'switchyard',
      sample_ratio: 1,
      headers: {},
    });
    assert.throws(() => config('tracing:\n  sample_ratio: 2\n'));
    assert.throws(() => config('tracing:\n  otlp_endpoint: collector:4318\n'));
  });

  test('a span child of the client traceparent, with GenAI attributes, and its own traceparent upstream', async () => {
    const cfg = config();
    const { tracing, exporter } = setup(cfg);
    const ctx = context(cfg, { traceparent: `00-${clientTraceId}-${clientSpanId}-01`, tracestate: 'vendor=abc' });
    tracing.stage.onUpstreamStart?.(ctx);
    tracing.stage.onUpstreamStart?.(ctx); // a retry reuses the span
    assert.equal(exporter.getFinishedSpans().length, 0, 'not ended before completion');
    completeOk(ctx);
    tracing.stage.onComplete?.(ctx);

    const span = only(exporter);
    assert.equal(span.name, 'chat gpt-4o-mini');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.spanContext().traceId, clientTraceId);
    assert.equal(span.parentSpanContext?.spanId, clientSpanId);
    assert.equal(span.parentSpanContext?.isRemote, true);
    assert.deepEqual(span.attributes, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'sim',
      'switchyard.provider_type': 'openai',
      'switchyard.deployment': 'sim/sim-mini',
      'switchyard.client_dialect': 'openai-chat',
      'gen_ai.response.model': 'sim-mini-2024',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 34,
      'gen_ai.response.finish_reasons': ['stop'],
      'http.response.status_code': 200,
      'switchyard.request_id': ctx.id,
      'switchyard.key_id': 'key_1',
      'switchyard.ttft_ms': 42.5,
    });
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    assert.equal(span.resource.attributes['service.name'], 'switchyard');
    // Started at arrival, ended at arrival + duration.
    const startMs = span.startTime[0] * 1000 + span.startTime[1] / 1e6;
    const endMs = span.endTime[0] * 1000 + span.endTime[1] / 1e6;
    assert.ok(Math.abs(startMs - ctx.receivedAtEpochMs) < 1, `start ${startMs} vs ${ctx.receivedAtEpochMs}`);
    assert.ok(Math.abs(endMs - startMs - 120) < 1, `duration ${endMs - startMs}`);

    assert.equal(upstreamTraceparent(ctx), `00-${clientTraceId}-${span.spanContext().spanId}-01`);
    assert.deepEqual(ctx.upstreamHeaders.find(([name]) => name === 'tracestate'), ['tracestate', 'vendor=abc']);
    await tracing.close();
  });

  test('without a client traceparent the span starts a new trace', async () => {
    const cfg = config();
    const { tracing, exporter } = setup(cfg);
    const ctx = context(cfg, { traceparent: 'not-a-traceparent' }, 'embeddings');
    tracing.stage.onUpstreamStart?.(ctx);
    completeOk(ctx);
    tracing.stage.onComplete?.(ctx);
    const span = only(exporter);
    assert.equal(span.name, 'embeddings gpt-4o-mini');
    assert.equal(span.parentSpanContext, undefined);
    assert.match(span.spanContext().traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(span.spanContext().traceId, '0'.repeat(32));
    assert.equal(upstreamTraceparent(ctx), `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    await tracing.close();
  });

  test('a failed request has status ERROR with the message; one refused before upstream still gets a span', async () => {
    const cfg = config();
    const { tracing, exporter } = setup(cfg);
    const ctx = context(cfg, {}, 'completions');
    Object.assign(ctx.result, {
      status: 429,
      outcome: 'client_error',
      error: { type: 'rate_limit_error', code: 'rate_limited', message: 'Too many requests for key key_1' },
      durationMs: 3,
    });
    tracing.stage.onComplete?.(ctx); // no onUpstreamStart: refused by a limit
    const span = only(exporter);
    assert.equal(span.name, 'text_completion gpt-4o-mini');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, 'Too many requests for key key_1');
    assert.equal(span.attributes['error.type'], 'rate_limited');
    assert.equal(span.attributes['http.response.status_code'], 429);
    assert.equal(span.attributes['gen_ai.response.model'], undefined);
    assert.equal(ctx.upstreamHeaders.length, 0);
    await tracing.close();
  });

  test('an unsampled client trace is propagated but not exported; GET /v1/models gets no span', async () => {
    const cfg = config('tracing:\n  enabled: true\n  sample_ratio: 1\n');
    const { tracing, exporter } = setup(cfg);
    const ctx = context(cfg, { traceparent: `00-${clientTraceId}-${clientSpanId}-00` });
    tracing.stage.onUpstreamStart?.(ctx);
    completeOk(ctx);
    tracing.stage.onComplete?.(ctx);
    assert.equal(exporter.getFinishedSpans().length, 0);
    assert.match(upstreamTraceparent(ctx), new RegExp(`^00-${clientTraceId}-[0-9a-f]{16}-00$`));
    assert.ok(!upstreamTraceparent(ctx).includes(clientSpanId), 'the gateway names its own span as parent');

    const models = context(cfg, {}, 'models');
    tracing.stage.onComplete?.(models);
    assert.equal(exporter.getFinishedSpans().length, 0);
    await tracing.close();
  });

  test('sample_ratio 0 records no new traces', async () => {
    const cfg = config('tracing:\n  enabled: true\n  sample_ratio: 0\n');
    const { tracing, exporter } = setup(cfg);
    for (let i = 0; i < 20; i++) {
      const ctx = context(cfg);
      tracing.stage.onUpstreamStart?.(ctx);
      completeOk(ctx);
      tracing.stage.onComplete?.(ctx);
    }
    assert.equal(exporter.getFinishedSpans().length, 0);
    await tracing.close();
  });
});
