// The observability feature: metrics, access log, audit and tracing in every server thread; sinks,
// /metrics and /admin/audit on the main thread. List it last in src/features.ts so its stage sees what
// the others set. Every one of its settings changes at runtime (docs/observability.md): a reload
// builds a new set of stages in each thread, and requests in flight finish on the set they started on.
import type { Feature, Stage } from '../pipeline/stage.js';
import { applyLogLevel } from './access-log.js';
import { startMainObservability, type MainObservability } from './main-thread.js';
import { ThreadObservability, stageSetKey, type ObservabilityShared, type StageSet } from './thread-stages.js';

/** A fresh instance: each gateway started in one process (tests, bench) keeps its own sinks and metrics. */
export function createObservabilityFeature(): Feature {
  let main: MainObservability | undefined;
  let thread: ThreadObservability | undefined;
  /** The set a reload prepared in this thread and the one serving then: an abandoned set puts the log level back. */
  let prepared: { next: StageSet; serving: StageSet | undefined } | undefined;

  const requireThread = (): ThreadObservability => {
    if (thread === undefined) throw new Error('observability: reload before the thread started');
    return thread;
  };

  return {
    name: 'observability',
    // The audit record and the access log carry the client IP.
    needsClientAddress: (config) => config.audit.enabled || config.logging.access_log,
    validate(config) {
      const { file, postgres } = config.audit.sinks;
      return config.audit.enabled && !file.enabled && !postgres.enabled
        ? ['audit.sinks: audit.enabled is true but no audit sink is enabled (audit.sinks.file or audit.sinks.postgres)']
        : [];
    },
    async initMain(config, host) {
      main = await startMainObservability(config, host);
      return main.shared;
    },
    async reloadMain(config) {
      if (main === undefined) throw new Error('observability: reload before start');
      return main.reload(config);
    },
    abortMain() {
      main?.abort();
    },
    initThread(config, shared, host) {
      applyLogLevel(config.logging.level);
      thread = new ThreadObservability(host);
      return thread.build(config, shared as ObservabilityShared).stages;
    },
    reloadThread(config, shared, _host, current) {
      const observability = requireThread();
      const serving = observability.setOf(current);
      if (serving !== undefined && serving.builtFrom === stageSetKey(config, shared as ObservabilityShared)) {
        prepared = undefined;
        return current;
      }
      const next = observability.build(config, shared as ObservabilityShared);
      // The thread's own log follows at once; an abandoned reload puts it back (retireThread).
      applyLogLevel(next.level);
      prepared = { next, serving };
      return next.stages;
    },
    async retireThread(stages: readonly Stage[]) {
      const set = thread?.setOf(stages);
      if (set === undefined) return;
      if (prepared?.next === set) {
        if (prepared.serving !== undefined) applyLogLevel(prepared.serving.level);
        prepared = undefined;
      }
      await set.close();
    },
    async closeThread() {
      await thread?.close();
      thread = undefined;
    },
    async closeMain() {
      await main?.close();
      main = undefined;
    },
  };
}

export const observabilityFeature: Feature = createObservabilityFeature();
