// Reads YAML, substitutes ${ENV} references, validates against the schema and cross-checks references.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseDocument } from 'yaml';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { configSchema } from './schema.js';
import type { SwitchyardConfig } from './types.js';
import { fillProviderDefaults } from './provider-defaults.js';
import { routingProblems } from '../routing/compile-groups.js';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const defaultConfigPath = fileURLToPath(new URL('../../../config/switchyard.yaml', import.meta.url));

let validator: ValidateFunction | undefined;

/** Compiled on first use: a CLI call such as --help should not pay for it. */
function validateSchema(data: unknown): ErrorObject[] {
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(configSchema);
  return validator(data) ? [] : (validator.errors ?? []);
}

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const wholeReference = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

/**
 * Replaces ${NAME} and ${NAME:-fallback} in the parsed tree's strings, so a value can never change
 * the YAML structure. A value that is one whole reference is read as a YAML scalar (`port: ${PORT}`
 * stays a number). An unset variable without fallback is a problem reported with its path.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const lookup = (name: string, fallback: string | undefined): string => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${path || '(top level)'}: environment variable ${name} is not set`);
      return '';
    };
    const whole = wholeReference.exec(value);
    if (whole) {
      const text = lookup(whole[1], whole[2]);
      if (text === '') return '';
      let scalar: unknown;
      try {
        scalar = parse(text);
      } catch {
        return text;
      }
      return scalar !== null && typeof scalar !== 'object' ? scalar : text;
    }
    return value.replace(reference, (_m, name: string, fallback: string | undefined) => lookup(name, fallback));
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, path ? `${path}.${i}` : String(i), problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, env, path ? `${path}.${key}` : key, problems);
    return out;
  }
  return value;
}

function describe(error: ErrorObject): string {
  const path = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
  if (error.keyword === 'additionalProperties') {
    return `${path}: unknown key '${(error.params as { additionalProperty: string }).additionalProperty}'`;
  }
  if (error.keyword === 'enum') {
    return `${path}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${path}: ${error.message ?? error.keyword}`;
}

/** Reference checks; run even when the schema failed, on whatever is well-formed enough to check. */
function crossCheck(data: unknown): string[] {
  const problems: string[] = [];
  const config = data as { providers?: unknown; models?: unknown };
  const objects = (list: unknown): Array<Record<string, unknown>> =>
    Array.isArray(list) ? list.filter((item): item is Record<string, unknown> => item !== null && typeof item === 'object') : [];
  const providers = new Set<string>();
  objects(config.providers).forEach((p, i) => {
    if (typeof p.name !== 'string') return;
    if (providers.has(p.name)) problems.push(`providers.${i}.name: duplicate provider '${p.name}'`);
    providers.add(p.name);
  });
  const models = new Set<string>();
  objects(config.models).forEach((m, i) => {
    if (typeof m.name === 'string') {
      if (models.has(m.name)) problems.push(`models.${i}.name: duplicate model '${m.name}'`);
      models.add(m.name);
    }
    if (typeof m.provider === 'string' && !providers.has(m.provider)) problems.push(`models.${i}.provider: unknown provider '${m.provider}'`);
  });
  problems.push(...routingProblems(objects(config.models), providers));
  const admin = (data as { admin?: { tokens?: unknown } }).admin;
  const tokenNames = new Set<string>();
  objects(admin?.tokens).forEach((t, i) => {
    if (typeof t.name !== 'string') return;
    if (tokenNames.has(t.name)) problems.push(`admin.tokens.${i}.name: duplicate admin token name '${t.name}'`);
    tokenNames.add(t.name);
  });
  return problems;
}

/**
 * Parses config text into plain data with ${ENV} references substituted, before any validation; the
 * problems are the unset variables (reported with the validation's). Throws ConfigError on YAML syntax.
 */
export function readConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): { data: unknown; problems: string[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`));
  }
  const problems: string[] = [];
  const data = substituteEnv(doc.toJS() ?? {}, env, '', problems);
  return { data, problems };
}

/**
 * Validates config data (a parsed file, or the file merged with the runtime store's changes) exactly
 * as a start does: the JSON Schema with its defaults, the references between sections, the provider
 * types' defaults. `data` is not changed (a copy gets the defaults). Throws ConfigError listing every
 * problem with its path, after `earlier` problems (e.g. unset variables).
 */
export function validateConfigData(data: unknown, source: string, env: NodeJS.ProcessEnv = process.env, earlier: readonly string[] = []): SwitchyardConfig {
  const copy = structuredClone(data ?? {});
  const problems = [...earlier, ...validateSchema(copy).map(describe), ...crossCheck(copy)];
  if (problems.length === 0) problems.push(...fillProviderDefaults(copy as SwitchyardConfig, env));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return copy as SwitchyardConfig;
}

/** Parses and validates config text; throws ConfigError listing every problem with its path. */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): SwitchyardConfig {
  const { data, problems } = readConfigText(text, source, env);
  return validateConfigData(data, source, env, problems);
}

export function loadConfig(path: string = defaultConfigPath, env: NodeJS.ProcessEnv = process.env): SwitchyardConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read file: ${(err as Error).message}`]);
  }
  return parseConfig(text, path, env);
}
