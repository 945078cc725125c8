import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keptJsonMaxBytes, parseRequest } from '../../src/pipeline/parse.js';
import { GatewayError } from '../../src/shared/errors.js';

function body(content: string, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ model: 'gpt-4o', ...extra, messages: [{ role: 'user', content }] }));
}

const large = 'x'.repeat(keptJsonMaxBytes);

test('a small body stays parsed; a large one is read and dropped, leaving the fields the gateway needs', () => {
  const small = parseRequest(body('hi', { stream: true, stream_options: { include_usage: false }, max_tokens: 5 }), 'messages');
  assert.equal((small.json?.messages as unknown[]).length, 1);
  const raw = body(large, { stream: true, stream_options: { include_usage: true }, max_completion_tokens: 7 });
  const big = parseRequest(raw, 'messages');
  assert.equal(big.json, undefined, 'no large prompt kept on the context');
  assert.equal(big.body, raw, 'the bytes are kept as they came');
  assert.deepEqual(
    { model: big.model, stream: big.stream, streamOptions: big.streamOptions, usage: big.clientWantsUsage, max: big.maxOutputTokens },
    { model: 'gpt-4o', stream: true, streamOptions: { include_usage: true }, usage: true, max: 7 },
  );
});

test('a large body is validated like a small one', () => {
  const refused = (raw: Buffer) => {
    try {
      parseRequest(raw, 'messages');
    } catch (err) {
      assert.ok(err instanceof GatewayError);
      return `${err.status} ${err.param ?? ''}`;
    }
    return 'accepted';
  };
  for (const content of ['hi', large]) {
    assert.equal(refused(body(content, { stream: 'yes' })), '400 stream');
    assert.equal(refused(body(content, { model: 7 })), '400 model');
    assert.equal(refused(Buffer.from(JSON.stringify({ model: 'm', messages: [], pad: content }))), '400 messages');
    assert.equal(refused(Buffer.from(`{"model":"m","messages":[{"role":"user","content":"${content}"}]`)), '400 ');
  }
});
