// The shared config store: one PostgreSQL table holds the overlay document (written with a revision
// check, so two nodes never overwrite each other's change), `<table>_changes` the change trail. A write
// NOTIFYs channel `<table>`; every node LISTENs and, as a safety net, polls the revision every poll_ms.
import pg from 'pg';
import { log } from '../../shared/log.js';
import type { ConfigChange, NewChange } from './changes.js';
import { emptyDocument, type ChangePage, type ConfigStoreBackend, type StoredDocument } from './backend.js';
import type { ConfigStoreConfig } from '../types.js';

const documentId = 'overlay';
const reconnectMs = 1000;

export class PostgresConfigStore implements ConfigStoreBackend {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly changesTable: string;
  private readonly channel: string;
  /** The revision last loaded or saved here; the poll compares the table's with it. */
  private known = 0;
  private listener: pg.Client | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly config: ConfigStoreConfig) {
    this.pool = new pg.Pool({ connectionString: config.url, max: 3, connectionTimeoutMillis: 5000 });
    this.pool.on('error', (err) => log.warn('config store: PostgreSQL pool error', { error: err.message }));
    this.table = `"${config.table}"`;
    this.changesTable = `"${config.table}_changes"`;
    this.channel = config.table;
  }

  /** Connects and creates the tables when missing; throws when the server cannot be reached. */
  static async open(config: ConfigStoreConfig): Promise<PostgresConfigStore> {
    const store = new PostgresConfigStore(config);
    try {
      await store.createTables();
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw new Error(`config store: PostgreSQL at ${redactUrl(config.url)}: ${(err as Error).message}`);
    }
    return store;
  }

  get description(): string {
    return `postgres ${this.config.table}`;
  }

  private async createTables(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Nodes starting together must not race CREATE TABLE IF NOT EXISTS (it can fail on the type's unique index).
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.config.table]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (id text PRIMARY KEY, revision bigint NOT NULL, document jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
      );
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.changesTable} (id bigserial PRIMARY KEY, at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL, target text NOT NULL, diff jsonb NOT NULL)`,
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async load(): Promise<StoredDocument> {
    const { rows } = await this.pool.query<{ revision: string; document: { entries?: Record<string, unknown> } }>(
      `SELECT revision, document FROM ${this.table} WHERE id = $1`,
      [documentId],
    );
    if (rows.length === 0) return emptyDocument();
    const revision = Number(rows[0].revision);
    this.known = Math.max(this.known, revision);
    return { revision, entries: rows[0].document.entries ?? {} };
  }

  async save(doc: StoredDocument, expected: number): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const document = JSON.stringify({ entries: doc.entries });
      const written =
        expected === 0
          ? await client.query(`INSERT INTO ${this.table} (id, revision, document) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, [documentId, doc.revision, document])
          : await client.query(`UPDATE ${this.table} SET revision = $2, document = $3, updated_at = now() WHERE id = $1 AND revision = $4`, [documentId, doc.revision, document, expected]);
      if (written.rowCount !== 1) {
        await client.query('ROLLBACK');
        return false;
      }
      // Delivered to every listener when the transaction commits.
      await client.query('SELECT pg_notify($1, $2)', [this.channel, String(doc.revision)]);
      await client.query('COMMIT');
      this.known = doc.revision;
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async appendChange(change: NewChange): Promise<ConfigChange> {
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO ${this.changesTable} (at, actor, action, target, diff) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [change.at, change.actor, change.action, change.target, JSON.stringify(change.diff)],
    );
    return { id: Number(rows[0].id), ...change };
  }

  async changes(page: ChangePage): Promise<ConfigChange[]> {
    const { rows } = await this.pool.query<{ id: string; at: Date; actor: string; action: ConfigChange['action']; target: string; diff: ConfigChange['diff'] }>(
      `SELECT id, at, actor, action, target, diff FROM ${this.changesTable} WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`,
      [page.before ?? null, page.limit],
    );
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, diff: r.diff }));
  }

  watch(changed: () => void): void {
    this.listen(changed);
    this.pollTimer = setInterval(() => void this.poll(changed), this.config.poll_ms);
    this.pollTimer.unref();
  }

  private listen(changed: () => void): void {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.config.url, connectionTimeoutMillis: 5000 });
    this.listener = client;
    let retried = false;
    const retry = (err?: Error) => {
      if (retried || this.closed) return;
      retried = true;
      log.warn('config store: LISTEN connection lost; reconnecting (the poll still sees changes)', { error: err?.message });
      client.end().catch(() => undefined);
      this.reconnectTimer = setTimeout(() => this.listen(changed), reconnectMs);
      this.reconnectTimer.unref();
    };
    client.on('notification', (message) => {
      if (message.channel === this.channel && Number(message.payload) !== this.known) changed();
    });
    client.on('error', retry);
    client.on('end', () => retry());
    client
      .connect()
      .then(() => client.query(`LISTEN ${this.table}`))
      // What changed while nobody listened.
      .then(() => changed(), retry);
  }

  private async poll(changed: () => void): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ revision: string }>(`SELECT revision FROM ${this.table} WHERE id = $1`, [documentId]);
      const revision = rows.length === 0 ? 0 : Number(rows[0].revision);
      if (revision !== this.known) changed();
    } catch (err) {
      log.warn('config store: PostgreSQL poll failed', { error: (err as Error).message });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    await this.listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^/@:]*:)[^/@]+@/i, '$1********@');
}
