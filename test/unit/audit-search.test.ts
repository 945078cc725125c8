// GET /admin/audit's parameters, the filter, the cursor, the summary and the SQL they become.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeCursor,
  encodeCursor,
  isLiteralInJson,
  matchesSearch,
  parseAuditSearch,
  parseRecordId,
  summarize,
  type AuditSearch,
} from '../../src/observability/audit-search.js';
import { bodyTextPath, searchSql } from '../../src/observability/postgres-query.js';
import { GatewayError } from '../../src/shared/errors.js';
import { sampleAuditRecord } from '../helpers/audit-records.js';

const parse = (query: string) => parseAuditSearch(new URLSearchParams(query));

/** Asserts the query is refused with a 400 naming `param`. */
function refused(query: string, param: string): void {
  assert.throws(
    () => parse(query),
    (e: unknown) => e instanceof GatewayError && e.status === 400 && e.param === param && e.type === 'invalid_request_error',
    `${query} → 400 naming ${param}`,
  );
}

describe('parameters', () => {
  test('every filter, with the defaults for what is not given', () => {
    assert.deepEqual(parse(''), { limit: 100, full: false });
    const cursor = encodeCursor({ sink: 'file', file: 'audit-20260101T000000000Z-000001.jsonl', offset: 4096 });
    assert.deepEqual(parse(`key=team-a&model=gpt-4o&request_id=r-1&status=429&since=1700000000000&until=2026-01-01T00:00:00Z&q=Hello&limit=5&full=true&before=${cursor}`), {
      key: 'team-a',
      model: 'gpt-4o',
      requestId: 'r-1',
      status: { kind: 'code', code: 429 },
      sinceMs: 1700000000000,
      untilMs: Date.parse('2026-01-01T00:00:00Z'),
      text: 'Hello',
      limit: 5,
      full: true,
      before: { sink: 'file', file: 'audit-20260101T000000000Z-000001.jsonl', offset: 4096 },
    });
  });

  test('status: a code, a class, ok or error', () => {
    assert.deepEqual(parse('status=0').status, { kind: 'code', code: 0 });
    assert.deepEqual(parse('status=4xx').status, { kind: 'class', from: 400, to: 500 });
    assert.deepEqual(parse('status=5XX').status, { kind: 'class', from: 500, to: 600 });
    assert.deepEqual(parse('status=ok').status, { kind: 'ok' });
    assert.deepEqual(parse('status=ERROR').status, { kind: 'error' });
    for (const bad of ['600', '42x', 'failed', '-1', '1e2']) refused(`status=${bad}`, 'status');
  });

  test('empty values are absent; a bad, repeated or unknown parameter is a 400 naming it', () => {
    assert.deepEqual(parse('key=&model=&q='), { limit: 100, full: false });
    refused('since=yesterday', 'since');
    refused('until=soon', 'until');
    refused('since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z', 'until');
    for (const bad of ['0', '1001', '2.5', 'ten']) refused(`limit=${bad}`, 'limit');
    refused('full=yes', 'full');
    refused(`q=${'x'.repeat(257)}`, 'q');
    refused('key=a&key=b', 'key');
    refused('modle=gpt-4o', 'modle');
    refused('before=not-a-cursor', 'before');
    refused(`before=${Buffer.from('{"s":"file","f":"../../etc/passwd","o":0}').toString('base64url')}`, 'before');
    refused(`before=${Buffer.from('{"s":"postgres","t":"now(); DROP TABLE x","i":"1"}').toString('base64url')}`, 'before');
  });

  test('cursors of both sinks survive the round trip', () => {
    for (const cursor of [
      { sink: 'file' as const, file: 'audit-20260101T120000123Z-000042.jsonl', offset: 0 },
      { sink: 'postgres' as const, ts: '2026-01-01T12:00:00.123456Z', id: '987654321' },
    ]) {
      assert.deepEqual(decodeCursor(encodeCursor(cursor)), cursor);
    }
  });

  test('a record id is a UUID', () => {
    assert.equal(parseRecordId('0B5E2A34-1111-4222-8333-444455556666'), '0b5e2a34-1111-4222-8333-444455556666');
    assert.throws(() => parseRecordId("1' OR '1'='1"), (e: unknown) => e instanceof GatewayError && e.status === 400 && e.param === 'id');
  });
});

