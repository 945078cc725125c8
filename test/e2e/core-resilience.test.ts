// A server thread that hits an uncaught error drains itself while a replacement takes over:
// in-flight streams finish, new requests keep succeeding, and the process does not abort.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { acceptQueueMigrates } from '../../src/server/reuseport.js';
import { clientKey, readChatStream, startStack, waitFor, type Stack } from '../helpers/stack.js';

// Where the kernel resets the failed thread's accept queue (net.ipv4.tcp_migrate_req=0), a new
// connection may be reset as the thread closes its listen socket; there the client gets the SDK's
// default retries, as applications have. Where it migrates the queue, not a single request may fail.
const retries = acceptQueueMigrates() === false ? 2 : 0;

describe('server thread failure', () => {
  let stack: Stack;

  before(async () => {
    // Read by each server thread when it starts; only the first thread of slot 0 acts on it.
    process.env.SWITCHYARD_TEST_CRASH_THREAD_AFTER_MS = '1500';
    try {
      stack = await startStack({ threads: 2 });
    } finally {
      delete process.env.SWITCHYARD_TEST_CRASH_THREAD_AFTER_MS;
    }
  });

  after(async () => {
    await stack?.stop();
  });

  test('streams in flight complete, every request succeeds, and the thread is replaced', async () => {
    const { gateway } = stack;
    const client = new OpenAI({ baseURL: stack.baseURL, apiKey: clientKey, maxRetries: retries });
    // Slow streams spanning the failure (20 tokens at 10/s ≈ 2 s), spread over both threads by new connections.
    const streams = Array.from({ length: 6 }, async () => {
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-sim-tokens-per-second': '10', 'x-sim-completion-tokens': '20' } },
      );
      return readChatStream(stream);
    });

    let ok = 0;
    const deadline = Date.now() + 2500;
    while (Date.now() < deadline) {
      const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
      assert.ok(answer.choices[0]?.message.content);
      ok++;
    }
    for (const result of await Promise.all(streams)) {
      assert.equal(result.chunks, 20);
      assert.equal(result.finish, 'stop');
    }
    assert.ok(ok > 10, `only ${ok} requests completed`);
    assert.ok(await waitFor(() => gateway.restarts() === 1, 5000), `restarts: ${gateway.restarts()}`);

    const after = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still there?' }] });
    assert.ok(after.choices[0]?.message.content);
  });
});
