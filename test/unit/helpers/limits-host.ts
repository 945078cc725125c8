// An in-process MainHost/ThreadHost pair: the limits feature's main side and one "thread" side talk through it
// exactly as through the gateway's message channel (payloads structured-cloned, gather waits for the thread's answer).
import type { AdminRequest, AdminResponse, AdminRoute, MainHost, ThreadHost } from '../../../src/pipeline/stage.js';
import { parseConfig } from '../../../src/config/load.js';
import type { SwitchyardConfig } from '../../../src/config/types.js';

export function testConfig(extraYaml: string, dataDir: string): SwitchyardConfig {
  return parseConfig(
    `data_dir: ${dataDir}
providers:
  - name: sim
    base_url: http://127.0.0.1:1/v1
models:
  - name: gpt-4o-mini
    provider: sim
  - name: gpt-4o
    provider: sim
${extraYaml}`,
    'test',
  );
}

export class TestHosts {
  readonly routes: AdminRoute[] = [];
  private readonly threadHandlers = new Map<string, Array<(payload: unknown) => unknown>>();

  readonly main: MainHost;

  constructor(readonly dataDir: string) {
    this.main = this.mainHost();
  }

  private mainHost(): MainHost {
    return {
    dataDir: this.dataDir,
    broadcast: (type, payload) => {
      for (const h of this.threadHandlers.get(type) ?? []) h(structuredClone(payload));
    },
    gather: async (type, payload) =>
      Promise.all((this.threadHandlers.get(type) ?? []).map(async (h) => h(structuredClone(payload)))),
    on: () => {},
    addAdminRoute: (route) => void this.routes.push(route),
    };
  }

  thread(index = 0): ThreadHost {
    return {
      threadIndex: index,
      threadCount: 1,
      send: () => {},
      on: (type, handler) => {
        const list = this.threadHandlers.get(type) ?? [];
        list.push(handler);
        this.threadHandlers.set(type, list);
      },
    };
  }

  /** Finds the route like the admin listener does and calls it. */
  async call(method: string, path: string, body?: unknown): Promise<AdminResponse> {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const want = route.path.split('/');
      const got = path.split('/');
      if (want.length !== got.length) continue;
      const params: Record<string, string> = {};
      if (!want.every((w, i) => (w.startsWith(':') ? ((params[w.slice(1)] = got[i]!), true) : w === got[i]))) continue;
      const req: AdminRequest = { method, path, params, query: new URLSearchParams(), headers: {}, body, actor: { name: 'admin', readOnly: false } };
      return route.handle(req);
    }
    return { status: 404, body: { error: 'no route' } };
  }
}
