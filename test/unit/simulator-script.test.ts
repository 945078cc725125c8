// The simulator's fault script: rule order, counting (times/after), expiry, globs, delays, prompt-size rules,
// the HTTP control API (/sim/script) and the stats tests assert on. Error shapes per family: simulator-script-shapes.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ScriptRuleError, startSimulator, type RunningSimulator, type ScriptRule } from '../../src/simulator/server.js';
import { startSimulatorThread } from '../../src/simulator/thread.js';

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

const ask = (model: string, content = 'hi') => ({ model, messages: [{ role: 'user' as const, content }] });

/** The HTTP status a chat request to `model` ends with (200 or the error's). */
async function statusOf(model: string, content?: string): Promise<number> {
  try {
    await client.chat.completions.create(ask(model, content));
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError && err.status !== undefined) return err.status;
    throw err;
  }
}

async function statuses(model: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push(await statusOf(model));
  return seen;
}

function control(method: string, body?: unknown, path = '/sim/script'): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('rules', () => {
  test('first match wins, in order; a model the rules do not name answers normally', async () => {
    sim.script([{ model: 'a', status: 503 }, { model: '*', error: 'rate_limit' }]);
    assert.equal(await statusOf('a'), 503);
    assert.equal(await statusOf('b'), 429);
    sim.script([{ model: 'a', status: 503 }]);
    assert.equal(await statusOf('b'), 200);
  });

  test('after skips the first N matching requests, times applies to the next N, then the rule expires', async () => {
    sim.script([{ model: 'm', after: 2, times: 3, status: 503 }]);
    assert.deepEqual(await statuses('m', 7), [200, 200, 503, 503, 503, 200, 200]);
    assert.deepEqual(sim.scriptState(), [{ rule: { model: 'm', after: 2, times: 3, status: 503 }, remaining: 0, skip_remaining: 0, matched: 5, applied: 3 }]);
    assert.equal(await statusOf('other'), 200);
    assert.equal(sim.scriptState()[0].matched, 5);
  });

  test('a 503 storm that starts and stops: a rule still skipping or expired lets the next rule apply', async () => {
    sim.script([{ model: 'm', after: 1, times: 2, error: 'unavailable' }, { model: 'm', times: 1, error: 'server_error' }]);
    // 1st: rule 0 skips it, rule 1 applies (500); 2nd, 3rd: rule 0 (503); then both expired.
    assert.deepEqual(await statuses('m', 5), [500, 503, 503, 200, 200]);
  });

  test('a rule without an action lets its requests through and shields them from later rules', async () => {
    sim.script([{ model: 'healthy' }, { model: '*', status: 500 }]);
    assert.equal(await statusOf('healthy'), 200);
    assert.equal(await statusOf('sick'), 500);
  });

  test('model globs: * matches any run of characters; other characters are literal', async () => {
    sim.script([{ model: 'gpt-4o*', status: 500 }, { model: '*-haiku', status: 502 }, { model: 'a.b', status: 504 }]);
    assert.equal(await statusOf('gpt-4o'), 500);
    assert.equal(await statusOf('gpt-4o-mini'), 500);
    assert.equal(await statusOf('gpt-4'), 200);
    assert.equal(await statusOf('claude-3-5-haiku'), 502);
    assert.equal(await statusOf('claude-3-5-haiku-x'), 200);
    assert.equal(await statusOf('a.b'), 504);
    assert.equal(await statusOf('axb'), 200);
  });

  test('path prefix: only requests under it', async () => {
    sim.script([{ path: '/v1/embeddings', status: 500 }]);
    assert.equal(await statusOf('m'), 200);
    await assert.rejects(client.embeddings.create({ model: 'e', input: 'x' }), (err: unknown) => err instanceof OpenAI.InternalServerError);
  });

  test('script([]) and reset() clear the script; GET /v1/models is matched by a rule without a model', async () => {
    sim.script([{ status: 500 }]);
    assert.equal((await fetch(`${base}/v1/models`)).status, 500);
    sim.script([]);
    assert.equal(await statusOf('m'), 200);
    sim.script([{ status: 500 }]);
    sim.reset();
    assert.deepEqual(sim.scriptState(), []);
    assert.equal(await statusOf('m'), 200);
  });

  test('an invalid rule throws ScriptRuleError naming the field, and the old script stays', () => {
    sim.script([{ model: 'kept', status: 500 }]);
    const invalid: Array<[unknown, RegExp]> = [
      [[{ times: 0 }], /rules\[0\]\.times must be an integer >= 1, got 0/],
      [[{}, { stauts: 503 }], /rules\[1\] has an unknown field 'stauts'/],
      [[{ error: 'teapot' }], /rules\[0\]\.error must be one of rate_limit, insufficient_quota/],
      [[{ status: 200 }], /rules\[0\]\.status must be an HTTP error status/],
      [[{ fault: 'explode' }], /rules\[0\]\.fault 'explode' is not a simulator fault/],
      [[{ fault: 'stall-headers', status: 500 }], /a fault and an error/],
      [[{ error: 'context_length' }], /context_length needs max_prompt_tokens/],
      [[{ ttft_ms: 10, retry_after_s: 1 }], /retry_after_s needs an error/],
      [[{ model: '' }], /rules\[0\]\.model must be a non-empty string/],
      [[{ path: 'v1' }], /rules\[0\]\.path must be a path prefix/],
      [['x'], /rules\[0\] must be an object/],
    ];
    for (const [rules, message] of invalid) {
      assert.throws(() => sim.script(rules as ScriptRule[]), (err: unknown) => err instanceof ScriptRuleError && message.test(err.message), String(message));
    }
    assert.deepEqual(sim.scriptState().map((s) => s.rule), [{ model: 'kept', status: 500 }]);
  });
});

