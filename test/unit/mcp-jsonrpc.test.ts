// JSON-RPC 2.0 message classification and body parsing for /mcp.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify, errorMessage, parseBody, resultMessage } from '../../src/mcp/jsonrpc.js';

test('requests, notifications and responses are told apart', () => {
  assert.deepEqual(classify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { kind: 'request', id: 1, method: 'ping', params: undefined });
  assert.deepEqual(classify({ jsonrpc: '2.0', id: 'a', method: 'tools/list', params: { cursor: 'x' } }), { kind: 'request', id: 'a', method: 'tools/list', params: { cursor: 'x' } });
  assert.deepEqual(classify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { kind: 'notification', method: 'notifications/initialized' });
  assert.deepEqual(classify({ jsonrpc: '2.0', id: 3, result: {} }), { kind: 'response' });
  assert.deepEqual(classify({ jsonrpc: '2.0', id: 3, error: { code: 1, message: 'x' } }), { kind: 'response' });
});

test('invalid messages keep their id when it is readable', () => {
  assert.equal(classify([]).kind, 'invalid');
  assert.equal(classify('x').kind, 'invalid');
  assert.deepEqual(classify({ jsonrpc: '1.0', id: 4, method: 'ping' }), { kind: 'invalid', id: 4, message: 'jsonrpc must be "2.0".' });
  assert.equal(classify({ jsonrpc: '2.0', id: 5, method: 7 }).kind, 'invalid');
  assert.equal(classify({ jsonrpc: '2.0', id: 6, method: 'x', params: [1] }).kind, 'invalid');
  assert.deepEqual(classify({ jsonrpc: '2.0', id: null, method: 'x' }), { kind: 'invalid', id: null, message: 'id must be a string or a number.' });
  assert.equal(classify({ jsonrpc: '2.0', id: { a: 1 }, method: 'x' }).kind, 'invalid');
});

test('bodies: bad JSON is a parse error, an empty batch an invalid request', () => {
  assert.deepEqual(parseBody(Buffer.from('{')), { ok: false, code: -32700, message: 'Parse error: the body is not valid JSON.' });
  assert.equal((parseBody(Buffer.from('[]')) as { code: number }).code, -32600);
  const huge = JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
  assert.equal((parseBody(Buffer.from(huge)) as { code: number }).code, -32600);
  const batch = parseBody(Buffer.from('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"}]'));
  assert.ok(batch.ok && batch.batch && batch.messages.length === 2);
  const one = parseBody(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}'));
  assert.ok(one.ok && !one.batch);
});

test('responses are serialised once, ids as given', () => {
  assert.equal(resultMessage('a', { x: 1 }), '{"jsonrpc":"2.0","id":"a","result":{"x":1}}');
  assert.equal(errorMessage(null, -32600, 'no'), '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no"}}');
  assert.equal(errorMessage(2, -32029, 'slow down', { retry_after_ms: 5 }), '{"jsonrpc":"2.0","id":2,"error":{"code":-32029,"message":"slow down","data":{"retry_after_ms":5}}}');
});
