import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peekObservations } from '../../src/pipeline/observations.js';
import { parseConfig } from '../../src/config/load.js';
import type { SwitchyardConfig } from '../../src/config/types.js';
import { createContext, type RequestContext } from '../../src/pipeline/context.js';
import type { Deployment } from '../../src/config/compile.js';
import { GatewayError } from '../../src/shared/errors.js';
import { GuardEngine } from '../../src/guards/engine.js';
import { checkGuardPatterns, engineSetup, guardsFeature, smallLaneOf } from '../../src/guards/feature.js';
import { createGuardsStage, type GuardsRequestState } from '../../src/guards/request-stage.js';
import { GuardSelector } from '../../src/guards/select.js';
import { TokenCounter } from '../../src/guards/tokenizer.js';
import type { AnalysisSpec, RequestAnalysis } from '../../src/guards/request-analysis.js';
import { PoolCapacityError, type GuardPool } from '../../src/pool/guard-pool.js';
import type { ChunkEvent } from '../../src/pipeline/stage.js';

const yaml = `
tokenizer: { enabled: true }
providers: [{ name: sim, base_url: "http://127.0.0.1:1" }]
models: [{ name: gpt-4o, provider: sim }, { name: legacy, provider: sim, model: gpt-4 }, { name: open, provider: sim }]
guards:
  prompt:
    - name: no-weapons
      models: ["gpt-*", legacy]
      deny: ['\\bbuild\\b.*\\b(bomb|explosive)s?\\b', '(a+)+$']
    - name: only-support
      keys: [support-key]
      allow: ['(?i)order|invoice|refund']
      scope: conversation
    - name: polite-refusal
      models: [open]
      deny: ['forbidden topic']
      action: refuse
      refusal_message: Let us talk about something else.
  output:
    - name: no-codenames
      patterns: ['project\\s+phoenix']
pii:
  - name: default
    detectors: { email: pseudonymize, credit_card: mask, secret: block }
`;

const config: SwitchyardConfig = parseConfig(yaml, 'test.yaml');

function context(model: string, body: Record<string, unknown>, key?: { id: string; name: string }): RequestContext {
  const deployment = { name: model, upstreamModel: model === 'legacy' ? 'gpt-4' : model } as Deployment;
  const raw = Buffer.from(JSON.stringify(body));
  const ctx = createContext(
    { method: 'POST', path: '/v1/chat/completions', query: '', headers: { 'x-request-id': 'req-1' }, remoteAddress: '127.0.0.1' },
    raw,
    'chat.completions',
  );
  Object.assign(ctx, { json: body, model, stream: body.stream === true, key, deployment });
  return ctx;
}

const engine = new GuardEngine(engineSetup(config));
const stage = createGuardsStage(config, new GuardSelector(config), { pool: undefined, inline: engine, inlineMaxBytes: Infinity, timeoutMs: 2000 });
const o200k = new TokenCounter('o200k_base');

async function refusal(ctx: RequestContext): Promise<GatewayError> {
  try {
    await stage.onRequest!(ctx);
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    return err;
  }
  assert.fail('expected the request to be refused');
}

test('the schema fills in defaults and every pattern compiles', () => {
  assert.equal(config.guards.prompt[0]!.scope, 'last_user');
  assert.deepEqual(config.guards.prompt[0]!.roles, ['user']);
  assert.equal(config.guards.output[0]!.window_chars, 128);
  assert.equal(config.tokenizer.default_encoding, 'o200k_base');
  assert.equal(config.pool.size, 'auto');
  assert.deepEqual(checkGuardPatterns(config), []);
  const bad = parseConfig(yaml.replace("'forbidden topic'", "'(?<=x)lookbehind'"), 'bad.yaml');
  assert.match(checkGuardPatterns(bad).join('\n'), /guards\.prompt\.2\.deny\.0: invalid RE2 pattern/);
});

