// Main thread: starts the features, the server threads and the admin listener; drains them on stop.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConfigReloader, type ConfigFile, type ReloadReport } from '../config/reload.js';
import { RuntimeConfigStore } from '../config/store/runtime-store.js';
import type { SwitchyardConfig } from '../config/types.js';
import { watchConfigFile, type ConfigWatch } from '../config/watch.js';
import { createFeatures } from '../features.js';
import type { MainHost } from '../pipeline/stage.js';
import { freePort } from '../shared/free-port.js';
import { log } from '../shared/log.js';
import { startSimulatorThread } from '../simulator/thread.js';
import { startConsole, type RunningConsole } from '../admin/console/index.js';
import { configApiRoutes, recordKeyChanges } from '../admin/config-api/index.js';
import { AdminServer, resolveAdminToken } from './admin.js';
import { reloadAbort, reloadCommit, reloadPrepare, type FromThread, type ReloadPrepare, type ReloadStep, type ThreadData, type ToThread } from './messages.js';
import { reuseportWarning } from './reuseport.js';
import { loadUws, uwsBuildInUse } from './uws.js';

export interface RunningGateway {
  readonly port: number;
  /** 0 when the admin listener is disabled. */
  readonly adminPort: number;
  readonly adminToken: string;
  readonly threads: number;
  /** Server threads replaced after an uncaught error since start. */
  restarts(): number;
  /**
   * Applies a new config without a restart (src/config/reload.ts): the config file read again when
   * none is given (what SIGHUP and the file watch do), config text, or a config object as parseConfig
   * returns it. A rejected candidate changes nothing; the report says why.
   */
  reload(candidate?: SwitchyardConfig | { text: string; source: string }): Promise<ReloadReport>;
  /** The config serving now. */
  config(): SwitchyardConfig;
  /** Drains in-flight requests (up to server.drain_timeout_ms), then closes everything. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Overrides server.threads. */
  threads?: number;
  /** The file the config came from: reload() reads it again; `watch` reloads whenever it changes. */
  configFile?: ConfigFile & { watch?: boolean };
}

interface ServerThread {
  worker: Worker;
  exited: Promise<void>;
  post(message: ToThread): void;
}

const gatherTimeoutMs = 5000;
/** How long each step of a reload waits for every server thread (the bound docs/configuration.md states). */
export const reloadStepTimeoutMs = 5000;
const maxRestartsPerMinute = 10;

type ThreadRequest = { resolve: (value: unknown) => void; reject: (err: Error) => void };

