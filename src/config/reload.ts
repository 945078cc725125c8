// Runtime config reload (main thread): a candidate config (the file read again, or an object an API
// built) is validated as at start, checked for what cannot change without a restart, then applied
// in two steps on every server thread — or rejected whole, the running config serving on.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Feature, MainHost } from '../pipeline/stage.js';
import { log } from '../shared/log.js';
import { guardsSchemaProperties } from '../guards/config.js';
import { limitsSchemaProperties } from '../limits/config.js';
import { mcpSchemaProperties } from '../mcp/config.js';
import { observabilitySchemaProperties } from '../observability/config.js';
import { routingSchemaProperties } from '../routing/config.js';
import { ConfigError, parseConfig } from './load.js';
import type { SwitchyardConfig } from './types.js';

/** Sections read once, when the gateway starts: the listeners, the thread count, the data dir, the simulator. */
export const restartSections = ['server', 'admin', 'data_dir', 'simulator'] as const;
/** Core sections every reload applies: the server threads compile new routes and upstream clients. */
const liveCoreSections = new Set(['providers', 'models']);

/** Which feature reads which top-level sections (their `<feature>SchemaProperties`). */
const sectionOwners: ReadonlyMap<string, string> = new Map(
  Object.entries({
    routing: routingSchemaProperties,
    limits: limitsSchemaProperties,
    guards: guardsSchemaProperties,
    mcp: mcpSchemaProperties,
    observability: observabilitySchemaProperties,
  }).flatMap(([feature, properties]) => Object.keys(properties).map((section) => [section, feature] as const)),
);

/** The dotted paths where `a` and `b` differ (objects compared key by key; arrays and values whole). */
export function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(a) || !isObject(b)) return [path || '(top level)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((key) => changedPaths(a[key], b[key], path ? `${path}.${key}` : key));
}

/**
 * What keeps `candidate` from replacing `current` without a restart: a restart-only setting changed,
 * or the section of a feature that cannot reload changed. Empty when the reload may go ahead.
 */
export function restartProblems(current: SwitchyardConfig, candidate: SwitchyardConfig, features: readonly Feature[]): string[] {
  const reloading = new Set(features.filter((f) => f.reloadMain !== undefined || f.reloadThread !== undefined).map((f) => f.name));
  const problems: string[] = [];
  const sections = new Set([...Object.keys(current), ...Object.keys(candidate)]);
  const was = current as unknown as Record<string, unknown>;
  const now = candidate as unknown as Record<string, unknown>;
  for (const section of sections) {
    if (liveCoreSections.has(section)) continue;
    const paths = changedPaths(was[section], now[section], section);
    if (paths.length === 0) continue;
    const owner = sectionOwners.get(section);
    if ((restartSections as readonly string[]).includes(section)) {
      for (const path of paths) problems.push(`${path}: changed; this setting is read only at start, so it needs a restart`);
    } else if (owner === undefined || !reloading.has(owner)) {
      const who = owner === undefined ? 'no feature reloads it' : `the ${owner} feature does not reload its configuration`;
      problems.push(`${paths.join(', ')}: changed; ${who}, so it needs a restart`);
    }
  }
  return problems;
}

/** The checks beyond the schema that a start runs too (each feature's validate). */
export function featureProblems(config: SwitchyardConfig, features: readonly Feature[]): string[] {
  return features.flatMap((feature) => {
    try {
      return feature.validate?.(config) ?? [];
    } catch (err) {
      return [`(${feature.name}) the check failed: ${(err as Error).message}`];
    }
  });
}

export interface ReloadReport {
  result: 'applied' | 'rejected' | 'unchanged';
  /** The config generation serving after this reload (1 = the config the gateway started with). */
  generation: number;
  source: string;
  /** Why it was rejected, each naming its config path. */
  problems: string[];
  durationMs: number;
}

/** What a reload does to the server threads (main.ts implements it over its threads' messages). */
export interface ReloadThreads {
  /** Every thread builds the new runtime beside the serving one; rejects if one fails or does not answer in time. */
  prepare(generation: number, config: SwitchyardConfig, shared: Record<string, unknown>): Promise<void>;
  /** Every thread switches new requests to what it prepared. */
  commit(generation: number): Promise<void>;
  /** Every thread drops what it prepared (best effort). */
  abort(generation: number): Promise<void>;
}

/** A file to read the candidate from when reload() is called without one. */
export interface ConfigFile {
  readonly path: string;
  /** Applied to what the file says before it is compared (e.g. the CLI's --port and --threads). */
  readonly adjust?: (config: SwitchyardConfig) => void;
}

export interface ConfigReloaderOptions {
  features: readonly Feature[];
  host: MainHost;
  threads: ReloadThreads;
  /** Called once a reload is applied everywhere: the config and shared values for threads started later. */
  adopt(config: SwitchyardConfig, shared: Record<string, unknown>): void;
  file?: ConfigFile;
}

export class ConfigReloader {
  readonly registry = new Registry();
  private generation = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly reloads: Counter;
  private readonly generationGauge: Gauge;
  private readonly lastApplied: Gauge;
  private readonly lastOk: Gauge;

