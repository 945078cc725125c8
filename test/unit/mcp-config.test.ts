// The mcp config section: schema defaults and refusals, and the checks beyond the schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { mcpConfigured } from '../../src/mcp/config.js';
import { validateMcp } from '../../src/mcp/feature.js';

const base = { providers: [{ name: 'sim', type: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-x' }], models: [{ name: 'm', provider: 'sim' }] };
const parse = (mcp: unknown, extra: Record<string, unknown> = {}) => parseConfig(JSON.stringify({ ...base, ...extra, mcp }), 'test');
const problemsOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
};

test('an absent section is empty: nothing configured, so no MCP code is loaded', () => {
  const config = parseConfig(JSON.stringify(base), 'test');
  assert.equal(mcpConfigured(config.mcp), false);
  assert.deepEqual(config.mcp.servers, []);
  assert.equal(config.mcp.tools_cache_ms, 2000);
});

test('server defaults are filled in', () => {
  const config = parse({ servers: [{ name: 'gh', url: 'https://mcp.example.com/mcp' }] });
  assert.ok(mcpConfigured(config.mcp));
  const s = config.mcp.servers[0]!;
  assert.deepEqual(s.headers, {});
  assert.equal(s.timeout_ms, 30000);
  assert.deepEqual(s.args, []);
});

test('the schema refuses url and command together, names with __, limits without a limit', () => {
  assert.match(problemsOf(() => parse({ servers: [{ name: 'x', url: 'http://a', command: 'node' }] })), /mcp\.servers/);
  assert.match(problemsOf(() => parse({ servers: [{ name: 'a__b', url: 'http://a' }] })), /mcp\.servers\.0\.name/);
  assert.match(problemsOf(() => parse({ servers: [{ name: 'a', url: 'ftp://a' }] })), /url/);
  assert.match(problemsOf(() => parse({ rate_limits: [{ name: 'r', tools: ['a'] }] })), /mcp\.rate_limits/);
  assert.match(problemsOf(() => parse({ access: [{ keys: [], allow: ['*'] }] })), /mcp\.access\.0\.keys/);
});

test('checks beyond the schema: unique source names, guard and PII names that exist', () => {
  const config = parse(
    { servers: [{ name: 'a', url: 'http://a' }, { name: 'a', command: 'x' }], openapi: [{ name: 'pet__store', spec: 'x.yaml' }], guards: [{ prompt: ['nope'], pii: 'none' }], rate_limits: [{ name: 'r', rpm: 1 }, { name: 'r', rpm: 2 }] },
    {},
  );
  const problems = validateMcp(config);
  assert.ok(problems.some((p) => p.startsWith("mcp.servers.1: the name 'a' is already used")), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith("mcp.guards.0.prompt.0: no prompt guard named 'nope'")));
  assert.ok(problems.some((p) => p.startsWith("mcp.guards.0.pii: no PII policy named 'none'")));
  assert.ok(problems.some((p) => p.startsWith('mcp.rate_limits: names must be unique')));
  assert.ok(problems.some((p) => p.startsWith("mcp.openapi.0.name: 'pet__store' must not contain '__'")));
});
