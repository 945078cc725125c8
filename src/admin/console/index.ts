// The admin console's server side: sessions, the UI's assets, dashboard stats and the Playground proxy.
import type { SwitchyardConfig } from '../../config/types.js';
import type { MainHost } from '../../pipeline/stage.js';
import type { AdminServer } from '../../server/admin.js';
import { Playground } from './playground.js';
import { StatsSampler, statsRoute, stepFromEnv } from './stats.js';
import { uiRoutes } from './static-ui.js';

export interface ConsoleDeps {
  host: MainHost;
  admin: AdminServer;
  /** The public listener, which the Playground proxy calls on loopback. */
  publicHost: string;
  publicPort: number;
  /** The config serving now (it changes on a reload). */
  config: () => SwitchyardConfig;
  /** Dashboard sampling interval; default SWITCHYARD_STATS_STEP_MS (for tests), else 10 s. */
  statsStepMs?: number;
  /** Where the built UI is; default <build root>/ui/. */
  uiDir?: string;
}

export interface RunningConsole {
  readonly stats: StatsSampler;
  close(): Promise<void>;
}

export async function startConsole(deps: ConsoleDeps): Promise<RunningConsole> {
  // Read on every request from the config serving now: a reload that changes admin.tokens or admin.ui applies at once.
  deps.admin.useTokens(() => deps.config().admin);
  for (const route of uiRoutes({ dir: deps.uiDir, enabled: () => deps.config().admin.ui !== false })) deps.admin.add(route);

  const sampler = new StatsSampler(() => deps.host.services?.metricsJson?.(), { stepMs: deps.statsStepMs ?? stepFromEnv() });
  deps.admin.add(statsRoute(sampler, () => deps.config().metrics.enabled));
  // Without an admin listener nobody can read the stats: no sampling.
  if (deps.config().admin.enabled) await sampler.start();

  const playground = new Playground({ host: deps.host, config: deps.config, publicHost: deps.publicHost, publicPort: deps.publicPort });
  for (const route of playground.routes()) deps.admin.add(route);

  return {
    stats: sampler,
    async close() {
      sampler.stop();
      await playground.close();
    },
  };
}
