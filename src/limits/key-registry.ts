// Main thread: owns the key records, hands out table rows, writes limits into the shared table and persists.
import type { BudgetValues, LimitsConfig, LimitValues } from './config.js';
import { CONFIG_LIMIT_WIDTH, RowStatus, SharedCounterTable, Slot, usageSlots, type SlotName } from './shared-table.js';
import {
  mintKey,
  recordFromDeclaration,
  recordFromPlaintext,
  type KeyEntry,
  type KeyFields,
  type KeyRecord,
} from './keys.js';
import type { UsageDump } from './file-store.js';

/** Where keys (and, for the memory backend, usage) are kept between runs. */
export interface KeyStore {
  loadKeys(): Promise<KeyRecord[]>;
  putKey(record: KeyRecord): Promise<void>;
  loadUsage(): Promise<UsageDump>;
  putUsage(usage: UsageDump): Promise<void>;
  /** A number that changes whenever another process changed the keys (shared stores only). */
  keysVersion?(): Promise<string>;
}

export class RowsExhaustedError extends Error {}

/** The part of the key registry a config file decides: its limits config and the keys it declares. */
export interface ConfigState {
  readonly config: LimitsConfig;
  /** The config-declared keys (source 'config'). */
  readonly records: readonly KeyRecord[];
}

/** A config's keys and limits planned for a reload: rows exist for every subject, values not yet written. */
export interface ConfigPlan extends ConfigState {
  /** The limit values of every row the config names, laid out as CONFIG_LIMIT_WIDTH describes. */
  readonly limitValues: Float64Array;
}

export const subjectIds = {
  key: (keyId: string) => `k:${keyId}`,
  model: (model: string) => `m:${model}`,
  keyModel: (keyId: string, model: string) => `km:${keyId}:${model}`,
};

const limitSlotOf: ReadonlyArray<readonly [keyof LimitValues, SlotName]> = [
  ['rpm', 'rpm'],
  ['rpd', 'rpd'],
  ['tpm', 'tpm'],
  ['tpd', 'tpd'],
  ['max_concurrent', 'maxConcurrent'],
];

export class KeyRegistry {
  private records = new Map<string, KeyRecord>();
  /** Subject id → table row. Rows are never reused within a run, so a late onComplete can never hit another key's row. */
  private readonly rows = new Map<string, number>();
  private nextRow = 1;

  constructor(
    readonly table: SharedCounterTable,
    private config: LimitsConfig,
    private readonly store: KeyStore,
  ) {}

  /** Loads stored keys, applies the YAML ones on top, restores usage. */
  async init(): Promise<void> {
    const stored = await this.store.loadKeys();
    const usage = await this.store.loadUsage();
    await this.initWithoutStore();
    for (const r of stored) if (r.source === 'admin') this.apply(r);
    this.restoreUsage(usage);
  }

  /** Model limits and YAML keys only: for a start while a shared store is unreachable. */
  async initWithoutStore(): Promise<void> {
    for (const [model, limits] of Object.entries(this.config.limits.models)) {
      this.writeLimits(this.rowFor(subjectIds.model(model)), limits);
    }
    for (const d of this.config.keys) this.apply(recordFromDeclaration(d));
  }

  /** Re-reads keys other machines may have changed (shared stores). Returns true when anything changed. */
  async reloadKeys(): Promise<boolean> {
    const stored = await this.store.loadKeys();
    let changed = false;
    for (const r of stored) {
      if (r.source !== 'admin') continue;
      const known = this.records.get(r.id);
      if (known && JSON.stringify(known) === JSON.stringify(r)) continue;
      this.apply(r);
      changed = true;
    }
    return changed;
  }

  list(): KeyRecord[] {
    return [...this.records.values()];
  }

  get(id: string): KeyRecord | undefined {
    return this.records.get(id);
  }

  async create(fields: KeyFields): Promise<{ record: KeyRecord; plaintext: string }> {
    this.ensureRows(1 + Object.keys(fields.model_limits).length);
    const plaintext = mintKey();
    const record = recordFromPlaintext(plaintext, fields);
    this.apply(record);
    await this.store.putKey(record);
    return { record, plaintext };
  }

  async update(id: string, fields: Partial<KeyFields>): Promise<KeyRecord> {
    const old = this.records.get(id)!;
    const record: KeyRecord = { ...old, ...fields };
    this.ensureRows(Object.keys(record.model_limits).filter((m) => !this.rows.has(subjectIds.keyModel(id, m))).length);
    this.apply(record);
    await this.store.putKey(record);
    return record;
  }

  /** Marks the key revoked in the shared table first: from that store on, no thread admits it. */
  async revoke(id: string): Promise<KeyRecord> {
    const record: KeyRecord = { ...this.records.get(id)!, revoked_at: new Date().toISOString() };
    this.apply(record);
    await this.store.putKey(record);
    return record;
  }

  /** The active keys created through the admin API (what a key change publishes to the threads). */
  adminSnapshot(): KeyEntry[] {
    return this.entries((r) => r.source === 'admin');
  }

  /** The keys the config declares (fixed per limits generation). */
  configSnapshot(): KeyEntry[] {
    return this.entries((r) => r.source === 'config');
  }

  /** The config's part as it is now, to go back to (adoptConfig) when a reload does not go ahead. */
  configState(): ConfigState {
    return { config: this.config, records: this.list().filter((r) => r.source === 'config') };
  }

