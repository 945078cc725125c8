// What every audit sink offers the dispatcher.
import type { AuditRecord } from './audit-record.js';
import type { AuditPage, AuditSearch } from './audit-search.js';

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

export interface AuditSink {
  readonly name: string;
  /**
   * Takes the records; must never drop them. `batch.data` may be a view into shared memory that is
   * reused once this returns: a sink copies what it keeps.
   */
  write(batch: AuditBatch): void;
  /** Records accepted but not yet durable in this sink (the queue depth the policy watches). */
  pending(): number;
  /** One page of records matching the search, newest first (see audit-search.ts). */
  search(search: AuditSearch): Promise<AuditPage>;
  /** The record with this record_id (a lower-case UUID), if the sink holds it. */
  find(id: string): Promise<AuditRecord | undefined>;
  /** Makes everything accepted so far durable (written, or spilled to local files). */
  close(): Promise<void>;
}
