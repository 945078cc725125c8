// The gateway asks the upstream for streamed usage on the client's behalf; the client sees only what it asked for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientKey, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ threads: 1 });
});
after(() => stack.stop());

async function rawStream(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${stack.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body }),
  });
  assert.equal(res.status, 200);
  return res.text();
}

test('without include_usage no chunk carries a usage field, and the usage chunk is not relayed', async () => {
  const text = await rawStream({});
  const events = text.split('\n\n').filter((e) => e.startsWith('data: {'));
  assert.ok(events.length > 2);
  for (const e of events) assert.equal(JSON.parse(e.slice(6)).usage, undefined, e);
  // The gateway still metered the answer from the usage chunk it hid.
  assert.equal(stack.sim.stats().last.at(-1)?.body && (stack.sim.stats().last.at(-1)?.body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage, true);
});

test('with include_usage the chunks are relayed as the upstream sent them, usage chunk included', async () => {
  const text = await rawStream({ stream_options: { include_usage: true } });
  const events = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as { usage?: unknown });
  assert.ok(events.slice(0, -1).every((e) => e.usage === null));
  assert.equal(typeof (events.at(-1)?.usage as { total_tokens?: unknown })?.total_tokens, 'number');
});
