// The embedded store: one JSON document under data_dir, replaced atomically (tmp + fsync + rename + fsync dir),
// so a kill -9 at any instant leaves either the old or the new document, never a torn one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyRecord } from './keys.js';

/** Usage counters by subject id ("k:<key id>", "m:<model>", "km:<key id>:<model>") and slot name. */
export type UsageDump = Record<string, Record<string, number>>;

export interface LimitsDocument {
  version: 1;
  keys: KeyRecord[];
  usage: UsageDump;
}

export class LimitsFileStore {
  readonly path: string;
  private readonly dir: string;
  private seq = 0;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'limits');
    this.path = join(this.dir, 'limits.json');
  }

  /** The stored document, or an empty one when there is none yet. A corrupt file is an error, not silently dropped. */
  read(): LimitsDocument {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, keys: [], usage: {} };
      throw err;
    }
    const doc = JSON.parse(text) as LimitsDocument;
    if (doc.version !== 1 || !Array.isArray(doc.keys)) throw new Error(`${this.path}: not a limits document`);
    return { version: 1, keys: doc.keys, usage: doc.usage ?? {} };
  }

  /** Synchronous on purpose: callers (admin routes, the flush timer) must know it is on disk before answering. */
  write(doc: LimitsDocument): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.${++this.seq}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(doc));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

/** The file store as the registry's KeyStore: keys and usage in the one document. */
export class FileKeyStore {
  private doc: LimitsDocument | undefined;
  private lastUsage = '';

  constructor(readonly file: LimitsFileStore) {}

  private current(): LimitsDocument {
    return (this.doc ??= this.file.read());
  }

  async loadKeys(): Promise<KeyRecord[]> {
    return this.current().keys;
  }

  async putKey(record: KeyRecord): Promise<void> {
    const doc = this.current();
    const keys = doc.keys.filter((k) => k.id !== record.id);
    keys.push(record);
    this.doc = { ...doc, keys };
    this.file.write(this.doc);
  }

  async loadUsage(): Promise<UsageDump> {
    return this.current().usage;
  }

  /** Skips the write when nothing changed since the last one (idle gateways do not touch the disk). */
  async putUsage(usage: UsageDump): Promise<void> {
    const text = JSON.stringify(usage);
    if (text === this.lastUsage) return;
    this.lastUsage = text;
    this.doc = { ...this.current(), usage };
    this.file.write(this.doc);
  }
}
