// Every error the core path produces: its status and the OpenAI shape {"error":{"message","type","param","code"}}.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { expectErrorShape, startStack, waitFor, type OpenAIErrorBody, type Stack } from '../helpers/stack.js';

const user = (content: string) => [{ role: 'user' as const, content }];

async function post(base: string, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`status ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body: expectErrorShape(json) };
}

/** Runs `fn`, expects an OpenAI.APIError, returns it. */
async function apiError(fn: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    return err;
  }
  assert.fail('the call did not throw');
}

describe('client errors', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ threads: 1, server: { max_body_bytes: 4096 } });
  });
  after(() => stack.stop());

  test('malformed JSON → 400 invalid_json', async () => {
    const res = await post(stack.baseURL, '/chat/completions', '{"model": "gpt-4o-mini", "messages": [');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.type, 'invalid_request_error');
    assert.equal(res.body.error.code, 'invalid_json');
    assert.equal(res.headers.get('content-type'), 'application/json');
  });

  test('an error answer carries the request id', async () => {
    const res = await post(stack.baseURL, '/chat/completions', '{', { 'x-request-id': 'err-req-1' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-request-id'), 'err-req-1');
  });

  test('a JSON body that is not an object → 400', async () => {
    const res = await post(stack.baseURL, '/chat/completions', '[1,2]');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.type, 'invalid_request_error');
  });

  test('empty body → 400', async () => {
    const res = await post(stack.baseURL, '/chat/completions', '');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_json');
  });

  test('missing model → 400 with param model', async () => {
    const res = await post(stack.baseURL, '/chat/completions', JSON.stringify({ messages: user('hi') }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.param, 'model');
    assert.equal(res.body.error.code, 'missing_required_parameter');
  });

  test('missing messages → 400 with param messages; missing prompt / input likewise', async () => {
    const chat = await post(stack.baseURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini' }));
    assert.equal(chat.status, 400);
    assert.equal(chat.body.error.param, 'messages');
    const completion = await post(stack.baseURL, '/completions', JSON.stringify({ model: 'gpt-4o-mini' }));
    assert.equal(completion.status, 400);
    assert.equal(completion.body.error.param, 'prompt');
    const embedding = await post(stack.baseURL, '/embeddings', JSON.stringify({ model: 'text-embedding-3-small' }));
    assert.equal(embedding.status, 400);
    assert.equal(embedding.body.error.param, 'input');
  });

  test('the SDK sees a 400 as BadRequestError', async () => {
    const err = await apiError(() => stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }));
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.status, 400);
    assert.equal(err.param, 'messages');
  });

  test('unknown model → 404 model_not_found (SDK NotFoundError with code)', async () => {
    const err = await apiError(() => stack.client.chat.completions.create({ model: 'no-such-model', messages: user('hi') }));
    assert.ok(err instanceof OpenAI.NotFoundError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    assert.equal(err.param, 'model');
    assert.match(err.message, /no-such-model/);
    const raw = await post(stack.baseURL, '/chat/completions', JSON.stringify({ model: 'no-such-model', messages: user('hi') }));
    assert.equal(raw.status, 404);
    assert.equal(raw.body.error.code, 'model_not_found');
    const retrieve = await apiError(() => stack.client.models.retrieve('no-such-model'));
    assert.ok(retrieve instanceof OpenAI.NotFoundError);
    assert.equal(retrieve.code, 'model_not_found');
    assert.equal(stack.sim.stats().requests, 0, 'an unknown model must not reach the upstream');
  });

  test('body over server.max_body_bytes → 413 (content-length announced, raw and via the SDK)', async () => {
    const big = JSON.stringify({ model: 'gpt-4o-mini', messages: user('x'.repeat(10_000)) });
    const res = await post(stack.baseURL, '/chat/completions', big);
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'request_too_large');
    const sdk = await apiError(() => stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x'.repeat(10_000)) }));
    assert.equal(sdk.status, 413);
    assert.equal(sdk.code, 'request_too_large');
  });

  test('body over server.max_body_bytes → 413 for a chunked upload too (the client gets the answer, not EPIPE)', async () => {
    const big = new TextEncoder().encode(JSON.stringify({ model: 'gpt-4o-mini', messages: user('x'.repeat(200_000)) }));
    // No Content-Length: the limit must hold while reading, and the answer must reach a client still sending.
    const chunked = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < big.length; i += 1000) controller.enqueue(big.slice(i, i + 1000));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    expectErrorShape(await chunked.json());
  });

  test('unknown path → 404', async () => {
    const res = await post(stack.baseURL, '/nope', '{}');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.type, 'not_found_error');
    const get = await fetch(`${stack.baseURL.replace(/\/v1$/, '')}/v2/chat/completions`);
    assert.equal(get.status, 404);
    expectErrorShape(await get.json());
  });

  test('a malformed percent-encoding in /v1/models/:id is a client error, not a 500', async () => {
    const res = await fetch(`${stack.baseURL}/models/%E0%A4%A`);
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    expectErrorShape(await res.json());
  });

  test('wrong method → 405 with Allow', async () => {
    const res = await fetch(`${stack.baseURL}/chat/completions`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const body = expectErrorShape(await res.json());
    assert.equal(body.error.code, 'method_not_allowed');
    const models = await post(stack.baseURL, '/models', '{}');
    assert.equal(models.status, 405);
    assert.equal(models.headers.get('allow'), 'GET');
  });
});

describe('upstream errors', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ threads: 1, timeouts: { first_byte_ms: 300, idle_ms: 300, total_ms: 800 } });
  });
  after(() => stack.stop());

  test('upstream 429 is relayed with its status and a normalised body', async () => {
    const err = await apiError(() =>
      stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') }, { headers: { 'x-sim-fault': 'status-429' } }),
    );
    assert.ok(err instanceof OpenAI.RateLimitError);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'simulated_fault');
    const raw = await post(stack.baseURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }), {
      'x-sim-fault': 'status-429',
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.body.error.type, 'rate_limit_error');
    assert.match(raw.body.error.message, /Simulated HTTP 429/);
  });

  test('upstream 429 retry headers (retry-after, retry-after-ms, x-should-retry) reach the client', async () => {
    const direct = await post(stack.simURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }), {
      'x-sim-fault': 'status-429',
    });
    assert.equal(direct.headers.get('retry-after'), '1', 'precondition: the simulator sends retry-after');
    const raw = await post(stack.baseURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }), {
      'x-sim-fault': 'status-429',
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('retry-after'), '1', 'the gateway dropped the upstream retry-after header');
    assert.equal(raw.headers.get('retry-after-ms'), '1000');
    assert.equal(raw.headers.get('x-should-retry'), 'true');
  });

  test('upstream 500 is relayed as 500 with a normalised body (also for a stream request)', async () => {
    const raw = await post(stack.baseURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }), {
      'x-sim-fault': 'status-500',
    });
    assert.equal(raw.status, 500);
    assert.equal(raw.body.error.code, 'simulated_fault');
    const err = await apiError(() =>
      stack.client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: user('hi'), stream: true },
        { headers: { 'x-sim-fault': 'status-500' } },
      ),
    );
    assert.ok(err instanceof OpenAI.InternalServerError);
    assert.equal(err.status, 500);
  });

  test('upstream 400 on a stream request: the SDK gets a BadRequestError, not a stream', async () => {
    const err = await apiError(() =>
      stack.client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: user('hi'), stream: true },
        { headers: { 'x-sim-fault': 'status-400' } },
      ),
    );
    assert.ok(err instanceof OpenAI.BadRequestError);
  });

  test('first-byte timeout → 504', async () => {
    const started = Date.now();
    const raw = await post(stack.baseURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }), {
      'x-sim-fault': 'stall-headers',
    });
    assert.equal(raw.status, 504);
    assert.equal(raw.body.error.type, 'timeout_error');
    assert.equal(raw.body.error.code, 'upstream_timeout');
    assert.ok(Date.now() - started < 3000, 'the first-byte timeout did not fire in time');
    const err = await apiError(() =>
      stack.client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: user('hi'), stream: true },
        { headers: { 'x-sim-fault': 'stall-headers' } },
      ),
    );
    assert.equal(err.status, 504);
    assert.ok(await waitFor(() => stack.sim.stats().inFlight === 0), 'the stalled upstream request was not closed');
  });

  test('total timeout → 504 for a non-stream request that is too slow', async () => {
    // A non-stream answer sends its headers with the whole body, after the 2 s TTFT; first_byte_ms is
    // out of the way (5 s), so the 400 ms total budget is what must fire.
    const slow = await startStack({ threads: 1, timeouts: { first_byte_ms: 5000, total_ms: 400 } });
    try {
      const started = Date.now();
      const raw = await post(slow.baseURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }), {
        'x-sim-ttft-ms': '2000',
      });
      assert.equal(raw.status, 504);
      assert.equal(raw.body.error.code, 'upstream_timeout');
      assert.match(raw.body.error.message, /total/);
      assert.ok(Date.now() - started < 1900, `took ${Date.now() - started} ms (the answer itself comes after 2000)`);
      assert.ok(await waitFor(() => slow.sim.stats().aborted === 1), 'the timed-out upstream request was not closed');
    } finally {
      await slow.stop();
    }
  });

  test('mid-stream reset → the SDK stream throws an APIError from the final error event', async () => {
    const stream = await stack.client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 20 },
      { headers: { 'x-sim-fault': 'reset-after-3' } },
    );
    const received: OpenAI.ChatCompletionChunk[] = [];
    const err = await apiError(async () => {
      for await (const chunk of stream) received.push(chunk);
    });
    assert.ok(received.length >= 1, 'no chunk arrived before the reset');
    assert.ok(received.length < 20);
    assert.ok(err.error && typeof err.error === 'object');
    expectErrorShape({ error: err.error });
    assert.equal((err.error as OpenAIErrorBody['error']).code, 'upstream_error');
  });

  test('mid-stream reset, raw: the stream ends with one data: {"error":…} event and no [DONE]', async () => {
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-fault': 'reset-after-2' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi'), stream: true }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e !== '');
    const last = events.at(-1) ?? '';
    assert.ok(last.startsWith('data: '), last);
    expectErrorShape(JSON.parse(last.slice(6)));
    assert.ok(!text.includes('[DONE]'));
  });

  test('idle timeout mid-stream → the SDK stream throws an APIError with a timeout error', async () => {
    const started = Date.now();
    const stream = await stack.client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('hi'), stream: true, max_tokens: 20 },
      { headers: { 'x-sim-fault': 'stall-after-2' } },
    );
    const received: OpenAI.ChatCompletionChunk[] = [];
    const err = await apiError(async () => {
      for await (const chunk of stream) received.push(chunk);
    });
    assert.ok(received.length >= 1);
    assert.equal((err.error as OpenAIErrorBody['error']).code, 'upstream_timeout');
    assert.equal((err.error as OpenAIErrorBody['error']).type, 'timeout_error');
    assert.ok(Date.now() - started < 3000);
    assert.ok(await waitFor(() => stack.sim.stats().inFlight === 0), 'the stalled upstream request was not closed');
  });

  test('malformed upstream JSON body (non-stream) → 502 upstream_invalid_response, and the gateway keeps serving', async () => {
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-fault': 'malformed' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }),
    });
    assert.equal(res.status, 502);
    assert.equal(expectErrorShape(await res.json()).error.code, 'upstream_invalid_response');
    // Whatever was decided for it, the gateway must still serve the next request.
    const ok = await stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
    assert.equal(ok.object, 'chat.completion');
  });
});

describe('upstream unreachable', () => {
  let closedPort: number;
  let stack: Stack;
  before(async () => {
    // Bind then close: a port that nothing listens on.
    const server: Server = createServer();
    closedPort = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    stack = await startStack({ threads: 1, providerBaseURL: `http://127.0.0.1:${closedPort}/v1` });
  });
  after(() => stack.stop());

  test('connect refused → 502 upstream_connect_error', async () => {
    const raw = await post(stack.baseURL, '/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: user('hi') }));
    assert.equal(raw.status, 502);
    assert.equal(raw.body.error.code, 'upstream_connect_error');
    const err = await apiError(() => stack.client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi'), stream: true }));
    assert.equal(err.status, 502);
  });
});
