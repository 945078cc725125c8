import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { GuardPool, PoolTimeoutError, PoolWorkerError, workersPerServerThread } from '../../src/pool/guard-pool.js';
import { frame, unframe, type AnalyseRequestTask } from '../../src/pool/tasks.js';
import type { EngineSetup } from '../../src/guards/engine.js';

const setup: EngineSetup = {
  prompt: [{ name: 'deny-x', deny: ['forbidden'], allow: [], scope: 'last_user', roles: ['user'], case_insensitive: true, action: 'reject', refusal_message: '' }],
  pii: [{ name: 'p', detectors: { email: 'pseudonymize' }, custom: [], roles: ['user'] }],
  preload: ['o200k_base'],
  piiPrefilter: true,
  testHooks: true,
  media: { image_tokens_default: 765, audio_tokens_default: 600, file_tokens_default: 1000 },
};

const pool = new GuardPool({ threads: 1, timeoutMs: 3000, setup });
after(() => pool.close());

function analyse(userTexts: string[]): AnalyseRequestTask {
  const body = { model: 'm', messages: userTexts.map((content) => ({ role: 'user', content })) };
  return {
    kind: 'analyse-request',
    body: Buffer.from(JSON.stringify(body)),
    spec: { operation: 'chat.completions', encoding: 'o200k_base', guards: [0], pii: 0, countDeadlineEpochMs: Date.now() + 2000 },
  };
}

test('framing round-trips a task through msgpackr into a buffer of its own', () => {
  const task = analyse(['héllo 😀', '']);
  const bytes = frame(task);
  assert.equal(bytes.byteOffset, 0);
  assert.equal(bytes.buffer.byteLength, bytes.length, 'transferable without taking msgpackr’s shared buffer');
  const back = unframe<AnalyseRequestTask>(bytes);
  assert.deepEqual(back.spec, task.spec);
  assert.deepEqual(Buffer.from(back.body), task.body, 'the body crosses as the same bytes');
});

test('pool size: total split across server threads, at least one each', () => {
  assert.equal(workersPerServerThread(4, 2), 2);
  assert.equal(workersPerServerThread(1, 4), 1);
  assert.ok(workersPerServerThread('auto', 1) >= 1);
});

test('a real worker guards, redacts and counts', async () => {
  await pool.ready();
  const { analysis } = await pool.run(analyse(['Write to ann@example.com please', 'and again ann@example.com']));
  assert.equal(analysis.verdict, null);
  assert.equal(analysis.redactedTexts, 2);
  assert.ok(analysis.body, 'the redacted body comes back as bytes');
  assert.deepEqual(JSON.parse(Buffer.from(analysis.body).toString('utf8')), {
    model: 'm',
    messages: [
      { role: 'user', content: 'Write to <EMAIL_1> please' },
      { role: 'user', content: 'and again <EMAIL_1>' },
    ],
  });
  assert.deepEqual(analysis.pseudonyms, [['<EMAIL_1>', 'ann@example.com']]);
  assert.equal(analysis.exact, true);
  // 3 per message, 3 to prime the reply, and the redacted texts themselves.
  assert.ok(analysis.tokens > 2 * 3 + 3 + 5);
  const clean = await pool.run(analyse(['nothing to hide']));
  assert.equal(clean.analysis.body, null, 'an unchanged body is not sent back');
  const denied = await pool.run(analyse(['fine', 'this is FORBIDDEN']));
  assert.deepEqual(denied.analysis.verdict, { guard: 0, reason: 'deny' });
});

test('a crashed worker fails its task with a clear error, is replaced, and later tasks succeed', async () => {
  await assert.rejects(pool.run({ kind: 'crash' }), (err: Error) => err instanceof PoolWorkerError && /exited with code: 70/.test(err.message));
  const results = await Promise.all([1, 2, 3].map((n) => pool.run({ kind: 'count', encoding: 'o200k_base', texts: ['hello '.repeat(n)], countDeadlineEpochMs: Date.now() + 10_000 }, 20_000)));
  assert.deepEqual(results.map((r) => r.tokens), [2, 3, 4]);
  assert.equal(pool.threads, 1);
});

test('a task past its deadline is aborted (worker terminated and replaced) instead of hanging', async () => {
  const started = Date.now();
  await assert.rejects(pool.run({ kind: 'spin', ms: 60_000 }, 300), (err: Error) => err instanceof PoolTimeoutError && err.timeoutMs === 300);
  assert.ok(Date.now() - started < 5000);
  const after = await pool.run({ kind: 'count', encoding: 'o200k_base', texts: ['back to work'], countDeadlineEpochMs: Date.now() + 10_000 }, 20_000);
  assert.equal(after.tokens, 3);
});

test('counting past the soft deadline returns an estimate inside the worker', async () => {
  const text = 'lorem ipsum '.repeat(50_000);
  const result = await pool.run({ kind: 'count', encoding: 'o200k_base', texts: [text], countDeadlineEpochMs: Date.now() - 1 });
  assert.equal(result.exact, false);
  assert.ok(result.tokens > 0);
});

test('test hooks are refused by a pool started without them', async () => {
  const strict = new GuardPool({ threads: 1, timeoutMs: 20_000, setup: { ...setup, preload: [], testHooks: false } });
  try {
    await assert.rejects(strict.run({ kind: 'crash' }), (err: Error) => err instanceof PoolWorkerError && /test hooks are disabled/.test(err.message));
  } finally {
    await strict.close();
  }
});
