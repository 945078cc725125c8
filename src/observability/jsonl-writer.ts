// Append-only JSONL files with size/time rotation and retention. Lines are buffered and written +
// fsynced together at most `flushMs` later, so a kill -9 loses at most that window. A failed write
// keeps its lines and retries; nothing is dropped.
import { mkdirSync } from 'node:fs';
import { open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteBuffer } from '../shared/byte-buffer.js';

export interface JsonlWriterOptions {
  dir: string;
  /** File names are `<prefix>-<time>-<seq>.jsonl`, so names sort in creation order. */
  prefix: string;
  rotateBytes: number;
  /** 0: never rotate by age. */
  rotateIntervalMs: number;
  /** 0: keep forever. */
  retentionMs: number;
  /** 0: no limit. */
  maxFiles: number;
  /** 0: write as soon as the current event-loop turn ends. */
  flushMs: number;
  onError?: (err: Error) => void;
}

let sequence = 0;

function fileStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace('.', '');
}

function countLines(data: Uint8Array): number {
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Newline-terminated lines, already encoded, waiting for the disk: copied into one buffer that is
 * reused from write to write (one after a burst past 4 MiB is let go once written). A buffer per batch
 * kept the main thread's garbage collector busy with external memory under load (a full GC about
 * every 1.2 s).
 */
class PendingLines extends ByteBuffer {
  lines = 0;

  constructor() {
    super(64 * 1024, 4 * 1024 * 1024);
  }

  append(data: Uint8Array, lines: number): void {
    this.appendBytes(data);
    this.lines += lines;
  }

  /** The lines held, in place; clear() before the buffer is used again. */
  view(): Uint8Array {
    return this.held();
  }

  clear(): void {
    this.lines = 0;
    this.reset();
  }
}

export class JsonlWriter {
  /** Lines appended since the last write started. */
  private pending = new PendingLines();
  /** Lines being written; swapped with `pending` at each write, so neither buffer is allocated again. */
  private inFlight = new PendingLines();
  private writing = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private file: { handle: FileHandle; path: string; size: number; openedAt: number } | undefined;
  private linesWritten = 0;
  private closed = false;

  constructor(private readonly opts: JsonlWriterOptions) {
    // Audit lines hold every prompt and answer: the directory and its files are for the gateway's user only.
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  }

  /** New rotation, retention and flush settings for what it writes from now on (the directory and prefix stay). */
  reconfigure(changes: Partial<Pick<JsonlWriterOptions, 'rotateBytes' | 'rotateIntervalMs' | 'retentionMs' | 'maxFiles' | 'flushMs'>>): void {
    Object.assign(this.opts, changes);
  }

  /** Lines not yet on disk. */
  pendingLines(): number {
    return this.pending.lines + this.writing;
  }

  written(): number {
    return this.linesWritten;
  }

  /** Nothing buffered and no file open (used by spill replay to know it caught up). */
  isIdle(): boolean {
    return this.pendingLines() === 0 && this.file === undefined;
  }

  /** Queues serialised lines (each without its trailing newline). */
  append(lines: string[]): void {
    if (lines.length > 0) this.appendEncoded(Buffer.from(lines.join('\n') + '\n', 'utf8'), lines.length);
  }