  constructor(
    private current: SwitchyardConfig,
    private readonly options: ConfigReloaderOptions,
  ) {
    this.reloads = new Counter({
      name: 'switchyard_config_reloads_total',
      help: 'Config reloads, by result: applied, or rejected (the running config kept serving).',
      labelNames: ['result'],
      registers: [this.registry],
    });
    for (const result of ['applied', 'rejected']) this.reloads.inc({ result }, 0);
    this.generationGauge = new Gauge({ name: 'switchyard_config_generation', help: 'Generation of the config serving: 1 at start, +1 per applied reload.', registers: [this.registry] });
    this.generationGauge.set(1);
    this.lastApplied = new Gauge({
      name: 'switchyard_config_last_reload_timestamp_seconds',
      help: 'When the config serving was applied (start or the last applied reload), epoch seconds.',
      registers: [this.registry],
    });
    this.lastApplied.set(Date.now() / 1000);
    this.lastOk = new Gauge({ name: 'switchyard_config_last_reload_successful', help: '1 if the last reload was applied (or none was tried), 0 if it was rejected.', registers: [this.registry] });
    this.lastOk.set(1);
  }

  /** The config serving now. */
  get config(): SwitchyardConfig {
    return this.current;
  }

  /**
   * Reloads from `candidate` (text as in the file, or a config object as parseConfig returns it), or
   * from the config file when none is given. Reloads run one at a time, in the order asked.
   */
  reload(candidate?: SwitchyardConfig | { text: string; source: string }): Promise<ReloadReport> {
    const run = this.queue.then(() => this.reloadNow(candidate));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once no reload is running (a replacement thread waits for it, so it starts on the newest config). */
  settled(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  /** No reload starts after this (the gateway is stopping). */
  stop(): void {
    this.stopped = true;
  }

  private async reloadNow(candidate: SwitchyardConfig | { text: string; source: string } | undefined): Promise<ReloadReport> {
    const started = performance.now();
    let source = 'config object';
    const finish = (result: ReloadReport['result'], problems: string[] = []): ReloadReport => {
      const report: ReloadReport = { result, generation: this.generation, source, problems, durationMs: Math.round((performance.now() - started) * 10) / 10 };
      if (result === 'rejected') {
        this.reloads.inc({ result });
        this.lastOk.set(0);
        log.error('config reload rejected; the running config keeps serving', { source, generation: this.generation, problems });
      } else if (result === 'applied') {
        this.reloads.inc({ result });
        this.lastOk.set(1);
        this.lastApplied.set(Date.now() / 1000);
        this.generationGauge.set(this.generation);
        log.info('config reloaded', { source, generation: this.generation, duration_ms: report.durationMs });
      } else log.info('config reload: nothing changed', { source, generation: this.generation });
      return report;
    };
    if (this.stopped) return finish('rejected', ['the gateway is stopping']);
    let config: SwitchyardConfig;
    try {
      ({ config, source } = this.candidateOf(candidate));
    } catch (err) {
      if (err instanceof ConfigError) {
        source = err.source;
        return finish('rejected', err.problems);
      }
      throw err;
    }
    const problems = [...featureProblems(config, this.options.features), ...restartProblems(this.current, config, this.options.features)];
    if (problems.length > 0) return finish('rejected', problems);
    if (isDeepStrictEqual(config, this.current)) return finish('unchanged');
    const refused = await this.apply(config, this.generation + 1);
    if (refused.length > 0) return finish('rejected', refused);
    this.generation++;
    this.current = config;
    return finish('applied');
  }

  private candidateOf(candidate: SwitchyardConfig | { text: string; source: string } | undefined): { config: SwitchyardConfig; source: string } {
    if (candidate !== undefined && !('text' in candidate)) return { config: candidate, source: 'config object' };
    let text: string;
    let source: string;
    if (candidate !== undefined) ({ text, source } = candidate);
    else {
      const file = this.options.file;
      if (file === undefined) throw new ConfigError('reload', ['the gateway was started from a config object, not a file: give the reload a config']);
      source = file.path;
      try {
        text = readFileSync(file.path, 'utf8');
      } catch (err) {
        throw new ConfigError(file.path, [`cannot read file: ${(err as Error).message}`]);
      }
    }
    const config = parseConfig(text, source);
    if (candidate === undefined) this.options.file?.adjust?.(config);
    return { config, source };
  }

  /** Features first, then every thread; on a failure everything goes back to the current config. Returns what failed. */
  private async apply(config: SwitchyardConfig, generation: number): Promise<string[]> {
    const { features, host, threads } = this.options;
    const shared: Record<string, unknown> = {};
    const reloaded: Feature[] = [];
    const rollBack = async () => {
      for (const feature of reloaded) {
        try {
          if (feature.abortMain !== undefined) await feature.abortMain(host);
          else await feature.reloadMain?.(this.current, host);
        } catch (err) {
          log.error('config reload: a feature could not go back to the running config', { feature: feature.name, error: (err as Error).message });
        }
      }
    };
    for (const feature of features) {
      if (feature.reloadMain === undefined) continue;
      try {
        shared[feature.name] = await feature.reloadMain(config, host);
        reloaded.push(feature);
      } catch (err) {
        await rollBack();
        return [`(${feature.name}) ${(err as Error).message}`];
      }
    }
    try {
      await threads.prepare(generation, config, shared);
    } catch (err) {
      await threads.abort(generation).catch(() => undefined);
      await rollBack();
      return [`(server threads) ${(err as Error).message}`];
    }
    try {
      await threads.commit(generation);
    } catch (err) {
      // A thread that does not confirm the switch has it queued (or is gone): the new config is the one in force.
      log.error('config reload: a server thread did not confirm the switch in time', { generation, error: (err as Error).message });
    }
    this.options.adopt(config, shared);
    return [];
  }
}
