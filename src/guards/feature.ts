// The guards feature: validates every pattern once on the main thread, and gives each server thread
// its own small guard pool (see docs/guardrails.md for why per thread) and the guards stage.
import RE2 from 're2';
import { registerQueueDepthSource } from '../pipeline/observations.js';
import type { SwitchyardConfig } from '../config/types.js';
import type { Feature, Stage, ThreadHost } from '../pipeline/stage.js';
import { GuardPool, workersPerServerThread, type SmallLaneOptions } from '../pool/guard-pool.js';
import type { GuardsConfig } from './config.js';
import { builtInDetectors } from './detectors.js';
import { GuardEngine, type EngineSetup } from './engine.js';
import { createGuardsStage } from './request-stage.js';
import { GuardSelector } from './select.js';

/** Every user-supplied pattern compiled once with RE2, so a bad pattern fails at startup with its path. */
export function checkGuardPatterns(config: GuardsConfig): string[] {
  const problems: string[] = [];
  const tryCompile = (path: string, pattern: string) => {
    try {
      new RE2(pattern);
    } catch (err) {
      problems.push(`${path}: invalid RE2 pattern: ${(err as Error).message}`);
    }
  };
  config.guards.prompt.forEach((g, i) => {
    g.deny.forEach((p, j) => tryCompile(`guards.prompt.${i}.deny.${j}`, p));
    g.allow.forEach((p, j) => tryCompile(`guards.prompt.${i}.allow.${j}`, p));
  });
  config.guards.output.forEach((g, i) => g.patterns.forEach((p, j) => tryCompile(`guards.output.${i}.patterns.${j}`, p)));
  config.pii.forEach((policy, i) => policy.custom.forEach((c, j) => tryCompile(`pii.${i}.custom.${j}.pattern`, c.pattern)));
  for (const [name, spec] of Object.entries(builtInDetectors)) tryCompile(`(built-in detector ${name})`, spec.pattern);
  return problems;
}

export function engineSetup(config: GuardsConfig, testHooks = false): EngineSetup {
  return {
    prompt: config.guards.prompt,
    pii: config.pii,
    preload: config.tokenizer.enabled ? [config.tokenizer.default_encoding] : [],
    piiPrefilter: true,
    testHooks,
    media: {
      image_tokens_default: config.tokenizer.image_tokens_default,
      audio_tokens_default: config.tokenizer.audio_tokens_default,
      file_tokens_default: config.tokenizer.file_tokens_default,
    },
  };
}

/** True when nothing in the config needs the request stage. */
function idle(config: GuardsConfig): boolean {
  return !config.tokenizer.enabled && config.guards.prompt.length === 0 && config.pii.length === 0 && config.guards.output.length === 0;
}

/** True when requests are analysed (in the pool or inline), not only their answers guarded. */
function needsPool(config: GuardsConfig): boolean {
  return config.tokenizer.enabled || config.guards.prompt.length > 0 || config.pii.length > 0;
}

/** The small lane, when some bodies can reach it: a body up to inline_max_bytes never goes to the pool. */
export function smallLaneOf(config: GuardsConfig): SmallLaneOptions | undefined {
  const lane = config.pool.small_lane;
  const reachable = lane.max_bytes > 0 && lane.size > 0 && lane.max_bytes > config.pool.inline_max_bytes;
  return reachable ? { maxBytes: lane.max_bytes, threads: lane.size, priority: lane.priority } : undefined;
}

/** The config sections the guards stage is built from: a reload that leaves them alone keeps the stage and its pool. */
function sectionsKey(config: SwitchyardConfig): string {
  return JSON.stringify([config.guards, config.pii, config.tokenizer, config.pool, config.auth]);
}

/** This thread's pools, by the stage that uses them; a reload retires a stage and its pool once no request uses it. */
const pools = new Map<Stage, GuardPool>();
const builtFrom = new WeakMap<Stage, string>();
let smallLaneShown = false;
let poolShown = false;

/** The queue-depth metrics keep reading a pool a reload replaced unless pointed elsewhere. */
function showNoPool(): void {
  if (poolShown) registerQueueDepthSource('guard', () => 0);
  if (smallLaneShown) registerQueueDepthSource('guard_small', () => 0);
}

async function buildStages(config: SwitchyardConfig, host: ThreadHost): Promise<Stage[]> {
  if (idle(config)) {
    showNoPool();
    return [];
  }
  const setup = engineSetup(config, process.env.SWITCHYARD_GUARD_TEST_HOOKS === '1');
  const analysed = needsPool(config);
  let pool: GuardPool | undefined;
  if (analysed) {
    pool = new GuardPool({
      threads: workersPerServerThread(config.pool.size, host.threadCount),
      timeoutMs: config.pool.task_timeout_ms,
      setup,
      priority: config.pool.priority,
      smallLane: smallLaneOf(config),
      callerMaxBytes: config.pool.caller_max_bytes,
    });
    try {
      await pool.ready();
    } catch (err) {
      await pool.close();
      throw err;
    }
    const running = pool;
    registerQueueDepthSource('guard', () => running.queueSize);
    if (running.hasSmallLane) registerQueueDepthSource('guard_small', () => running.queueSizeOf('small'));
    else if (smallLaneShown) registerQueueDepthSource('guard_small', () => 0);
    smallLaneShown ||= running.hasSmallLane;
    poolShown = true;
  } else showNoPool();
  const inline = config.pool.inline_max_bytes > 0 && analysed ? new GuardEngine(setup) : undefined;
  const stage = createGuardsStage(config, new GuardSelector(config), {
    pool,
    inline,
    inlineMaxBytes: config.pool.inline_max_bytes,
    timeoutMs: config.pool.task_timeout_ms,
  });
  if (pool !== undefined) pools.set(stage, pool);
  builtFrom.set(stage, sectionsKey(config));
  return [stage];
}

export const guardsFeature: Feature = {
  name: 'guards',

  validate: checkGuardPatterns,

  // Keyless callers are told apart by their address for the pool share (src/pool/caller-shares.ts).
  needsClientAddress: (config: SwitchyardConfig) => needsPool(config) && config.pool.caller_max_bytes > 0 && config.auth !== 'keys',

  initMain(config: SwitchyardConfig): void {
    const problems = checkGuardPatterns(config);
    if (problems.length > 0) throw new Error(`invalid guard configuration:\n  - ${problems.join('\n  - ')}`);
  },

  initThread(config: SwitchyardConfig, _shared: unknown, host: ThreadHost): Promise<Stage[]> {
    return buildStages(config, host);
  },

  /** A new stage (and pool) only when its sections changed; requests in flight finish on the old one. */
  reloadThread(config: SwitchyardConfig, _shared: unknown, host: ThreadHost, current: readonly Stage[]): readonly Stage[] | Promise<Stage[]> {
    const unchanged = current.length === 0 ? idle(config) : builtFrom.get(current[0]) === sectionsKey(config);
    return unchanged ? current : buildStages(config, host);
  },

  async retireThread(stages: readonly Stage[]): Promise<void> {
    await Promise.all(
      stages.map((stage) => {
        const pool = pools.get(stage);
        pools.delete(stage);
        return pool?.close();
      }),
    );
  },

  async closeThread(): Promise<void> {
    const closing = [...pools.values()];
    pools.clear();
    await Promise.all(closing.map((pool) => pool.close()));
  },
};
