// The runtime config store (main thread): the overlay of changes made through the admin API over the
// config file, kept in a backend (file or PostgreSQL). A write builds the candidate (file ⊕ overlay ⊕
// change), checks it as a reload would, persists it, applies it — and puts the store back if the apply
// fails. Changes other nodes made (PostgreSQL) are applied when they are announced.
import type { ApplyNow, ConfigReloader, ReloadReport } from '../reload.js';
import { featureProblems } from '../reload-checks.js';
import { ConfigError, validateConfigData } from '../load.js';
import type { ConfigStoreConfig, SwitchyardConfig } from '../types.js';
import type { Feature } from '../../pipeline/stage.js';
import { log } from '../../shared/log.js';
import type { ChangePage, ConfigStoreBackend, StoredDocument } from './backend.js';
import { diffValues, type ChangeAction, type ConfigChange, type NewChange } from './changes.js';
import { FileConfigStore } from './file-backend.js';
import { isObject, type JsonObject } from './merge-patch.js';
import { composeConfig, entryPath, fileObject, isEntryFor, Overlay, targetOf, type OverlayEntry } from './overlay.js';
import { PostgresConfigStore } from './postgres-backend.js';
import { holdsSealed, holdsSecrets, openSecrets, sealSecrets, SecretBox, secretKeyFile, SecretsKeyError } from './secrets.js';

/** One change to the overlay: `entry` undefined removes the target's entry (the file's object back in force). */
export interface StoreWrite {
  target: string;
  action: ChangeAction;
  entry: OverlayEntry | undefined;
}

/** What a write is planned on: the file's data, the overlay, and the two merged (before validation). */
export interface WriteView {
  readonly base: unknown;
  readonly overlay: Overlay;
  readonly effective: JsonObject;
  /** The validated config serving now. */
  readonly config: SwitchyardConfig;
}

export type WriteRefusal = 'invalid' | 'restart' | 'not_applied' | 'conflict' | 'secrets_key' | 'unavailable';

/** A write refused; nothing of it is stored or applied. `data`: the candidate, to name the paths the problems give. */
export class ConfigWriteError extends Error {
  override readonly name = 'ConfigWriteError';
  constructor(
    readonly refusal: WriteRefusal,
    readonly problems: string[],
    readonly data?: unknown,
  ) {
    super(problems.join('; '));
  }
}

export interface WriteResult {
  generation: number;
  config: SwitchyardConfig;
  report: ReloadReport;
  change: ConfigChange | undefined;
}

/** The object a target names inside config data (a provider or model by name, a price, a section). */
export function objectAt(data: unknown, target: string): unknown {
  const t = targetOf(target);
  if (t === undefined || !isObject(data)) return undefined;
  if (t.kind === 'sections') return data[t.name];
  return fileObject(data, t.kind, t.name);
}

export class RuntimeConfigStore {
  private reloader: ConfigReloader | undefined;
  private refreshQueued = false;
  /** The stored revision whose overlay the config serving was built from (or that was tried and refused here). */
  private appliedRevision: number;

  private constructor(
    readonly backend: ConfigStoreBackend,
    private readonly box: SecretBox,
    private overlayNow: Overlay,
    /** The stored revision `overlayNow` is. */
    private revision: number,
  ) {
    this.appliedRevision = revision;
  }

  /**
   * Opens the backend (`given`: one built elsewhere, e.g. by a test) and reads the overlay; throws when
   * it cannot be reached or its secrets not decrypted.
   */
  static async open(settings: ConfigStoreConfig, dataDir: string, env: NodeJS.ProcessEnv = process.env, given?: ConfigStoreBackend): Promise<RuntimeConfigStore> {
    const backend = given ?? (settings.backend === 'postgres' ? await PostgresConfigStore.open(settings) : new FileConfigStore(dataDir));
    try {
      const box = new SecretBox(env.SWITCHYARD_SECRETS_KEY, backend.kind === 'file' ? secretKeyFile(dataDir) : undefined);
      const doc = await backend.load();
      if (holdsSealed(doc.entries) && !box.available) {
        throw new SecretsKeyError(`the config store (${backend.description}) holds encrypted secrets: set SWITCHYARD_SECRETS_KEY to the key they were written with`);
      }
      return new RuntimeConfigStore(backend, box, decodeDocument(doc, box, backend.description), doc.revision);
    } catch (err) {
      await backend.close();
      throw err;
    }
  }

