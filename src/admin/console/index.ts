// The admin console's server side: sessions, the UI's assets, dashboard stats and the Playground proxy.
import type { SwitchyardConfig } from '../../config/types.js';
import type { MainHost } from '../../pipeline/stage.js';
import type { AdminServer } from '../../server/admin.js';

export interface ConsoleDeps {
  host: MainHost;
  admin: AdminServer;
  /** The public listener, which the Playground proxy calls on loopback. */
  publicHost: string;
  publicPort: number;
  /** The config serving now (it changes on a reload). */
  config: () => SwitchyardConfig;
}

export interface RunningConsole {
  close(): Promise<void>;
}

export async function startConsole(_deps: ConsoleDeps): Promise<RunningConsole> {
  return { close: async () => undefined };
}
