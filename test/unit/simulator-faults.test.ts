// Simulator faults, client-abort counting, pacing and the exact SSE bytes on the wire.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

let sim: RunningSimulator;
let client: OpenAI;
let base: string;

before(async () => {
  sim = await startSimulator();
  base = `http://127.0.0.1:${sim.port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'x', maxRetries: 0 });
});
after(() => sim.close());
beforeEach(() => sim.reset());

const chat = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(sim.stats(), ['requests', 'inFlight', 'completed', 'aborted'])}`);
    await sleep(10);
  }
}

function post(path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
    signal,
  });
}

describe('status faults', () => {
  test('x-sim-fault status-429 gives an OpenAI rate-limit error with retry-after', async () => {
    await assert.rejects(client.chat.completions.create(chat, { headers: { 'x-sim-fault': 'status-429' } }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.headers.get('retry-after'), '1');
      assert.equal(err.code, 'simulated_fault');
      return true;
    });
  });

  test('model sim-fault-status-503 works without headers; 500 has no retry-after', async () => {
    const res = await post('/v1/chat/completions', { ...chat, model: 'sim-fault-status-503' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    const body = (await res.json()) as { error: { type: string } };
    assert.equal(body.error.type, 'api_error');
    const plain = await post('/v1/chat/completions', chat, { 'x-sim-fault': 'status-500' });
    assert.equal(plain.status, 500);
    assert.equal(plain.headers.get('retry-after'), null);
    await plain.arrayBuffer();
  });

  test('unknown faults and bad override headers are refused with 400', async () => {
    const badFault = await post('/v1/chat/completions', chat, { 'x-sim-fault': 'explode' });
    assert.equal(badFault.status, 400);
    const badModel = await post('/v1/chat/completions', { ...chat, model: 'sim-fault-explode' });
    assert.equal(badModel.status, 400);
    const badHeader = await post('/v1/chat/completions', chat, { 'x-sim-ttft-ms': 'soon' });
    assert.equal(badHeader.status, 400);
    assert.equal(((await badHeader.json()) as { error: { param: string } }).error.param, 'x-sim-ttft-ms');
  });
});

describe('stream faults', () => {
  test('reset-after-2: two content chunks arrive, then the connection drops without [DONE]', async () => {
    const stream = await client.chat.completions.create({ ...chat, stream: true }, { headers: { 'x-sim-fault': 'reset-after-2' } });
    const contents: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) {
        const piece = chunk.choices[0]?.delta.content;
        if (piece) contents.push(piece);
      }
    });
    assert.equal(contents.length, 2);
    await waitFor('completion', () => sim.stats().completed === 1);
  });

  test('stall-after-1 (by model name): one chunk, then silence until the client aborts', async () => {
    const controller = new AbortController();
    const res = await post('/v1/chat/completions', { ...chat, model: 'sim-fault-stall-after-1', stream: true }, {}, controller.signal);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString();
      }
    })();
    await sleep(150);
    const events = text.split('\n\n').filter((e) => e !== '');
    assert.equal(events.length, 2, 'role chunk and one content chunk');
    assert.ok(!text.includes('[DONE]'));
    assert.equal(sim.stats().inFlight, 1);
    controller.abort();
    await assert.rejects(reading);
    await waitFor('abort', () => sim.stats().aborted === 1);
    assert.equal(sim.stats().inFlight, 0);
  });

  test('stall-headers: no response at all until the client gives up', async () => {
    await assert.rejects(post('/v1/chat/completions', chat, { 'x-sim-fault': 'stall-headers' }, AbortSignal.timeout(150)));
    await waitFor('abort', () => sim.stats().aborted === 1);
  });

  test('malformed: invalid JSON body (non-stream) and an unparseable data line (stream)', async () => {
    const whole = await post('/v1/chat/completions', chat, { 'x-sim-fault': 'malformed' });
    assert.equal(whole.status, 200);
    const text = await whole.text();
    assert.throws(() => JSON.parse(text));
    const streamed = await post('/v1/chat/completions', { ...chat, model: 'sim-fault-malformed', stream: true });
    const events = (await streamed.text()).split('\n\n').filter((e) => e !== '');
    const unparseable = events.filter((e) => e !== 'data: [DONE]' && !isJson(e.slice('data: '.length)));
    assert.equal(unparseable.length, 1);
    await assert.rejects(async () => {
      const stream = await client.chat.completions.create({ ...chat, stream: true }, { headers: { 'x-sim-fault': 'malformed' } });
      for await (const chunk of stream) void chunk;
    });
  });
});