describe('filter', () => {
  const t0 = Date.parse('2026-03-01T10:00:00Z');
  const record = sampleAuditRecord(1, t0, {
    key: { id: 'key_abc', name: 'team-a' },
    model: 'gpt-4o-mini',
    deployment: { name: 'mini', id: 'sim/sim-mini', provider: 'sim', upstream_model: 'sim-mini' },
    status: 429,
    outcome: 'client_error',
    request_body: { messages: [{ role: 'user', content: [{ type: 'text', text: 'Where is the Eiffel tower?' }] }], metadata: { tag: 'Paris' } },
    response_body: { choices: [{ message: { content: 'In PARIS, on the Champ de Mars.' } }] },
  });
  const matches = (over: Partial<AuditSearch>) => matchesSearch(record, { limit: 10, full: false, ...over });

  test('key by id or name; model as asked or the deployment name', () => {
    assert.ok(matches({ key: 'key_abc' }) && matches({ key: 'team-a' }));
    assert.ok(!matches({ key: 'team-b' }));
    assert.ok(!matchesSearch({ ...record, key: null }, { key: 'team-a', limit: 1, full: false }));
    assert.ok(matches({ model: 'gpt-4o-mini' }) && matches({ model: 'mini' }) && !matches({ model: 'gpt-4o' }));
    assert.ok(matches({ requestId: 'req-1' }) && !matches({ requestId: 'req-2' }));
  });

  test('status by code, class and outcome', () => {
    assert.ok(matches({ status: { kind: 'code', code: 429 } }));
    assert.ok(!matches({ status: { kind: 'code', code: 200 } }));
    assert.ok(matches({ status: { kind: 'class', from: 400, to: 500 } }));
    assert.ok(!matches({ status: { kind: 'class', from: 500, to: 600 } }));
    assert.ok(matches({ status: { kind: 'error' } }) && !matches({ status: { kind: 'ok' } }));
    const aborted = { ...record, status: 200, outcome: 'aborted' };
    assert.ok(matchesSearch(aborted, { status: { kind: 'error' }, limit: 1, full: false }), 'an aborted stream is an error though its status is 200');
  });

  test('time: since inclusive, until exclusive', () => {
    assert.ok(matches({ sinceMs: t0 }) && !matches({ sinceMs: t0 + 1 }));
    assert.ok(matches({ untilMs: t0 + 1 }) && !matches({ untilMs: t0 }));
  });

  test('text: any string in either body, case-insensitive, literal; never keys or other fields', () => {
    assert.ok(matches({ text: 'eiffel TOWER' }), 'a nested content part of the request');
    assert.ok(matches({ text: 'champ de' }), 'the answer');
    assert.ok(matches({ text: 'paris' }), 'a metadata value');
    assert.ok(!matches({ text: 'metadata' }), 'a key is not text');
    assert.ok(!matches({ text: 'team-a' }), 'the key name is not in a body');
    assert.ok(!matches({ text: 'Eiffel.tower' }), 'the text is literal, not a pattern');
    const mcp = { ...record, request_body: null, response_body: null, mcp: { result_excerpt: 'Rows: 42 widgets' } };
    assert.ok(matchesSearch(mcp, { text: 'WIDGETS', limit: 1, full: false }), "an MCP call's result excerpt");
  });

  test('text that an encoder may escape is not looked for in the raw line', () => {
    assert.ok(isLiteralInJson('hello world 42'));
    for (const text of ['say "hi"', 'a\\b', '</script>', 'café', 'tab\there', 'x/y', "it's"]) assert.ok(!isLiteralInJson(text), text);
  });

  test('a summary holds what a list shows and no body', () => {
    const withTrace = { ...record, trace_id: '0af7651916cd43dd8448eb211c80319c', guard_verdicts: [{ guard: 'pii', action: 'redact', detail: 'email' }], error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'slow down' } };
    const summary = summarize(withTrace);
    assert.deepEqual(summary, {
      id: record.record_id,
      time: record.time,
      request_id: 'req-1',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      key: { id: 'key_abc', name: 'team-a' },
      model: 'gpt-4o-mini',
      deployment: 'sim/sim-mini',
      provider: 'sim',
      operation: 'chat.completions',
      stream: false,
      status: 429,
      outcome: 'client_error',
      error_code: 'rate_limit_exceeded',
      duration_ms: 20,
      ttft_ms: 12.5,
      tokens: { prompt: 10, completion: 5, total: 15 },
      cost_usd: 0.001,
      attempts: 1,
      guards: [{ guard: 'pii', action: 'redact' }],
      bodies: true,
    });
    assert.equal(summarize({ ...record, trace_id: undefined, deployment: null, usage: null }).trace_id, null);
  });
});

describe('PostgreSQL query', () => {
  test('only the conditions the search names, each with its value as a parameter', () => {
    assert.deepEqual(searchSql('audit_t', { limit: 10, full: true }).values, [11]);
    assert.doesNotMatch(searchSql('audit_t', { limit: 10, full: true }).text, /WHERE/);
    const { text, values } = searchSql('audit_t', {
      key: 'team-a',
      model: 'gpt-4o',
      status: { kind: 'class', from: 500, to: 600 },
      sinceMs: 1000,
      text: '50% off_sale',
      before: { sink: 'postgres', ts: '2026-01-01T00:00:00.000001Z', id: '42' },
      limit: 20,
      full: false,
    });
    assert.match(text, /\(key_id = \$1 OR key_name = \$1\)/);
    assert.match(text, /\(model = \$2 OR deployment = \$2\)/);
    assert.match(text, /status >= \$3 AND status < \$4/);
    assert.match(text, /ts >= \$5::timestamptz/);
    assert.match(text, /jsonb_path_exists\(.*\$6::jsonpath\)/);
    assert.match(text, /ts <= \$7::timestamptz AND \(ts < \$7::timestamptz OR id < \$8::bigint\)/);
    assert.match(text, /record - 'request_body' - 'response_body'/);
    assert.match(text, /ORDER BY ts DESC, id DESC LIMIT \$9/);
    assert.deepEqual(values, ['team-a', 'gpt-4o', 500, 600, new Date(1000).toISOString(), bodyTextPath('50% off_sale'), '2026-01-01T00:00:00.000001Z', '42', 21]);
    assert.doesNotMatch(text, /team-a|50%/, 'no value is spliced into the SQL');
  });

  test('the body text is a quoted jsonpath literal with the literal and case-insensitive flags', () => {
    assert.equal(bodyTextPath('say "hi" \\ now'), '$.** ? (@ like_regex "say \\"hi\\" \\\\ now" flag "iq")');
  });
});
