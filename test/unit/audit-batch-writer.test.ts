import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuditBatchWriter } from '../../src/observability/audit-batch-writer.js';
import { takeBatch } from '../helpers/audit-records.js';
import { msText } from '../../src/observability/audit-record.js';
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

describe('msText', () => {
  test('milliseconds rounded to the µs, as JSON numbers equal to the rounded value', () => {
    for (const [n, text] of [
      [1.2345678, '1.235'], [0, '0.000'], [0.0004, '0.000'], [12, '12.000'], [3.05, '3.050'], [1234567.8915, '1234567.892'], [-2.5, '-2.500'],
    ] as const) {
      assert.equal(msText(n), text);
      assert.equal(JSON.parse(msText(n)), Math.round(n * 1000) / 1000);
    }
    assert.equal(msText(undefined), 'null');
    assert.equal(msText(Number.NaN), 'null');
  });
});
