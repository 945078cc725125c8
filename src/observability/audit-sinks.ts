// Main thread: the audit sinks a config names. A sink still open from an earlier config is reused
// (and given the new settings) when it is the same place — the same file directory, or the same
// PostgreSQL table and spill directory — so two sinks never write, rotate or replay the same files.
import { isAbsolute, join } from 'node:path';
import type { SwitchyardConfig } from '../config/types.js';
import type { AuditSink } from './audit-sink.js';
import { FileAuditSink } from './file-sink.js';
import { PostgresAuditSink, type PostgresSinkOptions } from './postgres-sink.js';

export type SinkLog = (message: string, err?: Error) => void;

export function underDataDir(dataDir: string, path: string): string {
  return isAbsolute(path) ? path : join(dataDir, path);
}

export interface SinkPlan {
  /** The sinks of the config, in order (file, postgres). */
  readonly sinks: AuditSink[];
  /** Puts the reused sinks' settings back as they were (the reload did not go ahead). */
  undo(): void;
  /** Closes the sinks this plan opened (the reload failed before they were handed to the dispatcher). */
  discard(): Promise<void>;
}

function postgresOptions(config: SwitchyardConfig, dataDir: string, log: SinkLog): PostgresSinkOptions {
  const { file, postgres } = config.audit.sinks;
  return { config: postgres, queue: config.audit.queue, spillDir: underDataDir(dataDir, postgres.spill_dir), fsyncMs: file.fsync_ms, log };
}

/** Opens (or reuses from `live`) the sinks `config` names; none when audit is off. */
export async function planSinks(config: SwitchyardConfig, dataDir: string, live: readonly AuditSink[], log: SinkLog): Promise<SinkPlan> {
  const sinks: AuditSink[] = [];
  const opened: AuditSink[] = [];
  const undo: Array<() => void> = [];
  const plan: SinkPlan = {
    sinks,
    undo: () => undo.forEach((u) => u()),
    discard: async () => void (await Promise.all(opened.map((s) => s.close()))),
  };
  if (!config.audit.enabled) return plan;
  const { file, postgres } = config.audit.sinks;
  try {
    if (file.enabled) {
      const dir = underDataDir(dataDir, file.dir);
      const reused = live.find((s): s is FileAuditSink => s instanceof FileAuditSink && s.dir === dir);
      if (reused) {
        const before = reused.settings;
        reused.reconfigure(file);
        undo.push(() => reused.reconfigure(before));
        sinks.push(reused);
      } else {
        let sink: FileAuditSink;
        try {
          sink = new FileAuditSink(dir, file, (e) => log('audit file write failed', e));
        } catch (err) {
          throw new Error(`audit.sinks.file.dir: cannot use ${dir}: ${(err as Error).message}`);
        }
        opened.push(sink);
        sinks.push(sink);
      }
    }
    if (postgres.enabled) {
      const options = postgresOptions(config, dataDir, log);
      const reused = live.find((s): s is PostgresAuditSink => s instanceof PostgresAuditSink && s.spillDir === options.spillDir && s.settings.config.table === postgres.table);
      if (reused) {
        const before = reused.settings;
        reused.reconfigure(options);
        undo.push(() => reused.reconfigure(before));
        sinks.push(reused);
      } else {
        let sink: PostgresAuditSink;
        try {
          sink = new PostgresAuditSink(options);
        } catch (err) {
          throw new Error(`audit.sinks.postgres.spill_dir: cannot use ${options.spillDir}: ${(err as Error).message}`);
        }
        opened.push(sink);
        sinks.push(sink);
        // Never throws: an unreachable server means spilling until it is back.
        await sink.start();
      }
    }
    if (sinks.length === 0) throw new Error('audit.sinks: audit.enabled is true but no audit sink is enabled (audit.sinks.file or audit.sinks.postgres)');
  } catch (err) {
    plan.undo();
    await plan.discard();
    throw err;
  }
  return plan;
}

/** Whether two sink lists are the same sinks in the same order. */
export function sameSinks(a: readonly AuditSink[], b: readonly AuditSink[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
