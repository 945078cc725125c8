// Audit sink: rotated JSONL files under the data dir (the embedded default).
import { readFile, stat } from 'node:fs/promises';
import type { AuditFileSinkConfig } from './config.js';
import type { AuditRecord } from './audit-record.js';
import { matchesQuery, type AuditBatch, type AuditQuery, type AuditSink } from './audit-sink.js';
import { JsonlWriter } from './jsonl-writer.js';

const dayMs = 24 * 3600 * 1000;

export class FileAuditSink implements AuditSink {
  readonly name = 'file';
  private readonly writer: JsonlWriter;

  constructor(dir: string, config: AuditFileSinkConfig, onError: (err: Error) => void) {
    this.writer = new JsonlWriter({
      dir,
      prefix: 'audit',
      rotateBytes: config.rotate_bytes,
      rotateIntervalMs: config.rotate_interval_s * 1000,
      retentionMs: config.retention_days * dayMs,
      maxFiles: config.max_files,
      flushMs: config.fsync_ms,
      onError,
    });
  }

  write(batch: AuditBatch): void {
    this.writer.appendEncoded(batch.data, batch.count);
  }

  pending(): number {
    return this.writer.pendingLines();
  }

  written(): number {
    return this.writer.written();
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Reads files newest first, stopping once `limit` matches are found or files predate `sinceMs`. */
  async query(q: AuditQuery): Promise<AuditRecord[]> {
    await this.writer.flush();
    const found: AuditRecord[] = [];
    for (const path of await this.writer.newestFirst()) {
      if (q.sinceMs !== undefined && (await stat(path)).mtimeMs < q.sinceMs) break;
      const lines = (await readFile(path, 'utf8')).split('\n');
      for (let i = lines.length - 1; i >= 0 && found.length < q.limit; i--) {
        if (lines[i] === '') continue;
        let record: AuditRecord;
        try {
          record = JSON.parse(lines[i]) as AuditRecord;
        } catch {
          continue; // a line cut short by a crash
        }
        if (matchesQuery(record, q)) found.push(record);
      }
      if (found.length >= q.limit) break;
    }
    return found;
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}
