// Server-thread side of observability: a gate stage (audit backpressure, in-flight gauge) and a
// recorder stage (metrics, access log, audit record), plus the tracing stage. Records are batched per
// event-loop turn and sent to the main thread, which owns the sinks. A config reload builds a new set
// of these stages beside the serving one; what outlives a config (metric cells, the audit slots, an
// access-log file, a tracer another config shares) belongs to the thread, not to a set.
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../pipeline/context.js';
import type { ResponseFilter, Stage, ThreadHost } from '../pipeline/stage.js';
import type { SwitchyardConfig } from '../config/types.js';
import { GatewayError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { AccessLog, AccessLogOutput, applyLogLevel } from './access-log.js';
import type { LogLevel } from './config.js';
import { isBackpressured } from './audit-dispatcher.js';
import { AuditBatchWriter } from './audit-batch-writer.js';
import { BodyPolicy, writeAuditRecord } from './audit-record.js';
import { AuditBatchSender, auditEpochMessage, type AuditEpochUse } from './audit-channel.js';
import { ThreadMetrics } from './metrics.js';
import { RefCounted } from './ref-counted.js';
import { StreamReassembler } from './stream-reassembly.js';
import { noteCost, peekObservations } from '../pipeline/observations.js';
import { PriceTable, priceNames } from '../limits/prices.js';
import { startRequestTracing, type RequestTracing } from './tracing.js';

/** What initMain hands to every server thread. */
export interface ObservabilityShared {
  /** See newBackpressureFlag() in audit-dispatcher.ts for the layout. */
  auditBackpressure: SharedArrayBuffer;
  /** The audit epoch (the sinks of one config) this config's records go to; absent: the sinks in force. */
  auditEpoch?: number;
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

/** The stages of one config in one thread. */
export interface StageSet {
  /** What it was built from: a reload that leaves this alone keeps the set. */
  readonly builtFrom: string;
  readonly stages: Stage[];
  readonly level: LogLevel;
  readonly metrics: ThreadMetrics | undefined;
  /** Sends its last audit records, then lets go of what it shared. Only once no request uses it. */
  close(): Promise<void>;
}

/** What a set of stages is built from (the sections this feature reads and the audit epoch). */
export function stageSetKey(config: SwitchyardConfig, shared: ObservabilityShared): string {
  return JSON.stringify([config.metrics, config.audit, config.logging, config.tracing, config.prices ?? null, config.data_dir, shared.auditEpoch ?? null]);
}

/** One server thread's observability across config reloads. */
export class ThreadObservability {
  private metrics: ThreadMetrics | undefined;
  private sender: AuditBatchSender | undefined;
  private readonly sets = new Map<Stage, StageSet>();
  private readonly outputs = new RefCounted<AccessLogOutput>((o) => o.close());
  private readonly tracers = new RefCounted<RequestTracing>((t) => t.close());

  constructor(private readonly host: ThreadHost) {
    // Always answered: the main thread asks only while metrics.enabled is true.
    host.on(metricsMessage, () => this.metrics?.toJSON() ?? []);
  }

  /** The set whose stages these are (by its gate, the first of them). */
  setOf(stages: readonly Stage[]): StageSet | undefined {
    for (const stage of stages) {
      const set = this.sets.get(stage);
      if (set !== undefined) return set;
    }
    return undefined;
  }

  build(config: SwitchyardConfig, shared: ObservabilityShared): StageSet {
    const host = this.host;
    if (config.metrics.enabled) this.metrics ??= new ThreadMetrics(config.metrics, `thread-${host.threadIndex}`);
    const metrics = config.metrics.enabled ? this.metrics : undefined;
    const labels = metrics?.labelsFor(config.metrics);
    const epoch = shared.auditEpoch;
    const batchMs = Math.min(10, config.audit.sinks.file.fsync_ms);
    let audit: AuditForwarder | undefined;
    if (config.audit.enabled) {
      const sender = (this.sender ??= new AuditBatchSender(host));
      audit = new AuditForwarder((writer) => sender.send(writer, epoch), batchMs);
      if (epoch !== undefined) host.send(auditEpochMessage, { epoch, open: true } satisfies AuditEpochUse);
    }
    const bodies = new BodyPolicy(config.audit);
    const logFile = resolveLogFile(config);
    const outputKey = logFile ?? '(stdout)';
    const accessLog = config.logging.access_log ? new AccessLog(config.logging.level, this.outputs.acquire(outputKey, () => new AccessLogOutput(logFile))) : undefined;
    const prices = new PriceTable(config.prices ?? {});
    const backpressure = new Int32Array(shared.auditBackpressure);
    const blockPolicy = config.audit.enabled && config.audit.queue.policy === 'block';
    const tracingKey = JSON.stringify(config.tracing);
    const tracing = config.tracing.enabled ? this.tracers.acquire(tracingKey, () => startRequestTracing(config.tracing)) : undefined;

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
      metrics?.onComplete(ctx, labels);
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
        // Deferred to after every stage's onComplete, so what later stages note (cost, verdicts, the span) is included.
        queueMicrotask(() => {
          try {
            finish(ctx);
          } catch (err) {
            log.error('observability could not record a request', { request_id: ctx.id, error: (err as Error).message });
          }
        });
      },
    };

    const set: StageSet = {
      builtFrom: stageSetKey(config, shared),
      stages: tracing ? [gate, recorder, tracing.stage] : [gate, recorder],
      level: config.logging.level,
      metrics,
      close: async () => {
        this.sets.delete(gate);
        audit?.flush();
        // After its last batch on the same port: the main thread may close sinks only this set still used.
        if (audit && epoch !== undefined) host.send(auditEpochMessage, { epoch, open: false } satisfies AuditEpochUse);
        await Promise.all([accessLog ? this.outputs.release(outputKey) : undefined, tracing ? this.tracers.release(tracingKey) : undefined]);
      },
    };
    this.sets.set(gate, set);
    return set;
  }

  /** Every set closed and the thread's own resources too (shutdown). */
  async close(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // let deferred onComplete work run first
    await Promise.all([...new Set(this.sets.values())].map((set) => set.close()));
    this.metrics?.close();
    await Promise.all([this.outputs.closeAll(), this.tracers.closeAll()]);
  }
}

export interface ThreadObservabilityHandle {
  readonly stages: Stage[];
  readonly metrics: ThreadMetrics | undefined;
  close(): Promise<void>;
}

/** One thread's observability serving one config (tests; the feature uses ThreadObservability). */
export function startThreadObservability(config: SwitchyardConfig, shared: ObservabilityShared, host: ThreadHost): ThreadObservabilityHandle {
  applyLogLevel(config.logging.level);
  const thread = new ThreadObservability(host);
  const set = thread.build(config, shared);
  return { stages: set.stages, metrics: set.metrics, close: () => thread.close() };
}

function resolveLogFile(config: SwitchyardConfig): string | undefined {
  const file = config.logging.access_log_file;
  if (file === undefined) return undefined;
  return file.startsWith('/') ? file : `${config.data_dir.replace(/\/+$/, '')}/${file}`;
}
