// The guard pool's share per caller and its small lane, through a real gateway: a keyless client
// (told apart by its address) sending several large prompts at once gets one guarded and the others
// refused at once with 429 guard_capacity, while its ordinary request goes through the small lane.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/server/main.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';
import { expectErrorShape, stackConfigObject } from '../helpers/stack.js';

describe('guard pool share per caller, through the gateway', () => {
  let sim: RunningSimulator;
  let gateway: RunningGateway;
  let dataDir: string;

  before(async () => {
    sim = await startSimulator();
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-guard-capacity-'));
    const object = stackConfigObject(sim.port, dataDir) as Record<string, unknown>;
    object.tokenizer = { enabled: true };
    object.pii = [{ name: 'default', detectors: { email: 'pseudonymize' } }];
    // One large-lane worker and a deadline far from reach: the first large prompt holds the caller's
    // share for as long as its (slow, worst-case) count runs, so the others arrive while it is held.
    object.pool = { size: 1, task_timeout_ms: 30_000, caller_max_bytes: 1024 * 1024 };
    gateway = await startGateway(parseConfig(JSON.stringify(object), 'guard-capacity-e2e'), { threads: 1 });
  });

  after(async () => {
    await gateway?.stop();
    await sim?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const post = async (content: string) => {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content }] }),
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as unknown };
  };

  test('past its share a caller is refused at once with retry-after; its small request and its next large one are served', async () => {
    const large = 'a'.repeat(700 * 1024); // one pre-token: the tokenizer's slowest input, about a second
    const small = `mail ann@example.com about section ${'4 '.repeat(3000)}`; // over inline_max_bytes, in the small lane
    const [l1, l2, l3, s] = await Promise.all([post(large), post(large), post(large), post(small)]);
    const larges = [l1!, l2!, l3!];
    assert.deepEqual(larges.map((r) => r.status).sort(), [200, 429, 429]);
    for (const refused of larges.filter((r) => r.status === 429)) {
      const error = expectErrorShape(refused.body).error;
      assert.equal(error.code, 'guard_capacity');
      assert.equal(error.type, 'rate_limit_error');
      assert.match(error.message, /for this client address/);
      assert.equal(refused.retryAfter, '30');
    }
    assert.equal(s!.status, 200, 'the small lane has a share of its own');
    assert.equal((await post(large)).status, 200, 'the share is given back once the guarded one settled');
  });
});