export async function startGateway(config: SwitchyardConfig, opts: StartOptions = {}): Promise<RunningGateway> {
  loadUws();
  const features = createFeatures();
  const dataDir = resolve(config.data_dir);
  // It holds every prompt and answer (audit), the keys and the admin token: for its owner only. One that
  // exists already keeps its mode (the operator may share it on purpose), with a warning when others can read it.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const dataDirMode = statSync(dataDir).mode & 0o777;
  if (dataDirMode & 0o077) log.warn('data_dir is open to other users; chmod 700 it', { data_dir: dataDir, mode: dataDirMode.toString(8) });
  // Changes made through the admin API, kept over the file: the gateway starts on the two merged.
  const store = await RuntimeConfigStore.open(config.config_store, dataDir);
  const fileConfig = config;
  try {
    config = store.startConfig(fileConfig, features);
  } catch (err) {
    await store.close();
    throw err;
  }
  const threadCount = opts.threads ?? (config.server.threads === 'auto' ? availableParallelism() : config.server.threads);
  const hostWarning = reuseportWarning(threadCount);
  if (hostWarning) log.warn(hostWarning);

  const simulator = config.simulator.enabled
    ? await startSimulatorThread({ host: config.simulator.host, port: config.simulator.port })
    : undefined;

  const threads: ServerThread[] = [];
  const messageHandlers = new Map<string, (payload: unknown, threadIndex: number) => void>();
  const pending = new Map<number, ThreadRequest>();
  let nextRequestId = 1;
  let ready = false;

  const { token: adminToken, source: tokenSource } = resolveAdminToken(config.admin.token, dataDir);
  const admin = new AdminServer(adminToken, () => ready);

  /** Asks every server thread; rejects when one fails or does not answer within `timeoutMs`. */
  const ask = (type: string, payload: unknown, timeoutMs: number): Promise<unknown[]> =>
    Promise.all(
      threads.map(
        (t, index) =>
          new Promise<unknown>((resolveAnswer, reject) => {
            const id = nextRequestId++;
            // A thread that never answers (stuck or gone) must not hang the caller (e.g. a /metrics scrape).
            const timer = setTimeout(() => {
              pending.delete(id);
              reject(new Error(`server thread ${index} did not answer '${type}' within ${timeoutMs} ms`));
            }, timeoutMs);
            pending.set(id, {
              resolve: (value) => (clearTimeout(timer), resolveAnswer(value)),
              reject: (err) => (clearTimeout(timer), reject(new Error(`server thread ${index}: ${err.message}`))),
            });
            t.post({ t: 'req', id, type, payload });
          }),
      ),
    );

  const host: MainHost = {
    dataDir,
    broadcast: (type, payload) => threads.forEach((t) => t.post({ t: 'msg', type, payload })),
    gather: (type, payload) => ask(type, payload, gatherTimeoutMs),
    on: (type, handler) => void messageHandlers.set(type, handler),
    // Changes through /admin/keys go to the config change trail too.
    addAdminRoute: recordKeyChanges((route) => admin.add(route), (change) => store.record(change)),
    metricRegistries: [],
    playgroundToken: `sy-playground-${randomBytes(24).toString('base64url')}`,
    services: {},
  };

  const shared: Record<string, unknown> = {};
  for (const feature of features) {
    if (feature.initMain) shared[feature.name] = await feature.initMain(config, host);
  }
  const reloader = new ConfigReloader(config, {
    features,
    host,
    file: opts.configFile,
    base: fileConfig,
    overlay: (fileData) => store.compose(fileData),
    threads: {
      prepare: async (generation, next, changed) => void (await ask(reloadPrepare, { generation, config: next, shared: changed } satisfies ReloadPrepare, reloadStepTimeoutMs)),
      commit: async (generation) => void (await ask(reloadCommit, { generation } satisfies ReloadStep, reloadStepTimeoutMs)),
      abort: async (generation) => void (await ask(reloadAbort, { generation } satisfies ReloadStep, reloadStepTimeoutMs)),
    },
    adopt: (_next, changed) => Object.assign(shared, changed),
  });
  host.metricRegistries?.push(reloader.registry);
  store.attach(reloader);
  for (const route of configApiRoutes({ store, reloader })) admin.add(route);

  function sharedFor(generation: number): Record<string, unknown> {
    if (generation === 0) return shared;
    const fresh = { ...shared };
    for (const feature of features) if (feature.sharedForNewThread) fresh[feature.name] = feature.sharedForNewThread();
    return fresh;
  }

  function spawn(threadIndex: number, port: number, generation = 0): Promise<{ thread: ServerThread; port: number }> {
    const data: ThreadData = { config: reloader.config, shared: sharedFor(generation), threadIndex, threadCount, port, generation };
    const worker = new Worker(new URL('./thread.js', import.meta.url), { workerData: data });
    const exited = new Promise<void>((done) => worker.once('exit', () => done()));
    const thread: ServerThread = { worker, exited, post: (m) => worker.postMessage(m) };
    threads[threadIndex] = thread;
    return new Promise((resolveReady, reject) => {
      worker.on('message', (message: FromThread) => {
        switch (message.t) {
          case 'ready':
            // A replacement joins a gateway that is already serving.
            if (ready) thread.post({ t: 'serving' });
            resolveReady({ thread, port: message.port });
            break;
          case 'fatal':
            reject(new Error(`server thread ${threadIndex} failed to start: ${message.error}`));
            break;
          case 'failed':
            replace(threadIndex, thread, generation);
            break;
          case 'msg':
            messageHandlers.get(message.type)?.(message.payload, threadIndex);
            break;
          case 'res': {
            const request = pending.get(message.id);
            pending.delete(message.id);
            if (message.ok) request?.resolve(message.value);
            else request?.reject(new Error(message.error));
            break;
          }
          case 'drained':
            if (message.abandoned > 0) log.warn('drain timeout: requests cut off', { thread: threadIndex, abandoned: message.abandoned });
            break;
        }
      });
      worker.once('error', (err) => {
        log.error('server thread crashed', { thread: threadIndex, error: err.stack });
        reject(err);
      });
    });
  }

  /** Threads that failed and are draining; shutdown waits for them too. */
  const retiring: Array<Promise<void>> = [];
  const restartTimes: number[] = [];
  let stopped = false;

  /**
   * Starts a replacement for a failed thread (at most maxRestartsPerMinute, so a crash loop ends),
   * then tells the failed one to drain: its listen socket closes only once another one is listening.
   */
  function replace(threadIndex: number, failed: ServerThread, generation: number): void {
    retiring.push(failed.exited);
    const retire = () => failed.post({ t: 'drain', timeoutMs: config.server.drain_timeout_ms });
    const now = Date.now();
    while (restartTimes.length > 0 && restartTimes[0] < now - 60_000) restartTimes.shift();
    if (stopped || restartTimes.length >= maxRestartsPerMinute) {
      log.error('server thread not replaced', { thread: threadIndex, reason: stopped ? 'stopping' : 'too many restarts in a minute' });
      retire();
      return;
    }
    restartTimes.push(now);
    restarts++;
    // After a reload in progress, so the replacement starts on the newest config.
    reloader.settled().then(() => spawn(threadIndex, port, generation + 1)).then(
      () => {
        log.warn('server thread replaced', { thread: threadIndex, generation: generation + 1 });
        retire();
      },
      (err: unknown) => {
        log.error('replacement server thread failed to start', { thread: threadIndex, error: (err as Error)?.message });
        retire();
      },
    );
  }

  let restarts = 0;
  let adminConsole: RunningConsole | undefined;
  let watch: ConfigWatch | undefined;
  let port = 0;
  let adminPort = 0;
  try {
    // The admin port first: a gateway that cannot bind every listener exits before it serves anything.
    adminPort = config.admin.enabled ? await admin.listen(config.admin.host, config.admin.port) : 0;
    // The first thread binds the port; the others join it through SO_REUSEPORT.
    const wanted = config.server.port === 0 && threadCount > 1 ? await freePort(config.server.host) : config.server.port;
    port = (await spawn(0, wanted)).port;
    await Promise.all(Array.from({ length: threadCount - 1 }, (_, i) => spawn(i + 1, port)));
  } catch (err) {
    // Whatever did start must close its sockets before the process may exit.
    await shutdown(0);
    throw err;
  }
  adminConsole = await startConsole({ host, admin, publicPort: port, publicHost: config.server.host, config: () => reloader.config });
  ready = true;
  for (const t of threads) t.post({ t: 'serving' });
  const reloadFromFile = () => void reloader.reload().catch((err: unknown) => log.error('config reload failed', { error: (err as Error)?.stack }));
  if (opts.configFile?.watch) watch = watchConfigFile(opts.configFile.path, reloadFromFile);
  log.info('switchyard listening', {
    port,
    threads: threadCount,
    uws: ((u) => u && `${u.registryPackage}@${u.version}`)(uwsBuildInUse()),
    admin: adminPort ? `${config.admin.host}:${adminPort}` : 'disabled',
    admin_token_from: tokenSource,
    simulator: simulator ? `${config.simulator.host}:${simulator.port}` : 'off',
    models: config.models.map((m) => m.name),
  });

  async function shutdown(drainTimeoutMs: number): Promise<void> {
    ready = false;
    stopped = true;
    watch?.close();
    reloader.stop();
    await reloader.settled();
    await store.close();
    for (const t of threads) t.post({ t: 'drain', timeoutMs: drainTimeoutMs });
    await Promise.all([...threads.map((t) => t.exited), ...retiring]);
    await adminConsole?.close();
    admin.close();
    for (const feature of features) {
      try {
        await feature.closeMain?.();
      } catch (err) {
        log.error('feature closeMain failed', { feature: feature.name, error: (err as Error).message });
      }
    }
    await simulator?.stop();
  }

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    await shutdown(config.server.drain_timeout_ms);
    log.info('switchyard stopped');
  }

  return {
    port,
    adminPort,
    adminToken,
    threads: threadCount,
    restarts: () => restarts,
    reload: (candidate) => reloader.reload(candidate),
    config: () => reloader.config,
    stop: () => (stopping ??= stop()),
  };
}
