// Server thread entry: builds the stages, listens on the shared port, serves until told to drain.
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { compileRoutes } from '../config/compile.js';
import type { DeploymentStateMemory } from '../routing/deployment-state.js';
import { loadAdapters } from '../providers/registry.js';
import { errorInDialectOf } from '../dialects/answers.js';
import { createFeatures } from '../features.js';
import { createHandler, type Runtime } from '../pipeline/handler.js';
import { createScreen } from '../pipeline/screen.js';
import type { Stage, ThreadHost } from '../pipeline/stage.js';
import { UpstreamClients } from '../pipeline/upstream.js';
import { errors } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { FromThread, ThreadData, ToThread } from './messages.js';
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

async function main(): Promise<void> {
  const { config } = data;
  const stages: Stage[] = [];
  for (const feature of features) {
    if (feature.initThread) stages.push(...(await feature.initThread(config, data.shared[feature.name], host)));
  }
  const upstream = new UpstreamClients(config);
  await loadAdapters(config.providers.map((p) => p.type));
  const routingState = data.shared.routing as DeploymentStateMemory | undefined;
  const runtime: Runtime = { routes: compileRoutes(config, routingState), stages, upstream, draining: false, serving: false };
  const listener = await listen(
    {
      host: config.server.host,
      port: data.port,
      clientAddress: features.some((feature) => feature.needsClientAddress?.(config) === true),
      maxBodyBytes: config.server.max_body_bytes,
      maxHeadBytes: config.server.max_head_bytes,
      screen: createScreen(stages),
      bodyTooLarge: (head) => {
        const answer = errorInDialectOf(head.path, errors.bodyTooLarge(config.server.max_body_bytes));
        return { status: answer.status, headers: [['content-type', 'application/json']], body: answer.body };
      },
    },
    createHandler(runtime),
  );

  port.on('message', (message: ToThread) => {
    if (message.t === 'msg') handlers.get(message.type)?.(message.payload);
    else if (message.t === 'req') answer(message.id, message.type, message.payload);
    else if (message.t === 'drain') void drainOnce(message.timeoutMs);
    else if (message.t === 'serving') runtime.serving = true;
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
    runtime.draining = true;
    post({ t: 'failed', error: (err as Error)?.message ?? String(err) });
  };
  process.on('uncaughtException', onFailure);
  process.on('unhandledRejection', onFailure);

  let draining: Promise<void> | undefined;
  const drainOnce = (timeoutMs: number) => (draining ??= drain(timeoutMs));

  async function drain(timeoutMs: number): Promise<void> {
    runtime.draining = true;
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
    await upstream.destroy();
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
