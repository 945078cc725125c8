// Audit sink: PostgreSQL with batched inserts. While the server is unreachable (or the in-memory
// queue overflows under the spill policy) records go to local spill files, replayed when it is back.
// record_id is unique, so a batch replayed after an ambiguous failure is not inserted twice.
import { readFile, unlink } from 'node:fs/promises';
import pg from 'pg';
import type { AuditPostgresSinkConfig, AuditQueueConfig } from './config.js';
import type { AuditRecord } from './audit-record.js';
import { batchLines, type AuditBatch, type AuditSink } from './audit-sink.js';
import type { AuditPage, AuditSearch } from './audit-search.js';
import { JsonlWriter } from './jsonl-writer.js';
import { findSql, searchSql } from './postgres-query.js';

export interface PostgresSinkOptions {
  config: AuditPostgresSinkConfig;
  queue: AuditQueueConfig;
  spillDir: string;
  fsyncMs: number;
  log: (message: string, err?: Error) => void;
}

/**
 * Bodies may hold NUL characters (the JSON escape \u0000), which jsonb refuses: they become U+FFFD.
 * An escape is real only after an even run of backslashes (`\\u0000` is a backslash then "u0000").
 */
function withoutNul(jsonText: string): string {
  if (!jsonText.includes('u0000')) return jsonText;
  return jsonText.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}

/** SQLSTATE classes that mean "this data is wrong", not "the server is away": retrying will not help. */
const dataErrorClasses = ['22', '23'];

