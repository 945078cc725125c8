// What a reload may change: the paths where two configs differ, the settings that need a restart, and
// the features' own checks. Used by the reloader (src/config/reload.ts) and the runtime config API.
import { isDeepStrictEqual } from 'node:util';
import type { Feature } from '../pipeline/stage.js';
import { guardsSchemaProperties } from '../guards/config.js';
import { limitsSchemaProperties } from '../limits/config.js';
import { mcpSchemaProperties } from '../mcp/config.js';
import { observabilitySchemaProperties } from '../observability/config.js';
import { routingSchemaProperties } from '../routing/config.js';
import type { SwitchyardConfig } from './types.js';

/** Sections read once, when the gateway starts: the listeners, the thread count, the data dir, the simulator. */
export const restartSections = ['server', 'admin', 'data_dir', 'simulator', 'config_store'] as const;
/** Paths inside a restart-only section that are read from the config serving now (the admin credentials and the UI switch). */
const livePaths = [/^admin\.tokens(\.|$)/, /^admin\.ui$/];
/** Core sections every reload applies: the server threads compile new routes and upstream clients. */
const liveCoreSections = new Set(['providers', 'models']);

/** Which feature reads which top-level sections (their `<feature>SchemaProperties`). */
const sectionOwners: ReadonlyMap<string, string> = new Map(
  Object.entries({
    routing: routingSchemaProperties,
    limits: limitsSchemaProperties,
    guards: guardsSchemaProperties,
    mcp: mcpSchemaProperties,
    observability: observabilitySchemaProperties,
  }).flatMap(([feature, properties]) => Object.keys(properties).map((section) => [section, feature] as const)),
);

/** The dotted paths where `a` and `b` differ (objects compared key by key; arrays and values whole). */
export function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(a) || !isObject(b)) return [path || '(top level)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((key) => changedPaths(a[key], b[key], path ? `${path}.${key}` : key));
}

/**
 * What keeps `candidate` from replacing `current` without a restart: a restart-only setting changed,
 * or the section of a feature that cannot reload changed. Empty when the reload may go ahead.
 */
export function restartProblems(current: SwitchyardConfig, candidate: SwitchyardConfig, features: readonly Feature[]): string[] {
  const reloading = new Set(features.filter((f) => f.reloadMain !== undefined || f.reloadThread !== undefined).map((f) => f.name));
  const problems: string[] = [];
  const sections = new Set([...Object.keys(current), ...Object.keys(candidate)]);
  const was = current as unknown as Record<string, unknown>;
  const now = candidate as unknown as Record<string, unknown>;
  for (const section of sections) {
    if (liveCoreSections.has(section)) continue;
    const paths = changedPaths(was[section], now[section], section).filter((path) => !livePaths.some((live) => live.test(path)));
    if (paths.length === 0) continue;
    const owner = sectionOwners.get(section);
    if ((restartSections as readonly string[]).includes(section)) {
      for (const path of paths) problems.push(`${path}: changed; this setting is read only at start, so it needs a restart`);
    } else if (owner === undefined || !reloading.has(owner)) {
      const who = owner === undefined ? 'no feature reloads it' : `the ${owner} feature does not reload its configuration`;
      problems.push(`${paths.join(', ')}: changed; ${who}, so it needs a restart`);
    }
  }
  return problems;
}

/** The checks beyond the schema that a start runs too (each feature's validate). */
export function featureProblems(config: SwitchyardConfig, features: readonly Feature[]): string[] {
  return features.flatMap((feature) => {
    try {
      return feature.validate?.(config) ?? [];
    } catch (err) {
      return [`(${feature.name}) the check failed: ${(err as Error).message}`];
    }
  });
}
