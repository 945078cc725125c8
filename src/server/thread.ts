// Server thread entry: builds the stages, listens on the shared port, serves until told to drain.
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { compileRoutes } from '../config/compile.js';
import type { SwitchyardConfig } from '../config/types.js';
import type { DeploymentStateMemory } from '../routing/deployment-state.js';
import { loadAdapters } from '../providers/registry.js';
import { errorInDialectOf } from '../dialects/answers.js';
import { createFeatures } from '../features.js';
import { createHandler, type Runtime, type RuntimeUse } from '../pipeline/handler.js';
import { createScreen } from '../pipeline/screen.js';
import type { Stage, ThreadHost } from '../pipeline/stage.js';
import { UpstreamClients } from '../pipeline/upstream.js';
import { errors } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { ListenOptions, RequestHandler } from './http.js';
import { reloadAbort, reloadCommit, reloadPrepare, type FromThread, type ReloadPrepare, type ReloadStep, type ThreadData, type ToThread } from './messages.js';
import { listen } from './uws.js';

function requireParentPort(): NonNullable<typeof parentPort> {
  if (!parentPort) throw new Error('server/thread.ts must run as a worker thread');
  return parentPort;
}
const port = requireParentPort();
const data = workerData as ThreadData;
const features = createFeatures();
const drainQuietMs = 1000;
const post = (message: FromThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

const handlers = new Map<string, (payload: unknown) => unknown>();
const host: ThreadHost = {
  threadIndex: data.threadIndex,
  threadCount: data.threadCount,
  send: (type, payload, transfer) => post({ t: 'msg', type, payload }, transfer),
  on: (type, handler) => void handlers.set(type, handler),
};

/** One config as this thread serves it: each feature's stages (in feature order), the runtime and its handler. */
interface Generation {
  readonly config: SwitchyardConfig;
  readonly shared: Record<string, unknown>;
  readonly featureStages: ReadonlyArray<readonly Stage[]>;
  readonly runtime: Runtime;
  readonly use: RuntimeUse;
  readonly handle: RequestHandler;
}

async function build(config: SwitchyardConfig, shared: Record<string, unknown>, featureStages: ReadonlyArray<readonly Stage[]>, upstream: UpstreamClients): Promise<Generation> {
  await loadAdapters(config.providers.map((p) => p.type));
  const routes = compileRoutes(config, shared.routing as DeploymentStateMemory | undefined);
  const use: RuntimeUse = { active: 0, onIdle: undefined };
  const runtime: Runtime = { routes, stages: featureStages.flat(), upstream, draining: false, serving: false, use };
  return { config, shared, featureStages, runtime, use, handle: createHandler(runtime) };
}

const needsClientAddress = (config: SwitchyardConfig) => features.some((feature) => feature.needsClientAddress?.(config) === true);

/** Upstream pools are kept across a reload unless what they are built from changed. */
const sameUpstream = (a: SwitchyardConfig, b: SwitchyardConfig) =>
  isDeepStrictEqual(a.providers, b.providers) && a.server.max_buffered_upstream_bytes === b.server.max_buffered_upstream_bytes;

async function main(): Promise<void> {
  const { config } = data;
  const initial: Stage[][] = [];
  for (const feature of features) initial.push(feature.initThread ? await feature.initThread(config, data.shared[feature.name], host) : []);
  let serving = await build(config, data.shared, initial, new UpstreamClients(config));
  let prepared: { generation: number; next: Generation } | undefined;
  /** The serving generation and those a reload replaced whose requests have not all ended. */
  const alive = new Set<Generation>([serving]);

  // uws.ts reads `screen` and `clientAddress` from these options for every request, so a reload sets them here.
  const listenOptions: ListenOptions = {
    host: config.server.host,
    port: data.port,
    clientAddress: needsClientAddress(config),
    maxBodyBytes: config.server.max_body_bytes,
    maxHeadBytes: config.server.max_head_bytes,
    screen: createScreen(serving.runtime.stages),
    bodyTooLarge: (head) => {
      const answer = errorInDialectOf(head.path, errors.bodyTooLarge(config.server.max_body_bytes));
      return { status: answer.status, headers: [['content-type', 'application/json']], body: answer.body };
    },
  };
  // Each request is taken by the handler of the runtime serving when it arrives, and stays with it.
  const listener = await listen(listenOptions, (head, body, reply, refused) => serving.handle(head, body, reply, refused));

  /**
   * Closes what `gone` (a generation replaced and idle, or prepared and dropped) holds and no other
   * generation uses: consecutive reloads share the stages and pools that did not change.
   */
  const release = (gone: Generation) => {
    alive.delete(gone);
    const inUse = prepared === undefined ? [...alive] : [...alive, prepared.next];
    features.forEach((feature, i) => {
      const kept = new Set(inUse.flatMap((g) => g.featureStages[i] ?? []));
      const stages = (gone.featureStages[i] ?? []).filter((stage) => !kept.has(stage));
      if (stages.length === 0) return;
      Promise.resolve(feature.retireThread?.(stages)).catch((err: unknown) =>
        log.error('feature retireThread failed', { feature: feature.name, error: (err as Error)?.message }),
      );
    });
    const upstream = gone.runtime.upstream;
    if (!inUse.some((g) => g.runtime.upstream === upstream)) void upstream.destroy();
  };
  const dropPrepared = () => {
    const dropped = prepared?.next;
    prepared = undefined;
    if (dropped !== undefined) release(dropped);
  };

  handlers.set(reloadPrepare, async (payload) => {
    const { generation, config: next, shared } = payload as ReloadPrepare;
    dropPrepared();
    const featureStages: Array<readonly Stage[]> = [];
    const upstream = sameUpstream(serving.config, next) ? serving.runtime.upstream : new UpstreamClients(next);
    const partial = { ...serving, featureStages, runtime: { ...serving.runtime, upstream } };
    try {
      for (const [i, feature] of features.entries()) {
        const sharedValue = feature.name in shared ? shared[feature.name] : serving.shared[feature.name];
        featureStages.push(feature.reloadThread ? await feature.reloadThread(next, sharedValue, host, serving.featureStages[i]) : serving.featureStages[i]);
      }
      prepared = { generation, next: await build(next, { ...serving.shared, ...shared }, featureStages, upstream) };
    } catch (err) {
      release(partial);
      throw err;
    }
    return true;
  });
  handlers.set(reloadCommit, (payload) => {
    const { generation } = payload as ReloadStep;
    if (prepared?.generation !== generation) throw new Error(`nothing prepared for config generation ${generation}`);
    const old = serving;
    const next = prepared.next;
    prepared = undefined;
    next.runtime.serving = old.runtime.serving;
    next.runtime.draining = old.runtime.draining;
    serving = next;
    alive.add(next);
    listenOptions.screen = createScreen(next.runtime.stages);
    listenOptions.clientAddress = needsClientAddress(next.config);
    // After the request's own onComplete work (some of it deferred to a microtask) has run.
    const retire = () => setImmediate(() => release(old));
    if (old.use.active === 0) retire();
    else old.use.onIdle = retire;
    return true;
  });
  handlers.set(reloadAbort, (payload) => {
    const { generation } = payload as ReloadStep;
    if (prepared?.generation === generation) dropPrepared();
    return true;
  });

  port.on('message', (message: ToThread) => {
    if (message.t === 'msg') handlers.get(message.type)?.(message.payload);
    else if (message.t === 'req') answer(message.id, message.type, message.payload);
    else if (message.t === 'drain') void drainOnce(message.timeoutMs);
    else if (message.t === 'serving') serving.runtime.serving = true;
  });

  // An error nothing caught leaves this thread in an unknown state, and ending it with uWS sockets
  // open would abort the whole process. So it keeps serving (closing each connection after its
  // response) until the main thread has a replacement listening, then drains on the main's word.
  let failed = false;
  const onFailure = (err: unknown) => {
    log.error('server thread failed; it will drain once a replacement is listening', {
      thread: data.threadIndex,
      error: (err as Error)?.stack ?? String(err),
    });
    if (failed) return;
    failed = true;
    serving.runtime.draining = true;
    post({ t: 'failed', error: (err as Error)?.message ?? String(err) });
  };
  process.on('uncaughtException', onFailure);
  process.on('unhandledRejection', onFailure);

  let draining: Promise<void> | undefined;
  const drainOnce = (timeoutMs: number) => (draining ??= drain(timeoutMs));

  async function drain(timeoutMs: number): Promise<void> {
    serving.runtime.draining = true;
    listener.stopAccepting();
    const deadline = Date.now() + timeoutMs;
    // Connections kept alive from before the drain get their next request answered with
    // `Connection: close`; closing them only after a quiet spell spares clients the race of a
    // request sent just as their idle connection is closed.
    const quietMs = Math.min(drainQuietMs, timeoutMs);
    while ((listener.inFlight() > 0 || listener.quietForMs() < quietMs) && Date.now() < deadline) await sleep(20);
    const abandoned = listener.inFlight();
    listener.closeAll();
    for (const feature of features) {
      try {
        await feature.closeThread?.();
      } catch (err) {
        log.error('feature closeThread failed', { feature: feature.name, error: (err as Error).message });
      }
    }
    await Promise.all([...new Set([...alive].map((g) => g.runtime.upstream))].map((upstream) => upstream.destroy()));
    post({ t: 'drained', abandoned });
    port.close();
  }

  post({ t: 'ready', port: listener.port });

  const crashAfterMs = Number(process.env.SWITCHYARD_TEST_CRASH_THREAD_AFTER_MS);
  if (crashAfterMs > 0 && data.threadIndex === 0 && data.generation === 0) {
    // Test hook (never set in production): an uncaught error in a running thread.
    setTimeout(() => {
      throw new Error('injected server thread failure (SWITCHYARD_TEST_CRASH_THREAD_AFTER_MS)');
    }, crashAfterMs);
  }
}

function answer(id: number, type: string, payload: unknown): void {
  const handler = handlers.get(type);
  if (!handler) {
    post({ t: 'res', id, ok: false, error: `no handler for ${type}` });
    return;
  }
  Promise.resolve()
    .then(() => handler(payload))
    .then(
      (value) => post({ t: 'res', id, ok: true, value }),
      (err: unknown) => post({ t: 'res', id, ok: false, error: (err as Error)?.message ?? String(err) }),
    );
}

main().catch((err: unknown) => {
  post({ t: 'fatal', error: (err as Error)?.message ?? String(err) });
  // Nothing is listening in this thread (listen is the last step), so it may end at once,
  // taking any pools its features started with it.
  setImmediate(() => process.exit(1));
});
