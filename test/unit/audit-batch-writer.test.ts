import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuditBatchWriter } from '../../src/observability/audit-batch-writer.js';
import { takeBatch } from '../helpers/audit-records.js';
import { isoTime } from '../../src/observability/audit-record.js';
import { batchLines } from '../../src/observability/audit-sink.js';

describe('AuditBatchWriter', () => {
  test('lines of text and JSON bytes survive growth past the first buffer, newlines in bodies become spaces', () => {
    const writer = new AuditBatchWriter(64);
    const expected: unknown[] = [];
    for (let i = 0; i < 50; i++) {
      const body = { i, text: 'zażółć ✓ '.repeat(i % 7), list: [1, 2, 3] };
      writer.text(`{"n":${i},"body":`);
      writer.json(Buffer.from(JSON.stringify(body, null, i % 2 === 0 ? 2 : undefined).replace(/\n/g, '\r\n')));
      writer.text('}');
      writer.endLine();
      expected.push({ n: i, body });
    }
    assert.equal(writer.count, 50);
    const batch = takeBatch(writer);
    assert.equal(batch.count, 50);
    const lines = batchLines(batch);
    assert.equal(lines.length, 50);
    assert.deepEqual(lines.map((l) => JSON.parse(l)), expected);
    assert.equal(writer.count, 0);
  });

  test('takeView() starts the writer over: a copy of the view is unchanged by what is written next', () => {
    const writer = new AuditBatchWriter(64);
    writer.text('{"a":1}');
    writer.endLine();
    const first = takeBatch(writer);
    assert.equal(writer.count, 0);
    writer.text('{"b":2}');
    writer.endLine();
    assert.deepEqual(batchLines(first), ['{"a":1}']);
    assert.deepEqual(batchLines(takeBatch(writer)), ['{"b":2}']);
  });

  test('after a burst the writer goes back to a small buffer, leaving the last view intact', () => {
    const writer = new AuditBatchWriter(64);
    const long = `{"x":"${'y'.repeat(5000)}"}`;
    writer.text(long);
    writer.endLine();
    const { count, bytes } = writer.takeView();
    writer.text('{"b":2}');
    writer.endLine();
    assert.equal(count, 1);
    assert.deepEqual(batchLines({ count, data: bytes }), [long], 'the grown buffer was let go, not overwritten');
  });
});

describe('AuditBatchWriter strings', () => {
  test('string() and text() write what JSON.stringify would, short or long, ASCII or not', () => {
    const samples = [
      '', 'plain', 'with "quotes" and \\ backslash', 'tab\tnew\nline\u0001', 'zażółć ✓', 'emoji 😀 pair', 'lone \ud800 surrogate',
      'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(129), `${'a'.repeat(200)}"${'b'.repeat(50)}`, `${'é'.repeat(130)}`,
    ];
    const writer = new AuditBatchWriter(16);
    for (const s of samples) {
      writer.text('{"s":');
      writer.string(s);
      writer.text(',"t":');
      writer.text(JSON.stringify(s));
      writer.stringField(',"n":', undefined);
      writer.text('}');
      writer.endLine();
    }
    const lines = batchLines(takeBatch(writer));
    assert.equal(lines.length, samples.length);
    lines.forEach((line, i) => {
      assert.equal(line, `{"s":${JSON.stringify(samples[i])},"t":${JSON.stringify(samples[i])},"n":null}`);
      assert.deepEqual(JSON.parse(line), { s: samples[i], t: samples[i], n: null });
    });
  });
});

/** What the writer writes for one call, as text. */
function written(write: (w: AuditBatchWriter) => void): string {
  const writer = new AuditBatchWriter();
  write(writer);
  writer.endLine();
  return batchLines(takeBatch(writer))[0]!;
}

describe('numbers written as digits', () => {
  test('milliseconds(): rounded to the µs with three decimals, equal to the rounded value once parsed', () => {
    for (const [n, text] of [
      [1.2345678, '1.235'], [0, '0.000'], [0.0004, '0.000'], [0.0005, '0.001'], [12, '12.000'], [3.05, '3.050'], [1234567.8915, '1234567.892'], [999.9996, '1000.000'],
    ] as const) {
      assert.equal(written((w) => w.milliseconds(n)), text);
    }
    for (let i = 0; i < 2000; i++) {
      const n = Math.random() * 10 ** Math.floor(Math.random() * 12);
      const text = written((w) => w.milliseconds(n));
      assert.match(text, /^\d+\.\d{3}$/, String(n));
      assert.equal(JSON.parse(text), Math.round(n * 1000) / 1000, String(n));
    }
    // Outside what a duration is (negative, over 2^53 µs): still valid JSON of the same value.
    for (const n of [-2.5, -0.4, 1e13, 1e20]) assert.equal(JSON.parse(written((w) => w.milliseconds(n))), Math.round(n * 1000) / 1000);
    for (const n of [undefined, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(written((w) => w.milliseconds(n)), 'null');
  });

  test('int(): whole numbers as String() writes them, anything else still valid JSON', () => {
    for (const n of [0, 7, 9, 10, 99, 100, 101, 12345, 999999999, 1000000000, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 1e21, 1.5, -3]) {
      assert.equal(written((w) => w.int(n)), String(n));
    }
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(Math.random() * 2 ** Math.floor(Math.random() * 54));
      assert.equal(written((w) => w.int(n)), String(n));
    }
    assert.equal(written((w) => w.int(Number.NaN)), 'null');
  });
});

describe('isoTime', () => {
  test('equals Date#toISOString across milliseconds, seconds and repeats', () => {
    const start = Date.UTC(2026, 10, 22, 23, 59, 58, 990);
    const times = [start, start, start + 0.4, start + 1, start + 9, start + 10, start + 1010, start + 1010.9, start + 2000, start + 86_400_000, start];
    for (const t of times) assert.equal(isoTime(t), new Date(Math.floor(t)).toISOString(), String(t));
  });
});
