import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { GuardPool, PoolCapacityError, PoolTimeoutError, PoolWorkerError, workersPerServerThread } from '../../src/pool/guard-pool.js';
import { CallerShares } from '../../src/pool/caller-shares.js';
import { frame, unframe, type AnalyseRequestTask } from '../../src/pool/tasks.js';
import type { EngineSetup } from '../../src/guards/engine.js';
import type { AnalysisSpec } from '../../src/guards/request-analysis.js';
import { SharedSlots } from '../../src/shared/shared-slots.js';
import { lowNice, readThreadScheduling, schedIdle, type PoolPriority } from '../../src/pool/thread-priority.js';

const setup: EngineSetup = {
  prompt: [{ name: 'deny-x', deny: ['forbidden'], allow: [], scope: 'last_user', roles: ['user'], case_insensitive: true, action: 'reject', refusal_message: '' }],
  pii: [{ name: 'p', detectors: { email: 'pseudonymize' }, custom: [], roles: ['user'] }],
  preload: ['o200k_base'],
  piiPrefilter: true,
  testHooks: true,
  media: { image_tokens_default: 765, audio_tokens_default: 600, file_tokens_default: 1000 },
};

const pool = new GuardPool({ threads: 1, timeoutMs: 3000, setup, priority: 'idle' });
after(() => pool.close());

const spec = (): AnalysisSpec => ({ operation: 'chat.completions', encoding: 'o200k_base', guards: [0], pii: 0, countDeadlineEpochMs: Date.now() + 5000 });
const chatBody = (userTexts: string[]) => Buffer.from(JSON.stringify({ model: 'm', messages: userTexts.map((content) => ({ role: 'user', content })) }));

/** The task as it crosses, with no slots: the body goes in the message and a redacted one comes back in the answer. */
function analyse(userTexts: string[]): AnalyseRequestTask {
  const body = chatBody(userTexts);
  return { kind: 'analyse-request', body, bodySlot: -1, bodyLength: body.length, spec: spec(), returnSlot: -1 };
}

test('framing round-trips a task through msgpackr into a buffer of its own', () => {
  const task = analyse(['héllo 😀', '']);
  const bytes = frame(task);
  assert.equal(bytes.byteOffset, 0);
  assert.equal(bytes.buffer.byteLength, bytes.length, 'transferable without taking msgpackr’s shared buffer');
  const back = unframe<AnalyseRequestTask>(bytes);
  assert.deepEqual(back.spec, task.spec);
  assert.deepEqual(Buffer.from(back.body!), task.body, 'the body crosses as the same bytes');
});

test('pool size: total split across server threads, at least one each', () => {
  assert.equal(workersPerServerThread(4, 2), 2);
  assert.equal(workersPerServerThread(1, 4), 1);
  assert.ok(workersPerServerThread('auto', 1) >= 1);
});

test('a real worker guards, redacts and counts', async () => {
  await pool.ready();
  const analysis = await pool.analyseRequest(chatBody(['Write to ann@example.com please', 'and again ann@example.com']), spec());
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
  const clean = await pool.analyseRequest(chatBody(['nothing to hide']), spec());
  assert.equal(clean.body, null, 'an unchanged body is not sent back');
  const direct = await pool.run(analyse(['mail ann@example.com']));
  assert.equal(direct.bodyInSlot, -1);
  assert.match(Buffer.from(direct.analysis.body!).toString('utf8'), /mail <EMAIL_1>/, 'without a slot the body comes back in the answer');
  const denied = await pool.run(analyse(['fine', 'this is FORBIDDEN']));
  assert.equal(denied.bodyInSlot, -1);
  assert.deepEqual(denied.analysis.verdict, { guard: 0, reason: 'deny' });
});

