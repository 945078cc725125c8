import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readHead } from '../../src/pipeline/upstream.js';

const raw = (...pairs: string[]) => pairs.map((s) => Buffer.from(s, 'latin1'));

describe('readHead', () => {
  test('an error status: content-type and the retry headers, whatever their case and place', () => {
    const head = readHead(
      429,
      raw('Date', 'x', 'Retry-After', '7', 'X-Should-Retry', 'false', 'X-Other', 'y', 'Content-Type', 'application/json; charset=utf-8', 'retry-after-ms', '6500'),
    );
    assert.deepEqual(head, {
      status: 429,
      contentType: 'application/json; charset=utf-8',
      contentLength: undefined,
      contentEncoding: undefined,
      retryHeaders: [['retry-after', '7'], ['x-should-retry', 'false'], ['retry-after-ms', '6500']],
    });
  });

  test('a success status reads no retry headers; a repeated header keeps its first value', () => {
    assert.deepEqual(readHead(200, raw('content-length', '12', 'retry-after', '1')), {
      status: 200,
      contentType: undefined,
      contentLength: 12,
      contentEncoding: undefined,
      retryHeaders: undefined,
    });
    assert.equal(readHead(200, raw('content-type', 'text/event-stream', 'content-type', 'text/plain')).contentType, 'text/event-stream');
    assert.deepEqual(readHead(503, raw('retry-after', '1', 'Retry-After', '2')).retryHeaders, [['retry-after', '1']]);
  });

  test('content-encoding lower-cased and trimmed; a content-length that is not a size is ignored', () => {
    const head = readHead(200, raw('Content-Encoding', ' GZIP ', 'Content-Length', '1e3', 'content-length', '7'));
    assert.equal(head.contentEncoding, 'gzip');
    assert.equal(head.contentLength, 7);
    assert.equal(readHead(200, raw('content-length', '-1')).contentLength, undefined);
    assert.equal(readHead(502, raw('content-encoding', 'br', 'retry-after', '2')).retryHeaders?.[0][1], '2');
  });

  test('names of the right length but another spelling do not match', () => {
    const head = readHead(500, raw('content-typx', 'a', 'retry-aftex', 'b', 'x-should-retrx', 'c'));
    assert.equal(head.contentType, undefined);
    assert.equal(head.retryHeaders, undefined);
  });
});
