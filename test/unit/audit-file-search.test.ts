// The file sink read backwards: lines across chunk boundaries, paging through rotated files with the
// cursor (every record exactly once), the scan bound, text that needs decoding, one record by id.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import type { AuditSearch } from '../../src/observability/audit-search.js';
import type { AuditFileSinkConfig } from '../../src/observability/config.js';
import { FileAuditSink } from '../../src/observability/file-sink.js';
import { linesBackwards } from '../../src/observability/jsonl-scan.js';
import { sampleAuditRecord, toBatch } from '../helpers/audit-records.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sy-audit-search-'));
  dirs.push(d);
  return d;
}

const fileConfig = (over: Partial<AuditFileSinkConfig> = {}): AuditFileSinkConfig => ({
  enabled: true,
  dir: 'audit',
  rotate_bytes: 4096,
  rotate_interval_s: 0,
  retention_days: 0,
  max_files: 0,
  fsync_ms: 5,
  ...over,
});
const noError = (err: Error) => assert.fail(err);
const t0 = Date.parse('2026-03-01T10:00:00Z');

function record(i: number): AuditRecord {
  return sampleAuditRecord(i, t0 + i * 1000, {
    model: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    status: i % 5 === 0 ? 502 : 200,
    outcome: i % 5 === 0 ? 'upstream_error' : 'ok',
    request_body: { messages: [{ role: 'user', content: i === 17 ? 'Ein Café, s\u2019il vous plaît' : `question ${i}` }] },
    response_body: { choices: [{ message: { content: i === 23 ? 'He said "hi" to me' : `answer ${i}` } }] },
  });
}

async function filledSink(count: number, over: Partial<AuditFileSinkConfig> = {}, scanBytes?: number): Promise<{ sink: FileAuditSink; records: AuditRecord[] }> {
  const sink = new FileAuditSink(tempDir(), fileConfig(over), noError, scanBytes);
  const records = Array.from({ length: count }, (_, i) => record(i));
  for (const r of records) {
    // Request 17's body as a client that escapes non-ASCII sends it.
    const line = r.request_id === 'req-17' ? JSON.stringify(r).replace('Café', 'Caf\\u00e9') : JSON.stringify(r);
    sink.write(toBatch([line]));
    await sink.flush();
  }
  return { sink, records };
}

const search = (over: Partial<AuditSearch> = {}): AuditSearch => ({ limit: 100, full: true, ...over });
const ids = (records: AuditRecord[]) => records.map((r) => r.request_id);

describe('reading a JSONL file backwards', () => {
  test('every whole line, last first, with its offset, across chunk boundaries; a line still being written is skipped', async () => {
    const path = join(tempDir(), 'lines.jsonl');
    const lines = ['a', 'bb'.repeat(20), '', 'ccc', 'd'.repeat(50), 'e'];
    const text = lines.join('\n') + '\n';
    writeFileSync(path, `${text}{"unfinished":`);
    for (const chunk of [1, 3, 7, 64, 1 << 20]) {
      const seen: Array<{ line: string; start: number }> = [];
      for await (const { line, start } of linesBackwards(path, undefined, chunk)) seen.push({ line: line.toString(), start });
      assert.deepEqual(seen.map((s) => s.line), [...lines].reverse(), `chunk ${chunk}`);
      for (const s of seen) assert.equal(text.slice(s.start, s.start + s.line.length), s.line, `offset of '${s.line.slice(0, 5)}'`);
      // From an offset: only the lines before it.
      const ccc = seen.find((s) => s.line === 'ccc')!;
      const earlier: string[] = [];
      for await (const { line } of linesBackwards(path, ccc.start, chunk)) earlier.push(line.toString());
      assert.deepEqual(earlier, ['', 'bb'.repeat(20), 'a']);
    }
    const none: string[] = [];
    for await (const { line } of linesBackwards(join(tempDir(), 'missing.jsonl'))) none.push(line.toString());
    assert.deepEqual(none, []);
  });
});

