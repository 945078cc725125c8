// Append-only JSONL files with size/time rotation and retention. Lines are buffered and written +
// fsynced together at most `flushMs` later, so a kill -9 loses at most that window. A failed write
// keeps its lines and retries; nothing is dropped.
import { mkdirSync } from 'node:fs';
import { open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

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

/** Newline-terminated lines, already encoded: kept off the JS heap while they wait for the disk. */
interface Chunk {
  data: Uint8Array;
  lines: number;
}

function countLines(data: Uint8Array): number {
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}

export class JsonlWriter {
  private pending: Chunk[] = [];
  private pendingCount = 0;
  private writing = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private file: { handle: FileHandle; path: string; size: number; openedAt: number } | undefined;
  private linesWritten = 0;
  private closed = false;

  constructor(private readonly opts: JsonlWriterOptions) {
    mkdirSync(opts.dir, { recursive: true });
  }

  /** Lines not yet on disk. */
  pendingLines(): number {
    return this.pendingCount + this.writing;
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
    this.pending.push({ data, lines });
    this.pendingCount += lines;
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
      if (this.pending.length > 0) throw new Error('audit lines could not be written before sealing the file');
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
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    this.pending = [];
    this.writing = this.pendingCount;
    this.pendingCount = 0;
    let i = 0;
    let offset = 0; // bytes of chunks[i] already written
    try {
      while (i < chunks.length) {
        const file = await this.openFile();
        // As many whole lines as fit in the current file (at least one line in an empty file).
        const room = this.opts.rotateBytes - file.size;
        const pieces: Uint8Array[] = [];
        let bytes = 0;
        while (i < chunks.length) {
          const rest = chunks[i].data.subarray(offset);
          if (bytes + rest.length <= room) {
            pieces.push(rest);
            bytes += rest.length;
            i++;
            offset = 0;
            continue;
          }
          const limit = room - bytes;
          let cut = limit > 0 ? rest.lastIndexOf(10, limit - 1) : -1;
          if (cut < 0 && bytes === 0 && file.size === 0) cut = rest.indexOf(10); // a line longer than rotateBytes gets a file of its own
          if (cut >= 0) {
            pieces.push(rest.subarray(0, cut + 1));
            bytes += cut + 1;
            offset += cut + 1;
            if (offset === chunks[i].data.length) {
              i++;
              offset = 0;
            }
          }
          break;
        }
        if (bytes === 0) {
          await this.closeFile(); // full: the next round opens a new file
          continue;
        }
        const data = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await file.handle.write(data, written, data.length - written);
          written += bytesWritten;
        }
        await file.handle.datasync();
        file.size += data.length;
        const lines = countLines(data);
        this.linesWritten += lines;
        this.writing -= lines;
      }
    } catch (err) {
      // Keep the unwritten lines (ahead of newer ones) and try again on the next flush.
      const left = chunks.slice(i);
      if (left.length > 0 && offset > 0) {
        const rest = left[0].data.subarray(offset);
        left[0] = { data: rest, lines: countLines(rest) };
      }
      this.pending = left.concat(this.pending);
      this.pendingCount += left.reduce((n, c) => n + c.lines, 0);
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
    const handle = await open(path, 'a');
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
