// PostgreSQL audit sink against the real server: schema, batched inserts, read-back, outage spill + replay, overflow spill.
import { sampleAuditRecord, toBatch } from '../helpers/audit-records.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import type { AuditPostgresSinkConfig } from '../../src/observability/config.js';
import { PostgresAuditSink } from '../../src/observability/postgres-sink.js';

const pgUrl = process.env.SWITCHYARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: pgUrl, max: 1 });
const tables: string[] = [];
const dirs: string[] = [];

after(async () => {
  for (const t of tables) await admin.query(`DROP TABLE IF EXISTS ${t}`);
  await admin.end();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function uniqueTable(): string {
  const t = `sy_audit_test_${process.pid}_${randomUUID().slice(0, 8)}`;
  tables.push(t);
  return t;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-pg-'));
  dirs.push(d);
  return d;
}

const t0 = Date.now();
function auditRecord(i: number): string {
  return JSON.stringify(auditObject(i));
}

function auditObject(i: number): AuditRecord {
  return sampleAuditRecord(i, t0 + i, {
    usage: { prompt_tokens: 10 + i, completion_tokens: 5, total_tokens: 15 + i, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 },
    request_body: { messages: [{ role: 'user', content: `q${i} with a NUL \u0000 inside, then a backslash and text: \\u0000` }] },
  });
}

function sinkFor(url: string, table: string, spillDir: string, over: Partial<AuditPostgresSinkConfig> = {}, queue = { max: 10000, policy: 'spill' as const }) {
  const logged: string[] = [];
  const sink = new PostgresAuditSink({
    config: { enabled: true, url, table, batch: 50, spill_dir: spillDir, retry_ms: 100, ...over },
    queue,
    spillDir,
    fsyncMs: 5,
    log: (m) => logged.push(m),
  });
  return { sink, logged };
}

async function rowCount(table: string): Promise<number> {
  return Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A TCP relay in front of PostgreSQL that can be cut and restored, to stage a real outage. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async up(): Promise<void> {
    const target = new URL(pgUrl);
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
  url(): string {
    const u = new URL(pgUrl);
    u.host = `127.0.0.1:${this.port}`;
    return u.toString();
  }
}

describe('postgres audit sink', () => {
  test('creates the schema with its indexes, inserts in batches, reads back, replays without duplicates', async () => {
    const table = uniqueTable();
    const { sink } = sinkFor(pgUrl, table, tempDir());
    await sink.start();
    assert.equal(sink.isHealthy(), true);
    const records = Array.from({ length: 120 }, (_, i) => auditRecord(i));
    sink.write(toBatch(records));
    await waitFor('120 rows', async () => (await rowCount(table)) === 120 && sink.pending() === 0);

    const indexes = (await admin.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE tablename = $1', [table])).rows.map((r) => r.indexname);
    for (const suffix of ['_ts_idx', '_key_ts_idx', '_model_ts_idx']) assert.ok(indexes.includes(table + suffix), `index ${suffix}`);

    const row = (await admin.query(`SELECT request_id, key_id, model, prompt_tokens, record FROM ${table} WHERE request_id = 'req-7'`)).rows[0];
    assert.deepEqual([row.request_id, row.key_id, row.model, row.prompt_tokens], ['req-7', 'key_1', 'gpt-4o-mini', 17]);
    assert.equal(row.record.request_body.messages[0].content, 'q7 with a NUL \uFFFD inside, then a backslash and text: \\u0000');

    const recent = (await sink.search({ key: 'team-0', sinceMs: t0 + 100, limit: 5, full: true })).records;
    assert.deepEqual(recent.map((r) => r.request_id), ['req-118', 'req-116', 'req-114', 'req-112', 'req-110']);

    sink.write(toBatch(records.slice(0, 10))); // the same records again, as after an ambiguous failure
    await waitFor('duplicates skipped', () => sink.pending() === 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await rowCount(table), 120);
    await sink.close();
  });

  test('server unreachable at start: records spill to files, then replay into the real server', async () => {
    const table = uniqueTable();
    const spillDir = tempDir();
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = new URL(pgUrl);
    dead.host = `127.0.0.1:${deadPort}`;

    const first = sinkFor(dead.toString(), table, spillDir);
    await first.sink.start();
    assert.equal(first.sink.isHealthy(), false);
    first.sink.write(toBatch(Array.from({ length: 30 }, (_, i) => auditRecord(i))));
    await first.sink.close();
    assert.ok(readdirSync(spillDir).some((f) => f.startsWith(`spill-${table}`)), 'spill file on disk');
    assert.equal(first.sink.spilled(), 30);

    const second = sinkFor(pgUrl, table, spillDir);
    await second.sink.start();
    assert.equal(second.sink.isHealthy(), true);
    assert.equal(await rowCount(table), 30);
    assert.deepEqual(readdirSync(spillDir).filter((f) => f.startsWith('spill-')), [], 'replayed spill files are removed');
    await second.sink.close();
  });

  test('outage mid-run: spills while the server is away, replays when it is back, loses nothing', async () => {
    const table = uniqueTable();
    const proxy = new CuttableProxy();
    await proxy.up();
    const { sink, logged } = sinkFor(proxy.url(), table, tempDir());
    await sink.start();
    let i = 0;
    sink.write(toBatch(Array.from({ length: 20 }, () => auditRecord(i++))));
    await waitFor('first rows', async () => (await rowCount(table)) === 20);

    await proxy.down();
    for (let b = 0; b < 5; b++) {
      sink.write(toBatch(Array.from({ length: 10 }, () => auditRecord(i++))));
      await new Promise((r) => setTimeout(r, 30));
    }
    await waitFor('spilling', () => !sink.isHealthy());
    assert.ok(logged.some((m) => m.includes('spilling')));
    assert.equal(await rowCount(table), 20);

    await proxy.up();
    sink.write(toBatch(Array.from({ length: 10 }, () => auditRecord(i++))));
    await waitFor('replay', async () => sink.isHealthy() && (await rowCount(table)) === i).catch(async (e) => {
      console.log({ healthy: sink.isHealthy(), rows: await rowCount(table), i, pending: sink.pending(), logged });
      throw e;
    });
    const ids = (await admin.query<{ request_id: string }>(`SELECT request_id FROM ${table}`)).rows.map((r) => r.request_id).sort();
    assert.deepEqual(ids, Array.from({ length: i }, (_, n) => `req-${n}`).sort());
    await sink.close();
    await proxy.down();
  });

  test('spill policy keeps the in-memory queue within queue.max and still stores everything', async () => {
    const table = uniqueTable();
    const { sink } = sinkFor(pgUrl, table, tempDir(), { batch: 10 }, { max: 25, policy: 'spill' });
    await sink.start();
    const all = Array.from({ length: 300 }, (_, i) => auditRecord(i));
    for (let b = 0; b < 300; b += 100) {
      sink.write(toBatch(all.slice(b, b + 100)));
      assert.ok(sink.pending() <= 25, `queue bounded (${sink.pending()})`);
    }
    assert.ok(sink.spilled() > 0);
    await waitFor('all rows', async () => (await rowCount(table)) === 300 && sink.isHealthy());
    await sink.close();
  });
});