describe('file sink search', () => {
  test('filters by key, model, status, time and request id, newest first across rotated files', async () => {
    const { sink } = await filledSink(40);
    assert.deepEqual(ids((await sink.search(search({ key: 'team-1', limit: 3 }))).records), ['req-39', 'req-37', 'req-35']);
    assert.equal((await sink.search(search({ model: 'gpt-4o' }))).records.length, 14);
    assert.deepEqual(ids((await sink.search(search({ status: { kind: 'code', code: 502 } }))).records), ['req-35', 'req-30', 'req-25', 'req-20', 'req-15', 'req-10', 'req-5', 'req-0']);
    assert.equal((await sink.search(search({ status: { kind: 'ok' } }))).records.length, 32);
    assert.equal((await sink.search(search({ status: { kind: 'class', from: 500, to: 600 } }))).records.length, 8);
    assert.deepEqual(ids((await sink.search(search({ sinceMs: t0 + 10_000, untilMs: t0 + 13_000 }))).records), ['req-12', 'req-11', 'req-10']);
    assert.deepEqual(ids((await sink.search(search({ requestId: 'req-7' }))).records), ['req-7']);
    const page = await sink.search(search({ key: 'team-1', model: 'gpt-4o', status: { kind: 'code', code: 200 } }));
    assert.deepEqual(ids(page.records), ['req-39', 'req-33', 'req-27', 'req-21', 'req-9', 'req-3']);
    assert.equal(page.nextBefore, null, 'the whole log was read');
    await sink.close();
  });

  test('text: case-insensitive, found through JSON escapes and in text an encoder escapes', async () => {
    const { sink } = await filledSink(30);
    assert.deepEqual(ids((await sink.search(search({ text: 'QUESTION 2' }))).records), ['req-29', 'req-28', 'req-27', 'req-26', 'req-25', 'req-24', 'req-23', 'req-22', 'req-21', 'req-20', 'req-2']);
    assert.deepEqual(ids((await sink.search(search({ text: 'café' }))).records), ['req-17'], 'written as Caf\\u00e9 in the file');
    assert.deepEqual(ids((await sink.search(search({ text: 'said "HI"' }))).records), ['req-23']);
    assert.deepEqual(ids((await sink.search(search({ text: 'team-0' }))).records), [], 'only bodies are searched');
    await sink.close();
  });

  test('paging with the cursor returns every record exactly once, in order', async () => {
    const { sink, records } = await filledSink(45);
    const seen: string[] = [];
    let before: AuditSearch['before'];
    let pages = 0;
    for (;;) {
      const page = await sink.search(search({ limit: 4, before, full: false }));
      seen.push(...ids(page.records));
      pages++;
      if (page.nextBefore === null) break;
      before = page.nextBefore;
      assert.ok(pages < 50);
    }
    assert.deepEqual(seen, ids(records).reverse());
    await sink.close();
  });

  test('a search reads at most scanBytes, then answers with what it found and where to go on', async () => {
    const { sink } = await filledSink(40, { rotate_bytes: 1 << 20 }, 3000);
    const first = await sink.search(search({ model: 'no-such-model' }));
    assert.deepEqual(first.records, []);
    assert.ok(first.nextBefore !== null, 'stopped early, with a cursor');
    const all: string[] = [];
    let before: AuditSearch['before'] = first.nextBefore ?? undefined;
    for (let i = 0; i < 100 && before !== undefined; i++) {
      const page = await sink.search(search({ status: { kind: 'code', code: 502 }, before }));
      all.push(...ids(page.records));
      before = page.nextBefore ?? undefined;
    }
    // The first search examined the lines from its cursor to the end; the pages after it, all the older ones.
    assert.ok(first.nextBefore?.sink === 'file');
    const examined = readFileSync(join(sink.dir, first.nextBefore.file)).subarray(first.nextBefore.offset).toString().split('\n').filter(Boolean).length;
    assert.ok(examined > 1 && examined < 10, `about 3000 bytes of lines examined (${examined})`);
    const older = [35, 30, 25, 20, 15, 10, 5, 0].filter((i) => i < 40 - examined).map((i) => `req-${i}`);
    assert.deepEqual(all, older);
    await sink.close();
  });

  test('a file pruned between pages is passed over', async () => {
    const { sink } = await filledSink(30);
    const first = await sink.search(search({ limit: 3 }));
    assert.ok(first.nextBefore?.sink === 'file');
    rmSync(join(sink.dir, first.nextBefore.file));
    const next = await sink.search(search({ limit: 3, before: first.nextBefore }));
    assert.equal(next.records.length, 3);
    assert.ok(next.records.every((r) => Number(r.request_id.slice(4)) < 37), ids(next.records).join());
    await sink.close();
  });

  test('one record by id; an id nobody has is undefined', async () => {
    const { sink, records } = await filledSink(25);
    const wanted = records[3];
    assert.deepEqual(await sink.find(wanted.record_id), wanted);
    assert.equal(await sink.find('00000000-0000-4000-8000-000000000000'), undefined);
    await sink.close();
  });
});
