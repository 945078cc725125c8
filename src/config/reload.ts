// Runtime config reload (main thread): a candidate config (the file read again, with the runtime
// store's changes over it, or a config an API built) is validated as at start, checked for what cannot
// change without a restart, then applied in two steps on every server thread — or rejected whole, the
// running config serving on.
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Feature, MainHost } from '../pipeline/stage.js';
import { log } from '../shared/log.js';
import { ConfigError, readConfigText, validateConfigData } from './load.js';
import { featureProblems, restartProblems } from './reload-checks.js';
import type { SwitchyardConfig } from './types.js';

export { changedPaths, featureProblems, restartProblems, restartSections } from './reload-checks.js';

/**
 * What a reload applies: config text as in the file (the store's changes go over it), the file itself
 * (`undefined`), config data already merged with the store's changes (validated here), or a config
 * object as validateConfigData returns it (applied as it is).
 */
export type ReloadCandidate = SwitchyardConfig | { text: string; source: string } | { data: unknown; source: string };

/** A dry run: the candidate validated, and what would refuse it. */
export interface CheckReport {
  /** Undefined when the candidate does not validate. */
  config: SwitchyardConfig | undefined;
  source: string;
  /** Schema, reference and feature problems, each naming its config path. */
  problems: string[];
  /** Changes that need a restart (only checked when there are no other problems). */
  restart: string[];
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
  /**
   * Puts the runtime store's changes over what the file (or config text) says; called on every
   * reload from the file, so a file edit keeps the changes made through the admin API.
   */
  overlay?: (fileData: unknown) => unknown;
  /** What the file said for the config started with, before the store's changes (default: that config). */
  base?: unknown;
}

/** Applies a candidate at once; only for code running inside ConfigReloader.exclusive. */
export type ApplyNow = (candidate: ReloadCandidate) => Promise<ReloadReport>;

export class ConfigReloader {
  readonly registry = new Registry();
  private generationNow = 1;
  /** What the file said (before the store's changes) for the config serving; at first the start config. */
  private baseData: unknown;
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
    this.baseData = structuredClone(options.base ?? current);
  }

  /** The generation serving now: 1 at start, +1 per applied reload. */
  get generation(): number {
    return this.generationNow;
  }

  /** The file's data behind the config serving, before the store's changes (a copy; the caller may change it). */
  get base(): unknown {
    return structuredClone(this.baseData);
  }

  /** The config serving now. */
  get config(): SwitchyardConfig {
    return this.current;
  }

  /**
   * Reloads from `candidate` (see ReloadCandidate), or from the config file when none is given.
   * Reloads run one at a time, in the order asked.
   */
  reload(candidate?: ReloadCandidate): Promise<ReloadReport> {
    return this.exclusive((apply) => apply(candidate as ReloadCandidate));
  }

  /**
   * Runs `task` once no reload is running; no reload starts until it ends. `task` reads `base` and
   * applies through `apply` (not reload(), which would wait for `task` itself): a read-modify-apply
   * that no file reload can come between.
   */
  exclusive<T>(task: (apply: ApplyNow) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => task((candidate) => this.reloadNow(candidate)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Everything a reload checks, without applying anything. */
  check(candidate: ReloadCandidate): CheckReport {
    let config: SwitchyardConfig;
    let source: string;
    try {
      ({ config, source } = this.candidateOf(candidate));
    } catch (err) {
      if (err instanceof ConfigError) return { config: undefined, source: err.source, problems: err.problems, restart: [] };
      throw err;
    }
    const problems = featureProblems(config, this.options.features);
    const restart = problems.length > 0 ? [] : restartProblems(this.current, config, this.options.features);
    return { config, source, problems, restart };
  }

  /** Resolves once no reload is running (a replacement thread waits for it, so it starts on the newest config). */
  settled(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  /** No reload starts after this (the gateway is stopping). */
  stop(): void {
    this.stopped = true;
  }

  private async reloadNow(candidate: ReloadCandidate | undefined): Promise<ReloadReport> {
    const started = performance.now();
    let source = 'config object';
    const finish = (result: ReloadReport['result'], problems: string[] = []): ReloadReport => {
      const report: ReloadReport = { result, generation: this.generationNow, source, problems, durationMs: Math.round((performance.now() - started) * 10) / 10 };
      if (result === 'rejected') {
        this.reloads.inc({ result });
        this.lastOk.set(0);
        log.error('config reload rejected; the running config keeps serving', { source, generation: this.generationNow, problems });
      } else if (result === 'applied') {
        this.reloads.inc({ result });
        this.lastOk.set(1);
        this.lastApplied.set(Date.now() / 1000);
        this.generationGauge.set(this.generationNow);
        log.info('config reloaded', { source, generation: this.generationNow, duration_ms: report.durationMs });
      } else log.info('config reload: nothing changed', { source, generation: this.generationNow });
      return report;
    };
    if (this.stopped) return finish('rejected', ['the gateway is stopping']);
    let config: SwitchyardConfig;
    let fileData: unknown;
    try {
      ({ config, source, fileData } = this.candidateOf(candidate));
    } catch (err) {
      if (err instanceof ConfigError) {
        source = err.source;
        return finish('rejected', err.problems);
      }
      throw err;
    }
    const problems = [...featureProblems(config, this.options.features), ...restartProblems(this.current, config, this.options.features)];
    if (problems.length > 0) return finish('rejected', problems);
    if (isDeepStrictEqual(config, this.current)) {
      if (fileData !== undefined) this.baseData = fileData;
      return finish('unchanged');
    }
    const refused = await this.apply(config, this.generationNow + 1);
    if (refused.length > 0) return finish('rejected', refused);
    this.generationNow++;
    this.current = config;
    if (fileData !== undefined) this.baseData = fileData;
    return finish('applied');
  }

  /** The validated candidate; `fileData` is set when it came from the file (or text standing for it). */
  private candidateOf(candidate: ReloadCandidate | undefined): { config: SwitchyardConfig; source: string; fileData?: unknown } {
    if (candidate !== undefined && 'data' in candidate) {
      const config = validateConfigData(candidate.data, candidate.source);
      this.options.file?.adjust?.(config);
      return { config, source: candidate.source };
    }
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
    const { data, problems } = readConfigText(text, source);
    const merged = this.options.overlay === undefined ? data : this.options.overlay(data);
    const config = validateConfigData(merged, source, process.env, problems);
    if (candidate === undefined) this.options.file?.adjust?.(config);
    return { config, source, fileData: data };
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