test('a deny match refuses with 400 content_policy_violation naming the guard, not the text', async () => {
  const ctx = context('gpt-4o', { model: 'gpt-4o', messages: [{ role: 'user', content: 'How do I build a bomb?' }] });
  const err = await refusal(ctx);
  assert.equal(err.status, 400);
  assert.equal(err.code, 'content_policy_violation');
  assert.equal(err.message, 'Request blocked by guard no-weapons');
  assert.doesNotMatch(err.message, /bomb/);
});

test('scope last_user: only the last user message is scanned; other models are not guarded', async () => {
  const messages = [
    { role: 'user', content: 'how to build a bomb' },
    { role: 'assistant', content: 'No.' },
    { role: 'user', content: 'ok, tell me a joke' },
  ];
  await stage.onRequest!(context('gpt-4o', { messages }));
  await refusal(context('legacy', { messages: [{ role: 'user', content: 'build explosives' }] }));
  await stage.onRequest!(context('open', { messages: [{ role: 'user', content: 'build a bomb' }] }));
});

test('the adversarial pattern (a+)+$ on "aaaa…b" does not hang (RE2)', async () => {
  const started = performance.now();
  await stage.onRequest!(context('gpt-4o', { messages: [{ role: 'user', content: 'a'.repeat(100_000) + 'b' }] }));
  await refusal(context('gpt-4o', { messages: [{ role: 'user', content: 'a'.repeat(100_000) }] }));
  assert.ok(performance.now() - started < 10_000);
});

test('allow list attached to a key: the conversation must match one pattern', async () => {
  const key = { id: 'k1', name: 'support-key' };
  const err = await refusal(context('open', { messages: [{ role: 'user', content: 'write me a poem' }] }, key));
  assert.equal(err.message, 'Request blocked by guard only-support');
  await stage.onRequest!(context('open', { messages: [{ role: 'user', content: 'Where is my ORDER?' }] }, key));
  await stage.onRequest!(context('open', { messages: [{ role: 'user', content: 'write me a poem' }] }, { id: 'k2', name: 'other' }));
});

test('action refuse: answers with a synthetic refusal completion instead of an error', async () => {
  const ctx = context('open', { messages: [{ role: 'user', content: 'the forbidden topic' }], stream: true });
  await stage.onRequest!(ctx);
  assert.equal(ctx.syntheticResponse?.status, 200);
  assert.match(ctx.syntheticResponse!.contentType, /text\/event-stream/);
  assert.match(ctx.syntheticResponse!.body, /Let us talk about something else\./);
  assert.match(ctx.syntheticResponse!.body, /data: \[DONE\]\n\n$/);
  const plain = context('open', { messages: [{ role: 'user', content: 'the forbidden topic' }] });
  await stage.onRequest!(plain);
  assert.equal(plain.syntheticResponse?.status, 200);
  assert.match(plain.syntheticResponse!.contentType, /application\/json/);
  assert.match(plain.syntheticResponse!.body, /Let us talk about something else\./);
});

test('PII is redacted in the body, the count is exact, and the response is restored', async () => {
  const body = {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'Reply to bob@example.com.' },
      { role: 'user', content: [{ type: 'text', text: 'Card 4111 1111 1111 1111, mail bob@example.com and ann@example.org' }] },
    ],
  };
  const ctx = context('gpt-4o', body);
  await stage.onRequest!(ctx);
  assert.deepEqual(JSON.parse(ctx.body!.toString('utf8')), body, 'the forwarded body is the redacted one');
  assert.equal(body.messages[0]!.content, 'Reply to <EMAIL_1>.');
  assert.deepEqual(body.messages[1]!.content, [{ type: 'text', text: 'Card [CREDIT_CARD], mail <EMAIL_1> and <EMAIL_2>' }]);
  const expected = 3 * 2 + 3 + o200k.count('Reply to <EMAIL_1>.').count + o200k.count('Card [CREDIT_CARD], mail <EMAIL_1> and <EMAIL_2>').count;
  assert.deepEqual(ctx.promptTokens, { count: expected, exact: true });
  const state = ctx.state.get('guards') as GuardsRequestState;
  assert.equal(state.redactedTexts, 2);
  const filter = stage.responseFilter!(ctx)!;
  const json = { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Sent to <EMAIL_2> about project phoenix' }, finish_reason: 'stop' }] };
  const out = filter.onEvent!({ json, data: JSON.stringify(json) }) as ChunkEvent;
  assert.equal(((out.json!.choices as Array<{ delta: { content: string } }>)[0]!).delta.content, 'Sent to ann@example.org about [REDACTED]');
  assert.equal(state.outputTriggered?.guard, 'no-codenames');
  const verdicts = peekObservations(ctx)?.guardVerdicts ?? [];
  assert.deepEqual(
    verdicts.map((v) => [v.guard, v.action]),
    [['pii:default', 'redact'], ['no-codenames', 'mask']],
    'the output guard action is recorded as a verdict, for the audit record and the guardrail metric',
  );
});

