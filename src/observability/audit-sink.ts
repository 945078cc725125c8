// What every audit sink offers the dispatcher, and the filter GET /admin/audit reads back with.
import type { AuditRecord } from './audit-record.js';

/**
 * Audit records in transit from a server thread: `count` JSON lines (see writeAuditRecord), each
 * ending in a newline, UTF-8 encoded. Bytes rather than strings so the records never sit on the main
 * thread's JS heap, which under load costs more in garbage collection than the records cost to build.
 */
export interface AuditBatch {
  count: number;
  data: Uint8Array;
}

/** Record lines of a batch (for sinks that need them one by one). */
export function batchLines(batch: AuditBatch): string[] {
  const text = Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength).toString('utf8');
  return text.split('\n').filter((line) => line !== '');
}

export interface AuditQuery {
  /** Key id or name. */
  key?: string;
  model?: string;
  /** Epoch ms; only records that arrived at or after it. */
  sinceMs?: number;
  limit: number;
}

export interface AuditSink {
  readonly name: string;
  /**
   * Takes the records; must never drop them. `batch.data` may be a view into shared memory that is
   * reused once this returns: a sink copies what it keeps.
   */
  write(batch: AuditBatch): void;
  /** Records accepted but not yet durable in this sink (the queue depth the policy watches). */
  pending(): number;
  /** Newest first. */
  query(q: AuditQuery): Promise<AuditRecord[]>;
  /** Makes everything accepted so far durable (written, or spilled to local files). */
  close(): Promise<void>;
}

export function matchesQuery(r: AuditRecord, q: AuditQuery): boolean {
  if (q.key !== undefined && (r.key === null || (r.key.id !== q.key && r.key.name !== q.key))) return false;
  if (q.model !== undefined && r.model !== q.model && r.deployment?.name !== q.model) return false;
  if (q.sinceMs !== undefined && Date.parse(r.time) < q.sinceMs) return false;
  return true;
}
