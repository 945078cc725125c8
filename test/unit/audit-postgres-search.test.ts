// The PostgreSQL sink's search and record lookup on the real server, and a reload that moves it to
// another URL while records keep arriving (none lost, none twice).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import type { AuditSearch } from '../../src/observability/audit-search.js';
import { PostgresAuditSink, type PostgresSinkOptions } from '../../src/observability/postgres-sink.js';
import { sampleAuditRecord, toBatch } from '../helpers/audit-records.js';

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
  const t = `sy_audit_search_${process.pid}_${randomUUID().slice(0, 8)}`;
  tables.push(t);
  return t;
}

function options(table: string, url = pgUrl): PostgresSinkOptions {
  const spillDir = mkdtempSync(join(tmpdir(), 'sy-pg-search-'));
  dirs.push(spillDir);
  return { config: { enabled: true, url, table, batch: 20, spill_dir: spillDir, retry_ms: 100 }, queue: { max: 10000, policy: 'spill' }, spillDir, fsyncMs: 5, log: () => undefined };
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rows = async (table: string): Promise<string[]> => (await admin.query<{ request_id: string }>(`SELECT request_id FROM ${table} ORDER BY request_id`)).rows.map((r) => r.request_id);
const t0 = Date.parse('2026-03-01T10:00:00Z');
const ids = (records: AuditRecord[]) => records.map((r) => r.request_id);
const search = (over: Partial<AuditSearch> = {}): AuditSearch => ({ limit: 100, full: true, ...over });

function record(i: number): AuditRecord {
  return sampleAuditRecord(i, t0 + i * 1000, {
    model: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    deployment: { name: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini', id: 'sim/x', provider: 'sim', upstream_model: 'x' },
    status: i % 5 === 0 ? 502 : 200,
    outcome: i % 5 === 0 ? 'upstream_error' : 'ok',
    request_body: { messages: [{ role: 'user', content: i === 7 ? 'Is 50% off_sale real? Say "yes"' : `question ${i}` }] },
    response_body: { choices: [{ message: { content: i === 11 ? 'Bonjour, ÇA VA?' : `answer ${i}` } }] },
  });
}

describe('postgres audit search', () => {
  const table = uniqueTable();
  let sink: PostgresAuditSink;
  const records = Array.from({ length: 40 }, (_, i) => record(i));

  before(async () => {
    sink = new PostgresAuditSink(options(table));
    await sink.start();
    sink.write(toBatch(records.map((r) => JSON.stringify(r))));
    await waitFor('40 rows', async () => (await rows(table)).length === 40 && sink.pending() === 0);
  });
  after(() => sink.close());

  test('filters by key, model, status, time and request id, newest first', async () => {
    assert.deepEqual(ids((await sink.search(search({ key: 'team-1', limit: 3 }))).records), ['req-39', 'req-37', 'req-35']);
    assert.deepEqual(ids((await sink.search(search({ key: 'key_0', limit: 2 }))).records), ['req-38', 'req-36'], 'by key id too');
    assert.equal((await sink.search(search({ model: 'gpt-4o' }))).records.length, 14);
    assert.deepEqual(ids((await sink.search(search({ status: { kind: 'code', code: 502 } }))).records), ['req-35', 'req-30', 'req-25', 'req-20', 'req-15', 'req-10', 'req-5', 'req-0']);
    assert.equal((await sink.search(search({ status: { kind: 'error' } }))).records.length, 8);
    assert.equal((await sink.search(search({ status: { kind: 'ok' } }))).records.length, 32);
    assert.equal((await sink.search(search({ status: { kind: 'class', from: 200, to: 300 } }))).records.length, 32);
    assert.deepEqual(ids((await sink.search(search({ sinceMs: t0 + 10_000, untilMs: t0 + 13_000 }))).records), ['req-12', 'req-11', 'req-10']);
    assert.deepEqual(ids((await sink.search(search({ requestId: 'req-7' }))).records), ['req-7']);
    const page = await sink.search(search({ key: 'team-1', model: 'gpt-4o', status: { kind: 'code', code: 200 } }));
    assert.deepEqual(ids(page.records), ['req-39', 'req-33', 'req-27', 'req-21', 'req-9', 'req-3']);
    assert.equal(page.nextBefore, null);
  });

  test('text in the bodies: case-insensitive, literal (no LIKE or regex wildcards), quotes and non-ASCII', async () => {
    assert.deepEqual(ids((await sink.search(search({ text: '50% OFF_SALE' }))).records), ['req-7']);
    assert.deepEqual(ids((await sink.search(search({ text: 'say "YES"' }))).records), ['req-7']);
    assert.deepEqual(ids((await sink.search(search({ text: '5_%' }))).records), [], 'not a LIKE pattern');
    assert.deepEqual(ids((await sink.search(search({ text: 'question.1' }))).records), [], 'not a regex');
    assert.deepEqual(ids((await sink.search(search({ text: 'ça va' }))).records), ['req-11']);
    assert.deepEqual(ids((await sink.search(search({ text: 'answer 3' }))).records), ['req-39', 'req-38', 'req-37', 'req-36', 'req-35', 'req-34', 'req-33', 'req-32', 'req-31', 'req-30', 'req-3']);
    assert.deepEqual(ids((await sink.search(search({ text: 'team-0' }))).records), [], 'only bodies are searched');
  });

  test('pages: every record once, newest first; the last page says nothing is older', async () => {
    const seen: string[] = [];
    let before: AuditSearch['before'];
    for (let i = 0; i < 20; i++) {
      const page = await sink.search(search({ limit: 7, before, full: false }));
      seen.push(...ids(page.records));
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    assert.deepEqual(seen, ids(records).reverse());
    const exact = await sink.search(search({ limit: 40 }));
    assert.equal(exact.nextBefore, null, 'a page that ends exactly at the oldest record has no cursor');
  });

  test('summaries read without the bodies; a record by id is whole', async () => {
    const [light] = (await sink.search(search({ requestId: 'req-7', full: false }))).records;
    assert.equal(light.request_body, undefined);
    assert.equal(light.response_body, undefined);
    assert.equal(light.status, 200);
    assert.deepEqual(await sink.find(records[7].record_id), records[7]);
    assert.equal(await sink.find(randomUUID()), undefined);
  });
});

describe('postgres sink reconfigured by a reload', () => {
  test('a new URL: records written before, during and after the switch all land once', async () => {
    const table = uniqueTable();
    const opts = options(table);
    const sink = new PostgresAuditSink(opts);
    await sink.start();
    const all = Array.from({ length: 90 }, (_, i) => record(i));
    sink.write(toBatch(all.slice(0, 30).map((r) => JSON.stringify(r))));
    // The same server under another name: a new pool, the schema checked there, then the spill replayed.
    const other = new URL(pgUrl);
    other.hostname = 'localhost';
    sink.reconfigure({ ...opts, config: { ...opts.config, url: other.toString(), batch: 7 }, queue: { max: 50, policy: 'spill' } });
    assert.equal(sink.settings.config.url, other.toString());
    assert.equal(sink.settings.queue.max, 50);
    sink.write(toBatch(all.slice(30, 60).map((r) => JSON.stringify(r))));
    await new Promise((r) => setTimeout(r, 20));
    sink.write(toBatch(all.slice(60).map((r) => JSON.stringify(r))));
    await waitFor('90 rows', async () => (await rows(table)).length >= 90 && sink.pending() === 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await rows(table), ids(all).sort());
    await sink.close();
  });
});
