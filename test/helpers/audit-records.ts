// A complete, valid audit record for sink tests; each test overrides what it is about.
import { randomUUID } from 'node:crypto';
import { AuditBatchWriter } from '../../src/observability/audit-batch-writer.js';
import type { AuditRecord } from '../../src/observability/audit-record.js';
import type { AuditBatch } from '../../src/observability/audit-sink.js';

/** A batch of already serialised record lines, as a server thread sends it. */
export function toBatch(lines: readonly string[]): AuditBatch {
  const writer = new AuditBatchWriter();
  for (const line of lines) {
    writer.text(line);
    writer.endLine();
  }
  return takeBatch(writer);
}

/** What the writer holds, as a batch with bytes of its own (takeView's bytes are reused by the next write). */
export function takeBatch(writer: AuditBatchWriter): AuditBatch {
  const { count, bytes } = writer.takeView();
  return { count, data: new Uint8Array(bytes) };
}

export function sampleAuditRecord(i: number, timeMs: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    v: 1,
    record_id: randomUUID(),
    time: new Date(timeMs).toISOString(),
    request_id: `req-${i}`,
    key: { id: `key_${i % 2}`, name: `team-${i % 2}` },
    client_ip: '127.0.0.1',
    user_agent: null,
    method: 'POST',
    path: '/v1/chat/completions',
    operation: 'chat.completions',
    model: 'gpt-4o-mini',
    deployment: { name: 'gpt-4o-mini', provider: 'sim', upstream_model: 'sim' },
    response_model: 'sim',
    stream: false,
    attempts: 1,
    status: 200,
    outcome: 'ok',
    error: null,
    ttft_ms: 12.5,
    duration_ms: 20,
    upstream_ms: 19,
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 },
    cost_usd: 0.001,
    client_dialect: 'openai-chat',
    provider_type: 'openai',
    attempt_log: null,
    guard_verdicts: [],
    bodies: true,
    request_body: null,
    response_body: null,
    ...over,
  };
}
