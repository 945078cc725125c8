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

test('max_tokens and max_completion_tokens are each validated as integers ≥ 1, also when both are given', () => {
  const param = (extra: Record<string, unknown>, requiredField = 'messages') => {
    try {
      parseRequest(body('hi', extra), requiredField);
    } catch (err) {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.code, 'invalid_value');
      return err.param;
    }
    return 'accepted';
  };
  for (const bad of [-1, 0, 1.5, '100', true, {}]) {
    assert.equal(param({ max_completion_tokens: 10, max_tokens: bad }), 'max_tokens', JSON.stringify(bad));
    assert.equal(param({ max_completion_tokens: bad, max_tokens: 10 }), 'max_completion_tokens', JSON.stringify(bad));
    assert.equal(param({ max_tokens: bad }), 'max_tokens', JSON.stringify(bad));
  }
  assert.equal(param({ max_tokens: null, max_completion_tokens: null }), 'accepted');
  // Legacy completions accept max_tokens 0 (echo, to score a prompt), as OpenAI does.
  assert.equal(param({ max_tokens: 0, prompt: 'x' }, 'prompt'), 'accepted');
  assert.equal(param({ max_tokens: -1, prompt: 'x' }, 'prompt'), 'max_tokens');
});

test('the output reserve: the larger token limit, and n / best_of as the number of completions', () => {
  const parsed = (extra: Record<string, unknown>) => {
    const p = parseRequest(body('hi', extra), 'messages');
    return [p.maxOutputTokens, p.choices];
  };
  assert.deepEqual(parsed({}), [undefined, 1]);
  assert.deepEqual(parsed({ max_tokens: 30, max_completion_tokens: 20 }), [30, 1]);
  assert.deepEqual(parsed({ max_completion_tokens: 20, n: 4 }), [20, 4]);
  assert.deepEqual(parsed({ max_tokens: 5, n: 2, best_of: 6 }), [5, 6]);
  assert.deepEqual(parsed({ n: null, best_of: null }), [undefined, 1]);
  assert.throws(() => parseRequest(body('hi', { n: 0 }), 'messages'), (err: GatewayError) => err.param === 'n');
  assert.throws(() => parseRequest(body('hi', { n: 2.5 }), 'messages'), (err: GatewayError) => err.param === 'n');
  assert.throws(() => parseRequest(body('hi', { best_of: -1 }), 'messages'), (err: GatewayError) => err.param === 'best_of');
});

test('n is capped at 128 and best_of at 20, as OpenAI caps them', () => {
  const param = (extra: Record<string, unknown>) => {
    try {
      return parseRequest(body('hi', extra), 'messages').choices;
    } catch (err) {
      assert.ok(err instanceof GatewayError);
      assert.deepEqual([err.status, err.type, err.code], [400, 'invalid_request_error', 'invalid_value']);
      return err.param;
    }
  };
  assert.equal(param({ n: 128 }), 128);
  assert.equal(param({ best_of: 20 }), 20);
  assert.equal(param({ best_of: 0 }), 1);
  // 1e308 is a whole number to Number.isInteger: only the bound refuses it.
  for (const n of [129, 1e308, 2 ** 53, 1.5]) assert.equal(param({ n }), 'n', String(n));
  for (const bestOf of [21, 1e308, 2.5]) assert.equal(param({ best_of: bestOf }), 'best_of', String(bestOf));
});

test('a body that is not valid UTF-8 is refused as invalid JSON, not decoded to U+FFFD', () => {
  const refusal = (raw: Buffer) => {
    try {
      parseRequest(raw, 'messages');
    } catch (err) {
      assert.ok(err instanceof GatewayError);
      return `${err.status} ${err.type} ${err.code} ${err.param}`;
    }
    return 'accepted';
  };
  const withBytes = (content: string, bytes: number[]) => {
    const [before, after] = body(content).toString('latin1').split('@');
    return Buffer.concat([Buffer.from(before, 'latin1'), Buffer.from(bytes), Buffer.from(after, 'latin1')]);
  };
  // A lone 0xff, an overlong '/', an encoded surrogate, a code point past U+10FFFF, a cut sequence.
  for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
    for (const content of ['a@b', `${large}@`]) {
      assert.equal(refusal(withBytes(content, bytes)), '400 invalid_request_error invalid_json null', JSON.stringify(bytes));
    }
  }
  assert.equal(refusal(body('héllo €, 😀')), 'accepted', 'valid multi-byte text passes');
});
