// File sink rotation and retention, read-back filters, and the block policy's backpressure flag.
import { sampleAuditRecord, toBatch } from '../helpers/audit-records.js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import { AuditDispatcher, isBackpressured, newBackpressureFlag } from '../../src/observability/audit-dispatcher.js';
import type { AuditFileSinkConfig } from '../../src/observability/config.js';
import { FileAuditSink } from '../../src/observability/file-sink.js';
import { JsonlWriter } from '../../src/observability/jsonl-writer.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-audit-'));
  dirs.push(d);
  return d;
}

const t0 = Date.now();

function auditRecord(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  const model = i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini';
  return sampleAuditRecord(i, t0 - 1000 + i, {
    model,
    deployment: { name: model, provider: 'sim', upstream_model: 'sim' },
    request_body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question ${i} ${'x'.repeat(150)}` }] },
    response_body: { choices: [{ index: 0, message: { role: 'assistant', content: `answer ${i}` } }] },
    ...over,
  });
}

const line = (r: AuditRecord): string => JSON.stringify(r);

function fileConfig(over: Partial<AuditFileSinkConfig> = {}): AuditFileSinkConfig {
  return { enabled: true, dir: 'audit', rotate_bytes: 1024, rotate_interval_s: 0, retention_days: 0, max_files: 0, fsync_ms: 5, ...over };
}

const noError = (err: Error) => assert.fail(err);

function linesIn(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
}

describe('file sink', () => {
  test('rotates by size, keeps every record in order', async () => {
    const dir = tempDir();
    const sink = new FileAuditSink(dir, fileConfig({ rotate_bytes: 2048 }), noError);
    for (let i = 0; i < 40; i++) {
      sink.write(toBatch([line(auditRecord(i))]));
      if (i % 3 === 0) await sink.flush();
    }
    await sink.close();
    const files = readdirSync(dir).sort();
    assert.ok(files.length >= 5, `several files (${files.length})`);
    for (const f of files) assert.ok(statSync(join(dir, f)).size <= 2048, `${f} within rotate_bytes`);
    const ids = linesIn(dir).map((l) => (JSON.parse(l) as AuditRecord).request_id);
    assert.deepEqual(ids, Array.from({ length: 40 }, (_, i) => `req-${i}`));
  });

  test('a batch whose bytes are reused after write() is still written as it was', async () => {
    const dir = tempDir();
    const sink = new FileAuditSink(dir, fileConfig({ rotate_bytes: 1024 * 1024 }), noError);
    const shared = new Uint8Array(4096); // stands for a shared slot, overwritten by the next batch
    for (let i = 0; i < 30; i++) {
      const bytes = toBatch([line(auditRecord(i))]).data;
      shared.set(bytes);
      sink.write({ count: 1, data: shared.subarray(0, bytes.length) });
      shared.fill(0x21);
      if (i % 7 === 0) await sink.flush();
    }
    await sink.close();
    assert.deepEqual(
      linesIn(dir).map((l) => (JSON.parse(l) as AuditRecord).request_id),
      Array.from({ length: 30 }, (_, i) => `req-${i}`),
    );
  });

  test('a failed write keeps its lines ahead of later ones and writes them all once the disk is back', async () => {
    const root = tempDir();
    const dir = join(root, 'audit');
    const errors: Error[] = [];
    const writer = new JsonlWriter({ dir, prefix: 'audit', rotateBytes: 1 << 20, rotateIntervalMs: 0, retentionMs: 0, maxFiles: 0, flushMs: 5, onError: (e) => errors.push(e) });
    // A file where the directory should be: opening the first file fails.
    rmSync(dir, { recursive: true });
    writeFileSync(dir, '');
    writer.append(['{"n":1}', '{"n":2}']);
    await assert.rejects(writer.flush());
    writer.append(['{"n":3}']);
    assert.equal(writer.pendingLines(), 3);
    await assert.rejects(writer.flush());
    rmSync(dir);
    mkdirSync(dir);
    writer.append(['{"n":4}']);
    await writer.flush();
    assert.equal(writer.pendingLines(), 0);
    assert.equal(writer.written(), 4);
    await writer.close();
    assert.deepEqual(linesIn(dir), ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
  });

  test('rotates by age and keeps at most max_files', async () => {
    const dir = tempDir();
    const writer = new JsonlWriter({ dir, prefix: 'audit', rotateBytes: 1 << 20, rotateIntervalMs: 30, retentionMs: 0, maxFiles: 3, flushMs: 0, onError: noError });
    for (let i = 0; i < 6; i++) {
      writer.append([JSON.stringify({ i })]);
      await writer.flush();
      await new Promise((r) => setTimeout(r, 40));
    }
    await writer.close();
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 3);
    assert.deepEqual(linesIn(dir).map((l) => (JSON.parse(l) as { i: number }).i), [3, 4, 5], 'the newest files are kept');
  });

  test('deletes files older than retention_days when a new file starts', async () => {
    const dir = tempDir();
    const old = join(dir, 'audit-20000101T000000000Z-000000.jsonl');
    writeFileSync(old, '{"old":true}\n');
    const longAgo = (Date.now() - 40 * 86400_000) / 1000;
    utimesSync(old, longAgo, longAgo);
    const unrelated = join(dir, 'notes.txt');
    writeFileSync(unrelated, 'keep me');
    utimesSync(unrelated, longAgo, longAgo);
    const sink = new FileAuditSink(dir, fileConfig({ retention_days: 30 }), noError);
    sink.write(toBatch([line(auditRecord(1))]));
    await sink.close();
    const files = readdirSync(dir).sort();
    assert.ok(!files.includes('audit-20000101T000000000Z-000000.jsonl'));
    assert.ok(files.includes('notes.txt'), 'only audit files are pruned');
    assert.equal(files.length, 2);
  });

  test('query filters by key, model and since, newest first, across files', async () => {
    const dir = tempDir();
    const sink = new FileAuditSink(dir, fileConfig({ rotate_bytes: 2048 }), noError);
    for (let i = 0; i < 30; i++) {
      sink.write(toBatch([line(auditRecord(i))]));
      await sink.flush();
    }
    const byKey = (await sink.search({ key: 'team-1', limit: 4, full: true })).records;
    assert.deepEqual(byKey.map((r) => r.request_id), ['req-29', 'req-27', 'req-25', 'req-23']);
    const byModel = (await sink.search({ model: 'gpt-4o', limit: 100, full: true })).records;
    assert.equal(byModel.length, 10);
    const since = Date.parse(auditRecord(25).time);
    const recent = (await sink.search({ sinceMs: since, limit: 100, full: true })).records;
    assert.deepEqual(recent.map((r) => r.request_id), ['req-29', 'req-28', 'req-27', 'req-26', 'req-25']);
    await sink.close();
  });
});

describe('dispatcher', () => {
  test('block policy raises the shared flag while the backlog is over queue.max and lowers it once written', async () => {
    const dir = tempDir();
    const cfg = parseConfig(
      'providers: [{name: s, base_url: "http://x"}]\nmodels: [{name: m, provider: s}]\naudit: {queue: {max: 10, policy: block}}\n',
      't.yaml',
    );
    const sink = new FileAuditSink(dir, fileConfig({ fsync_ms: 400 }), noError);
    const flagBuffer = newBackpressureFlag();
    const flag = new Int32Array(flagBuffer);
    const dispatcher = new AuditDispatcher([sink], cfg.audit.queue, flagBuffer, new Registry());
    dispatcher.accept(toBatch(Array.from({ length: 6 }, (_, i) => line(auditRecord(i)))));
    assert.equal(isBackpressured(flag), false);
    dispatcher.accept(toBatch(Array.from({ length: 6 }, (_, i) => line(auditRecord(i + 6)))));
    assert.equal(isBackpressured(flag), true, '12 waiting records > max 10');
    const deadline = Date.now() + 3000;
    while (isBackpressured(flag) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(isBackpressured(flag), false, 'cleared after the sink wrote the backlog');
    await dispatcher.close();
    assert.equal(linesIn(dir).length, 12, 'nothing was dropped');
  });
});
