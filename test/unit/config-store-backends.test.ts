// The config store's backends on their own: the data-dir file (atomic, 0600, revision-checked) and
// PostgreSQL (revision-checked writes from two stores on one table, NOTIFY reaching the other's watch,
// the shared change trail).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { FileConfigStore, FileStoreError } from '../../src/config/store/file-backend.js';
import { PostgresConfigStore } from '../../src/config/store/postgres-backend.js';
import type { NewChange } from '../../src/config/store/changes.js';

const pgUrl = 'postgres://postgres@127.0.0.1:5432/test';
const change = (target: string): NewChange => ({ at: new Date().toISOString(), actor: 'admin', action: 'create', target, diff: [{ path: target, before: null, after: { name: 'x' } }] });

describe('file backend', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'switchyard-store-file-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an empty data dir is an empty document; a save is atomic, 0600, and checked against the revision', async () => {
    const store = new FileConfigStore(dir);
    assert.deepEqual(await store.load(), { revision: 0, entries: {} });
    assert.equal(await store.save({ revision: 1, entries: { 'models.a': { op: 'delete' } } }, 0), true);
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
    assert.equal(await store.save({ revision: 2, entries: {} }, 0), false, 'a save on an old revision went through');
    const again = new FileConfigStore(dir);
    assert.deepEqual(await again.load(), { revision: 1, entries: { 'models.a': { op: 'delete' } } });
  });

  test('a damaged document stops the load with a message naming the file', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'switchyard-store-broken-'));
    try {
      writeFileSync(join(broken, 'config-store.json'), '{"revision": 1, "entr');
      await assert.rejects(new FileConfigStore(broken).load(), (err: unknown) => err instanceof FileStoreError && err.message.includes('config-store.json'));
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  test('the change trail: ids increase across instances, pages newest first', async () => {
    const store = new FileConfigStore(dir);
    const first = await store.appendChange(change('models.a'));
    const second = await new FileConfigStore(dir).appendChange(change('models.b'));
    assert.ok(second.id > first.id);
    const page = await store.changes({ limit: 1 });
    assert.deepEqual(page.map((c) => c.target), ['models.b']);
    assert.deepEqual((await store.changes({ limit: 10, before: second.id })).map((c) => c.target), ['models.a']);
  });
});

describe('PostgreSQL backend', () => {
  const table = `sy_cfg_unit_${randomBytes(4).toString('hex')}`;
  const settings = { backend: 'postgres' as const, url: pgUrl, table, poll_ms: 600_000 };
  let one: PostgresConfigStore;
  let two: PostgresConfigStore;

  before(async () => {
    [one, two] = await Promise.all([PostgresConfigStore.open(settings), PostgresConfigStore.open(settings)]);
  });
  after(async () => {
    await one?.close();
    await two?.close();
    const db = new pg.Client({ connectionString: pgUrl });
    await db.connect();
    await db.query(`DROP TABLE IF EXISTS "${table}", "${table}_changes"`);
    await db.end();
  });

  test('two stores on one table: only a write on the current revision lands', async () => {
    assert.deepEqual(await one.load(), { revision: 0, entries: {} });
    assert.equal(await one.save({ revision: 1, entries: { 'models.a': { op: 'delete' } } }, 0), true);
    assert.equal(await two.save({ revision: 1, entries: { 'models.b': { op: 'delete' } } }, 0), false);
    const seen = await two.load();
    assert.deepEqual(seen, { revision: 1, entries: { 'models.a': { op: 'delete' } } });
    assert.equal(await two.save({ revision: 2, entries: { ...seen.entries, 'models.b': { op: 'delete' } } }, 1), true);
    assert.equal(await one.save({ revision: 2, entries: {} }, 1), false);
  });

  test("one store's write reaches the other's watch through NOTIFY", async () => {
    let notified = 0;
    const heard = new Promise<void>((resolve) => {
      two.watch(() => {
        notified++;
        // The first call is the one after LISTEN is set up.
        if (notified >= 2) resolve();
      });
    });
    // Let the LISTEN connection come up (its first call) before writing.
    while (notified === 0) await new Promise((r) => setTimeout(r, 20));
    const current = await one.load();
    assert.equal(await one.save({ revision: current.revision + 1, entries: {} }, current.revision), true);
    await heard;
    assert.ok(notified >= 2);
  });

  test('the change trail is shared: newest first, paged by id', async () => {
    const a = await one.appendChange(change('providers.a'));
    const b = await two.appendChange(change('providers.b'));
    assert.ok(b.id > a.id);
    const page = await one.changes({ limit: 2 });
    assert.deepEqual(page.map((c) => c.target), ['providers.b', 'providers.a']);
    assert.equal(page[0].actor, 'admin');
    assert.deepEqual(page[1].diff, a.diff);
    assert.match(page[0].at, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual((await two.changes({ limit: 5, before: b.id })).map((c) => c.target), ['providers.a']);
  });
});
