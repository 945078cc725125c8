// Server-thread side of observability: a gate stage (audit backpressure, in-flight gauge) and a
// recorder stage (metrics, access log, audit record). Records are batched per event-loop turn and
// sent to the main thread, which owns the sinks.
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../pipeline/context.js';
import type { ResponseFilter, Stage, ThreadHost } from '../pipeline/stage.js';
import type { SwitchyardConfig } from '../config/types.js';
import { GatewayError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { AccessLog, applyLogLevel } from './access-log.js';
import { isBackpressured } from './audit-dispatcher.js';
import { AuditBatchWriter } from './audit-batch-writer.js';
import { BodyPolicy, writeAuditRecord } from './audit-record.js';
import { AuditBatchSender } from './audit-channel.js';
import { ThreadMetrics } from './metrics.js';
import { StreamReassembler } from './stream-reassembly.js';
import { noteCost, peekObservations } from '../pipeline/observations.js';
import { PriceTable, priceNames } from '../limits/prices.js';
import { startRequestTracing } from './tracing.js';

/** What initMain hands to every server thread. */
export interface ObservabilityShared {
  /** See newBackpressureFlag() in audit-dispatcher.ts for the layout. */
  auditBackpressure: SharedArrayBuffer;
}

/** Request type answered by each thread with its registry's getMetricsAsJSON(). */
export const metricsMessage = 'observability.metrics';

const recorderStateKey = 'observability.recorder';

interface RecorderState {
  bodies: boolean;
  reassembler: StreamReassembler | undefined;
}

/**
 * Sends records to the main thread in batches, at most `batchMs` after the first one (or at once when
 * `maxBatch` have gathered): a message per request would cost more than building the record. The
 * delay adds to the kill -9 window (docs/observability.md).
 */
export class AuditForwarder {
  readonly writer = new AuditBatchWriter();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (writer: AuditBatchWriter) => void,
    private readonly batchMs = 10,
    private readonly maxBatch = 512,
  ) {}

  /** Call after writing a record to `writer`. */
  written(): void {
    if (this.writer.count >= this.maxBatch) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.batchMs);
  }

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.writer.count === 0) return;
    this.send(this.writer);
  }
}

export interface ThreadObservability {
  readonly stages: Stage[];
  readonly metrics: ThreadMetrics | undefined;
  close(): Promise<void>;
}

export function startThreadObservability(config: SwitchyardConfig, shared: ObservabilityShared, host: ThreadHost): ThreadObservability {
  applyLogLevel(config.logging.level);
  const metrics = config.metrics.enabled ? new ThreadMetrics(config.metrics, `thread-${host.threadIndex}`) : undefined;
  if (metrics) host.on(metricsMessage, () => metrics.toJSON());
  const batchMs = Math.min(10, config.audit.sinks.file.fsync_ms);
  const sender = config.audit.enabled ? new AuditBatchSender(host) : undefined;
  const audit = sender ? new AuditForwarder((writer) => sender.send(writer), batchMs) : undefined;
  const bodies = new BodyPolicy(config.audit);
  const accessLog = config.logging.access_log ? new AccessLog(config.logging.level, resolveLogFile(config)) : undefined;
  const prices = new PriceTable(config.prices ?? {});
  const backpressure = new Int32Array(shared.auditBackpressure);
  const blockPolicy = config.audit.enabled && config.audit.queue.policy === 'block';
  const tracing = config.tracing.enabled ? startRequestTracing(config.tracing) : undefined;

  const gate: Stage = {
    name: 'observability.gate',
    phase: 'auth',
    onRequest(ctx) {
      if (blockPolicy && isBackpressured(backpressure)) {
        throw new GatewayError(503, 'The audit log is backlogged; retry shortly.', {
          type: 'overloaded_error',
          code: 'audit_backpressure',
          headers: { 'retry-after': '1' },
        });
      }
      metrics?.onAdmitted(ctx);
    },
  };

  const finish = (ctx: RequestContext): void => {
    // The limits feature notes the cost it charged; without limits, price the usage with the same table.
    const usage = ctx.result.usage;
    if (usage && peekObservations(ctx)?.costUsd === undefined) {
      noteCost(ctx, prices.costUsd(priceNames(ctx.model, ctx.deployment?.provider.name, ctx.deployment?.upstreamModel, ctx.result.responseModel), usage));
    }
    metrics?.onComplete(ctx);
    accessLog?.record(ctx);
    if (audit) {
      const state = ctx.state.get(recorderStateKey) as RecorderState | undefined;
      const withBodies = state ? state.bodies : bodies.recordsBodies(ctx);
      writeAuditRecord(audit.writer, ctx, withBodies, state?.reassembler?.result());
      audit.written();
    }
  };

  const recorder: Stage = {
    name: 'observability',
    onRequest(ctx) {
      const state: RecorderState = { bodies: audit !== undefined && bodies.recordsBodies(ctx), reassembler: undefined };
      ctx.state.set(recorderStateKey, state);
      if (state.bodies && !ctx.stream) ctx.keepResponseBody = true;
    },
    onUpstreamStart(ctx) {
      metrics?.onUpstreamStart(ctx);
    },
    onFirstToken(ctx) {
      metrics?.onFirstToken(ctx, performance.now());
    },
    responseFilter(ctx): ResponseFilter | undefined {
      const state = ctx.state.get(recorderStateKey) as RecorderState | undefined;
      if (!state?.bodies || !ctx.stream) return undefined;
      state.reassembler = new StreamReassembler();
      return state.reassembler;
    },
    onComplete(ctx) {
      // Deferred to after every stage's onComplete, so what later stages note (cost, verdicts) is included.
      queueMicrotask(() => {
        try {
          finish(ctx);
        } catch (err) {
          log.error('observability could not record a request', { request_id: ctx.id, error: (err as Error).message });
        }
      });
    },
  };

  return {
    stages: tracing ? [gate, recorder, tracing.stage] : [gate, recorder],
    metrics,
    async close() {
      await new Promise((resolve) => setImmediate(resolve)); // let deferred onComplete work run first
      audit?.flush();
      metrics?.close();
      await accessLog?.close();
      await tracing?.close();
    },
  };
}

function resolveLogFile(config: SwitchyardConfig): string | undefined {
  const file = config.logging.access_log_file;
  if (file === undefined) return undefined;
  return file.startsWith('/') ? file : `${config.data_dir.replace(/\/+$/, '')}/${file}`;
}
