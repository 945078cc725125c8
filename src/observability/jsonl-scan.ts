// Reads a JSONL file backwards, newest line first, in chunks, so a search of the audit files reads only
// as far back as it needs. A line is handed out with the file offset where it starts: a paging cursor.
import { open } from 'node:fs/promises';

export interface ScannedLine {
  /** The line without its newline (a view, valid until the next line is read). */
  line: Buffer;
  /** File offset of its first byte. */
  start: number;
}

const defaultChunkBytes = 1024 * 1024;

/**
 * The whole lines of `path` that end at or before `end` (default: the file's size), last first. Bytes
 * after the last newline are a line still being written and are skipped. A missing file has no lines.
 */
export async function* linesBackwards(path: string, end?: number, chunkBytes = defaultChunkBytes): AsyncGenerator<ScannedLine> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    let pos = Math.min(end ?? Infinity, (await handle.stat()).size);
    /** The bytes from the current chunk's start up to the end of the open line (its newline included). */
    let rest: Buffer = Buffer.alloc(0);
    /** Whether a newline has been seen: before it, bytes belong to the unfinished last line. */
    let seenNewline = false;
    while (pos > 0) {
      const size = Math.min(chunkBytes, pos);
      const chunk = Buffer.allocUnsafe(size);
      let read = 0;
      while (read < size) {
        const { bytesRead } = await handle.read(chunk, read, size - read, pos - size + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      if (read < size) throw new Error(`${path} shrank while it was read`);
      pos -= size;
      const data = rest.length > 0 ? Buffer.concat([chunk, rest]) : chunk;
      let lineEnd = seenNewline ? data.length : -1; // exclusive end of the open line, its newline included
      for (let i = chunk.lastIndexOf(10); i >= 0; i = i > 0 ? chunk.lastIndexOf(10, i - 1) : -1) {
        if (lineEnd >= 0) yield { line: data.subarray(i + 1, lineEnd - 1), start: pos + i + 1 };
        lineEnd = i + 1;
        seenNewline = true;
      }
      rest = lineEnd >= 0 ? data.subarray(0, lineEnd) : Buffer.alloc(0);
    }
    if (seenNewline && rest.length > 0) yield { line: rest.subarray(0, rest.length - 1), start: 0 };
  } finally {
    await handle.close();
  }
}
