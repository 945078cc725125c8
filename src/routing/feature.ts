// Routing as a feature. Server threads route in the request handler (src/pipeline/handler.ts) over the
// state the main thread creates; the main thread's part (src/routing/main-thread.ts: health checks,
// capacity sync, metrics, admin route) is loaded there only, so server threads carry none of its code.
import type { SwitchyardConfig } from '../config/types.js';
import type { Feature, MainHost } from '../pipeline/stage.js';

type RoutingMain = ReturnType<typeof import('./main-thread.js').createRoutingMain>;

export function createRoutingFeature(): Feature {
  let main: RoutingMain | undefined;
  const loaded = async (): Promise<RoutingMain> => (main ??= (await import('./main-thread.js')).createRoutingMain());
  return {
    name: 'routing',
    initMain: async (config: SwitchyardConfig, host: MainHost) => (await loaded()).initMain(config, host),
    reloadMain: async (config: SwitchyardConfig, host: MainHost) => (await loaded()).reloadMain(config, host),
    abortMain: async (host: MainHost) => (await loaded()).abortMain(host),
    closeMain: async () => main?.closeMain(),
  };
}
