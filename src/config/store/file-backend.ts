// The embedded config store: <data_dir>/config-store.json (written whole: temp file, fsync, rename;
// mode 0600) and the change trail <data_dir>/config-changes.jsonl. For one gateway process per data dir.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ConfigChange, NewChange } from './changes.js';
import { emptyDocument, type ChangePage, type ConfigStoreBackend, type StoredDocument } from './backend.js';
import { isObject } from './merge-patch.js';

/** Makes the rename durable (best effort: not every platform can open a directory). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // The rename itself has happened; only its durability across a power cut is less certain.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class FileStoreError extends Error {
  override readonly name = 'FileStoreError';
}

export class FileConfigStore implements ConfigStoreBackend {
  readonly kind = 'file';
  readonly path: string;
  private readonly trailPath: string;
  private revision = 0;
  private nextChangeId: number | undefined;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'config-store.json');
    this.trailPath = join(dataDir, 'config-changes.jsonl');
  }

  get description(): string {
    return `file ${this.path}`;
  }

  async load(): Promise<StoredDocument> {
    if (!existsSync(this.path)) return emptyDocument();
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new FileStoreError(`${this.path}: not a config store document (${(err as Error).message}); restore it from a backup or remove it to drop the runtime changes`);
    }
    if (!isObject(parsed) || typeof parsed.revision !== 'number' || !isObject(parsed.entries)) {
      throw new FileStoreError(`${this.path}: not a config store document (want {"revision", "entries"})`);
    }
    this.revision = parsed.revision;
    return { revision: parsed.revision, entries: parsed.entries };
  }

  async save(doc: StoredDocument, expected: number): Promise<boolean> {
    if (expected !== this.revision) return false;
    const temp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const fd = openSync(temp, 'wx', 0o600);
      try {
        writeFileSync(fd, `${JSON.stringify({ revision: doc.revision, entries: doc.entries }, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.path);
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
    syncDirectory(dirname(this.path));
    this.revision = doc.revision;
    return true;
  }

  async appendChange(change: NewChange): Promise<ConfigChange> {
    if (this.nextChangeId === undefined) {
      const all = await this.readTrail();
      this.nextChangeId = all.reduce((max, c) => Math.max(max, c.id), 0) + 1;
    }
    const record: ConfigChange = { id: this.nextChangeId++, ...change };
    await appendFile(this.trailPath, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    return record;
  }

  async changes(page: ChangePage): Promise<ConfigChange[]> {
    const all = await this.readTrail();
    return all
      .filter((c) => page.before === undefined || c.id < page.before)
      .sort((a, b) => b.id - a.id)
      .slice(0, page.limit);
  }

  watch(): void {
    // One process per data dir: nobody else writes the file.
  }

  async close(): Promise<void> {}

  private async readTrail(): Promise<ConfigChange[]> {
    let text: string;
    try {
      text = await readFile(this.trailPath, 'utf8');
    } catch {
      return [];
    }
    const out: ConfigChange[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const record = JSON.parse(line) as ConfigChange;
        if (typeof record.id === 'number') out.push(record);
      } catch {
        // A last line cut by a crash.
      }
    }
    return out;
  }
}