  /**
   * Rows for every subject `next` names (new ones allocated, empty; a key or model that keeps its id
   * keeps its row and counters) and the limit values to write into them. Nothing else changes, and
   * nothing at all when the table has too few rows left (RowsExhaustedError).
   */
  planConfig(next: LimitsConfig): ConfigPlan {
    const records = next.keys.map((d) => {
      const record = recordFromDeclaration(d);
      const known = this.records.get(record.id);
      return known?.source === 'config' ? { ...record, created_at: known.created_at } : record;
    });
    const subjects: Array<[string, LimitValues, BudgetValues | undefined]> = Object.entries(next.limits.models).map(([model, limits]) => [subjectIds.model(model), limits, undefined]);
    for (const r of records) {
      subjects.push([subjectIds.key(r.id), r.limits, r.budget]);
      for (const [model, limits] of Object.entries(r.model_limits)) subjects.push([subjectIds.keyModel(r.id, model), limits, undefined]);
    }
    this.ensureRows(new Set(subjects.map(([id]) => id).filter((id) => !this.rows.has(id))).size);
    const limitValues = new Float64Array(subjects.length * CONFIG_LIMIT_WIDTH);
    subjects.forEach(([id, limits, budget], i) => {
      const at = i * CONFIG_LIMIT_WIDTH;
      limitValues[at] = this.rowFor(id);
      limitSlotOf.forEach(([name], j) => (limitValues[at + 1 + j] = limits[name] ?? -1));
      limitValues[at + 6] = budget?.total_usd ?? -1;
      limitValues[at + 7] = budget?.daily_usd ?? -1;
      limitValues[at + 8] = budget?.monthly_usd ?? -1;
    });
    return { config: next, records, limitValues };
  }

  /**
   * Makes `state` the config's part of the registry: its keys replace the config-declared ones (the
   * API's are untouched). Limit values are not written here: the threads write a plan's values when
   * they first serve with it (SharedCounterTable.applyConfigLimits).
   */
  adoptConfig(state: ConfigState): void {
    const next = new Map<string, KeyRecord>();
    for (const r of state.records) next.set(r.id, r);
    for (const r of this.records.values()) if (r.source === 'admin') next.set(r.id, r);
    this.records = next;
    this.config = state.config;
  }

  private entries(include: (r: KeyRecord) => boolean): KeyEntry[] {
    const entries: KeyEntry[] = [];
    for (const r of this.records.values()) {
      if (r.revoked_at !== null || !include(r)) continue;
      const modelRows: Record<string, number> = {};
      for (const m of Object.keys(r.model_limits)) modelRows[m] = this.rows.get(subjectIds.keyModel(r.id, m))!;
      entries.push({ id: r.id, name: r.name, hash: r.hash, models: r.models, row: this.rows.get(subjectIds.key(r.id))!, modelRows });
    }
    return entries;
  }

  modelRows(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const model of Object.keys(this.config.limits.models)) out[model] = this.rows.get(subjectIds.model(model))!;
    return out;
  }

  /** Usage counters of one subject (reads the shared table under its lock). */
  usageOf(subjectId: string): Record<string, number> | undefined {
    const row = this.rows.get(subjectId);
    if (row === undefined) return undefined;
    return this.table.locked(() => {
      const out: Record<string, number> = {};
      for (const s of [...usageSlots, 'concurrent'] as const) out[s] = this.table.get(row, Slot[s]);
      return out;
    });
  }

  dumpUsage(): UsageDump {
    const dump: UsageDump = {};
    for (const id of this.rows.keys()) dump[id] = this.usageOf(id)!;
    return dump;
  }

  async persistUsage(): Promise<void> {
    await this.store.putUsage(this.dumpUsage());
  }

  private restoreUsage(dump: UsageDump): void {
    this.table.locked(() => {
      for (const [id, values] of Object.entries(dump)) {
        const row = this.rows.get(id);
        if (row === undefined) continue;
        for (const s of usageSlots) if (typeof values[s] === 'number') this.table.set(row, Slot[s], values[s]!);
      }
    });
  }

  private ensureRows(n: number): void {
    if (this.nextRow + n > this.table.rows + 1) {
      throw new RowsExhaustedError(`the limits table is full (${this.table.rows} rows); raise limits.max_rows`);
    }
  }

  private rowFor(subjectId: string): number {
    let row = this.rows.get(subjectId);
    if (row === undefined) {
      this.ensureRows(1);
      row = this.nextRow++;
      this.table.locked(() => this.table.resetRow(row!));
      this.table.setStatus(row, RowStatus.active);
      this.rows.set(subjectId, row);
    }
    return row;
  }

  private writeLimits(row: number, limits: LimitValues): void {
    this.table.locked(() => {
      for (const [name, slot] of limitSlotOf) this.table.set(row, Slot[slot], limits[name] ?? -1);
    });
  }

  private apply(record: KeyRecord): void {
    const previous = this.records.get(record.id);
    this.records.set(record.id, record);
    const row = this.rowFor(subjectIds.key(record.id));
    this.writeLimits(row, record.limits);
    this.table.locked(() => {
      this.table.set(row, Slot.budgetTotal, record.budget.total_usd ?? -1);
      this.table.set(row, Slot.budgetDaily, record.budget.daily_usd ?? -1);
      this.table.set(row, Slot.budgetMonthly, record.budget.monthly_usd ?? -1);
    });
    for (const [model, limits] of Object.entries(record.model_limits)) {
      this.writeLimits(this.rowFor(subjectIds.keyModel(record.id, model)), limits);
    }
    for (const model of Object.keys(previous?.model_limits ?? {})) {
      if (!(model in record.model_limits)) this.writeLimits(this.rows.get(subjectIds.keyModel(record.id, model))!, {});
    }
    this.table.setStatus(row, record.revoked_at === null ? RowStatus.active : RowStatus.revoked);
  }
}