  get overlay(): Overlay {
    return this.overlayNow;
  }

  get storedRevision(): number {
    return this.revision;
  }

  /** The file's data with the store's changes over it. */
  compose(base: unknown): JsonObject {
    return composeConfig(base, this.overlayNow);
  }

  /** The config to start with: the file's with the store's changes; throws ConfigError when they no longer fit together. */
  startConfig(fileConfig: SwitchyardConfig, features: readonly Feature[]): SwitchyardConfig {
    if (this.overlayNow.isEmpty) return fileConfig;
    const source = `the config file with the runtime changes of the config store (${this.backend.description}; reset them through the admin API or remove them there)`;
    const config = validateConfigData(this.compose(fileConfig), source);
    // The CLI's --port and --threads are in fileConfig's server section, which the store never changes.
    const problems = featureProblems(config, features);
    if (problems.length > 0) throw new ConfigError(source, problems);
    return config;
  }

  /** From now on writes apply through `reloader`, and changes other nodes store are applied here too. */
  attach(reloader: ConfigReloader): void {
    this.reloader = reloader;
    this.backend.watch(() => this.refresh());
  }

  /**
   * One change through the admin API, serialised with every other write and reload. `plan` decides the
   * change from the current view (it may throw a GatewayError or ConfigWriteError to refuse).
   */
  write(actor: string, plan: (view: WriteView) => StoreWrite): Promise<WriteResult> {
    const reloader = this.requireReloader();
    return reloader.exclusive(async (apply) => {
      try {
        return await this.writeNow(actor, plan, reloader, apply);
      } finally {
        // A write that met another node's change and then did not go ahead has that change loaded but not applied.
        if (this.revision !== this.appliedRevision) this.refresh();
      }
    });
  }

  private async writeNow(actor: string, plan: (view: WriteView) => StoreWrite, reloader: ConfigReloader, apply: ApplyNow): Promise<WriteResult> {
    let otherNodeWrote = false;
    for (let attempt = 0; ; attempt++) {
      const base = reloader.base;
      const before = this.compose(base);
      const change = plan({ base, overlay: this.overlayNow, effective: before, config: reloader.config });
      const next = this.overlayNow.with(change.target, change.entry);
      const data = composeConfig(base, next);
      const check = reloader.check({ data, source: 'admin API' });
      if (check.problems.length > 0 || check.config === undefined) throw new ConfigWriteError('invalid', check.problems, data);
      if (check.restart.length > 0) throw new ConfigWriteError('restart', check.restart, data);
      const doc = this.encode(next, this.revision + 1);
      if (!(await this.reach(() => this.backend.save(doc, this.revision)))) {
        if (attempt >= 2) throw new ConfigWriteError('conflict', ['other nodes keep changing the config store; try again']);
        // Another node wrote first: plan again on what it stored.
        await this.reach(() => this.loadFromBackend());
        otherNodeWrote = true;
        continue;
      }
      const previous = this.overlayNow;
      this.overlayNow = next;
      this.revision = doc.revision;
      const report = await apply(check.config);
      if (report.result === 'rejected') {
        // Serving is what `previous` gives, unless it holds another node's change this write brought in.
        if ((await this.putBack(previous)) && !otherNodeWrote) this.appliedRevision = this.revision;
        // A feature's own restart-only settings are found only when it is asked to reload.
        const restart = report.problems.length > 0 && report.problems.every((p) => /needs a restart/.test(p));
        throw new ConfigWriteError(restart ? 'restart' : 'not_applied', report.problems, data);
      }
      this.appliedRevision = doc.revision;
      const diff = diffValues(objectAt(before, change.target), objectAt(data, change.target), change.target, entryPath(change.target));
      const recorded = await this.record({ at: new Date().toISOString(), actor, action: change.action, target: change.target, diff });
      return { generation: report.generation, config: reloader.config, report, change: recorded };
    }
  }