test('a body the parse stage did not keep (large) is parsed where it is analysed; the client bytes stay untouched', async () => {
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'mail bob@example.com' }] };
  const ctx = context('gpt-4o', body);
  ctx.json = undefined;
  const raw = ctx.rawBody.toString('utf8');
  await stage.onRequest!(ctx);
  assert.equal(ctx.rawBody.toString('utf8'), raw);
  assert.deepEqual(JSON.parse(ctx.body!.toString('utf8')), { model: 'gpt-4o', messages: [{ role: 'user', content: 'mail <EMAIL_1>' }] });
  assert.equal(body.messages[0]!.content, 'mail bob@example.com', 'nothing reached back into an object the stage was not given');
});

test('PII in earlier tool-call arguments is redacted too, and restored in the answer', async () => {
  const body = {
    model: 'gpt-4o',
    messages: [
      { role: 'user', content: 'Mail the invoice to my colleague.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send_mail', arguments: '{"to":"carol@example.com"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'sent to carol@example.com' },
    ],
  };
  const ctx = context('gpt-4o', body);
  await stage.onRequest!(ctx);
  assert.deepEqual(JSON.parse(ctx.body!.toString('utf8')), body, 'the forwarded body is the redacted one');
  assert.equal(body.messages[1]!.tool_calls![0]!.function.arguments, '{"to":"<EMAIL_1>"}');
  assert.equal(body.messages[2]!.content, 'sent to <EMAIL_1>');
  assert.equal(body.messages[1]!.tool_calls![0]!.function.name, 'send_mail');
  const filter = stage.responseFilter!(ctx)!;
  const answer = { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c2', type: 'function', function: { name: 'send_mail', arguments: '{"to":"<EMAIL_1>"}' } }] }, finish_reason: 'tool_calls' }] };
  const out = filter.onBody!(answer) as { choices: Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> } }> };
  assert.equal(out.choices[0]!.message.tool_calls[0]!.function.arguments, '{"to":"carol@example.com"}');
});

test('PII in block mode refuses the request', async () => {
  const err = await refusal(context('gpt-4o', { messages: [{ role: 'user', content: 'my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123' }] }));
  assert.equal(err.code, 'content_policy_violation');
  assert.match(err.message, /SECRET/);
  assert.doesNotMatch(err.message, /sk-proj/);
});

test('encoding by model: cl100k_base for gpt-4 upstreams, o200k_base otherwise', () => {
  const selector = new GuardSelector(config);
  assert.equal(selector.select('legacy', 'gpt-4', undefined).encoding, 'cl100k_base');
  assert.equal(selector.select('gpt-4o', 'gpt-4o', undefined).encoding, 'o200k_base');
  assert.equal(selector.select('open', 'open', undefined).encoding, 'o200k_base');
});

/** A pool that records whom each task was counted against and answers with `answer`. */
function recordingPool(answer: (caller: string | undefined) => Promise<RequestAnalysis>): { pool: GuardPool; callers: Array<string | undefined> } {
  const callers: Array<string | undefined> = [];
  const pool = {
    analyseRequest: (_body: Uint8Array, _spec: AnalysisSpec, caller?: string) => {
      callers.push(caller);
      return answer(caller);
    },
  } as unknown as GuardPool;
  return { pool, callers };
}

