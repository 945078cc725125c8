// The observability feature: metrics, access log and audit in every server thread; sinks, /metrics
// and /admin/audit on the main thread. List it last in src/features.ts so its stage sees what the others set.
import type { Feature } from '../pipeline/stage.js';
import { startMainObservability, type MainObservability } from './main-thread.js';
import { startThreadObservability, type ObservabilityShared, type ThreadObservability } from './thread-stages.js';

/** A fresh instance: each gateway started in one process (tests, bench) keeps its own sinks and metrics. */
export function createObservabilityFeature(): Feature {
  let main: MainObservability | undefined;
  let thread: ThreadObservability | undefined;
  return {
    name: 'observability',
    // The audit record and the access log carry the client IP.
    needsClientAddress: (config) => config.audit.enabled || config.logging.access_log,
    async initMain(config, host) {
      main = await startMainObservability(config, host);
      return main.shared;
    },
    initThread(config, shared, host) {
      thread = startThreadObservability(config, shared as ObservabilityShared, host);
      return thread.stages;
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
