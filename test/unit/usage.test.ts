// Reading usage, model and "has content" from OpenAI-shaped bodies and chunks without full parses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { carriesContent, finishReasonFromBody, modelFromBody, modelFromText, usageFromBody, usageFromJson } from '../../src/pipeline/usage.js';

const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 3 } };

describe('usageFromJson', () => {
  test('reads the counts and cached tokens', () => {
    assert.deepEqual(usageFromJson(usage), { promptTokens: 11, completionTokens: 7, totalTokens: 18, cachedTokens: 3, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  test('missing fields: zeros, total computed', () => {
    assert.deepEqual(usageFromJson({ prompt_tokens: 4 }), { promptTokens: 4, completionTokens: 0, totalTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    assert.deepEqual(usageFromJson({ prompt_tokens: 4, completion_tokens: 2 }), {
      promptTokens: 4,
      completionTokens: 2,
      totalTokens: 6,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
  });

  test('null, absent or not an object: undefined', () => {
    assert.equal(usageFromJson(null), undefined);
    assert.equal(usageFromJson(undefined), undefined);
    assert.equal(usageFromJson('x'), undefined);
  });
});

describe('usageFromBody', () => {
  test('a chat completion body', () => {
    const body = JSON.stringify({
      id: 'c',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage,
      system_fingerprint: 'fp',
    });
    assert.deepEqual(usageFromBody(Buffer.from(body)), { promptTokens: 11, completionTokens: 7, totalTokens: 18, cachedTokens: 3, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  test('"usage" text inside a message is not mistaken for the usage object', () => {
    const body = JSON.stringify({
      choices: [{ message: { content: 'a fake "usage": {"prompt_tokens": 999} in text' } }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
    assert.equal(usageFromBody(Buffer.from(body))?.promptTokens, 1);
    const after = JSON.stringify({
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      choices: [{ message: { content: 'later "usage": {"prompt_tokens": 999}' } }],
    });
    assert.equal(usageFromBody(Buffer.from(after))?.promptTokens, 1);
  });

  test('a large body (embeddings) with usage at the end', () => {
    const data = Array.from({ length: 50 }, (_, i) => ({ object: 'embedding', index: i, embedding: Array(200).fill(0.125) }));
    const body = JSON.stringify({ object: 'list', data, model: 'e', usage: { prompt_tokens: 42, total_tokens: 42 } });
    assert.ok(body.length > 4096 * 4);
    assert.deepEqual(usageFromBody(Buffer.from(body)), { promptTokens: 42, completionTokens: 0, totalTokens: 42, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  test('a large body with usage at the start', () => {
    const body = JSON.stringify({ usage: { prompt_tokens: 5, total_tokens: 5 }, data: Array(3000).fill('padding') });
    assert.ok(body.length > 4096 * 4);
    assert.equal(usageFromBody(Buffer.from(body))?.promptTokens, 5);
  });

  test('pretty-printed usage with details objects: counts read from the right keys', () => {
    const usage = {
      completion_tokens_details: { reasoning_tokens: 7 },
      prompt_tokens_details: { cached_tokens: 128, audio_tokens: 0 },
      prompt_tokens: 1234,
      completion_tokens: 56,
      total_tokens: 1290,
    };
    const body = JSON.stringify({ id: 'x', choices: [{ message: { content: '"usage": {"prompt_tokens": 9}' } }], usage }, null, 2);
    assert.deepEqual(usageFromBody(Buffer.from(body)), { promptTokens: 1234, completionTokens: 56, totalTokens: 1290, cachedTokens: 128, cacheWriteTokens: 0, reasoningTokens: 7 });
  });

  test('no usage, usage null, or a cut-off body: undefined', () => {
    assert.equal(usageFromBody(Buffer.from('{"choices":[]}')), undefined);
    assert.equal(usageFromBody(Buffer.from('{"choices":[],"usage":null}')), undefined);
    assert.equal(usageFromBody(Buffer.from('{"choices":[],"usage":{"prompt_tokens":1,')), undefined);
    assert.equal(usageFromBody(Buffer.alloc(0)), undefined);
  });
});

describe('modelFromText', () => {
  test('finds the first model field', () => {
    assert.equal(modelFromText('{"id":"x","model":"gpt-4o-2024","choices":[]}'), 'gpt-4o-2024');
    assert.equal(modelFromText('{"id":"x"}'), undefined);
  });
});

describe('modelFromBody and finishReasonFromBody', () => {
  test('chat: model near the start, the first finish_reason', () => {
    const body = Buffer.from(
      '{"id":"x","model":"gpt-4o-2024","choices":[{"message":{"content":"say \\"model\\": \\"no\\""},"finish_reason":"length"},{"finish_reason":"stop"}]}',
    );
    assert.equal(modelFromBody(body), 'gpt-4o-2024');
    assert.equal(finishReasonFromBody(body), 'length');
  });

  test('embeddings: model after a large data array', () => {
    const data = JSON.stringify(Array.from({ length: 3 }, (_, i) => ({ object: 'embedding', index: i, embedding: 'A'.repeat(4000) })));
    const body = Buffer.from(`{"object":"list","data":${data},"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}`);
    assert.equal(modelFromBody(body), 'text-embedding-3-small');
    assert.equal(finishReasonFromBody(body), undefined);
    assert.equal(modelFromBody(Buffer.from('{"object":"list"}')), undefined);
  });
});

describe('carriesContent', () => {
  const chunk = (delta: unknown) => JSON.stringify({ choices: [{ index: 0, delta, finish_reason: null }] });
  test('the role-only first chunk does not count', () => {
    assert.equal(carriesContent(chunk({ role: 'assistant', content: '' })), false);
    assert.equal(carriesContent(chunk({ role: 'assistant', content: null })), false);
    assert.equal(carriesContent(chunk({})), false);
  });

  test('content, legacy text, tool calls, refusal and reasoning count', () => {
    assert.equal(carriesContent(chunk({ content: 'Hi' })), true);
    assert.equal(carriesContent(JSON.stringify({ choices: [{ text: 'Hi', index: 0 }] })), true);
    assert.equal(carriesContent(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a' } }] })), true);
    assert.equal(carriesContent(chunk({ refusal: 'no' })), true);
    assert.equal(carriesContent(chunk({ reasoning_content: 'think' })), true);
  });

  test('a usage-only chunk does not count', () => {
    assert.equal(carriesContent(JSON.stringify({ choices: [], usage })), false);
  });
});

describe('canonical usage extensions', () => {
  test('cache writes and reasoning tokens are read from the body and from the parsed object alike', () => {
    const u = { prompt_tokens: 115, completion_tokens: 20, total_tokens: 135, prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 5 }, completion_tokens_details: { reasoning_tokens: 8 } };
    const expected = { promptTokens: 115, completionTokens: 20, totalTokens: 135, cachedTokens: 100, cacheWriteTokens: 5, reasoningTokens: 8 };
    assert.deepEqual(usageFromJson(u), expected);
    assert.deepEqual(usageFromBody(Buffer.from(JSON.stringify({ id: 'x', choices: [], usage: u }))), expected);
  });
});
