// Observability stages on synthetic request contexts: metric updates, audit record shape, stream reassembly, backpressure.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { parseConfig } from '../../src/config/load.js';
import { compileRoutes } from '../../src/config/compile.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { createContext, type RequestContext } from '../../src/pipeline/context.js';
import type { ChunkEvent, Stage, ThreadHost } from '../../src/pipeline/stage.js';
import { GatewayError } from '../../src/shared/errors.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import { batchLines, type AuditBatch } from '../../src/observability/audit-sink.js';
import { newBackpressureFlag } from '../../src/observability/audit-dispatcher.js';
import { noteCost, noteGuardVerdict, noteRateLimitRejection } from '../../src/pipeline/observations.js';
import { StreamReassembler } from '../../src/observability/stream-reassembly.js';
import { metricsMessage, startThreadObservability } from '../../src/observability/thread-stages.js';
import { AuditBatchReceiver, auditMessage, auditSlotsMessage, type AuditBatchMessage, type AuditSlotsAnnouncement } from '../../src/observability/audit-channel.js';

function config(extra = ''): SwitchyardConfig {
  return parseConfig(
    `
providers:
  - name: sim
    base_url: http://127.0.0.1:1/v1
    api_key: sk-provider-secret-123
models:
  - name: gpt-4o-mini
    provider: sim
    model: sim-mini
${extra}`,
    'test.yaml',
  );
}

function context(cfg: SwitchyardConfig, opts: { model?: string; stream?: boolean; body?: Record<string, unknown> } = {}): RequestContext {
  const model = opts.model ?? 'gpt-4o-mini';
  const json = opts.body ?? { model, messages: [{ role: 'user', content: 'hello there' }], stream: opts.stream ?? false };
  const ctx = createContext(
    {
      method: 'POST',
      path: '/v1/chat/completions',
      query: '',
      headers: { authorization: 'Bearer sk-client-secret-456', 'user-agent': 'OpenAI/JS 6', 'content-type': 'application/json' },
      remoteAddress: '10.1.2.3',
    },
    Buffer.from(JSON.stringify(json)),
    'chat.completions',
  );
  return Object.assign(ctx, { json, model, stream: opts.stream ?? false, key: { id: 'key_1', name: 'team-a' } });
}

class FakeThreadHost implements ThreadHost {
  readonly threadIndex = 0;
  readonly threadCount = 1;
  readonly sent: Array<{ type: string; payload: unknown }> = [];
  readonly handlers = new Map<string, (payload: unknown) => unknown>();
  /** Audit batches as the main thread receives them, copied (a slot is free again once delivered). */
  readonly batches: AuditBatch[] = [];
  private readonly receiver = new AuditBatchReceiver();
  send(type: string, payload: unknown): void {
    this.sent.push({ type, payload: structuredClone(payload) });
    if (type === auditSlotsMessage) this.receiver.announce(payload as AuditSlotsAnnouncement, 0);
    else if (type === auditMessage) this.receiver.deliver(payload as AuditBatchMessage, (b) => this.batches.push({ count: b.count, data: new Uint8Array(b.data) }));
  }
  on(type: string, handler: (payload: unknown) => unknown): void {
    this.handlers.set(type, handler);
  }
  records(): AuditRecord[] {
    return this.lines().map((l) => JSON.parse(l) as AuditRecord);
  }
  lines(): string[] {
    return this.batches.flatMap((b) => batchLines(b));
  }
}

function setup(extra = '') {
  const cfg = config(extra);
  const host = new FakeThreadHost();
  const flag = newBackpressureFlag();
  const obs = startThreadObservability(cfg, { auditBackpressure: flag }, host);
  const [gate, recorder] = obs.stages as [Stage, Stage];
  const deployment = compileRoutes(cfg).byModel.get('gpt-4o-mini');
  const metricsJson = async () => (await host.handlers.get(metricsMessage)!(null)) as MetricObjectWithValues<MetricValue<string>>[];
  return { cfg, host, flag, obs, gate, recorder, deployment, metricsJson };
}

