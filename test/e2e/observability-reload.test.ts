// Observability settings changed at runtime through a real gateway (two server threads, the simulator,
// the OpenAI SDK) while requests keep coming: audit bodies and the log level, the audit sink switched
// from files to files + PostgreSQL and back, and refused reloads that leave everything as it was.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import { readChatStream, stackConfigObject, startStack, waitFor, type Stack, type StackOptions } from '../helpers/stack.js';

const pgUrl = process.env.SWITCHYARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every audit record in the data dir's files, as written (duplicates kept). */
function fileRecords(stack: Stack, dir = 'audit'): AuditRecord[] {
  const path = join(stack.config.data_dir, dir);
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(path, f), 'utf8').split('\n'))
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** How many records each request id has. */
function countById(records: AuditRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.request_id, (counts.get(r.request_id) ?? 0) + 1);
  return counts;
}

function accessLogIds(stack: Stack): string[] {
  const path = join(stack.config.data_dir, 'access.log');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { request_id: string }).request_id);
}

/** Non-streamed requests with ids of their own, from two clients at once, until stopped. */
function backgroundLoad(stack: Stack, prefix: string) {
  const answered: Array<{ id: string; status: number; startedAt: number }> = [];
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const id = `${prefix}-${w}-${i}`;
      const startedAt = Date.now();
      const res = await fetch(`${stack.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client-test', 'x-request-id': id },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `load ${id}` }] }),
      });
      await res.arrayBuffer();
      answered.push({ id, status: res.status, startedAt });
    }
  };
  const running = Promise.all([worker(0), worker(1)]);
  return {
    answered,
    async stop() {
      stop = true;
      await running;
    },
  };
}

/** Streams that take about five seconds, started and read to their first chunk; `rest` reads them to the end. */
async function slowStreams(stack: Stack, prefix: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = `${prefix}-${i}`;
      const stream = await stack.client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `stream ${id}` }], stream: true },
        { headers: { 'x-request-id': id, 'x-sim-tokens-per-second': '10', 'x-sim-completion-tokens': '50' } },
      );
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(first.done, false);
      const rest = readChatStream({ [Symbol.asyncIterator]: () => iterator }).then((read) => ({ ...read, endedAt: Date.now() }));
      return { id, rest };
    }),
  );
}

describe('observability reloaded under traffic', () => {
  let stack: Stack;
  const options = (sections: Record<string, unknown>): StackOptions => ({ config: sections });
  const baseSections = {
    audit: { sinks: { file: { fsync_ms: 10 } } },
    logging: { level: 'info', access_log: true, access_log_file: 'access.log' },
  };
  /** The config the stack runs, with `sections` merged over the observability ones. */
  const configWith = (sections: Record<string, unknown>) =>
    parseConfig(JSON.stringify(stackConfigObject(stack.sim.port, stack.config.data_dir, options({ ...baseSections, ...sections }))), 'test');
  const reload = async (sections: Record<string, unknown>) => stack.gateway.reload(configWith(sections));

  before(async () => {
    stack = await startStack(options(baseSections));
  });
  after(() => stack?.stop());

  test('audit.bodies and logging.level: streams in flight finish on the old settings, every request audited exactly once', async () => {
    const load = backgroundLoad(stack, 'bodies-load');
    const streams = await slowStreams(stack, 'bodies-stream', 4);
    const report = await reload({ audit: { bodies: false, sinks: { file: { fsync_ms: 10 } } }, logging: { ...baseSections.logging, level: 'warn' } });
    assert.equal(report.result, 'applied', report.problems.join('\n'));
    const appliedAt = Date.now();
    const afterIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'after the reload' }] }, { headers: { 'x-request-id': `bodies-after-${i}` } }).withResponse();
      afterIds.push(response.headers.get('x-request-id')!);
    }
    await assert.rejects(stack.client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-request-id': 'bodies-after-404' } }));
    for (const s of streams) {
      const read = await s.rest;
      assert.equal(read.finish, 'stop', `${s.id} finished normally`);
      assert.ok(read.endedAt > appliedAt, `${s.id} was still streaming when the reload was applied`);
    }
    await load.stop();
    assert.ok(load.answered.length > 0);

    const ids = [...streams.map((s) => s.id), ...afterIds, 'bodies-after-404', ...load.answered.map((a) => a.id)];
    await waitFor(() => ids.every((id) => countById(fileRecords(stack)).has(id)), 10_000);
    await sleep(100);
    const records = fileRecords(stack);
    const counts = countById(records);
    assert.deepEqual(ids.filter((id) => counts.get(id) !== 1), [], 'every request has exactly one record');
    const byId = new Map(records.map((r) => [r.request_id, r]));
    for (const s of streams) {
      const r = byId.get(s.id)!;
      assert.equal(r.bodies, true, `${s.id} started with bodies on`);
      assert.deepEqual((r.request_body as { messages: unknown }).messages, [{ role: 'user', content: `stream ${s.id}` }]);
    }
    for (const id of [...afterIds, 'bodies-after-404']) {
      assert.equal(byId.get(id)!.bodies, false, id);
      assert.equal(byId.get(id)!.request_body, null, id);
    }

    await waitFor(() => accessLogIds(stack).includes('bodies-after-404'), 5000);
    const logged = accessLogIds(stack);
    for (const s of streams) assert.ok(logged.includes(s.id), `${s.id}: a 200 logged at info, the level it started under`);
    for (const id of afterIds) assert.ok(!logged.includes(id), `${id}: a 200 is below warn`);
    assert.ok(logged.includes('bodies-after-404'), 'a 404 is a warning');
    assert.equal(new Set(logged).size, logged.length, 'one access log line per request');
  });

  test('file → file + PostgreSQL and back, live: no record lost, none twice', async () => {
    const table = `sy_e2e_reload_${process.pid}_${randomUUID().slice(0, 8)}`;
    const db = new pg.Pool({ connectionString: pgUrl, max: 1 });
    try {
      const fileOnly = { audit: { sinks: { file: { fsync_ms: 10 } } } };
      const both = { audit: { sinks: { file: { fsync_ms: 10 }, postgres: { enabled: true, url: pgUrl, table, batch: 20 } } } };
      const load = backgroundLoad(stack, 'switch-load');
      const [inFlight] = await slowStreams(stack, 'switch-stream', 1);
      await sleep(100);
      const added = await reload(both);
      assert.equal(added.result, 'applied', added.problems.join('\n'));
      const addedAt = Date.now();
      await sleep(300);
      const read = await inFlight.rest;
      assert.equal(read.finish, 'stop');
      assert.ok(read.endedAt > addedAt, 'the stream was in flight across the switch');
      const removing = Date.now();
      const removed = await reload(fileOnly);
      assert.equal(removed.result, 'applied', removed.problems.join('\n'));
      const removedAt = Date.now();
      await sleep(300);
      await load.stop();

      const answered = load.answered.map((a) => a.id);
      const ids = [...answered, inFlight.id];
      await waitFor(() => ids.every((id) => countById(fileRecords(stack)).has(id)), 10_000);
      await sleep(100);
      const fileCounts = countById(fileRecords(stack));
      assert.deepEqual(ids.filter((id) => fileCounts.get(id) !== 1), [], 'every request exactly once in the files');

      const duringSwitch = load.answered.filter((a) => a.startedAt > addedAt && a.startedAt < removing).map((a) => a.id);
      assert.ok(duringSwitch.length > 0, 'requests ran while PostgreSQL was on');
      const rows = async () => (await db.query<{ request_id: string; n: string }>(`SELECT request_id, count(*) AS n FROM ${table} GROUP BY request_id`)).rows;
      const deadline = Date.now() + 10_000;
      let pgRows = await rows();
      while (Date.now() < deadline && !duringSwitch.every((id) => pgRows.some((r) => r.request_id === id))) {
        await sleep(50);
        pgRows = await rows();
      }
      assert.deepEqual(pgRows.filter((r) => r.n !== '1'), [], 'nothing twice in PostgreSQL');
      const inPg = new Set(pgRows.map((r) => r.request_id));
      assert.deepEqual(duringSwitch.filter((id) => !inPg.has(id)), [], 'every request that started with PostgreSQL on is there');
      assert.ok(!inPg.has(inFlight.id), 'the stream started before PostgreSQL was on: its record went to the files only');
      assert.ok([...inPg].every((id) => fileCounts.get(id) === 1), 'PostgreSQL holds nothing the files lack');
      const startedAfterOff = load.answered.filter((a) => a.startedAt > removedAt).map((a) => a.id);
      assert.deepEqual(startedAfterOff.filter((id) => inPg.has(id)), [], 'nothing after PostgreSQL was switched off');

      const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/admin/audit?limit=1`, { headers: { authorization: `Bearer ${stack.gateway.adminToken}` } });
      assert.equal(((await res.json()) as { source: string }).source, 'file');
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.end();
    }
  });

  test('refused reloads leave the old settings: a sink that cannot open, and a server thread that cannot prepare', async () => {
    writeFileSync(join(stack.config.data_dir, 'a-file'), '');
    const badDir = await reload({ audit: { bodies: false, sinks: { file: { fsync_ms: 10, dir: 'a-file/audit' } } }, logging: { ...baseSections.logging, level: 'error' } });
    assert.equal(badDir.result, 'rejected');
    assert.ok(badDir.problems.some((p) => p.includes('audit.sinks.file.dir')), badDir.problems.join('\n'));

    const table = `sy_e2e_refused_${process.pid}_${randomUUID().slice(0, 8)}`;
    const db = new pg.Pool({ connectionString: pgUrl, max: 1 });
    try {
      // Everything observability is asked to change is fine; an MCP source no thread can load refuses the reload.
      const threadRefusal = await reload({
        audit: { bodies: false, sinks: { file: { fsync_ms: 10 }, postgres: { enabled: true, url: pgUrl, table } } },
        logging: { ...baseSections.logging, level: 'error' },
        mcp: { openapi: [{ name: 'missing', spec: join(stack.config.data_dir, 'no-such-spec.json') }] },
      });
      assert.equal(threadRefusal.result, 'rejected');
      assert.ok(threadRefusal.problems.some((p) => p.startsWith('(server threads)')), threadRefusal.problems.join('\n'));

      const ids = ['refused-0', 'refused-1'];
      for (const id of ids) await stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `still ${id}` }] }, { headers: { 'x-request-id': id } });
      await waitFor(() => ids.every((id) => countById(fileRecords(stack)).has(id)) && ids.every((id) => accessLogIds(stack).includes(id)), 5000);
      const byId = new Map(fileRecords(stack).map((r) => [r.request_id, r]));
      for (const id of ids) assert.deepEqual((byId.get(id)!.request_body as { messages: unknown }).messages, [{ role: 'user', content: `still ${id}` }], `${id}: bodies still on`);
      assert.ok(ids.every((id) => accessLogIds(stack).includes(id)), 'still logging 200s at the old level');
      await sleep(200);
      const inTable = await db.query(`SELECT count(*) AS n FROM pg_tables WHERE tablename = $1`, [table]);
      if (inTable.rows[0].n === '1') assert.equal((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n, '0', 'no record went to the refused sink');
      const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}/admin/audit?limit=1`, { headers: { authorization: `Bearer ${stack.gateway.adminToken}` } });
      assert.equal(((await res.json()) as { source: string }).source, 'file');
    } finally {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.end();
    }
  });
});