  /** Queues `lines` newline-terminated lines already encoded as UTF-8. */
  appendEncoded(data: Uint8Array, lines: number): void {
    if (this.closed) throw new Error('JsonlWriter is closed');
    this.pending.append(data, lines);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush().catch((err: Error) => this.opts.onError?.(err)), this.opts.flushMs);
    }
  }

  /** Writes and fsyncs everything queued so far. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return this.enqueue(() => this.writePending());
  }

  /** Runs file operations one at a time; a failure is reported to its caller but does not stall later ones. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Flushes and closes the current file; the next write opens a new one. */
  seal(): Promise<void> {
    void this.flush().catch(() => undefined);
    return this.enqueue(async () => {
      if (this.pending.lines > 0) throw new Error('audit lines could not be written before sealing the file');
      await this.closeFile();
    });
  }

  async close(): Promise<void> {
    await this.seal();
    this.closed = true;
  }

  /** Files of this writer, oldest first, excluding the one open for writing. */
  async sealedFiles(): Promise<string[]> {
    const open = this.file?.path;
    return (await this.allFiles()).filter((p) => p !== open);
  }

  /** Files of this writer, newest first (including the open one). */
  async newestFirst(): Promise<string[]> {
    return (await this.allFiles()).reverse();
  }

  private async allFiles(): Promise<string[]> {
    const names = await readdir(this.opts.dir);
    return names
      .filter((n) => n.startsWith(this.opts.prefix + '-') && n.endsWith('.jsonl'))
      .sort()
      .map((n) => join(this.opts.dir, n));
  }

  private async writePending(): Promise<void> {
    if (this.pending.lines === 0) return;
    const batch = this.pending;
    this.pending = this.inFlight;
    this.inFlight = batch;
    const data = batch.view();
    this.writing = batch.lines;
    let offset = 0; // bytes of data already written
    try {
      while (offset < data.length) {
        const file = await this.openFile();
        // As many whole lines as fit in the current file (at least one line in an empty file).
        const rest = data.subarray(offset);
        const room = this.opts.rotateBytes - file.size;
        let length = rest.length;
        if (length > room) {
          const cut = room > 0 ? rest.lastIndexOf(10, room - 1) : -1;
          if (cut >= 0) length = cut + 1;
          else if (file.size === 0) length = rest.indexOf(10) + 1; // a line longer than rotateBytes gets a file of its own
          else {
            await this.closeFile(); // full: the next round opens a new file
            continue;
          }
        }
        const piece = rest.subarray(0, length);
        let written = 0;
        while (written < piece.length) {
          const { bytesWritten } = await file.handle.write(piece, written, piece.length - written);
          written += bytesWritten;
        }
        await file.handle.datasync();
        file.size += piece.length;
        offset += piece.length;
        const lines = piece.length === data.length ? batch.lines : countLines(piece);
        this.linesWritten += lines;
        this.writing -= lines;
      }
      batch.clear();
    } catch (err) {
      // Keep the unwritten lines, ahead of those appended meanwhile, and try again on the next flush.
      const left = data.subarray(offset);
      const newer = this.pending;
      const kept = new PendingLines();
      kept.append(left, countLines(left));
      kept.append(newer.view(), newer.lines);
      newer.clear();
      batch.clear();
      this.pending = kept;
      if (this.timer === undefined && !this.closed) {
        this.timer = setTimeout(() => void this.flush().catch((e: Error) => this.opts.onError?.(e)), Math.max(this.opts.flushMs, 500));
      }
      throw err;
    } finally {
      this.writing = 0;
    }
  }

  /** The file to append to: the current one unless it is older than rotateIntervalMs. */
  private async openFile(): Promise<NonNullable<JsonlWriter['file']>> {
    const now = Date.now();
    const current = this.file;
    if (current) {
      if (this.opts.rotateIntervalMs === 0 || now - current.openedAt < this.opts.rotateIntervalMs) return current;
      await this.closeFile();
    }
    const path = join(this.opts.dir, `${this.opts.prefix}-${fileStamp(new Date(now))}-${String(sequence++).padStart(6, '0')}.jsonl`);
    const handle = await open(path, 'a', 0o600);
    this.file = { handle, path, size: 0, openedAt: now };
    await this.applyRetention(path);
    return this.file;
  }

  private async closeFile(): Promise<void> {
    const current = this.file;
    this.file = undefined;
    if (current) await current.handle.close();
  }

  private async applyRetention(keep: string): Promise<void> {
    const { retentionMs, maxFiles } = this.opts;
    if (retentionMs === 0 && maxFiles === 0) return;
    const files = (await this.allFiles()).filter((p) => p !== keep);
    const excess = maxFiles > 0 ? Math.max(0, files.length + 1 - maxFiles) : 0;
    const cutoff = Date.now() - retentionMs;
    for (let i = 0; i < files.length; i++) {
      try {
        const old = retentionMs > 0 && (await stat(files[i])).mtimeMs < cutoff;
        if (i < excess || old) await unlink(files[i]);
      } catch {
        // Already gone (another process pruned it): nothing to do.
      }
    }
  }
}
