// OTLP trace export: one CLIENT span per proxied request with the OpenTelemetry GenAI attributes,
// parented to the client's traceparent, and a traceparent naming that span sent upstream.
// Each server thread owns its tracer provider; nothing is registered globally, so several gateways
// can run in one process (tests, bench).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Operation, RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import { log } from '../shared/log.js';
import type { TracingConfig } from './config.js';
import { traceIdStateKey } from './trace-id.js';

// GenAI attribute names are still incubating; the semantic-conventions package advises copying
// incubating names rather than importing its unstable entry point.
export const genAi = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
} as const;

export const switchyardAttr = {
  requestId: 'switchyard.request_id',
  keyId: 'switchyard.key_id',
  ttftMs: 'switchyard.ttft_ms',
  clientDialect: 'switchyard.client_dialect',
  providerType: 'switchyard.provider_type',
  deployment: 'switchyard.deployment',
  attempt: 'switchyard.attempt',
} as const;

/** gen_ai.operation.name per gateway operation; requests without one (GET /v1/models) get no span. */
const operationNames: Partial<Record<Operation, string>> = {
  'chat.completions': 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
};

const spanStateKey = 'observability.span';

const headerGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Logs the first failed export of an outage (the SDK itself reports nothing unless a diag logger is set). */
class ExportFailureLogger implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly endpoint: string,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.failing = false;
      else if (!this.failing) {
        this.failing = true;
        log.warn('OTLP trace export failed; spans are being dropped', { endpoint: this.endpoint, error: result.error?.message });
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export interface RequestTracing {
  readonly stage: Stage;
  /** Exports what is buffered and stops the exporter. */
  close(): Promise<void>;
}

/** The OTLP/HTTP (JSON) exporter behind a batching processor, bounded so shutdown cannot hang on a dead collector. */
export function otlpSpanProcessor(config: TracingConfig): SpanProcessor {
  const exporter = new OTLPTraceExporter({ url: config.otlp_endpoint, headers: config.headers, timeoutMillis: 5000 });
  return new BatchSpanProcessor(new ExportFailureLogger(exporter, config.otlp_endpoint), { exportTimeoutMillis: 5000 });
}

/** A tracer for one server thread; `processor` defaults to OTLP export (tests pass an in-memory one). */
export function startRequestTracing(config: TracingConfig, processor: SpanProcessor = otlpSpanProcessor(config)): RequestTracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.service_name }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sample_ratio) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('switchyard');
  const propagator = new W3CTraceContextPropagator();

  const stage: Stage = {
    name: 'observability.tracing',
    onUpstreamStart(ctx) {
      // Retries and fallbacks send the same span's traceparent again.
      if (ctx.state.has(spanStateKey)) return;
      const span = startSpan(tracer, propagator, ctx);
      if (!span) return;
      ctx.state.set(spanStateKey, span);
      ctx.state.set(traceIdStateKey, span.spanContext().traceId);
      const outgoing: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), outgoing, {
        set: (carrier, key, value) => {
          carrier[key] = value;
        },
      });
      for (const name in outgoing) ctx.upstreamHeaders.push([name, outgoing[name]]);
    },
    onComplete(ctx) {
      // Requests refused before going upstream (auth, limits, guards) get their span here.
      let span = ctx.state.get(spanStateKey) as Span | undefined;
      if (span === undefined) {
        span = startSpan(tracer, propagator, ctx);
        if (span) ctx.state.set(traceIdStateKey, span.spanContext().traceId);
      }
      if (span) endSpan(tracer, span, ctx);
    },
  };

  return {
    stage,
    close: () => provider.shutdown(),
  };
}

function startSpan(tracer: Tracer, propagator: W3CTraceContextPropagator, ctx: RequestContext): Span | undefined {
  const operation = operationNames[ctx.operation];
  if (operation === undefined) return undefined;
  const parent = propagator.extract(ROOT_CONTEXT, ctx.head.headers, headerGetter);
  const name = ctx.model === '' ? operation : `${operation} ${ctx.model}`;
  const attributes: Record<string, string> = { [genAi.operationName]: operation, [switchyardAttr.requestId]: ctx.id };
  if (ctx.model !== '') attributes[genAi.requestModel] = ctx.model;
  return tracer.startSpan(name, { kind: SpanKind.CLIENT, startTime: ctx.receivedAtEpochMs, attributes }, parent);
}

function endSpan(tracer: Tracer, span: Span, ctx: RequestContext): void {
  const result = ctx.result;
  if (span.isRecording()) {
    if (ctx.deployment) {
      span.setAttribute(genAi.providerName, ctx.deployment.provider.name);
      span.setAttribute(switchyardAttr.providerType, ctx.deployment.provider.type);
      span.setAttribute(switchyardAttr.deployment, ctx.deployment.id);
    }
    span.setAttribute(switchyardAttr.clientDialect, ctx.dialect);
    if (result.responseModel !== undefined) span.setAttribute(genAi.responseModel, result.responseModel);
    if (result.usage) {
      span.setAttribute(genAi.inputTokens, result.usage.promptTokens);
      span.setAttribute(genAi.outputTokens, result.usage.completionTokens);
    }
    if (result.finishReason !== undefined) span.setAttribute(genAi.finishReasons, [result.finishReason]);
    if (result.status > 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status);
    if (ctx.key) span.setAttribute(switchyardAttr.keyId, ctx.key.id);
    if (result.ttftMs !== undefined) span.setAttribute(switchyardAttr.ttftMs, result.ttftMs);
    if (result.outcome !== 'ok') {
      span.setAttribute(ATTR_ERROR_TYPE, result.error?.code ?? result.error?.type ?? result.outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.error?.message ?? result.outcome });
    }
  }
  const log = result.attemptLog;
  // A request that made several attempts gets one child span per attempt; a single attempt is the request's span itself.
  if (log !== undefined && log.length > 1 && span.isRecording()) {
    const parent = trace.setSpan(ROOT_CONTEXT, span);
    for (const [i, a] of log.entries()) {
      const child = tracer.startSpan(
        `attempt ${a.deployment}`,
        {
          kind: SpanKind.CLIENT,
          startTime: a.startedAtMs,
          attributes: { [switchyardAttr.deployment]: a.deployment, [switchyardAttr.attempt]: i + 1, [genAi.requestModel]: a.model, [ATTR_HTTP_RESPONSE_STATUS_CODE]: a.status },
        },
        parent,
      );
      if (a.outcome === 'failed') child.setStatus({ code: SpanStatusCode.ERROR, message: a.error ?? 'failed' });
      child.end(a.startedAtMs + a.durationMs);
    }
  }
  span.end(ctx.receivedAtEpochMs + (result.durationMs ?? Date.now() - ctx.receivedAtEpochMs));
}