type Env = ReturnType<typeof setup>;

/** Runs a request through both stages the way the handler does; `between` runs while waiting for the first token. */
async function runRequest(env: Env, ctx: RequestContext, finish: (ctx: RequestContext) => void, events: ChunkEvent[] = []): Promise<void> {
  env.gate.onRequest?.(ctx);
  ctx.deployment = env.deployment;
  env.recorder.onRequest?.(ctx);
  const filter = env.recorder.responseFilter?.(ctx);
  ctx.result.attempts++;
  env.recorder.onUpstreamStart?.(ctx);
  for (const e of events) filter?.onEvent?.(e);
  finish(ctx);
  env.recorder.onComplete?.(ctx);
  await settle();
}

/** Lets the deferred recording (microtask) and the batched send (≤ 10 ms later) happen. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 25));
}

function valueOf(metrics: MetricObjectWithValues<MetricValue<string>>[], name: string, labels: Record<string, string> = {}): number {
  const base = name.replace(/_(sum|count|bucket)$/, '');
  const metric = metrics.find((m) => m.name === name) ?? metrics.find((m) => m.name === base);
  assert.ok(metric, `metric ${name} exists`);
  return metric.values
    .filter((v) => metric.name === name || (v as { metricName?: string }).metricName === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

function okStream(ctx: RequestContext, ttftMs: number, durationMs: number, usage = { promptTokens: 12, completionTokens: 30, totalTokens: 42, cachedTokens: 4, cacheWriteTokens: 0, reasoningTokens: 0 }) {
  ctx.result.status = 200;
  ctx.result.outcome = 'ok';
  ctx.result.ttftMs = ttftMs;
  ctx.result.durationMs = durationMs;
  ctx.result.upstreamMs = durationMs - 2;
  ctx.result.usage = usage;
  ctx.result.responseModel = 'sim-mini-2024';
}

describe('metrics', () => {
  test('waiting-for-first-token and in-flight rise and fall with the request', async () => {
    const env = setup();
    const ctx = context(env.cfg, { stream: true });
    env.gate.onRequest?.(ctx);
    ctx.deployment = env.deployment;
    env.recorder.onRequest?.(ctx);
    env.recorder.onUpstreamStart?.(ctx);
    env.recorder.onUpstreamStart?.(ctx); // a retry of an attempt that produced nothing counts once
    let m = await env.metricsJson();
    assert.equal(valueOf(m, 'switchyard_waiting_first_token'), 1);
    assert.equal(valueOf(m, 'switchyard_in_flight_requests'), 1);
    env.recorder.onFirstToken?.(ctx);
    m = await env.metricsJson();
    assert.equal(valueOf(m, 'switchyard_waiting_first_token'), 0);
    assert.equal(valueOf(m, 'switchyard_in_flight_requests'), 1);
    okStream(ctx, 50, 300);
    env.recorder.onComplete?.(ctx);
    await settle();
    m = await env.metricsJson();
    assert.equal(valueOf(m, 'switchyard_in_flight_requests'), 0);
    await env.obs.close();
  });

  test('a request that fails before its first token still lowers the waiting gauge', async () => {
    const env = setup();
    const ctx = context(env.cfg, { stream: true });
    await runRequest(env, ctx, (c) => {
      c.result.status = 502;
      c.result.outcome = 'upstream_error';
      c.result.error = { type: 'api_error', code: 'upstream_connect_error', message: 'refused' };
      c.result.durationMs = 5;
    });
    const m = await env.metricsJson();
    assert.equal(valueOf(m, 'switchyard_waiting_first_token'), 0);
    assert.equal(valueOf(m, 'switchyard_upstream_errors_total', { provider: 'sim', reason: 'upstream_connect_error' }), 1);
    assert.equal(valueOf(m, 'switchyard_requests_total', { status: '502' }), 1);
    assert.equal(valueOf(m, 'gen_ai_server_request_duration_seconds', { error_type: 'upstream_connect_error' }) > 0, true);
    await env.obs.close();
  });

  test('completed stream: requests, tokens, cost, TTFT, duration, overhead, GenAI labels', async () => {
    const env = setup();
    for (let i = 0; i < 3; i++) {
      const ctx = context(env.cfg, { stream: true });
      await runRequest(env, ctx, (c) => {
        okStream(c, 40 + i, 400);
        noteCost(c, 0.25);
      });
    }
    const m = await env.metricsJson();
    const key = { model: 'gpt-4o-mini', provider: 'sim', deployment: 'sim/sim-mini', key: 'key_1' };
    assert.equal(valueOf(m, 'switchyard_requests_total', { ...key, status: '200' }), 3);
    assert.equal(valueOf(m, 'switchyard_tokens_total', { ...key, type: 'input' }), 36);
    assert.equal(valueOf(m, 'switchyard_tokens_total', { ...key, type: 'output' }), 90);
    assert.equal(valueOf(m, 'switchyard_tokens_total', { ...key, type: 'cached' }), 12);
    assert.equal(valueOf(m, 'switchyard_cost_usd_total', key), 0.75);
    const gen = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'sim', gen_ai_request_model: 'gpt-4o-mini', gen_ai_response_model: 'sim-mini-2024' };
    assert.equal(valueOf(m, 'gen_ai_client_token_usage_sum', { ...gen, gen_ai_token_type: 'input' }), 36);
    assert.equal(valueOf(m, 'gen_ai_client_token_usage_count', { ...gen, gen_ai_token_type: 'output' }), 3);
    assert.equal(valueOf(m, 'gen_ai_server_time_to_first_token_seconds_count', gen), 3);
    assert.ok(Math.abs(valueOf(m, 'gen_ai_server_time_to_first_token_seconds_sum', gen) - 0.123) < 1e-9);
    // 0.04s, 0.041s, 0.042s all fall in the 0.06 bucket but not the 0.04 one... except the first.
    assert.equal(valueOf(m, 'gen_ai_server_time_to_first_token_seconds_bucket', { ...gen, le: '0.04' }), 1);
    assert.equal(valueOf(m, 'gen_ai_server_time_to_first_token_seconds_bucket', { ...gen, le: '0.06' }), 3);
    assert.equal(valueOf(m, 'gen_ai_server_time_per_output_token_seconds_count', gen), 3);
    assert.equal(valueOf(m, 'gen_ai_server_request_duration_seconds_count', { ...gen, error_type: '__none__' }), 3);
    assert.equal(valueOf(m, 'switchyard_overhead_seconds_count'), 3);
    assert.ok(Math.abs(valueOf(m, 'switchyard_overhead_seconds_sum') - 0.006) < 1e-9);
    await env.obs.close();
  });

  test('requests that alternate keys and response models on one deployment are counted under their own labels', async () => {
    const env = setup();
    const keys = [{ id: 'key_1', name: 'team-a' }, { id: 'key_2', name: 'team-b' }];
    for (let i = 0; i < 12; i++) {
      const ctx = context(env.cfg, { stream: true });
      ctx.key = { ...keys[i % 2] }; // a key object per request, as the limits stage makes them
      await runRequest(env, ctx, (c) => {
        okStream(c, 10, 50);
        if (i % 4 === 0) c.result.responseModel = 'sim-mini-2025';
      });
    }
    const m = await env.metricsJson();
    assert.equal(valueOf(m, 'switchyard_requests_total', { key: 'key_1', status: '200' }), 6);
    assert.equal(valueOf(m, 'switchyard_requests_total', { key: 'key_2', status: '200' }), 6);
    // i = 0, 4, 8, all with the first key.
    assert.equal(valueOf(m, 'gen_ai_client_token_usage_count', { gen_ai_response_model: 'sim-mini-2025', gen_ai_token_type: 'input' }), 3);
    assert.equal(valueOf(m, 'gen_ai_client_token_usage_count', { gen_ai_response_model: 'sim-mini-2024', gen_ai_token_type: 'input' }), 9);
    assert.equal(valueOf(m, 'switchyard_tokens_total', { key: 'key_2', type: 'output' }), 6 * 30);
    await env.obs.close();
  });

  test('labels stay bounded: unknown models, key label off, rate-limit scope and guard verdicts', async () => {
    const env = setup('metrics:\n  key_label: "off"\n');
    const ctx = context(env.cfg, { model: 'user-made-up-model-xyz' });
    env.gate.onRequest?.(ctx);
    ctx.result.status = 404;
    ctx.result.outcome = 'client_error';
    env.recorder.onComplete?.(ctx);
    const limited = context(env.cfg);
    env.gate.onRequest?.(limited);
    noteRateLimitRejection(limited, 'key');
    noteGuardVerdict(limited, { guard: 'prompt_injection', action: 'block' });
    limited.result.status = 429;
    limited.result.outcome = 'client_error';
    env.recorder.onComplete?.(limited);
    await settle();
    const m = await env.metricsJson();
    const text = JSON.stringify(m);
    assert.ok(!text.includes('user-made-up-model-xyz'), 'a model name a client made up never becomes a label');
    assert.ok(!text.includes('key_1'), 'key label is off');
    assert.equal(valueOf(m, 'switchyard_requests_total', { model: '__none__', status: '404' }), 1);
    assert.equal(valueOf(m, 'switchyard_ratelimit_rejections_total', { scope: 'key' }), 1);
    assert.equal(valueOf(m, 'switchyard_guardrail_actions_total', { guard: 'prompt_injection', action: 'block' }), 1);
    assert.equal(valueOf(m, 'switchyard_in_flight_requests'), 0);
    await env.obs.close();
  });
});

describe('audit record', () => {
  test('non-stream: metadata and both bodies, no Authorization or provider key anywhere', async () => {
    const env = setup();
    const ctx = context(env.cfg);
    const answer = { id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] };
    await runRequest(env, ctx, (c) => {
      assert.equal(c.keepResponseBody, true, 'bodies on: the stage asks the relay to keep the body');
      okStream(c, 100, 120);
      c.result.responseBody = Buffer.from(JSON.stringify(answer));
      noteCost(c, 0.5);
      noteGuardVerdict(c, { guard: 'pii', action: 'redact' });
    });
    const records = env.host.records();
    assert.equal(records.length, 1);
    const r = records[0];
    assert.equal(r.request_id, ctx.id);
    assert.deepEqual(r.key, { id: 'key_1', name: 'team-a' });
    assert.equal(r.client_ip, '10.1.2.3');
    assert.equal(r.model, 'gpt-4o-mini');
    assert.deepEqual(r.deployment, { name: 'gpt-4o-mini', id: 'sim/sim-mini', provider: 'sim', upstream_model: 'sim-mini' });
    assert.equal(r.status, 200);
    assert.equal(r.attempts, 1);
    assert.equal(r.ttft_ms, 100);
    assert.equal(r.duration_ms, 120);
    assert.deepEqual(r.usage, { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, cached_tokens: 4, cache_write_tokens: 0, reasoning_tokens: 0 });
    assert.equal(r.cost_usd, 0.5);
    assert.equal(r.client_dialect, 'openai-chat');
    assert.equal(r.provider_type, 'openai');
    assert.deepEqual(r.guard_verdicts, [{ guard: 'pii', action: 'redact' }]);
    assert.equal(r.bodies, true);
    assert.deepEqual(r.request_body, ctx.json);
    assert.deepEqual(r.response_body, answer);
    assert.match(r.time, /^\d{4}-\d\d-\d\dT/);
    assert.match(r.record_id, /^[0-9a-f-]{36}$/);
    const text = JSON.stringify(records);
    assert.ok(!/authorization/i.test(text), 'no Authorization header');
    assert.ok(!text.includes('sk-client-secret-456'), 'no client key');
    assert.ok(!text.includes('sk-provider-secret-123'), 'no provider key');
    await env.obs.close();
  });

  test('a pretty-printed request body stays one JSONL line; a changed (redacted) body is recorded as changed', async () => {
    const env = setup();
    const ctx = context(env.cfg);
    const pretty = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'line one\nline two' }] }, null, 2);
    Object.assign(ctx, { rawBody: Buffer.from(pretty), body: Buffer.from(pretty), json: JSON.parse(pretty) as Record<string, unknown> });
    await runRequest(env, ctx, (c) => {
      okStream(c, 1, 2);
      c.result.responseBody = Buffer.from('{\n  "id": "x"\n}');
    });
    const redacted = context(env.cfg);
    redacted.json = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'mail <EMAIL_1>' }] };
    redacted.body = Buffer.from(JSON.stringify(redacted.json));
    await runRequest(env, redacted, (c) => {
      okStream(c, 1, 2);
      c.result.responseBody = Buffer.from('upstream said: not json');
    });
    const lines = env.host.lines();
    assert.equal(lines.length, 2);
    for (const line of lines) assert.ok(!line.includes('\n'), 'one line per record');
    const [first, second] = lines.map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(first.request_body, JSON.parse(pretty));
    assert.equal((first.request_body as { messages: Array<{ content: string }> }).messages[0].content, 'line one\nline two');
    assert.deepEqual(first.response_body, { id: 'x' });
    assert.deepEqual(second.request_body, redacted.json, 'what was forwarded, not the raw client text');
    assert.equal(second.response_body, 'upstream said: not json', 'a non-JSON body is kept as a string');
    await env.obs.close();
  });

  test('bodies off per model and per key', async () => {
    const env = setup('audit:\n  bodies_off_models: [gpt-4o-mini]\n');
    const ctx = context(env.cfg);
    await runRequest(env, ctx, (c) => okStream(c, 1, 2));
    assert.equal(ctx.keepResponseBody, false);
    const env2 = setup('audit:\n  bodies_off_keys: [team-a]\n');
    await runRequest(env2, context(env2.cfg, { stream: true }), (c) => okStream(c, 1, 2));
    const records = [...env.host.records(), ...env2.host.records()];
    assert.equal(records.length, 2);
    for (const r of records) {
      assert.equal(r.bodies, false);
      assert.equal(r.request_body, null);
      assert.equal(r.response_body, null);
      assert.equal(r.status, 200);
    }
    await env.obs.close();
    await env2.obs.close();
  });

  test('streamed response is reassembled into the record', async () => {
    const env = setup();
    const ctx = context(env.cfg, { stream: true });
    const events = chunks(['Hel', 'lo'], true).map(toEvent);
    await runRequest(env, ctx, (c) => okStream(c, 5, 10), events);
    const [r] = env.host.records();
    const body = r.response_body as { choices: Array<{ message: { content: string } }> };
    assert.equal(body.choices[0].message.content, 'Hello');
    // No limits feature noted a cost: priced from the shipped table (gpt-4o-mini: 0.15 / 0.075 cached / 0.6 per 1M).
    assert.ok(Math.abs((r.cost_usd ?? 0) - (8 * 0.15 + 4 * 0.075 + 30 * 0.6) / 1e6) < 1e-12, `cost ${r.cost_usd}`);
    await env.obs.close();
  });

  test('block policy: a raised backpressure flag refuses new requests with 503', async () => {
    const env = setup('audit:\n  queue:\n    policy: block\n');
    new Int32Array(env.flag)[0] = 1;
    const ctx = context(env.cfg);
    assert.throws(
      () => env.gate.onRequest?.(ctx),
      (err: unknown) => err instanceof GatewayError && err.status === 503 && err.code === 'audit_backpressure',
    );
    new Int32Array(env.flag)[0] = 0;
    env.gate.onRequest?.(context(env.cfg));
    await env.obs.close();
  });
});

function toEvent(json: Record<string, unknown> | undefined): ChunkEvent {
  return { data: json === undefined ? '[DONE]' : JSON.stringify(json), json };
}

function chunks(parts: string[], withTools: boolean): Array<Record<string, unknown> | undefined> {
  const base = { id: 'chatcmpl-9', object: 'chat.completion.chunk', model: 'sim-mini' };
  const out: Array<Record<string, unknown> | undefined> = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
  ];
  for (const p of parts) out.push({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
  if (withTools) {
    out.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_', arguments: '' } }] } }] });
    out.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'weather', arguments: '{"city":' } }] } }] });
    out.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } }] } }] });
    out.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }] });
  }
  out.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: withTools ? 'tool_calls' : 'stop' }] });
  out.push({ ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
  out.push(undefined);
  return out;
}

describe('access log', () => {
  test('one JSON line per request, level by status, no headers or keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-access-'));
    try {
      const env = setup(`data_dir: ${dir}\nlogging:\n  level: warn\n  access_log: true\n  access_log_file: access.jsonl\n`);
      await runRequest(env, context(env.cfg), (c) => okStream(c, 1, 2));
      await runRequest(env, context(env.cfg), (c) => {
        c.result.status = 502;
        c.result.outcome = 'upstream_error';
        c.result.error = { type: 'api_error', code: 'upstream_error', message: 'boom' };
        c.result.durationMs = 3;
      });
      await runRequest(env, context(env.cfg), (c) => {
        c.result.status = 429;
        c.result.outcome = 'client_error';
        c.result.durationMs = 1;
      });
      await env.obs.close();
      const lines = readFileSync(join(dir, 'access.jsonl'), 'utf8').trim().split('\n');
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(entries.map((e) => [e.level, e.status]), [['error', 502], ['warn', 429]], 'the 200 is below level warn');
      assert.equal(entries[0].error_code, 'upstream_error');
      assert.equal(entries[0].model, 'gpt-4o-mini');
      assert.ok(!/authorization|sk-client-secret/i.test(lines.join('\n')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stream reassembly', () => {
  test('text and interleaved tool-call deltas become one final message; events pass unchanged', () => {
    const r = new StreamReassembler();
    assert.equal(r.mutates, false);
    for (const json of chunks(['The ', 'answer', ' is 42.'], true)) {
      const e = toEvent(json);
      assert.equal(r.onEvent(e), e, 'the same event object passes through');
    }
    assert.deepEqual(r.result(), {
      id: 'chatcmpl-9',
      object: 'chat.completion',
      model: 'sim-mini',
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'The answer is 42.',
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } },
            ],
          },
        },
      ],
    });
  });

  test('n > 1 choices and legacy completions text', () => {
    const r = new StreamReassembler();
    r.onEvent(toEvent({ id: 'x', choices: [{ index: 1, delta: { content: 'B' } }, { index: 0, delta: { content: 'A' } }] }));
    r.onEvent(toEvent({ id: 'x', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: 'stop' }, { index: 1, delta: {}, finish_reason: 'length' }] }));
    const res = r.result();
    assert.deepEqual(res.choices.map((c) => [c.index, c.message.content, c.finish_reason]), [[0, 'Aa', 'stop'], [1, 'B', 'length']]);

    const legacy = new StreamReassembler();
    legacy.onEvent(toEvent({ id: 'cmpl-1', object: 'text_completion', choices: [{ index: 0, text: 'foo' }] }));
    legacy.onEvent(toEvent({ id: 'cmpl-1', object: 'text_completion', choices: [{ index: 0, text: 'bar', finish_reason: 'stop' }] }));
    assert.equal(legacy.result().object, 'text_completion');
    assert.equal(legacy.result().choices[0].message.content, 'foobar');
  });
});
