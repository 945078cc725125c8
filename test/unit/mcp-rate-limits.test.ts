// MCP rate limits over the limits feature's counter table: per key and shared windows, tool globs,
// concurrency released on settle, rows claimed once and found again by every limiter on the same memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLimitMemory, McpRateLimiter } from '../../src/mcp/rate-limits.js';
import type { McpRateLimit } from '../../src/mcp/config.js';

const a = { id: 'key_a', name: 'team-a' };
const b = { id: 'key_b', name: 'team-b' };
const limit = (over: Partial<McpRateLimit>): McpRateLimit => ({ name: 'l', tools: [], keys: [], per: 'key', ...over });

test('rpm per key and tool: each key has its own window; other tools are not counted', () => {
  const limiter = new McpRateLimiter(createLimitMemory(64), [limit({ tools: ['crm__search'], rpm: 2 })]);
  assert.ok(limiter.admit(a, 'crm', 'search').ok);
  assert.ok(limiter.admit(a, 'crm', 'search').ok);
  const third = limiter.admit(a, 'crm', 'search');
  assert.equal(third.ok, false);
  if (!third.ok) assert.match(third.message, /MCP limit 'l' for key 'team-a' on calls per minute: limit 2/);
  assert.ok(limiter.admit(b, 'crm', 'search').ok);
  assert.ok(limiter.admit(a, 'crm', 'update').ok);
});

test("per: all shares one window across keys; `keys` narrows who it applies to", () => {
  const limiter = new McpRateLimiter(createLimitMemory(64), [limit({ tools: ['crm'], per: 'all', rpm: 2, keys: ['team-*'] })]);
  assert.ok(limiter.admit(a, 'crm', 'x').ok);
  assert.ok(limiter.admit(b, 'crm', 'y').ok);
  assert.equal(limiter.admit(a, 'crm', 'z').ok, false);
  assert.ok(limiter.admit({ id: 'k', name: 'ops' }, 'crm', 'z').ok, 'ops is not covered by keys');
});

test('max_concurrent is released when the call settles', () => {
  const limiter = new McpRateLimiter(createLimitMemory(64), [limit({ max_concurrent: 1 })]);
  const first = limiter.admit(a, 's', 't');
  assert.ok(first.ok);
  assert.equal(limiter.admit(a, 's', 't').ok, false);
  if (first.ok) limiter.settle(first.charge);
  assert.ok(limiter.admit(a, 's', 't').ok);
});

test('two limiters on the same memory (two threads) count in the same rows', () => {
  const memory = createLimitMemory(64);
  const limits = [limit({ rpm: 3 })];
  const one = new McpRateLimiter(memory, limits);
  const two = new McpRateLimiter(memory, limits);
  assert.ok(one.admit(a, 's', 't').ok);
  assert.ok(two.admit(a, 's', 't').ok);
  assert.ok(one.admit(a, 's', 't').ok);
  assert.equal(two.admit(a, 's', 't').ok, false);
});

test('a full table stops limiting new subjects instead of refusing them', () => {
  const limiter = new McpRateLimiter(createLimitMemory(16), [limit({ rpm: 0 })]);
  let refused = 0;
  for (let i = 0; i < 40; i++) if (!limiter.admit({ id: `k${i}`, name: `k${i}` }, 's', 't').ok) refused++;
  assert.equal(refused, 16);
});
