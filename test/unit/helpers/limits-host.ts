// An in-process MainHost/ThreadHost pair: the limits feature's main side and one "thread" side talk through it
// exactly as through the gateway's message channel (payloads structured-cloned, gather waits for the thread's answer);
// and a rig running the feature under the real config reloader, for the reload tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdminRequest, AdminResponse, AdminRoute, Feature, MainHost, Stage, ThreadHost } from '../../../src/pipeline/stage.js';
import { parseConfig } from '../../../src/config/load.js';
import { ConfigReloader, type ReloadReport } from '../../../src/config/reload.js';
import type { SwitchyardConfig } from '../../../src/config/types.js';
import { createLimitsFeature } from '../../../src/limits/feature.js';
import type { RequestContext } from '../../../src/pipeline/context.js';
import { GatewayError } from '../../../src/shared/errors.js';

/** The config file text testConfig parses (a reload test hands it to the reloader). */
export function testConfigText(extraYaml: string, dataDir: string): string {
  return `data_dir: ${dataDir}
providers:
  - name: sim
    base_url: http://127.0.0.1:1/v1
models:
  - name: gpt-4o-mini
    provider: sim
  - name: gpt-4o
    provider: sim
${extraYaml}`;
}

export function testConfig(extraYaml: string, dataDir: string): SwitchyardConfig {
  return parseConfig(testConfigText(extraYaml, dataDir), 'test');
}

export class TestHosts {
  readonly routes: AdminRoute[] = [];
  private readonly threadHandlers = new Map<string, Array<(payload: unknown) => unknown>>();

  readonly main: MainHost;

  /** `playgroundToken`: the MainHost's, as the gateway draws one per process (absent: no Playground). */
  constructor(
    readonly dataDir: string,
    readonly playgroundToken?: string,
  ) {
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
    playgroundToken: this.playgroundToken,
    services: {},
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

export interface ReloadRig {
  readonly hosts: TestHosts;
  readonly feature: Feature;
  readonly reloader: ConfigReloader;
  /** The stages new requests get. */
  serving(): readonly Stage[];
  /** Runs inside the thread's prepare step, once the new stages exist and before the switch; may throw to refuse. */
  duringPrepare: ((prepared: readonly Stage[]) => void | Promise<void>) | undefined;
  /** Reloads with `yaml` in place of the extra config the rig started with. */
  reload(yaml: string): Promise<ReloadReport>;
  /** The config `yaml` makes (as the rig's start config was made), to change further and reload as an object. */
  configOf(yaml: string): SwitchyardConfig;
  /** Runs the stages like the handler (auth phase first); returns the refusal, if any. */
  run(ctx: RequestContext, stages?: readonly Stage[]): Promise<GatewayError | undefined>;
  /** Ends a request like the handler: every stage's onComplete. */
  finish(ctx: RequestContext, usage?: { prompt: number; completion: number }, stages?: readonly Stage[]): void;
  admin(method: string, path: string, body?: unknown): Promise<AdminResponse>;
  close(): Promise<void>;
}

export async function startReloadRig(yaml: string, playgroundToken?: string): Promise<ReloadRig> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-limits-reload-'));
  const hosts = new TestHosts(dir, playgroundToken);
  const feature = createLimitsFeature();
  const config = testConfig(yaml, dir);
  let shared: unknown;
  try {
    shared = await feature.initMain!(config, hosts.main);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const thread = hosts.thread();
  let serving: readonly Stage[] = await feature.initThread!(config, structuredClone(shared), thread);
  let prepared: readonly Stage[] | undefined;
  // The threads' steps run only once the rig below exists.
  const reloader = new ConfigReloader(config, {
    features: [feature],
    host: hosts.main,
    threads: {
      async prepare(_generation, next, changed) {
        prepared = await feature.reloadThread!(next, structuredClone(changed[feature.name]), thread, serving);
        await rig.duringPrepare?.(prepared);
      },
      async commit() {
        const old = serving;
        serving = prepared!;
        prepared = undefined;
        // The rig has no requests of its own in flight: the replaced stages retire at once (tests keep references to finish theirs).
        if (old !== serving) await feature.retireThread?.(old);
      },
      async abort() {
        if (prepared !== undefined && prepared !== serving) await feature.retireThread?.(prepared);
        prepared = undefined;
      },
    },
    adopt: () => undefined,
  });
  const rig: ReloadRig = {
    hosts,
    feature,
    reloader,
    serving: () => serving,
    duringPrepare: undefined,
    reload: (next) => reloader.reload({ text: testConfigText(next, dir), source: 'test' }),
    configOf: (next) => testConfig(next, dir),
    async run(ctx, stages = serving) {
      try {
        for (const s of stages.filter((x) => x.phase === 'auth')) await s.onRequest?.(ctx);
        for (const s of stages.filter((x) => x.phase !== 'auth')) await s.onRequest?.(ctx);
        return undefined;
      } catch (err) {
        if (err instanceof GatewayError) return err;
        throw err;
      }
    },
    finish(ctx, usage, stages = serving) {
      if (usage) {
        ctx.result.usage = { promptTokens: usage.prompt, completionTokens: usage.completion, totalTokens: usage.prompt + usage.completion, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
      }
      ctx.result.status = 200;
      ctx.result.attempts = 1;
      for (const s of stages) s.onComplete?.(ctx);
    },
    admin: (method, path, body) => hosts.call(method, path, body),
    async close() {
      await feature.closeThread?.();
      await feature.closeMain?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}