test('redacted bodies come back through the return area, each to its own request, and past it when it is full or too small', async () => {
  // More tasks in flight than slots (8): the rest come back in the answer; every body must be its own.
  const texts = Array.from({ length: 20 }, (_, i) => `request ${i}: mail user${i}@example.com now`);
  const results = await Promise.all(texts.map((t) => pool.analyseRequest(chatBody([t]), spec())));
  results.forEach((analysis, i) => {
    assert.equal(JSON.parse(Buffer.from(analysis.body!).toString('utf8')).messages[0].content, `request ${i}: mail <EMAIL_1> now`);
    assert.deepEqual(analysis.pseudonyms, [['<EMAIL_1>', `user${i}@example.com`]]);
  });
  // Larger than a slot (1 MiB): sent back in the answer instead.
  const big = `${'word '.repeat(230_000)}mail ann@example.com`;
  const bigResult = await pool.analyseRequest(chatBody([big]), spec());
  assert.equal(JSON.parse(Buffer.from(bigResult.body!).toString('utf8')).messages[0].content, `${'word '.repeat(230_000)}mail <EMAIL_1>`);
});

test('shared slots: a slot is owned from acquire to release, by any thread; a failed task\'s slot rests before reuse', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const area = SharedSlots.create(2, 16);
  const a = area.acquire();
  const b = area.acquire();
  assert.notEqual(a, b);
  assert.equal(area.acquire(), -1, 'all in use');
  // Another thread attached to the same memory sees the same slots and bytes.
  const other = new SharedSlots(area.memory);
  assert.equal(other.acquire(), -1);
  assert.ok(other.write(b, Buffer.from('hello')));
  assert.equal(other.write(b, Buffer.alloc(17)), false, 'too large for a slot');
  assert.equal(area.copyOut(b, 5).toString(), 'hello');
  assert.equal(area.copyOut(a, 0).length, 0);
  other.release(b);
  area.rest(a);
  assert.equal(area.acquire(), b);
  assert.equal(area.acquire(), -1, 'the failed slot is not handed out at once');
  t.mock.timers.tick(10_000);
  assert.equal(area.acquire(), a);
  // put: acquire and write in one step, -1 when too large or when no slot is free.
  const two = SharedSlots.create(1, 4);
  assert.equal(two.put(Buffer.from('abcde')), -1, 'too large for a slot: nothing acquired');
  const put = two.put(Buffer.from('abcd'));
  assert.equal(put, 0);
  assert.equal(two.copyOut(put, 4).toString(), 'abcd');
  assert.equal(two.put(Buffer.from('x')), -1, 'no free slot');
  // Written in a worker thread, read here.
  const { Worker } = await import('node:worker_threads');
  t.mock.timers.reset();
  const shared = SharedSlots.create(1, 8);
  const slot = shared.acquire();
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.module).then(({ SharedSlots }) => {
       new SharedSlots(workerData.memory).write(workerData.slot, new Uint8Array([1, 2, 3]));
       parentPort.postMessage('done');
     });`,
    { eval: true, workerData: { module: new URL('../../src/shared/shared-slots.js', import.meta.url).href, memory: shared.memory, slot } },
  );
  await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
  assert.deepEqual([...shared.copyOut(slot, 3)], [1, 2, 3]);
});

test('caller shares: a caller holding nothing is always admitted; past its share it is refused; settled work is given back', () => {
  const shares = new CallerShares(100);
  assert.ok(shares.tryTake('a', 60));
  assert.ok(shares.tryTake('a', 40), 'up to the share');
  assert.equal(shares.tryTake('a', 1), false, 'past it');
  assert.equal(shares.heldBy('a'), 100, 'a refusal takes nothing');
  assert.ok(shares.tryTake('b', 500), 'another caller, holding nothing, even with a body over the share');
  shares.giveBack('a', 60);
  shares.giveBack('a', 40);
  shares.giveBack('b', 500);
  assert.equal(shares.callers, 0, 'no caller is kept at zero');
  const off = new CallerShares(0);
  assert.ok(off.tryTake('a', 1e9) && off.tryTake('a', 1e9));
  assert.equal(off.callers, 0, 'no bound: nothing recorded');
});

test('a caller past its share of the pool is refused at once, not queued; other callers are admitted, and the share comes back', async () => {
  const body = chatBody(['mail ann@example.com ' + 'lorem ipsum '.repeat(250)]);
  const shared = new GuardPool({ threads: 1, timeoutMs: 20_000, setup, priority: 'idle', callerMaxBytes: 2 * body.length });
  try {
    await shared.ready();
    const a = [1, 2, 3].map(() => shared.analyseRequest(body, spec(), 'key:a'));
    const b = shared.analyseRequest(body, spec(), 'key:b');
    await assert.rejects(a[2]!, (err: Error) => {
      assert.ok(err instanceof PoolCapacityError, String(err));
      assert.deepEqual([err.lane, err.heldBytes, err.maxBytes, err.retryAfterMs], ['large', 2 * body.length, 2 * body.length, 20_000]);
      return true;
    });
    assert.equal(shared.heldBy('key:a', 'large'), 2 * body.length, 'two of a\'s bodies are in the pool');
    for (const analysis of await Promise.all([a[0]!, a[1]!, b])) assert.equal(analysis.redactedTexts, 1, 'admitted requests are guarded as usual');
    assert.equal(shared.heldBy('key:a', 'large'), 0, 'given back once settled');
    const big = chatBody(['x'.repeat(4 * body.length)]);
    assert.equal((await shared.analyseRequest(big, spec(), 'key:a')).verdict, null, 'holding nothing, a body over the share is admitted');
    assert.equal((await shared.analyseRequest(body, spec())).verdict, null, 'no caller, no share');
  } finally {
    await shared.close();
  }
});

test('small bodies have a lane of their own: answered while the large lane\'s worker is held and more work waits behind it', async () => {
  const laned = new GuardPool({ threads: 1, timeoutMs: 15_000, setup, priority: 'idle', smallLane: { maxBytes: 64 * 1024, threads: 1, priority: 'idle' } });
  let largeLaneBusy = true;
  let holds: Promise<void> | undefined;
  try {
    await laned.ready();
    holds = Promise.allSettled([laned.run({ kind: 'spin', ms: 60_000 }), laned.run({ kind: 'spin', ms: 60_000 })]).then(() => {
      largeLaneBusy = false;
    });
    const analysis = await laned.analyseRequest(chatBody(['mail ann@example.com']), spec(), 'key:a');
    assert.equal(largeLaneBusy, true, 'answered while both large tasks were still held');
    assert.match(Buffer.from(analysis.body!).toString('utf8'), /mail <EMAIL_1>/);
    assert.equal(laned.laneFor(64 * 1024), 'small');
    assert.equal(laned.laneFor(64 * 1024 + 1), 'large');
  } finally {
    await laned.close();
    await holds;
  }
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
  const strict = new GuardPool({ threads: 1, timeoutMs: 20_000, setup: { ...setup, preload: [], testHooks: false }, priority: 'idle' });
  try {
    await assert.rejects(strict.run({ kind: 'crash' }), (err: Error) => err instanceof PoolWorkerError && /test hooks are disabled/.test(err.message));
  } finally {
    await strict.close();
  }
});

test('workers run at the configured CPU priority: SCHED_IDLE, nice 10, or as the server thread', async () => {
  const here = readThreadScheduling();
  assert.ok(here, 'this test runs on Linux, where /proc/thread-self/stat exists');
  const expected: Record<PoolPriority, { policy: number; nice: number }> = {
    idle: { policy: schedIdle, nice: here.nice },
    low: { policy: here.policy, nice: Math.max(here.nice, lowNice) },
    normal: here,
  };
  for (const priority of ['idle', 'low', 'normal'] as const) {
    const one = new GuardPool({ threads: 1, timeoutMs: 20_000, setup: { ...setup, preload: [] }, priority });
    try {
      const answer = await one.run({ kind: 'scheduling' });
      assert.equal(answer.problem, null, `${priority}: ${answer.problem}`);
      assert.deepEqual(answer.scheduling, expected[priority], priority);
    } finally {
      await one.close();
    }
  }
});

test('where SCHED_IDLE cannot be set (no chrt on the PATH), a worker runs at nice 10 and says why', async () => {
  const here = readThreadScheduling()!;
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent'; // workers copy the environment when they start
  const fallback = new GuardPool({ threads: 1, timeoutMs: 20_000, setup: { ...setup, preload: [] }, priority: 'idle' });
  try {
    const answer = await fallback.run({ kind: 'scheduling' });
    assert.match(answer.problem ?? '', /SCHED_IDLE not set: chrt could not run .*; running at nice 10 instead/);
    assert.deepEqual(answer.scheduling, { policy: here.policy, nice: Math.max(here.nice, lowNice) });
  } finally {
    process.env.PATH = path;
    await fallback.close();
  }
});
