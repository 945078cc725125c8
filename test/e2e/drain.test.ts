// A rolling restart: a second gateway listens on the same port (SO_REUSEPORT) while the first drains.
// Clients on kept-alive connections, streaming and not, must see no failed or malformed answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { clientKey, freePort, readChatStream, startStack, type Stack } from '../helpers/stack.js';

describe('drain during a rolling restart', () => {
  let old: Stack;
  let next: Stack;

  before(async () => {
    const port = await freePort();
    old = await startStack({ threads: 2, server: { port } });
    next = await startStack({ threads: 2, server: { port } });
  });

  after(async () => {
    await old?.stop();
    await next?.stop();
  });

  test('no stream or request fails while the old gateway drains', async () => {
    const client = new OpenAI({ baseURL: old.baseURL, apiKey: clientKey, maxRetries: 0 });
    const failures: string[] = [];
    let streams = 0;
    let requests = 0;
    let stopAt = Date.now() + 3000;
    const streamLoop = async () => {
      while (Date.now() < stopAt) {
        try {
          const stream = await client.chat.completions.create(
            { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
            { headers: { 'x-sim-tokens-per-second': '200', 'x-sim-completion-tokens': '40' } },
          );
          const { chunks, finish } = await readChatStream(stream);
          if (chunks !== 40 || finish !== 'stop') failures.push(`stream: ${chunks} chunks, finish ${finish}`);
          streams++;
        } catch (err) {
          failures.push(`stream: ${(err as Error).message} ${String((err as { cause?: { message?: string; code?: string } }).cause?.code ?? (err as { cause?: { message?: string } }).cause?.message ?? "")}`);
        }
      }
    };
    const requestLoop = async () => {
      while (Date.now() < stopAt) {
        try {
          const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
          if (!answer.choices[0]?.message.content) failures.push('request: empty answer');
          requests++;
        } catch (err) {
          failures.push(`request: ${(err as Error).message}`);
        }
      }
    };
    const loops = [...Array.from({ length: 6 }, streamLoop), ...Array.from({ length: 4 }, requestLoop)];
    await new Promise((r) => setTimeout(r, 800));
    const stopping = old.gateway.stop();
    await Promise.all(loops);
    await stopping;
    assert.deepEqual(failures, []);
    assert.ok(streams > 20 && requests > 20, `${streams} streams, ${requests} requests`);
  });
});