/** A spill line that is whole JSON (the last line of a file cut by a kill may not be). */
function isCompleteLine(line: string): boolean {
  if (line === '') return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

export class PostgresAuditSink implements AuditSink {
  readonly name = 'postgres';
  private pool: pg.Pool;
  private readonly table: string;
  private readonly spill: JsonlWriter;
  private readonly rejected: JsonlWriter;
  private queue: string[] = [];
  private inserting = 0;
  private healthy = false;
  private draining: Promise<void> | undefined;
  private recovering: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private spilledTotal = 0;

  constructor(private opts: PostgresSinkOptions) {
    this.pool = this.newPool(opts.config.url);
    this.table = opts.config.table;
    const files = { rotateIntervalMs: 0, retentionMs: 0, maxFiles: 0, flushMs: opts.fsyncMs, onError: (e: Error) => opts.log('audit spill write failed', e) };
    this.spill = new JsonlWriter({ dir: opts.spillDir, prefix: `spill-${this.table}`, rotateBytes: 16 * 1024 * 1024, ...files });
    this.rejected = new JsonlWriter({ dir: opts.spillDir, prefix: `rejected-${this.table}`, rotateBytes: 64 * 1024 * 1024, ...files });
  }

  private newPool(url: string): pg.Pool {
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 3000 });
    pool.on('error', (err) => this.opts.log('postgres audit pool error', err));
    return pool;
  }

  /** The options it runs with now. */
  get settings(): PostgresSinkOptions {
    return this.opts;
  }

  /** Where it spills: one sink per spill directory and table at a time, or two would replay each other's files. */
  get spillDir(): string {
    return this.opts.spillDir;
  }

  /**
   * Settings a reload changed (the table and spill directory are what make a sink and stay). A new URL
   * gets a new pool: records spill until the schema exists there, then replay; the old pool ends once
   * its last insert did.
   */
  reconfigure(opts: PostgresSinkOptions): void {
    const urlChanged = opts.config.url !== this.opts.config.url;
    this.opts = { ...opts, spillDir: this.opts.spillDir, config: { ...opts.config, table: this.table } };
    this.spill.reconfigure({ flushMs: opts.fsyncMs });
    this.rejected.reconfigure({ flushMs: opts.fsyncMs });
    if (!urlChanged) return;
    const old = this.pool;
    this.pool = this.newPool(opts.config.url);
    this.healthy = false;
    void Promise.resolve(this.draining)
      .then(() => old.end())
      .catch(() => undefined);
    this.scheduleRecovery(0);
  }

  /** Creates the schema and replays any spill left by an earlier run; never throws (an outage just means spilling). */
  start(): Promise<void> {
    return this.recover();
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  spilled(): number {
    return this.spilledTotal;
  }

  write(batch: AuditBatch): void {
    const records = batchLines(batch);
    if (!this.healthy) {
      this.toSpill(records);
      return;
    }
    this.queue.push(...records);
    const over = this.queue.length - this.opts.queue.max;
    if (over > 0 && this.opts.queue.policy === 'spill') {
      // Keep the queue bounded; the overflow is durable on disk and replayed once the queue has drained.
      this.toSpill(this.queue.splice(this.queue.length - over, over));
      this.healthy = false;
      this.scheduleRecovery(0);
    }
    this.drain();
  }

  pending(): number {
    return this.queue.length + this.inserting;
  }

  async search(search: AuditSearch): Promise<AuditPage> {
    const { text, values } = searchSql(this.table, search);
    const rows = (await this.pool.query<{ row_id: string; row_ts: string; record: AuditRecord }>(text, values)).rows;
    const page = rows.slice(0, search.limit);
    const last = page[page.length - 1];
    return {
      records: page.map((r) => r.record),
      nextBefore: rows.length > search.limit && last !== undefined ? { sink: 'postgres', ts: last.row_ts, id: last.row_id } : null,
    };
  }

  async find(id: string): Promise<AuditRecord | undefined> {
    const { text, values } = findSql(this.table, id);
    return (await this.pool.query<{ record: AuditRecord }>(text, values)).rows[0]?.record;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.drainFor(5000);
    if (this.queue.length > 0) this.toSpill(this.queue.splice(0));
    await Promise.all([this.spill.close(), this.rejected.close()]);
    await this.pool.end().catch(() => undefined);
  }

  private async drainFor(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while ((this.draining || this.recovering) && Date.now() < deadline) {
      await Promise.race([this.draining ?? this.recovering, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  private toSpill(records: string[]): void {
    if (records.length === 0) return;
    this.spilledTotal += records.length;
    this.spill.append(records);
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      while (this.queue.length > 0 && this.healthy) {
        const batch = this.queue.splice(0, this.opts.config.batch);
        this.inserting = batch.length;
        try {
          await this.insertOrReject(batch);
        } catch (err) {
          this.onUnreachable(batch, err as Error);
        } finally {
          this.inserting = 0;
        }
      }
    })().finally(() => {
      this.draining = undefined;
    });
  }

  /** Inserts; records the server refuses as bad data go to rejected-*.jsonl. Throws only when the server is unreachable. */
  private async insertOrReject(batch: string[]): Promise<void> {
    try {
      await this.insert(batch);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string' || !dataErrorClasses.includes(code.slice(0, 2))) throw err;
      this.opts.log(`postgres refused ${batch.length} audit records; kept in rejected-*.jsonl`, err as Error);
      this.rejected.append(batch);
    }
  }

  private onUnreachable(batch: string[], err: Error): void {
    this.opts.log('postgres audit sink unreachable; spilling to local files', err);
    this.healthy = false;
    this.toSpill(batch);
    this.toSpill(this.queue.splice(0));
    this.scheduleRecovery(this.opts.config.retry_ms);
  }

  private scheduleRecovery(delayMs: number): void {
    if (this.closed || this.retryTimer || this.recovering) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.recover();
    }, delayMs);
  }

  private recover(): Promise<void> {
    if (this.recovering) return this.recovering;
    let failed = false;
    this.recovering = (async () => {
      try {
        await this.ensureSchema();
        await this.replaySpill();
      } catch (err) {
        failed = true;
        this.opts.log('postgres audit sink still unavailable', err as Error);
      }
    })().finally(() => {
      this.recovering = undefined;
      if (failed) this.scheduleRecovery(this.opts.config.retry_ms);
    });
    return this.recovering;
  }

  /** Replays spill files until none are left and nothing new is buffered, then accepts writes directly again. */
  private async replaySpill(): Promise<void> {
    for (;;) {
      await this.spill.seal();
      const files = await this.spill.sealedFiles();
      if (files.length === 0 && this.spill.isIdle()) break;
      for (const path of files) {
        const records = (await readFile(path, 'utf8')).split('\n').filter(isCompleteLine);
        for (let i = 0; i < records.length; i += this.opts.config.batch) {
          await this.insertOrReject(records.slice(i, i + this.opts.config.batch));
        }
        await unlink(path);
      }
    }
    this.healthy = true;
    this.drain();
  }

  private async ensureSchema(): Promise<void> {
    const t = this.table;
    await this.pool.query(`
      CREATE TABLE IF NOT EXISTS ${t} (
        id bigserial PRIMARY KEY,
        record_id uuid NOT NULL UNIQUE,
        ts timestamptz NOT NULL,
        request_id text NOT NULL,
        key_id text,
        key_name text,
        model text,
        deployment text,
        provider text,
        status integer,
        outcome text,
        ttft_ms double precision,
        duration_ms double precision,
        prompt_tokens integer,
        completion_tokens integer,
        cost_usd double precision,
        record jsonb NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${t}_ts_idx ON ${t} (ts);
      CREATE INDEX IF NOT EXISTS ${t}_key_ts_idx ON ${t} (key_id, ts);
      CREATE INDEX IF NOT EXISTS ${t}_model_ts_idx ON ${t} (model, ts);
      CREATE INDEX IF NOT EXISTS ${t}_key_name_ts_idx ON ${t} (key_name, ts);
      CREATE INDEX IF NOT EXISTS ${t}_status_ts_idx ON ${t} (status, ts);`);
  }

  private async insert(batch: string[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (record_id, ts, request_id, key_id, key_name, model, deployment, provider, status, outcome,
         ttft_ms, duration_ms, prompt_tokens, completion_tokens, cost_usd, record)
       SELECT (r->>'record_id')::uuid, (r->>'time')::timestamptz, r->>'request_id', r->'key'->>'id', r->'key'->>'name',
         r->>'model', r->'deployment'->>'name', r->'deployment'->>'provider', (r->>'status')::int, r->>'outcome',
         (r->>'ttft_ms')::float8, (r->>'duration_ms')::float8, (r->'usage'->>'prompt_tokens')::int,
         (r->'usage'->>'completion_tokens')::int, (r->>'cost_usd')::float8, r
       FROM jsonb_array_elements($1::jsonb) AS r
       ON CONFLICT (record_id) DO NOTHING`,
      [withoutNul(`[${batch.join(',')}]`)],
    );
  }
}
