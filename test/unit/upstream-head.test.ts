import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readHead } from '../../src/pipeline/upstream.js';

const raw = (...pairs: string[]) => pairs.map((s) => Buffer.from(s, 'latin1'));

describe('readHead', () => {
  test('finds content-type and retry-after whatever their case and place', () => {
    const head = readHead(429, raw('Date', 'x', 'Retry-After', '7', 'X-Other', 'y', 'Content-Type', 'application/json; charset=utf-8'));
    assert.deepEqual(head, { status: 429, contentType: 'application/json; charset=utf-8', retryAfter: '7' });
  });

  test('leaves what is absent undefined and keeps the first of a repeated header', () => {
    assert.deepEqual(readHead(200, raw('content-length', '12')), { status: 200, contentType: undefined, retryAfter: undefined });
    assert.equal(readHead(200, raw('content-type', 'text/event-stream', 'content-type', 'text/plain')).contentType, 'text/event-stream');
  });

  test('a name of the right length but another spelling does not match', () => {
    assert.equal(readHead(200, raw('content-typx', 'a', 'retry-aftex', 'b')).contentType, undefined);
    assert.equal(readHead(200, raw('content-typx', 'a', 'retry-aftex', 'b')).retryAfter, undefined);
  });
});