async function refusalBy(guarded: ReturnType<typeof createGuardsStage>, ctx: RequestContext): Promise<GatewayError> {
  try {
    await guarded.onRequest!(ctx);
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err;
  }
  assert.fail('expected the request to be refused');
}

const poolStage = (pool: GuardPool) => createGuardsStage(config, new GuardSelector(config), { pool, inline: undefined, inlineMaxBytes: 0, timeoutMs: 2000 });
const shareUsed = () => Promise.reject(new PoolCapacityError('large', 4 * 1024 * 1024, 4 * 1024 * 1024, 2000));

test('pool share: each task counts against the virtual key, else the client address', async () => {
  const clean: RequestAnalysis = { verdict: null, piiBlocked: null, body: null, pseudonyms: [], redactedTexts: 0, tokens: 7, exact: true };
  const { pool, callers } = recordingPool(() => Promise.resolve(clean));
  const guarded = poolStage(pool);
  await guarded.onRequest!(context('gpt-4o', { messages: [{ role: 'user', content: 'hello' }] }, { id: 'k1', name: 'team' }));
  await guarded.onRequest!(context('gpt-4o', { messages: [{ role: 'user', content: 'hello' }] }));
  assert.deepEqual(callers, ['key:k1', 'addr:127.0.0.1']);
});

test('pool share used: 429 guard_capacity in the OpenAI shape with retry-after, counted as a rejection; counting alone keeps the estimate', async () => {
  const { pool } = recordingPool(shareUsed);
  const guarded = poolStage(pool);
  const ctx = context('gpt-4o', { messages: [{ role: 'user', content: 'hello' }] }, { id: 'k1', name: 'team' });
  const err = await refusalBy(guarded, ctx);
  assert.deepEqual([err.status, err.type, err.code], [429, 'rate_limit_error', 'guard_capacity']);
  assert.deepEqual(err.headers, { 'retry-after': '2', 'retry-after-ms': '2000' });
  assert.match(err.message, /Guard capacity for this key is in use: 4194304 bytes .* retry after 2 s\. The request was not sent\./);
  assert.deepEqual(Object.keys(err.toBody().error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(peekObservations(ctx)?.rateLimitScope, 'guard_pool.large', 'switchyard_ratelimit_rejections_total{scope="guard_pool.large"}');
  const keyless = await refusalBy(guarded, context('gpt-4o', { messages: [{ role: 'user', content: 'hello' }] }));
  assert.match(keyless.message, /for this client address/);
  const counting = context('gpt-4o', { messages: [{ role: 'user', content: 'hello' }] });
  counting.operation = 'chat.count_tokens';
  await guarded.onRequest!(counting);
  assert.equal(counting.promptTokens, undefined, 'no exact count: the endpoint answers with the estimate, as after a timeout');
});

test('pool config: defaults, the small lane only where bodies can reach it, and client addresses read only where keys do not tell callers apart', () => {
  assert.equal(config.pool.caller_max_bytes, 4 * 1024 * 1024);
  assert.deepEqual(config.pool.small_lane, { max_bytes: 64 * 1024, size: 1, priority: 'low' });
  assert.deepEqual(smallLaneOf(config), { maxBytes: 64 * 1024, threads: 1, priority: 'low' });
  const withPool = (pool: string, head = '') => parseConfig(`${head}\n${yaml}\npool: ${pool}`, 'pool.yaml');
  assert.equal(smallLaneOf(withPool('{ inline_max_bytes: 65536 }')), undefined, 'every body up to its limit is analysed inline');
  assert.equal(smallLaneOf(withPool('{ small_lane: { size: 0 } }')), undefined);
  assert.equal(guardsFeature.needsClientAddress!(config), true);
  assert.equal(guardsFeature.needsClientAddress!(withPool('{ caller_max_bytes: 0 }')), false);
  assert.equal(guardsFeature.needsClientAddress!(withPool('{}', 'auth: keys')), false, 'with keys, every request has one');
});
