import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createContext, type RequestContext } from '../../src/pipeline/context.js';
import { AuditBatchWriter } from '../../src/observability/audit-batch-writer.js';
import { writeAuditRecord, type AuditRecord } from '../../src/observability/audit-record.js';
import { batchLines } from '../../src/observability/audit-sink.js';
import { takeBatch } from '../helpers/audit-records.js';

interface Who {
  key: { id: string; name: string } | null;
  ip: string;
  userAgent: string | undefined;
  method: string;
  path: string;
  model: string;
  deployment: { name: string; provider: string; upstreamModel: string } | null;
  responseModel: string | undefined;
  stream: boolean;
  attempts: number;
  status: number;
  outcome: 'ok' | 'upstream_error';
  error: { type: string; code: string | null; message: string } | undefined;
}

const base: Who = {
  key: { id: 'key_1', name: 'team-a' },
  ip: '10.0.0.1',
  userAgent: 'OpenAI/JS 6',
  method: 'POST',
  path: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  deployment: { name: 'mini-east', provider: 'sim', upstreamModel: 'sim-mini' },
  responseModel: 'sim-mini-2024',
  stream: false,
  attempts: 1,
  status: 200,
  outcome: 'ok',
  error: undefined,
};
const upstreamError = { type: 'server_error', code: 'upstream_error', message: 'The upstream failed.' };

function context(who: Who): RequestContext {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (who.userAgent !== undefined) headers['user-agent'] = who.userAgent;
  const ctx = createContext({ method: who.method, path: who.path, query: '', headers, remoteAddress: who.ip }, Buffer.from('{"model":"m"}'), 'chat.completions');
  const deployment = who.deployment && {
    name: who.deployment.name,
    id: `${who.deployment.provider}/${who.deployment.upstreamModel}`,
    provider: { name: who.deployment.provider },
    upstreamModel: who.deployment.upstreamModel,
  };
  Object.assign(ctx, { model: who.model, stream: who.stream, key: who.key && { ...who.key }, deployment });
  const error = who.error && { ...who.error };
  Object.assign(ctx.result, { status: who.status, outcome: who.outcome, attempts: who.attempts, responseModel: who.responseModel, error });
  return ctx;
}

test('records of requests that differ in any one field of who asked for what, or how it went, each carry their own values', () => {
  // Each variant changes one value of the base; written between two base records, so a record that
  // reused the previous request's fields would show the base's value instead of its own (or vice versa).
  const variants: Who[] = [
    { ...base, key: { id: 'key_2', name: 'team-a' } },
    { ...base, key: { id: 'key_1', name: 'team-b' } },
    { ...base, key: null },
    { ...base, ip: '10.0.0.2' },
    { ...base, userAgent: 'curl/8' },
    { ...base, userAgent: undefined },
    { ...base, method: 'GET' },
    { ...base, path: '/v1/completions' },
    { ...base, model: 'gpt-4o' },
    { ...base, deployment: { ...base.deployment!, name: 'mini-west' } },
    { ...base, deployment: { ...base.deployment!, provider: 'sim-2' } },
    { ...base, deployment: { ...base.deployment!, upstreamModel: 'sim-mini-b' } },
    { ...base, deployment: null },
    { ...base, responseModel: undefined },
    { ...base, responseModel: 'é "quoted"' },
    { ...base, stream: true },
    { ...base, attempts: 2 },
    { ...base, status: 201 },
    { ...base, outcome: 'upstream_error', status: 502, error: upstreamError },
    { ...base, outcome: 'upstream_error', status: 502, error: { ...upstreamError, message: 'Another failure.' } },
  ];
  const sequence = [base, ...variants.flatMap((v) => [v, v, base])];
  const writer = new AuditBatchWriter();
  for (const who of sequence) writeAuditRecord(writer, context(who), false, undefined);
  const records = batchLines(takeBatch(writer)).map((line) => JSON.parse(line) as AuditRecord);
  assert.equal(records.length, sequence.length);
  records.forEach((record, i) => {
    const who = sequence[i]!;
    const d = who.deployment;
    assert.deepEqual(
      {
        key: record.key,
        client_ip: record.client_ip,
        user_agent: record.user_agent,
        method: record.method,
        path: record.path,
        model: record.model,
        deployment: record.deployment,
        response_model: record.response_model,
        stream: record.stream,
        attempts: record.attempts,
        status: record.status,
        outcome: record.outcome,
        error: record.error,
      },
      {
        key: who.key,
        client_ip: who.ip,
        user_agent: who.userAgent ?? null,
        method: who.method,
        path: who.path,
        model: who.model,
        deployment: d && { name: d.name, id: `${d.provider}/${d.upstreamModel}`, provider: d.provider, upstream_model: d.upstreamModel },
        response_model: who.responseModel ?? null,
        stream: who.stream,
        attempts: who.attempts,
        status: who.status,
        outcome: who.outcome,
        error: who.error ?? null,
      },
      `record ${i}`,
    );
  });
});
