// The audit record of a tools/call: the shape the sinks expect, bodies by policy, no gateway secrets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditConfig } from '../../src/observability/config.js';
import type { ThreadHost } from '../../src/pipeline/stage.js';
import { gatewaySecrets, McpAudit, resultExcerpt, type ToolCallRecord } from '../../src/mcp/audit.js';

function capture(): { host: ThreadHost; lines: () => Array<Record<string, unknown>> } {
  const sent: Uint8Array[] = [];
  const host: ThreadHost = { threadIndex: 0, threadCount: 1, send: (_t, payload) => sent.push((payload as { data: Uint8Array }).data), on: () => {} };
  const lines = () => sent.flatMap((d) => Buffer.from(d).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
  return { host, lines };
}

const auditConfig = (over: Partial<AuditConfig> = {}) =>
  ({ enabled: true, bodies: true, bodies_off_models: [], bodies_off_keys: [], sinks: { file: { fsync_ms: 100 } }, ...over }) as unknown as AuditConfig;

const record = (over: Partial<ToolCallRecord> = {}): ToolCallRecord => ({
  requestId: 'req-1', receivedAtEpochMs: Date.UTC(2026, 0, 1), key: { id: 'cfg_a', name: 'a' }, clientIp: '127.0.0.1', userAgent: 'ua',
  path: '/mcp', server: 'gh', tool: 'search', arguments: { q: 'x' }, result: { content: [{ type: 'text', text: 'found it' }] },
  outcome: 'ok', error: undefined, durationMs: 3, upstreamMs: 2, requestBytes: 90, responseBytes: 50, verdicts: [], ...over,
});

test('a record has the audit shape plus an mcp object', () => {
  const { host, lines } = capture();
  const audit = new McpAudit(host, auditConfig(), 100, []);
  audit.record(record());
  audit.close();
  const [r] = lines();
  assert.equal(r!.v, 1);
  assert.equal(r!.operation, 'mcp.tools_call');
  assert.equal(r!.model, 'gh__search');
  assert.equal(r!.time, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(r!.mcp, { server: 'gh', tool: 'search', is_error: false, arguments: { q: 'x' }, result_excerpt: 'found it', request_bytes: 90, response_bytes: 50 });
});

test('bodies off for a key: no arguments, no excerpt', () => {
  const { host, lines } = capture();
  const audit = new McpAudit(host, auditConfig({ bodies_off_keys: ['a'] }), 100, []);
  audit.record(record());
  audit.close();
  const mcp = lines()[0]!.mcp as Record<string, unknown>;
  assert.equal(mcp.arguments, null);
  assert.equal(mcp.result_excerpt, null);
});

test('the gateway credentials are redacted, whoever quotes them', () => {
  const secrets = gatewaySecrets([{ name: 'gh', headers: { Authorization: 'Bearer ghp-secret-token-1234', 'x-trace': 'visible-value' }, env: { API_TOKEN: 'env-secret-987' }, args: [], timeout_ms: 1, restart_delay_ms: 1, max_restart_delay_ms: 1 }]);
  assert.deepEqual(secrets, ['Bearer ghp-secret-token-1234', 'ghp-secret-token-1234', 'env-secret-987']);
  const { host, lines } = capture();
  const audit = new McpAudit(host, auditConfig(), 500, secrets);
  audit.record(record({ arguments: { note: 'env-secret-987' }, result: { content: [{ type: 'text', text: 'token ghp-secret-token-1234, trace visible-value' }] } }));
  audit.close();
  const text = JSON.stringify(lines());
  assert.ok(!text.includes('ghp-secret-token-1234') && !text.includes('env-secret-987'), text);
  assert.ok(text.includes('visible-value'));
});

test('excerpts: text blocks, else structured content, cut to length', () => {
  assert.equal(resultExcerpt({ content: [{ type: 'text', text: 'abcdef' }, { type: 'image', data: 'x', mimeType: 'image/png' }] }, 100), 'abcdef\n[image]');
  assert.equal(resultExcerpt({ content: [], structuredContent: { a: 1 } }, 100), '{"a":1}');
  assert.equal(resultExcerpt({ content: [{ type: 'text', text: 'abcdef' }] }, 3), 'abc…');
  assert.equal(resultExcerpt(undefined, 3), null);
});
