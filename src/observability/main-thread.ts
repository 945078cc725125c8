// Main-thread side of observability: audit sinks behind the dispatcher, /metrics aggregated across
// every server thread, GET /admin/audit and /admin/audit/:id; and its part of a config reload.
import { AggregatorRegistry, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MainHost } from '../pipeline/stage.js';
import type { SwitchyardConfig } from '../config/types.js';
import { log } from '../shared/log.js';
import { applyLogLevel } from './access-log.js';
import { AuditDispatcher, newBackpressureFlag } from './audit-dispatcher.js';
import { auditRoutes } from './audit-routes.js';
import { planSinks, sameSinks } from './audit-sinks.js';
import { LoopLagWindow } from './loop-lag.js';
import { eventLoopSamples, loopLagHelp } from './metrics.js';
import {
  AuditBatchReceiver,
  auditEpochMessage,
  auditMessage,
  auditSlotsMessage,
  type AuditBatchMessage,
  type AuditEpochUse,
  type AuditSlotsAnnouncement,
} from './audit-channel.js';
import { metricsMessage, type ObservabilityShared } from './thread-stages.js';

export interface MainObservability {
  readonly shared: ObservabilityShared;
  readonly registry: Registry;
  readonly dispatcher: AuditDispatcher;
  /** Prometheus text of every thread plus the main thread. */
  renderMetrics(): Promise<{ text: string; contentType: string }>;
  /** Adopts a reloaded config: sinks opened, reused or (once unused) closed; returns what the server threads get. */
  reload(config: SwitchyardConfig): Promise<ObservabilityShared>;
  /** The last reload did not go ahead: back to exactly the state before it. */
  abort(): void;
  close(): Promise<void>;
}

function logError(message: string, err?: Error): void {
  log.error(message, { error: err?.message });
}

/** What abort() puts back. */
interface Undo {
  readonly config: SwitchyardConfig;
  /** The epoch that was current, when the reload started a new one. */
  readonly previousEpoch: number | undefined;
  readonly sinkSettings: () => void;
}

export async function startMainObservability(config: SwitchyardConfig, host: MainHost): Promise<MainObservability> {
  applyLogLevel(config.logging.level);
  let current = config;
  let undo: Undo | undefined;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const loopLag = new LoopLagWindow();
  new Gauge({
    name: 'switchyard_event_loop_lag_seconds',
    help: loopLagHelp,
    labelNames: ['thread', 'stat'],
    registers: [registry],
    collect() {
      for (const sample of eventLoopSamples('main', loopLag.window())) this.set(sample.labels, sample.value);
    },
  });

  const flag = newBackpressureFlag();
  const initial = await planSinks(config, host.dataDir, [], logError);
  const dispatcher = new AuditDispatcher(initial.sinks, config.audit.queue, flag, registry, logError);
  const receiver = new AuditBatchReceiver();
  host.on(auditSlotsMessage, (payload, threadIndex) => receiver.announce(payload as AuditSlotsAnnouncement, threadIndex));
  host.on(auditMessage, (payload) => {
    const message = payload as AuditBatchMessage;
    void receiver.deliver(message, (batch) => dispatcher.accept(batch, message.epoch));
  });
  host.on(auditEpochMessage, (payload) => {
    const use = payload as AuditEpochUse;
    if (use.open) dispatcher.opened(use.epoch);
    else dispatcher.closed(use.epoch);
  });
  // Registered whatever the config says, so a reload can turn audit on; with it off they answer 404.
  for (const route of auditRoutes(dispatcher)) host.addAdminRoute(route);

  const mergedMetrics = async (): Promise<Registry> => {
    const perThread = current.metrics.enabled ? await host.gather(metricsMessage, null) : [];
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

  const shared = (): ObservabilityShared => ({ auditBackpressure: flag, auditEpoch: dispatcher.epoch });

  return {
    shared: shared(),
    registry,
    dispatcher,
    renderMetrics,
    async reload(next) {
      // A reload starts only once the previous one is over: if it was not undone, it went ahead.
      undo = undefined;
      dispatcher.confirm();
      const was = current;
      const plan = await planSinks(next, host.dataDir, dispatcher.liveSinks(), logError);
      let previousEpoch: number | undefined;
      if (sameSinks(plan.sinks, dispatcher.currentSinks())) dispatcher.setQueue(next.audit.queue);
      else previousEpoch = dispatcher.begin(plan.sinks, next.audit.queue);
      applyLogLevel(next.logging.level);
      current = next;
      undo = { config: was, previousEpoch, sinkSettings: () => plan.undo() };
      return shared();
    },
    abort() {
      const back = undo;
      undo = undefined;
      if (back === undefined) return;
      back.sinkSettings();
      if (back.previousEpoch !== undefined) dispatcher.revert(back.previousEpoch, back.config.audit.queue);
      else dispatcher.setQueue(back.config.audit.queue);
      applyLogLevel(back.config.logging.level);
      current = back.config;
    },
    async close() {
      loopLag.stop();
      await dispatcher.close();
    },
  };
}