describe('faults of a broken upstream (what the gateway must not relay as an answer)', () => {
  const events = (text: string) => text.split('\n\n').filter((e) => e !== '');

  test('truncated: half the body (non-stream); half an event then a clean end (stream)', async () => {
    const whole = await (await post('/v1/chat/completions', chat, { 'x-sim-fault': 'truncated' })).text();
    const full = await (await post('/v1/chat/completions', chat)).text();
    assert.ok(whole.startsWith('{"id":"chatcmpl-sim-'), whole);
    assert.ok(Math.abs(whole.length - full.length / 2) < 4, `${whole.length} of ${full.length}`);
    assert.throws(() => JSON.parse(whole));
    const streamed = await (await post('/v1/chat/completions', { ...chat, stream: true }, { 'x-sim-fault': 'truncated' })).text();
    assert.equal(events(streamed).length, 2, 'the role chunk and the half event');
    assert.ok(!streamed.endsWith('\n\n') && !streamed.includes('[DONE]'));
  });

  test('invalid-json: an HTML page with 200, streamed or not', async () => {
    for (const stream of [false, true]) {
      const res = await post('/v1/chat/completions', { ...chat, stream }, { 'x-sim-fault': 'invalid-json' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html');
      assert.match(await res.text(), /^<html>/);
    }
  });

  test('end-after-n: n content chunks, then a clean end without finish_reason, usage or [DONE]', async () => {
    const text = await (await post('/v1/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } }, { 'x-sim-fault': 'end-after-2' })).text();
    assert.equal(events(text).length, 3);
    assert.ok(text.endsWith('\n\n'));
    assert.ok(!text.includes('"finish_reason":"') && !text.includes('[DONE]') && !text.includes('"usage":{'));
  });

  test('gzip: the body and the stream compressed, with content-encoding: gzip', async () => {
    const { gunzipSync } = await import('node:zlib');
    const { request } = await import('undici');
    for (const stream of [false, true]) {
      const res = await request(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': 'identity', 'x-sim-fault': 'gzip' },
        body: JSON.stringify({ ...chat, stream }),
      });
      assert.equal(res.headers['content-encoding'], 'gzip');
      const text = gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString();
      if (stream) assert.ok(text.endsWith('data: [DONE]\n\n'));
      else assert.equal((JSON.parse(text) as { object: string }).object, 'chat.completion');
    }
  });

  test('key-echo: 401 quoting the presented key; key-echo-stream: an error event quoting it after the role chunk', async () => {
    for (const stream of [false, true]) {
      const res = await post('/v1/chat/completions', { ...chat, stream }, { 'x-sim-fault': 'key-echo', authorization: 'Bearer sk-presented-1' });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { message: string; code: string } };
      assert.match(body.error.message, /^Incorrect API key provided: sk-presented-1\./);
      assert.equal(body.error.code, 'invalid_api_key');
    }
    const res = await post('/v1/chat/completions', { ...chat, model: 'sim-fault-key-echo-stream', stream: true }, { 'x-api-key': 'key-2' });
    assert.equal(res.status, 200);
    const last = events(await res.text()).at(-1) ?? '';
    assert.match(last, /^data: \{"error":\{"message":"Incorrect API key provided: key-2\./);
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('pacing and aborts', () => {
  test('a client abort mid-stream is counted and generation stops', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { ...chat, stream: true },
      { headers: { 'x-sim-tokens-per-second': '20' }, signal: controller.signal },
    );
    let received = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received++;
        if (received === 1) controller.abort();
      }
    } catch {
      // The SDK may end the iteration or throw on abort; either way the connection is gone.
    }
    assert.equal(received, 1);
    await waitFor('abort', () => sim.stats().aborted === 1);
    assert.deepEqual([sim.stats().inFlight, sim.stats().completed], [0, 0]);
  });

  test('ttft and tokens_per_second delay the answer (sim-slow-<ms> model)', async () => {
    const started = Date.now();
    await client.chat.completions.create({ ...chat, model: 'sim-slow-120' });
    assert.ok(Date.now() - started >= 110, 'ttft from the model name');
    const streamStart = Date.now();
    const stream = await client.chat.completions.create(
      { ...chat, stream: true, max_tokens: 4 },
      { headers: { 'x-sim-tokens-per-second': '50' } },
    );
    const arrivals: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(Date.now() - streamStart);
    assert.equal(arrivals.length, 4);
    // Lower bounds only: a busy machine can bunch arrivals together but never make them early.
    assert.ok(arrivals[3] >= 58, `the 4th token at 50/s comes >= 60ms after the 1st, got ${arrivals.join(',')}`);
  });

  test('backpressure: a large untimed stream arrives complete to a slow reader', async () => {
    const res = await post('/v1/chat/completions', { ...chat, stream: true }, { 'x-sim-completion-tokens': '200000', 'x-sim-chunk-tokens': '50' });
    const reader = res.body!.getReader();
    let bytes = 0;
    let tail = '';
    await sleep(100);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      tail = (tail + Buffer.from(value).toString()).slice(-200);
    }
    assert.ok(bytes > 1_000_000, `streamed ${bytes} bytes`);
    assert.ok(tail.endsWith('data: [DONE]\n\n'));
    await waitFor('completion', () => sim.stats().completed === 1);
  });
});

describe('wire format', () => {
  test('chat SSE bytes are exactly OpenAI-shaped', async () => {
    const res = await post('/v1/chat/completions', { ...chat, stream: true, max_tokens: 2, stream_options: { include_usage: true } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const text = await res.text();
    assert.match(text, /^(data: [^\n]+\n\n)+$/);
    const events = text.slice(0, -2).split('\n\n').map((e) => e.slice('data: '.length));
    assert.equal(events.pop(), '[DONE]');
    const chunks = events.map((e) => JSON.parse(e) as { id: string; created: number });
    const { id, created } = chunks[0];
    assert.match(id, /^chatcmpl-/);
    const common = { id, object: 'chat.completion.chunk', created, model: 'm', system_fingerprint: 'fp_switchyard_sim' };
    const choice = (delta: object, finish: string | null) => ({ ...common, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null });
    assert.deepEqual(chunks, [
      choice({ role: 'assistant', content: '', refusal: null }, null),
      choice({ content: 'The ' }, null),
      choice({ content: 'quick ' }, null),
      choice({}, 'length'),
      {
        ...common,
        choices: [],
        usage: {
          prompt_tokens: 1,
          completion_tokens: 2,
          total_tokens: 3,
          prompt_tokens_details: { cached_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      },
    ]);
  });

  test('sim stats and reset over HTTP', async () => {
    await post('/v1/embeddings', { model: 'e', input: 'x', dimensions: 2 });
    const stats = (await (await fetch(`${base}/sim/stats`)).json()) as { requests: number; byPath: Record<string, number> };
    assert.equal(stats.requests, 1);
    assert.deepEqual(stats.byPath, { '/v1/embeddings': 1 });
    assert.equal((await fetch(`${base}/sim/reset`, { method: 'POST' })).status, 200);
    assert.equal(sim.stats().requests, 0);
  });
});
