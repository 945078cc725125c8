// Audit sink: rotated JSONL files under the data dir (the embedded default). A search reads the files
// newest first, backwards, and stops at `limit` matches or after scanning `scanBytes` of lines.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AuditFileSinkConfig } from './config.js';
import type { AuditRecord } from './audit-record.js';
import type { AuditBatch, AuditSink } from './audit-sink.js';
import { isLiteralInJson, matchesSearch, textPattern, type AuditPage, type AuditSearch } from './audit-search.js';
import { linesBackwards } from './jsonl-scan.js';
import { JsonlWriter } from './jsonl-writer.js';

const dayMs = 24 * 3600 * 1000;
/** How much of the files one search reads at most before it answers with what it found and a cursor. */
export const defaultScanBytes = 64 * 1024 * 1024;

const writerSettings = (config: AuditFileSinkConfig) => ({
  rotateBytes: config.rotate_bytes,
  rotateIntervalMs: config.rotate_interval_s * 1000,
  retentionMs: config.retention_days * dayMs,
  maxFiles: config.max_files,
  flushMs: config.fsync_ms,
});

/** Tests a record line against a search: cheap byte and text checks first, JSON.parse only for what passes them. */
function lineFilter(search: AuditSearch): (line: Buffer) => AuditRecord | undefined {
  // Values our writers put in a record as JSON.stringify writes them, so their encoded form is in the line.
  const needles: Buffer[] = [];
  if (search.key !== undefined) needles.push(Buffer.from(JSON.stringify(search.key)));
  if (search.model !== undefined) needles.push(Buffer.from(JSON.stringify(search.model)));
  if (search.requestId !== undefined) needles.push(Buffer.from(`"request_id":${JSON.stringify(search.requestId)}`));
  if (search.status?.kind === 'code') needles.push(Buffer.from(`"status":${search.status.code}`));
  const pattern = search.text === undefined ? undefined : textPattern(search.text);
  // latin1 keeps ASCII as it is and never turns other bytes into ASCII, so an ASCII pattern matches only real ASCII.
  const textInLine = pattern !== undefined && isLiteralInJson(search.text!) ? pattern : undefined;
  const timed = search.sinceMs !== undefined || search.untilMs !== undefined;
  return (line) => {
    for (const needle of needles) if (line.indexOf(needle) === -1) return undefined;
    if (timed) {
      const at = /"time":"([^"]{10,40})"/.exec(line.toString('latin1', 0, Math.min(line.length, 200)));
      const ms = at === null ? Number.NaN : Date.parse(at[1]);
      if (search.sinceMs !== undefined && ms < search.sinceMs) return undefined;
      if (search.untilMs !== undefined && ms >= search.untilMs) return undefined;
    }
    if (textInLine !== undefined && !textInLine.test(line.toString('latin1'))) return undefined;
    let record: AuditRecord;
    try {
      record = JSON.parse(line.toString('utf8')) as AuditRecord;
    } catch {
      return undefined; // a line cut short by a crash
    }
    return matchesSearch(record, search, pattern) ? record : undefined;
  };
}

export class FileAuditSink implements AuditSink {
  readonly name = 'file';
  private readonly writer: JsonlWriter;

  constructor(
    readonly dir: string,
    private config: AuditFileSinkConfig,
    onError: (err: Error) => void,
    private readonly scanBytes = defaultScanBytes,
  ) {
    this.writer = new JsonlWriter({ dir, prefix: 'audit', ...writerSettings(config), onError });
  }

  /** The settings it writes with now. */
  get settings(): AuditFileSinkConfig {
    return this.config;
  }

  /** Rotation, retention and fsync settings changed by a reload (the directory is what makes a sink). */
  reconfigure(config: AuditFileSinkConfig): void {
    this.config = config;
    this.writer.reconfigure(writerSettings(config));
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

  /**
   * Newest written first. Stops at `limit` matches, at a file last written before `since`, or once
   * `scanBytes` of lines were read: the page then ends with a cursor where it stopped.
   */
  async search(search: AuditSearch): Promise<AuditPage> {
    await this.writer.flush();
    let files = await this.writer.newestFirst();
    let end: number | undefined;
    const before = search.before?.sink === 'file' ? search.before : undefined;
    if (before !== undefined) {
      // Names sort in creation order; a file pruned since the last page is simply passed.
      files = files.filter((path) => basename(path) <= before.file);
      if (files.length > 0 && basename(files[0]) === before.file) end = before.offset;
    }
    const accept = lineFilter(search);
    const found: AuditRecord[] = [];
    let scanned = 0;
    for (const [i, path] of files.entries()) {
      if (search.sinceMs !== undefined && !(await writtenSince(path, search.sinceMs))) break;
      for await (const { line, start } of linesBackwards(path, i === 0 ? end : undefined)) {
        scanned += line.length + 1;
        const record = line.length > 0 ? accept(line) : undefined;
        if (record !== undefined) found.push(record);
        if (found.length >= search.limit || scanned >= this.scanBytes) {
          return { records: found, nextBefore: { sink: 'file', file: basename(path), offset: start } };
        }
      }
    }
    return { records: found, nextBefore: null };
  }

  /** The record with this record_id: the files are read newest first until it is found. */
  async find(id: string): Promise<AuditRecord | undefined> {
    await this.writer.flush();
    const needle = Buffer.from(`"record_id":"${id}"`);
    for (const path of await this.writer.newestFirst()) {
      for await (const { line } of linesBackwards(path)) {
        if (line.indexOf(needle) === -1) continue;
        try {
          return JSON.parse(line.toString('utf8')) as AuditRecord;
        } catch {
          continue;
        }
      }
    }
    return undefined;
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** False when the file was last written before `ms`, so every record in it is older (a vanished file has none to read anyway). */
async function writtenSince(path: string, ms: number): Promise<boolean> {
  try {
    return (await stat(path)).mtimeMs >= ms;
  } catch {
    return true;
  }
}
