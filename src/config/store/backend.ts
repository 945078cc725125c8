// Where the overlay document and the change trail are kept: a file in the data dir, or PostgreSQL.
import type { ConfigChange, NewChange } from './changes.js';

/** The overlay as stored: entries by target key, secrets sealed; `revision` +1 per write. */
export interface StoredDocument {
  revision: number;
  entries: Record<string, unknown>;
}

export interface ChangePage {
  limit: number;
  /** Only changes with a smaller id. */
  before?: number;
}

export interface ConfigStoreBackend {
  /** For logs and GET /admin/config: `file <path>` or `postgres <table>`. */
  readonly description: string;
  readonly kind: 'file' | 'postgres';
  load(): Promise<StoredDocument>;
  /**
   * Writes `doc` (its revision is `expected + 1`) if the stored revision is still `expected`;
   * false when another writer came first (the caller loads again and retries).
   */
  save(doc: StoredDocument, expected: number): Promise<boolean>;
  appendChange(change: NewChange): Promise<ConfigChange>;
  /** Newest first. */
  changes(page: ChangePage): Promise<ConfigChange[]>;
  /** Calls `changed` when another writer may have changed the document (PostgreSQL: NOTIFY, and a poll). */
  watch(changed: () => void): void;
  close(): Promise<void>;
}

export const emptyDocument = (): StoredDocument => ({ revision: 0, entries: {} });
