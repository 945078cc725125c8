// The OpenAPI source's one entry point: config in, a loaded ToolSource and the report of skipped operations out.
import { Ajv, type ValidateFunction } from 'ajv';
import { Agent } from 'undici';
import { substituteEnv } from '../../config/load.js';
import { log } from '../../shared/log.js';
import { OpenApiToolSource } from './call.js';
import { openApiSourceSchema, type OpenApiSourceConfig } from './config.js';
import { createCredential } from './credentials.js';
import { defaultLoadLimits, loadSpec, OpenApiLoadError, type LoadLimits } from './load.js';
import { defaultExpandLimits, type ExpandLimits } from './refs.js';
import { generateTools, type SkippedOperation } from './tools.js';

export { OpenApiToolSource } from './call.js';
export { openApiSourceSchema, type OpenApiSourceConfig, type OpenApiAuth, type OperationFilter } from './config.js';
export { OpenApiLoadError } from './load.js';
export { InvalidToolArguments } from './request.js';
export type { SkippedOperation } from './tools.js';

export interface CreateOpenApiSourceOptions {
  /** For `${VAR}` references still in the config; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Longest tool name to produce; the aggregated endpoint passes 128 minus its `<source>__`. Default 128. */
  maxToolNameLength?: number;
  /** Bounds of $ref expansion per tool schema. */
  expand?: Partial<ExpandLimits>;
  /** Bounds of reading the spec. */
  load?: Partial<LoadLimits>;
  /** Connections the source keeps to its API (and token endpoint) at most. Default 32. */
  connections?: number;
}

export interface CreatedOpenApiSource {
  source: OpenApiToolSource;
  /** Operations that are not tools, each with why; also logged (warn). Operations excluded by the config are not listed. */
  skipped: SkippedOperation[];
}

/** Headers the config must not set: they frame the request, and the HTTP client owns them. */
const framingHeaders = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);

let configValidator: ValidateFunction | undefined;

/**
 * Checks one source entry against openApiSourceSchema (filling its defaults) after resolving `${VAR}`
 * references; throws OpenApiLoadError listing every problem. The gateway's config loader has done both
 * for entries from the YAML file, so for them this finds nothing new.
 */
export function parseOpenApiSourceConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): OpenApiSourceConfig {
  const problems: string[] = [];
  const data = substituteEnv(structuredClone(raw), env, '', problems) as Record<string, unknown>;
  configValidator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(openApiSourceSchema);
  if (!configValidator(data)) {
    for (const e of configValidator.errors ?? []) {
      if (e.keyword === 'if' || e.keyword === 'oneOf') continue;
      const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
      problems.push(`${e.instancePath.slice(1).replace(/\//g, '.') || '(top level)'}: ${e.message ?? e.keyword}${extra}`);
    }
    if (problems.length === 0) problems.push('exactly one of spec and spec_url is required');
  }
  const name = typeof data?.name === 'string' ? data.name : '(unnamed)';
  if (problems.length > 0) throw new OpenApiLoadError(name, problems);
  const config = data as unknown as OpenApiSourceConfig;
  if (config.auth?.type === 'oauth2_client_credentials') config.auth.client_auth ??= 'basic';
  for (const header of Object.keys(config.headers)) {
    if (framingHeaders.has(header.toLowerCase())) problems.push(`headers: '${header}' cannot be configured`);
  }
  if (problems.length > 0) throw new OpenApiLoadError(name, problems);
  return config;
}

/**
 * Loads the spec, turns its operations into tools and returns the source ready for calls. Throws
 * OpenApiLoadError when the config or the spec is unusable; an operation that cannot be a tool is
 * only skipped (reported and logged).
 */
export async function createOpenApiSource(rawConfig: OpenApiSourceConfig | Record<string, unknown>, options: CreateOpenApiSourceOptions = {}): Promise<CreatedOpenApiSource> {
  const config = parseOpenApiSourceConfig(rawConfig, options.env);
  const agent = new Agent({ connections: options.connections ?? 32, connect: { timeout: config.timeout_ms } });
  try {
    const spec = await loadSpec(config, agent, { ...defaultLoadLimits, ...options.load });
    for (const warning of spec.warnings) log.warn('mcp openapi spec warning', { source: config.name, warning });
    const reservedHeaders = [...Object.keys(config.headers), ...(config.auth?.type === 'header' ? [config.auth.name] : [])];
    const generated = generateTools(spec.document, {
      tool_prefix: config.tool_prefix,
      include: config.include,
      exclude: config.exclude,
      reservedHeaders,
      outputSchemas: config.output_schema,
      maxNameLength: options.maxToolNameLength,
      limits: { ...defaultExpandLimits, ...options.expand },
    });
    const { tools, skipped } = generated;
    for (const { operation, reason } of skipped) log.warn('mcp openapi operation skipped', { source: config.name, operation, reason });
    const credential = createCredential(config.auth, agent, config.timeout_ms);
    const source = new OpenApiToolSource(tools, { config, baseUrl: spec.baseUrl, agent, credential });
    log.info('mcp openapi source loaded', { source: config.name, base_url: spec.baseUrl.origin + spec.baseUrl.pathname, tools: tools.length, skipped: skipped.length });
    return { source, skipped };
  } catch (err) {
    await agent.close();
    throw err;
  }
}
