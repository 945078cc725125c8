// The limits feature: virtual keys, rate/token limits, budgets and cost, wired into the gateway's Feature
// contract — main thread in src/limits/main.ts, server threads in src/limits/thread.ts, both reloadable.
import { ConfigError } from '../config/load.js';
import type { SwitchyardConfig } from '../config/types.js';
import type { Feature, Stage, ThreadHost } from '../pipeline/stage.js';
import { log } from '../shared/log.js';
import { startLimitsMain, type LimitsMain } from './main.js';
import { validateLimits } from './reload.js';
import { isSharedLimits, type SharedLimits } from './shared-limits.js';
import { FEATURE } from './stages.js';
import { LimitsThread } from './thread.js';

export { startLimitsMain, type LimitsMain } from './main.js';
export { redisReady } from './redis-limiter.js';
export { KEYS_MESSAGE, type SharedLimits } from './shared-limits.js';

/** Thread-side setup without the Feature around it (tests, the bench): the thread and its first stages. */
export function startLimitsThread(
  config: SwitchyardConfig,
  shared: SharedLimits,
  host: ThreadHost | undefined,
): { thread: LimitsThread; stages: Stage[]; ready: Promise<boolean> } {
  const thread = new LimitsThread(config, shared, host);
  return { thread, stages: thread.build(config, shared), ready: thread.ready };
}

export function createLimitsFeature(): Feature {
  const mains: LimitsMain[] = [];
  let thread: LimitsThread | undefined;
  const mainOf = (): LimitsMain => {
    const main = mains.at(-1);
    if (main === undefined) throw new Error('limits: reload before start');
    return main;
  };
  const sharedOf = (shared: unknown): SharedLimits => {
    if (!isSharedLimits(shared)) throw new Error('limits: got no shared table from the main thread');
    return shared;
  };
  return {
    name: FEATURE,
    validate: validateLimits,
    async initMain(config, host) {
      // `switchyard validate` and a reload run these checks too; a start must not get past them either.
      const problems = validateLimits(config);
      if (problems.length > 0) throw new ConfigError('config', problems);
      const main = await startLimitsMain(config, host);
      mains.push(main);
      return main.shared;
    },
    sharedForNewThread() {
      return mains.at(-1)?.sharedForNewThread();
    },
    reloadMain: (config) => mainOf().reload(config),
    abortMain() {
      mains.at(-1)?.abort();
    },
    async initThread(config, shared, host) {
      const value = sharedOf(shared);
      thread = new LimitsThread(config, value, host);
      if (!(await thread.ready)) log.error('limits: redis not reachable from a server thread; serving with limits.redis.on_down', {});
      return thread.build(config, value);
    },
    // New stages only when the limits sections changed; requests in flight finish on those they began with.
    reloadThread(config, shared, _host, current) {
      const value = sharedOf(shared);
      if (thread === undefined) throw new Error('limits: reload before the thread started');
      return thread.serves(current, value) ? current : thread.build(config, value);
    },
    retireThread(stages) {
      thread?.retire(stages);
    },
    async closeThread() {
      await thread?.close();
    },
    async closeMain() {
      await Promise.all(mains.splice(0).map((m) => m.close()));
    },
  };
}

export const limitsFeature: Feature = createLimitsFeature();