describe('actions', () => {
  test('ttft_ms alone delays the answer, which is otherwise normal; with an error it delays the error', async () => {
    sim.script([{ model: 'slow', ttft_ms: 300 }, { model: 'slow-fail', ttft_ms: 200, status: 503 }]);
    let started = performance.now();
    const res = await client.chat.completions.create(ask('slow'));
    assert.ok(performance.now() - started >= 290, `answered after ${performance.now() - started} ms`);
    assert.equal(res.choices[0].finish_reason, 'stop');
    assert.equal(res.usage?.completion_tokens, 16);
    started = performance.now();
    assert.equal(await statusOf('slow-fail'), 503);
    assert.ok(performance.now() - started >= 190);
  });

  test('ttft_ms delays the first streamed byte', async () => {
    sim.script([{ model: 'slow', ttft_ms: 250 }]);
    const started = performance.now();
    const stream = await client.chat.completions.create({ ...ask('slow'), stream: true });
    let firstAt = 0;
    let text = '';
    for await (const chunk of stream) {
      if (firstAt === 0) firstAt = performance.now();
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.ok(firstAt - started >= 240, `first chunk after ${firstAt - started} ms`);
    assert.equal(text.split(' ').filter(Boolean).length, 16);
  });

  test('ttft_ms on a path-model endpoint (Gemini plans again from its path model; the rule still wins)', async () => {
    sim.script([{ model: 'gemini-slow', ttft_ms: 250 }]);
    const started = performance.now();
    const res = await fetch(`${base}/v1beta/models/gemini-slow:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'k' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.ok(performance.now() - started >= 240, `answered after ${performance.now() - started} ms`);
  });

  test('max_prompt_tokens refuses only the larger prompt, quoting its tokens as the simulator counts them', async () => {
    sim.script([{ model: 'small-window', max_prompt_tokens: 10 }]);
    const long = 'x'.repeat(100);
    assert.equal(await statusOf('small-window', 'short prompt'), 200);
    await assert.rejects(client.chat.completions.create(ask('small-window', long)), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.code, 'context_length_exceeded');
      assert.equal(err.param, 'messages');
      assert.match(err.message, /This model's maximum context length is 10 tokens\. However, your messages resulted in 25 tokens\./);
      return true;
    });
    const counted = await client.chat.completions.create(ask('other', long));
    assert.equal(counted.usage?.prompt_tokens, 25);
    const [state] = sim.scriptState();
    assert.equal(state.matched, 1, 'the short prompt did not match');
  });

  test('a fault in a rule: reset-after-2 for one stream, then normal streams', async () => {
    sim.script([{ model: 'flaky', times: 1, fault: 'reset-after-2' }]);
    const pieces: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of await client.chat.completions.create({ ...ask('flaky'), stream: true })) {
        const piece = chunk.choices[0]?.delta.content;
        if (piece) pieces.push(piece);
      }
    });
    assert.equal(pieces.length, 2);
    let whole = '';
    for await (const chunk of await client.chat.completions.create({ ...ask('flaky'), stream: true })) whole += chunk.choices[0]?.delta.content ?? '';
    assert.equal(whole.split(' ').filter(Boolean).length, 16);
  });

  test('fault status-<n> in a rule is the same as status: the family-shaped error', async () => {
    sim.script([{ model: 'm', fault: 'status-429', retry_after_s: 3 }]);
    await assert.rejects(client.chat.completions.create(ask('m')), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.equal(err.headers.get('retry-after'), '3');
      return true;
    });
  });

  test('stall-headers in a rule: the client gives up, the simulator counts the request as aborted', async () => {
    sim.script([{ model: 'stuck', fault: 'stall-headers' }]);
    await assert.rejects(client.chat.completions.create(ask('stuck'), { timeout: 200 }), (err: unknown) => err instanceof OpenAI.APIConnectionTimeoutError);
    const deadline = Date.now() + 2000;
    while (sim.stats().aborted === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sim.stats().aborted, 1);
  });
});

describe('HTTP control: /sim/script', () => {
  test('PUT sets the script, GET shows remaining counts, DELETE clears; none of them is counted in stats', async () => {
    const put = await control('PUT', { rules: [{ model: 'm', times: 2, error: 'overloaded' }] });
    assert.equal(put.status, 200);
    assert.deepEqual(await put.json(), { rules: [{ rule: { model: 'm', times: 2, error: 'overloaded' }, remaining: 2, skip_remaining: 0, matched: 0, applied: 0 }] });
    assert.equal(await statusOf('m'), 503);
    const got = (await (await control('GET')).json()) as { rules: Array<{ remaining: number; applied: number }> };
    assert.deepEqual([got.rules[0].remaining, got.rules[0].applied], [1, 1]);
    const cleared = await control('DELETE');
    assert.deepEqual(await cleared.json(), { rules: [] });
    assert.equal(await statusOf('m'), 200);
    assert.deepEqual(sim.stats().byPath, { '/v1/chat/completions': 2 });
  });

  test('an invalid rule is a 400 naming the rule and field; the old script stays', async () => {
    await control('PUT', { rules: [{ model: 'kept', status: 500 }] });
    const bad = await control('PUT', { rules: [{ model: 'x' }, { times: -1 }] });
    assert.equal(bad.status, 400);
    const error = ((await bad.json()) as { error: { message: string; param: string; code: string } }).error;
    assert.equal(error.param, 'rules[1].times');
    assert.match(error.message, /rules\[1\]\.times must be an integer >= 1, got -1/);
    assert.equal(error.code, 'invalid_value');
    for (const body of ['{"rules":', '[]', '{"rule":[]}', '{"rules":{}}']) {
      const res = await control('PUT', body);
      assert.equal(res.status, 400, body);
      await res.arrayBuffer();
    }
    assert.deepEqual(sim.scriptState().map((s) => s.rule), [{ model: 'kept', status: 500 }]);
    const wrongMethod = await control('POST', { rules: [] });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET, PUT, DELETE');
  });

  test('POST /sim/reset clears the script as well as the stats', async () => {
    await control('PUT', { rules: [{ status: 500 }] });
    await (await control('POST', undefined, '/sim/reset')).arrayBuffer();
    assert.deepEqual(await (await control('GET')).json(), { rules: [] });
  });

  test('a simulator thread is scripted over HTTP', async () => {
    const thread = await startSimulatorThread();
    try {
      const url = `http://127.0.0.1:${thread.port}`;
      const put = await fetch(`${url}/sim/script`, { method: 'PUT', body: JSON.stringify({ rules: [{ model: 'm', times: 1, error: 'insufficient_quota' }] }) });
      assert.equal(put.status, 200);
      await put.arrayBuffer();
      const threadClient = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
      await assert.rejects(threadClient.chat.completions.create(ask('m')), (err: unknown) => err instanceof OpenAI.RateLimitError && err.code === 'insufficient_quota');
      const res = await threadClient.chat.completions.create(ask('m'));
      assert.equal(res.choices[0].finish_reason, 'stop');
    } finally {
      await thread.stop();
    }
  });
});

describe('stats for scripted tests', () => {
  test('byModel counts requests per model as rules match it: the body model, or the path model', async () => {
    await client.chat.completions.create(ask('a'));
    await client.chat.completions.create(ask('a'));
    await client.chat.completions.create(ask('b'));
    const gemini = await fetch(`${base}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'k' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    await gemini.arrayBuffer();
    await (await fetch(`${base}/v1/models`)).arrayBuffer();
    const stats = sim.stats();
    assert.deepEqual(stats.byModel, { a: 2, b: 1, 'gemini-2.5-flash': 1 });
    assert.equal(stats.last.at(-2)?.model, 'gemini-2.5-flash');
  });

  test('keep_requests sizes the ring of recorded requests (default 50), with the exact bodies', async () => {
    for (let i = 0; i < 60; i++) await client.chat.completions.create(ask('m', `n${i}`));
    assert.equal(sim.stats().last.length, 50);
    const big = await startSimulator({ keep_requests: 200 });
    try {
      const bigClient = new OpenAI({ baseURL: `http://127.0.0.1:${big.port}/v1`, apiKey: 'x', maxRetries: 0 });
      for (let i = 0; i < 150; i++) await bigClient.chat.completions.create({ ...ask(i % 10 === 0 ? 'probe' : 'm', `n${i}`), max_tokens: 1 });
      const last = big.stats().last;
      assert.equal(last.length, 150);
      const probes = last.filter((r) => r.model === 'probe');
      assert.equal(probes.length, 15);
      assert.deepEqual(probes[0].body, { model: 'probe', messages: [{ role: 'user', content: 'n0' }], max_tokens: 1 });
    } finally {
      await big.close();
    }
    await assert.rejects(startSimulator({ keep_requests: 0 }), /keep_requests must be an integer >= 1/);
  });
});
