// Main-thread side of observability: audit sinks behind the dispatcher, /metrics aggregated across
// every server thread, and GET /admin/audit.
import { isAbsolute, join } from 'node:path';
import { AggregatorRegistry, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdminRoute, MainHost } from '../pipeline/stage.js';
import type { SwitchyardConfig } from '../config/types.js';
import { errors } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { applyLogLevel } from './access-log.js';
import { AuditDispatcher, newBackpressureFlag } from './audit-dispatcher.js';
import type { AuditBatch, AuditQuery, AuditSink } from './audit-sink.js';
import { FileAuditSink } from './file-sink.js';
import { eventLoopSamples, startLoopDelayMonitor } from './metrics.js';
import { PostgresAuditSink } from './postgres-sink.js';
import { AuditBatchReceiver, auditMessage, auditSlotsMessage, type AuditBatchMessage, type AuditSlotsAnnouncement } from './audit-channel.js';
import { metricsMessage, type ObservabilityShared } from './thread-stages.js';

export interface MainObservability {
  readonly shared: ObservabilityShared;
  readonly registry: Registry;
  readonly dispatcher: AuditDispatcher | undefined;
  /** Prometheus text of every thread plus the main thread. */
  renderMetrics(): Promise<{ text: string; contentType: string }>;
  close(): Promise<void>;
}

function logError(message: string, err?: Error): void {
  log.error(message, { error: err?.message });
}

function underDataDir(dataDir: string, path: string): string {
  return isAbsolute(path) ? path : join(dataDir, path);
}

export async function startMainObservability(config: SwitchyardConfig, host: MainHost): Promise<MainObservability> {
  applyLogLevel(config.logging.level);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const loopDelay = startLoopDelayMonitor();
  new Gauge({
    name: 'switchyard_event_loop_lag_seconds',
    help: 'Event-loop delay of each thread since the previous scrape (p50, p99, max).',
    labelNames: ['thread', 'stat'],
    registers: [registry],
    collect() {
      for (const sample of eventLoopSamples('main', loopDelay)) this.set(sample.labels, sample.value);
      loopDelay.reset();
    },
  });

  const flag = newBackpressureFlag();
  let dispatcher: AuditDispatcher | undefined;
  if (config.audit.enabled) {
    const sinks = await startSinks(config, host.dataDir);
    dispatcher = new AuditDispatcher(sinks, config.audit, flag, registry);
    const d = dispatcher;
    const receiver = new AuditBatchReceiver();
    host.on(auditSlotsMessage, (payload, threadIndex) => receiver.announce(payload as AuditSlotsAnnouncement, threadIndex));
    host.on(auditMessage, (payload) => void receiver.deliver(payload as AuditBatchMessage, (batch) => d.accept(batch)));
    host.addAdminRoute(auditRoute(d));
  }

  const mergedMetrics = async (): Promise<Registry> => {
    const perThread = config.metrics.enabled ? await host.gather(metricsMessage, null) : [];
    const others = await Promise.all((host.metricRegistries ?? []).map((r) => r.getMetricsAsJSON()));
    const all = [...perThread, await registry.getMetricsAsJSON(), ...others] as object[];
    return AggregatorRegistry.aggregate(all);
  };
  const renderMetrics = async (): Promise<{ text: string; contentType: string }> => {
    const merged = await mergedMetrics();
    return { text: await merged.metrics(), contentType: merged.contentType };
  };
  if (host.services) host.services.metricsJson = async () => (await mergedMetrics()).getMetricsAsJSON();
  host.addAdminRoute({
    method: 'GET',
    path: '/metrics',
    public: true,
    async handle() {
      const { text, contentType } = await renderMetrics();
      return { status: 200, body: null, text, contentType };
    },
  });

  return {
    shared: { auditBackpressure: flag },
    registry,
    dispatcher,
    renderMetrics,
    async close() {
      loopDelay.disable();
      await dispatcher?.close();
    },
  };
}

async function startSinks(config: SwitchyardConfig, dataDir: string): Promise<AuditSink[]> {
  const { file, postgres } = config.audit.sinks;
  const sinks: AuditSink[] = [];
  if (file.enabled) sinks.push(new FileAuditSink(underDataDir(dataDir, file.dir), file, (e) => logError('audit file write failed', e)));
  if (postgres.enabled) {
    const sink = new PostgresAuditSink({
      config: postgres,
      queue: config.audit.queue,
      spillDir: underDataDir(dataDir, postgres.spill_dir),
      fsyncMs: file.fsync_ms,
      log: logError,
    });
    await sink.start();
    sinks.push(sink);
  }
  if (sinks.length === 0) throw new Error('audit.enabled is true but no audit sink is enabled (audit.sinks.file or audit.sinks.postgres)');
  return sinks;
}

const maxLimit = 1000;

/** Parses ?key=&model=&since=&limit=; `since` is an ISO time or epoch milliseconds. */
export function parseAuditQuery(query: URLSearchParams): AuditQuery {
  const q: AuditQuery = { limit: 100 };
  const key = query.get('key');
  if (key) q.key = key;
  const model = query.get('model');
  if (model) q.model = model;
  const since = query.get('since');
  if (since) {
    const ms = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
    if (!Number.isFinite(ms)) throw errors.invalidParam('since', `'since' must be an ISO time or epoch milliseconds, got '${since}'.`);
    q.sinceMs = ms;
  }
  const limit = query.get('limit');
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > maxLimit) throw errors.invalidParam('limit', `'limit' must be an integer from 1 to ${maxLimit}.`);
    q.limit = n;
  }
  return q;
}

function auditRoute(dispatcher: AuditDispatcher): AdminRoute {
  return {
    method: 'GET',
    path: '/admin/audit',
    async handle(req) {
      let q: AuditQuery;
      try {
        q = parseAuditQuery(req.query);
      } catch (err) {
        const e = err as ReturnType<typeof errors.invalidParam>;
        return { status: e.status, body: e.toBody() };
      }
      const { source, records } = await dispatcher.query(q);
      return { status: 200, body: { object: 'list', source, data: records } };
    },
  };
}
