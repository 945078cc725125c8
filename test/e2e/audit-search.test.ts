// Audit browsing through a real gateway: traffic from the OpenAI SDK under two virtual keys, then
// GET /admin/audit searched by key, model, status, time and text, paged, and one record read whole by
// id — on the file sink and on PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import pg from 'pg';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import type { AuditSummary } from '../../src/observability/audit-search.js';
import { expectErrorShape, startStack, type Stack } from '../helpers/stack.js';

const pgUrl = process.env.SWITCHYARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const keys = { 'team-a': 'sk-team-a-search-0001', 'team-b': 'sk-team-b-search-0002' } as const;
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

interface Sent {
  id: string;
  key: keyof typeof keys;
  model: string;
  status: number;
  question: string;
  answer: string;
  at: number;
}

interface ListBody {
  object: string;
  source: string;
  data: AuditSummary[];
  next_before: string | null;
}

function sinkSections(sink: 'file' | 'postgres', table: string): Record<string, unknown> {
  const file = { enabled: sink === 'file', fsync_ms: 10, rotate_bytes: 4096 };
  const postgres = { enabled: sink === 'postgres', url: pgUrl, table, batch: 10 };
  return { audit: { sinks: { file, postgres } } };
}

for (const sink of ['file', 'postgres'] as const) {
  describe(`audit search on the ${sink} sink`, () => {
    const table = `sy_e2e_search_${process.pid}_${randomUUID().slice(0, 8)}`;
    let stack: Stack;
    const sent: Sent[] = [];
    let windowStart = 0;
    let windowEnd = 0;

    const admin = async (path: string): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`http://127.0.0.1:${stack.gateway.adminPort}${path}`, { headers: { authorization: `Bearer ${stack.gateway.adminToken}` } });
      return { status: res.status, body: await res.json() };
    };
    const list = async (query: string): Promise<ListBody> => {
      const { status, body } = await admin(`/admin/audit?${query}`);
      assert.equal(status, 200, JSON.stringify(body));
      return body as ListBody;
    };
    /** Request ids of the records the search finds, newest first, among the requests this test sent. */
    const found = async (query: string) => (await list(`${query}&limit=1000`)).data.map((r) => r.request_id);
    const expected = (pick: (s: Sent) => boolean) => sent.filter(pick).map((s) => s.id).reverse();

    before(async () => {
      stack = await startStack({
        config: {
          auth: 'keys',
          keys: Object.entries(keys).map(([name, key]) => ({ name, key })),
          ...sinkSections(sink, table),
        },
      });
      const client = (key: keyof typeof keys) => new OpenAI({ baseURL: stack.baseURL, apiKey: keys[key], maxRetries: 0 });
      const send = async (key: keyof typeof keys, model: string, question: string, opts: { stream?: boolean; headers?: Record<string, string> } = {}) => {
        const id = `search-${sink}-${sent.length}`;
        const at = Date.now();
        const headers = { 'x-request-id': id, ...opts.headers };
        let status = 200;
        let answer = '';
        try {
          if (opts.stream) {
            const stream = await client(key).chat.completions.create({ model, messages: [{ role: 'user', content: question }], stream: true }, { headers });
            for await (const chunk of stream) answer += chunk.choices[0]?.delta?.content ?? '';
          } else {
            const done = await client(key).chat.completions.create({ model, messages: [{ role: 'user', content: question }] }, { headers });
            answer = done.choices[0]?.message.content ?? '';
          }
        } catch (err) {
          assert.ok(err instanceof OpenAI.APIError, String(err));
          status = err.status ?? 0;
        }
        sent.push({ id, key, model, status, question, answer, at });
      };
      for (let i = 0; i < 3; i++) await send('team-a', 'gpt-4o-mini', `alpha ${i}: where do Zebras live?`);
      await new Promise((r) => setTimeout(r, 20));
      windowStart = Date.now();
      await send('team-a', 'gpt-4o', 'alpha streamed one', { stream: true, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      await send('team-b', 'gpt-4o-mini', 'beta 0: a plain question');
      await send('team-b', 'no-such-model', 'beta 1: to nowhere');
      windowEnd = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      await send('team-b', 'gpt-4o-mini', 'beta 2: slow down', { headers: { 'x-sim-fault': 'status-429' } });
      await send('team-a', 'gpt-4o', 'alpha streamed two', { stream: true });
      await send('team-b', 'gpt-4o-mini', 'beta 3: the last one');
      assert.deepEqual(
        sent.map((s) => s.status),
        [200, 200, 200, 200, 200, 404, 429, 200, 200],
      );
      // Records reach the sink within fsync_ms (file) or the next batch (PostgreSQL).
      const deadline = Date.now() + 10_000;
      while ((await found('')).length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    });
    after(async () => {
      await stack?.stop();
      if (sink === 'postgres') {
        const db = new pg.Pool({ connectionString: pgUrl, max: 1 });
        await db.query(`DROP TABLE IF EXISTS ${table}`);
        await db.end();
      }
    });

    test('by key, model and request id; newest first; summaries without bodies', async () => {
      const all = await list('limit=1000');
      assert.equal(all.object, 'list');
      assert.equal(all.source, sink);
      assert.deepEqual(all.data.map((r) => r.request_id), expected(() => true));
      assert.deepEqual(await found('key=team-a'), expected((s) => s.key === 'team-a'));
      assert.deepEqual(await found('key=team-b&model=gpt-4o-mini'), expected((s) => s.key === 'team-b' && s.model === 'gpt-4o-mini'));
      assert.deepEqual(await found('model=gpt-4o'), expected((s) => s.model === 'gpt-4o'));
      assert.deepEqual(await found(`request_id=${sent[4].id}`), [sent[4].id]);
      const summary = all.data.find((r) => r.request_id === sent[3].id)!;
      assert.deepEqual(Object.keys(summary).sort(), [
        'attempts', 'bodies', 'cost_usd', 'deployment', 'duration_ms', 'error_code', 'guards', 'id', 'key', 'model', 'operation',
        'outcome', 'provider', 'request_id', 'status', 'stream', 'time', 'tokens', 'trace_id', 'ttft_ms',
      ]);
      assert.equal(summary.key?.name, 'team-a');
      assert.equal(summary.model, 'gpt-4o');
      assert.equal(summary.deployment, 'sim/gpt-4o');
      assert.equal(summary.stream, true);
      assert.equal(summary.trace_id, traceId, "the client's traceparent, tracing being off");
      assert.ok(summary.tokens !== null && summary.tokens.completion > 0);
      assert.ok(summary.ttft_ms !== null && summary.duration_ms !== null && summary.duration_ms >= summary.ttft_ms);
      assert.ok(!JSON.stringify(all).includes('alpha streamed'), 'no body text in a list');
    });

    test('by status: a code, a class, ok and error', async () => {
      assert.deepEqual(await found('status=429'), [sent[6].id]);
      assert.deepEqual(await found('status=404'), [sent[5].id]);
      assert.deepEqual(await found('status=4xx'), [sent[6].id, sent[5].id]);
      assert.deepEqual(await found('status=error'), [sent[6].id, sent[5].id]);
      assert.deepEqual(await found('status=ok'), expected((s) => s.status === 200));
      const refused = (await list(`request_id=${sent[5].id}`)).data[0];
      assert.equal(refused.error_code, 'model_not_found');
      assert.equal(refused.deployment, null);
    });

    test('by time: since inclusive, until exclusive, as ISO times or epoch milliseconds', async () => {
      const inWindow = expected((s) => s.at >= windowStart && s.at < windowEnd);
      assert.equal(inWindow.length, 3);
      assert.deepEqual(await found(`since=${windowStart}&until=${windowEnd}`), inWindow);
      assert.deepEqual(await found(`since=${new Date(windowStart).toISOString()}&until=${new Date(windowEnd).toISOString()}`), inWindow);
      assert.deepEqual(await found(`since=${windowEnd}&key=team-a`), [sent[7].id]);
    });

    test('by text in the bodies, case-insensitive: the question or the answer', async () => {
      assert.deepEqual(await found('q=ZEBRAS'), [sent[2].id, sent[1].id, sent[0].id]);
      assert.deepEqual(await found('q=zebras&key=team-b'), []);
      const answer = sent[7].answer;
      assert.ok(answer.length > 12, 'the stream answered with text');
      const piece = answer.slice(2, 12).toUpperCase();
      const hits = await found(`q=${encodeURIComponent(piece)}`);
      assert.ok(hits.includes(sent[7].id), `the reassembled answer of the stream holds '${piece}'`);
      assert.ok(hits.every((id) => sent.find((s) => s.id === id)!.answer.toUpperCase().includes(piece)));
      assert.deepEqual(await found('q=team-a'), [], 'the key name is not in a body');
    });

    test('paging with next_before: every record once, in order, then null', async () => {
      const seen: string[] = [];
      let before = '';
      for (let page = 0; page < 20; page++) {
        const body = await list(`limit=2${before ? `&before=${before}` : ''}`);
        assert.ok(body.data.length <= 2);
        seen.push(...body.data.map((r) => r.request_id));
        if (body.next_before === null) break;
        before = body.next_before;
      }
      assert.deepEqual(seen, expected(() => true));
      const withFilter = await list('key=team-b&limit=2');
      assert.equal(withFilter.data.length, 2);
      const rest = await list(`key=team-b&limit=10&before=${withFilter.next_before}`);
      assert.deepEqual([...withFilter.data, ...rest.data].map((r) => r.request_id), expected((s) => s.key === 'team-b'));
    });

    test('one record whole by id: bodies, verdicts, attempt log, trace id; an unknown id is a 404', async () => {
      const summary = (await list(`request_id=${sent[3].id}`)).data[0];
      const { status, body } = await admin(`/admin/audit/${summary.id}`);
      assert.equal(status, 200);
      const record = body as AuditRecord;
      assert.equal(record.record_id, summary.id);
      assert.equal(record.trace_id, traceId);
      assert.deepEqual((record.request_body as { messages: unknown }).messages, [{ role: 'user', content: 'alpha streamed one' }]);
      assert.equal((record.response_body as { choices: Array<{ message: { content: string } }> }).choices[0].message.content, sent[3].answer);
      assert.equal(record.attempt_log?.length, 1);
      assert.equal(record.attempt_log?.[0].status, 200);
      assert.deepEqual(record.guard_verdicts, []);
      assert.equal(record.key?.name, 'team-a');

      const missing = await admin(`/admin/audit/${randomUUID()}`);
      assert.equal(missing.status, 404);
      assert.equal(expectErrorShape(missing.body).error.code, 'not_found');
      const bad = await admin('/admin/audit/not-a-uuid');
      assert.equal(bad.status, 400);
      assert.equal(expectErrorShape(bad.body).error.param, 'id');
    });

    test('full=true lists whole records', async () => {
      const body = await list(`key=team-a&model=gpt-4o&full=true`);
      assert.equal(body.data.length, 2);
      const records = body.data as unknown as AuditRecord[];
      assert.deepEqual(records.map((r) => (r.request_body as { messages: Array<{ content: string }> }).messages[0].content), ['alpha streamed two', 'alpha streamed one']);
    });

    test('a bad parameter is a 400 in the OpenAI shape naming it', async () => {
      for (const [query, param] of [
        ['status=teapot', 'status'],
        ['limit=0', 'limit'],
        ['since=yesterday', 'since'],
        ['before=garbage', 'before'],
        ['colour=red', 'colour'],
        ['until=1&since=2', 'until'],
      ]) {
        const { status, body } = await admin(`/admin/audit?${query}`);
        assert.equal(status, 400, query);
        const error = expectErrorShape(body).error;
        assert.equal(error.param, param, query);
        assert.equal(error.type, 'invalid_request_error');
      }
      const other = sink === 'file' ? Buffer.from('{"s":"postgres","t":"2026-01-01T00:00:00.000000Z","i":"1"}') : Buffer.from('{"s":"file","f":"audit-20260101T000000000Z-000001.jsonl","o":0}');
      const { status, body } = await admin(`/admin/audit?before=${other.toString('base64url')}`);
      assert.equal(status, 400, "a cursor of a sink that is not on");
      assert.equal(expectErrorShape(body).error.param, 'before');
    });
  });
}
