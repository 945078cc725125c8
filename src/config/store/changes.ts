// The change trail: one record per change made through the admin API (config objects and keys), with
// a diff whose secrets are masked.
import { isDeepStrictEqual } from 'node:util';
import { isObject } from './merge-patch.js';
import { maskSecrets, type ConfigPath } from './secrets.js';

export type ChangeAction = 'create' | 'update' | 'replace' | 'delete' | 'reset';

export interface DiffEntry {
  /** Dotted config path, e.g. `providers.openai.timeouts.connect_ms`. */
  path: string;
  /** null when absent. */
  before: unknown;
  after: unknown;
}

export interface ConfigChange {
  /** Increasing with every change in this store. */
  id: number;
  /** ISO 8601. */
  at: string;
  /** The admin credential's name. */
  actor: string;
  action: ChangeAction;
  /** `providers.openai`, `models.gpt-4o`, `prices.gpt-4o`, `sections.guards`, `keys.<id>`. */
  target: string;
  diff: DiffEntry[];
}

export type NewChange = Omit<ConfigChange, 'id'>;

/**
 * The leaves where `before` and `after` differ (objects key by key, arrays whole), each masked by
 * the secret rules at `secretPath` (where the values sit in the config) and named from `label`.
 */
export function diffValues(before: unknown, after: unknown, label: string, secretPath: ConfigPath = []): DiffEntry[] {
  if (isDeepStrictEqual(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) => diffValues(before[key], after[key], `${label}.${key}`, [...secretPath, key]));
  }
  const shown = (value: unknown) => (value === undefined ? null : maskSecrets(value, secretPath));
  return [{ path: label, before: shown(before), after: shown(after) }];
}
