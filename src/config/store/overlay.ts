// The runtime store's overlay: per object (providers and models by name, prices by model), per section
// (replaced, or merge-patched over the file's), and tombstones for file objects deleted through the API.
// Effective config = the file's data with the overlay over it; the store's object wins over the file's.
import { isObject, mergePatch, type JsonObject } from './merge-patch.js';
import { resolveFileSecrets, type ConfigPath } from './secrets.js';

/** Config sections the admin API replaces or patches whole. */
export const sectionNames = ['guards', 'pii', 'limits', 'routing', 'mcp', 'audit', 'metrics', 'logging', 'tracing', 'auth'] as const;
export type SectionName = (typeof sectionNames)[number];

/** Lists of named objects (`name` is the key). */
export const namedCollections = ['providers', 'models'] as const;
export type NamedCollection = (typeof namedCollections)[number];

export type TargetKind = NamedCollection | 'prices' | 'sections';

export type OverlayEntry =
  /** providers, models, prices: the whole object, which replaces the file's of the same name. */
  | { op: 'set'; value: JsonObject }
  /** providers, models, prices: the file's object is left out. */
  | { op: 'delete' }
  /** sections: the value replaces the file's section. */
  | { op: 'replace'; value: unknown }
  /** sections: a JSON merge patch over the file's section. */
  | { op: 'merge'; value: JsonObject };

/** `providers.openai`, `models.gpt-4o`, `prices.gpt-4o`, `sections.guards` (names may hold dots: split at the first). */
export function targetOf(key: string): { kind: TargetKind; name: string } | undefined {
  const dot = key.indexOf('.');
  if (dot < 1) return undefined;
  const kind = key.slice(0, dot);
  const name = key.slice(dot + 1);
  if (name === '') return undefined;
  if (kind === 'sections') return (sectionNames as readonly string[]).includes(name) ? { kind, name } : undefined;
  return kind === 'providers' || kind === 'models' || kind === 'prices' ? { kind, name } : undefined;
}

/** Where an entry's value sits, for the secret rules: objects by their own fields, sections under their name. */
export function entryPath(key: string): ConfigPath {
  const target = targetOf(key);
  return target?.kind === 'sections' ? [target.name] : [];
}

/** Whether an entry has the shape its target takes (a stored document is checked before it is used). */
export function isEntryFor(key: string, entry: unknown): entry is OverlayEntry {
  const target = targetOf(key);
  if (target === undefined || !isObject(entry)) return false;
  if (target.kind === 'sections') return (entry.op === 'replace' && 'value' in entry) || (entry.op === 'merge' && isObject(entry.value));
  return entry.op === 'delete' || (entry.op === 'set' && isObject(entry.value));
}

export class Overlay {
  constructor(readonly entries: ReadonlyMap<string, OverlayEntry> = new Map()) {}

  get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  get(key: string): OverlayEntry | undefined {
    return this.entries.get(key);
  }

  /** A copy with `key` set to `entry`, or removed when `entry` is undefined (the file's object back in force). */
  with(key: string, entry: OverlayEntry | undefined): Overlay {
    const next = new Map(this.entries);
    if (entry === undefined) next.delete(key);
    else next.set(key, entry);
    return new Overlay(next);
  }

  toJSON(): Record<string, OverlayEntry> {
    return Object.fromEntries(this.entries);
  }
}

function named(list: unknown): JsonObject[] {
  return Array.isArray(list) ? list.filter(isObject) : [];
}

/** The file's object of that name, or undefined. */
export function fileObject(base: unknown, kind: TargetKind, name: string): JsonObject | undefined {
  const data = isObject(base) ? base : {};
  if (kind === 'prices') return isObject(data.prices) && isObject(data.prices[name]) ? data.prices[name] : undefined;
  if (kind === 'sections') return undefined;
  return named(data[kind]).find((o) => o.name === name);
}

/**
 * The file's data with the overlay over it: an object the store sets replaces the file's of the same
 * name in place (a new one goes last), a tombstone drops it, a section is replaced or merge-patched.
 * The store's masks ("keep the file's secret") take the file's value at the same place.
 */
export function composeConfig(base: unknown, overlay: Overlay): JsonObject {
  const data: JsonObject = isObject(base) ? structuredClone(base) : {};
  if (overlay.isEmpty) return data;
  for (const [key, entry] of overlay.entries) {
    const target = targetOf(key);
    if (target === undefined) continue;
    const { kind, name } = target;
    if (kind === 'sections') {
      if (entry.op === 'replace') data[name] = resolveFileSecrets(entry.value, base, [name]);
      else if (entry.op === 'merge') data[name] = mergePatch(isObject(base) ? base[name] : undefined, resolveFileSecrets(entry.value, base, [name]));
      continue;
    }
    const value = entry.op === 'set' ? { ...(resolveFileSecrets(entry.value, fileObject(base, kind, name) ?? {}, []) as JsonObject) } : undefined;
    if (kind === 'prices') {
      const prices: JsonObject = isObject(data.prices) ? data.prices : {};
      if (value === undefined) delete prices[name];
      else prices[name] = value;
      data.prices = prices;
      continue;
    }
    const list: unknown[] = Array.isArray(data[kind]) ? (data[kind] as unknown[]) : [];
    const at = list.findIndex((o) => isObject(o) && o.name === name);
    if (value === undefined) {
      if (at >= 0) list.splice(at, 1);
    } else {
      value.name = name;
      if (at >= 0) list[at] = value;
      else list.push(value);
    }
    data[kind] = list;
  }
  return data;
}

export type ObjectSource = 'file' | 'store';

/** Where each object of the effective config comes from, and the file's objects the store deleted. */
export function objectSources(base: unknown, overlay: Overlay, effective: unknown): { sources: Record<string, ObjectSource>; deleted: string[] } {
  const sources: Record<string, ObjectSource> = {};
  const source = (key: string): ObjectSource => (overlay.get(key)?.op === 'set' ? 'store' : 'file');
  const data = isObject(effective) ? effective : {};
  for (const kind of namedCollections) {
    for (const o of named(data[kind])) if (typeof o.name === 'string') sources[`${kind}.${o.name}`] = source(`${kind}.${o.name}`);
  }
  for (const model of Object.keys(isObject(data.prices) ? data.prices : {})) sources[`prices.${model}`] = source(`prices.${model}`);
  for (const section of sectionNames) sources[`sections.${section}`] = overlay.get(`sections.${section}`) ? 'store' : 'file';
  const deleted = [...overlay.entries].filter(([key, entry]) => entry.op === 'delete' && fileObject(base, targetOf(key)!.kind, targetOf(key)!.name)).map(([key]) => key);
  return { sources, deleted };
}