  /** Adds a record to the change trail (failures are logged: the change itself is done). */
  async record(change: NewChange): Promise<ConfigChange | undefined> {
    try {
      return await this.backend.appendChange(change);
    } catch (err) {
      log.error('config store: the change trail could not be written', { target: change.target, error: (err as Error).message });
      return undefined;
    }
  }

  changes(page: ChangePage): Promise<ConfigChange[]> {
    return this.reach(() => this.backend.changes(page));
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private requireReloader(): ConfigReloader {
    if (this.reloader === undefined) throw new Error('config store: not attached to a reloader');
    return this.reloader;
  }

  /** A backend call; its failure (the database away, the disk full) refuses the request instead of failing it. */
  private async reach<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ConfigWriteError) throw err;
      log.error('config store: the backend failed', { backend: this.backend.description, error: (err as Error)?.message });
      throw new ConfigWriteError('unavailable', [`the config store (${this.backend.description}) cannot be reached: ${(err as Error)?.message}`]);
    }
  }

  private encode(overlay: Overlay, revision: number): StoredDocument {
    const entries: Record<string, unknown> = {};
    for (const [key, entry] of overlay.entries) {
      if (!('value' in entry)) {
        entries[key] = entry;
        continue;
      }
      if (holdsSecrets(entry.value, entryPath(key)) && !this.box.available) {
        throw new ConfigWriteError('secrets_key', ['SWITCHYARD_SECRETS_KEY is not set: the PostgreSQL config store keeps secrets only encrypted; set it (the same on every node) and restart']);
      }
      try {
        entries[key] = { ...entry, value: sealSecrets(entry.value, this.box, entryPath(key)) };
      } catch (err) {
        if (err instanceof SecretsKeyError) throw new ConfigWriteError('secrets_key', [err.message]);
        throw err;
      }
    }
    return { revision, entries };
  }

  private async loadFromBackend(): Promise<void> {
    const doc = await this.backend.load();
    this.overlayNow = decodeDocument(doc, this.box, this.backend.description);
    this.revision = doc.revision;
  }

  /** After a failed apply: the store as it was (as a new revision, so other nodes see it too); whether that worked. */
  private async putBack(previous: Overlay): Promise<boolean> {
    try {
      const doc = this.encode(previous, this.revision + 1);
      if (await this.backend.save(doc, this.revision)) {
        this.overlayNow = previous;
        this.revision = doc.revision;
        return true;
      }
      log.error('config store: could not put the store back after a failed apply (another node wrote meanwhile)', { backend: this.backend.description });
      await this.loadFromBackend();
    } catch (err) {
      log.error('config store: could not put the store back after a failed apply', { backend: this.backend.description, error: (err as Error).message });
    }
    return false;
  }

  /** Another node may have written: load, and apply what it stored (coalesced; runs between writes and reloads). */
  private refresh(): void {
    const reloader = this.reloader;
    if (reloader === undefined || this.refreshQueued) return;
    this.refreshQueued = true;
    reloader
      .exclusive(async (apply) => {
        this.refreshQueued = false;
        const doc = await this.backend.load();
        if (doc.revision === this.appliedRevision) return;
        this.overlayNow = decodeDocument(doc, this.box, this.backend.description);
        this.revision = doc.revision;
        // Refused here (this node's file does not fit it) is logged by the reload; it is not tried again until the next change.
        await apply({ data: this.compose(reloader.base), source: `config store (${this.backend.description}, revision ${doc.revision})` });
        this.appliedRevision = doc.revision;
      })
      .catch((err: unknown) => {
        this.refreshQueued = false;
        log.error('config store: a change stored by another node could not be read', { backend: this.backend.description, error: (err as Error)?.message });
      });
  }
}

/** The stored document as an overlay, secrets decrypted; throws on an entry of unknown shape. */
function decodeDocument(doc: StoredDocument, box: SecretBox, where: string): Overlay {
  const entries = new Map<string, OverlayEntry>();
  for (const [key, raw] of Object.entries(doc.entries)) {
    if (!isEntryFor(key, raw)) throw new Error(`config store (${where}): entry '${key}' is not a config store entry`);
    entries.set(key, 'value' in raw ? ({ ...raw, value: openSecrets(raw.value, box) } as OverlayEntry) : raw);
  }
  return new Overlay(entries);
}
