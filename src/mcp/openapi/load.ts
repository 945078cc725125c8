// Reads an OpenAPI 3.0/3.1 document (file or URL, JSON or YAML), validates it with @readme/openapi-parser,
// and finds the base URL calls go to. $refs stay in the document; tools.ts resolves the local ones, bounded.
import { readFile, stat } from 'node:fs/promises';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { Agent } from 'undici';
import { parse as parseYaml } from 'yaml';
import type { OpenApiSourceConfig } from './config.js';
import { exchange } from './http.js';
import { expandedSize, isObject } from './refs.js';

type Json = Record<string, unknown>;

export class OpenApiLoadError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`OpenAPI source '${source}': ${problems.join('; ')}`);
    this.name = 'OpenApiLoadError';
  }
}

export interface LoadLimits {
  /** The spec's own size in bytes. */
  maxSpecBytes: number;
  /** Deadline for fetching spec_url. */
  fetchTimeoutMs: number;
  /** The document's size with every $ref expanded (the validator expands them all); past it the spec is refused. */
  maxExpandedNodes: number;
}

export const defaultLoadLimits: LoadLimits = { maxSpecBytes: 32 * 1024 * 1024, fetchTimeoutMs: 30_000, maxExpandedNodes: 1_000_000 };

export interface LoadedSpec {
  document: Json;
  /** Where calls go, from base_url or the spec's servers[0]; http(s), no credentials in it. */
  baseUrl: URL;
  /** What the validator warned about. */
  warnings: string[];
}

/** At most this many validation problems are reported; the parser's messages carry a code frame each. */
const reportedProblems = 10;

export async function loadSpec(config: OpenApiSourceConfig, agent: Agent, limits: LoadLimits = defaultLoadLimits): Promise<LoadedSpec> {
  const fail = (...problems: string[]): never => {
    throw new OpenApiLoadError(config.name, problems);
  };
  const text = config.spec_url ? await fetchSpec(config.spec_url, agent, limits, fail) : await readSpec(config.spec ?? '', limits, fail);
  let document: unknown;
  try {
    document = /^\s*\{/.test(text) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    fail(`the spec is neither JSON nor YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObject(document)) return fail('the spec is not an object');
  if (typeof document.swagger === 'string') fail(`Swagger ${document.swagger} is not supported; convert it to OpenAPI 3 first`);
  if (typeof document.openapi !== 'string' || !/^3\.[01]\./.test(document.openapi)) fail(`openapi version ${JSON.stringify(document.openapi)} is not supported (3.0 and 3.1 are)`);
  const size = expandedSize(document, limits.maxExpandedNodes + 1);
  if (size > limits.maxExpandedNodes) fail(`the spec's $refs expand to more than ${limits.maxExpandedNodes} values; refused`);

  let result;
  try {
    // A copy: the validator dereferences in place. External and file $refs are not fetched: only local ones are used.
    result = await validate(structuredClone(document) as never, {
      resolve: { external: false, file: false },
      dereference: { circular: 'ignore' },
      timeoutMs: limits.fetchTimeoutMs,
    });
  } catch (err) {
    return fail(`the spec could not be validated: ${(err as Error).message}`);
  }
  if (!result.valid) {
    const problems = result.errors.slice(0, reportedProblems).map((e) => `invalid spec: ${e.message.trim()}`);
    if (result.errors.length > reportedProblems || result.additionalErrors > 0) problems.push(compileErrors(result).split('\n\n').pop() ?? '');
    fail(...problems);
  }
  return { document, baseUrl: baseUrlOf(config, document, fail), warnings: result.warnings.map((w) => w.message) };
}

async function readSpec(path: string, limits: LoadLimits, fail: (problem: string) => never): Promise<string> {
  try {
    if ((await stat(path)).size > limits.maxSpecBytes) fail(`spec ${path} is larger than ${limits.maxSpecBytes} bytes`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof OpenApiLoadError) throw err;
    return fail(`cannot read spec ${path}: ${(err as Error).message}`);
  }
}

async function fetchSpec(specUrl: string, agent: Agent, limits: LoadLimits, fail: (problem: string) => never): Promise<string> {
  const url = new URL(specUrl);
  const shown = `${url.origin}${url.pathname}`;
  let response;
  try {
    response = await exchange(
      agent,
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5', 'user-agent': 'switchyard-mcp' },
      },
      { timeoutMs: limits.fetchTimeoutMs, maxBytes: () => limits.maxSpecBytes },
    );
  } catch (err) {
    return fail(`cannot fetch spec ${shown}: ${(err as Error).message}`);
  }
  if (response.status >= 300 && response.status < 400) fail(`spec ${shown} redirects (HTTP ${response.status}); redirects are not followed, give the final URL`);
  if (response.status !== 200) fail(`cannot fetch spec ${shown}: HTTP ${response.status}`);
  if (response.truncated) fail(`spec ${shown} is larger than ${limits.maxSpecBytes} bytes`);
  return response.body.toString('utf8');
}

/** base_url, else servers[0] with its variables at their defaults (a relative one resolved against spec_url). */
function baseUrlOf(config: OpenApiSourceConfig, document: Json, fail: (problem: string) => never): URL {
  let raw = config.base_url;
  if (raw === undefined) {
    const server = Array.isArray(document.servers) ? document.servers[0] : undefined;
    if (!isObject(server) || typeof server.url !== 'string') return fail('the spec has no servers; set base_url');
    const variables = isObject(server.variables) ? server.variables : {};
    raw = server.url.replace(/\{([^}]+)\}/g, (whole, name: string) => {
      const variable = variables[name];
      return isObject(variable) && typeof variable.default === 'string' ? variable.default : whole;
    });
  }
  let url: URL;
  try {
    url = config.spec_url ? new URL(raw, config.spec_url) : new URL(raw);
  } catch {
    return fail(`base URL ${raw} is not an absolute URL${config.base_url ? '' : ' (the spec\'s servers[0]); set base_url'}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`base URL ${url.origin} is not http or https`);
  if (url.username || url.password) fail('the base URL must not carry credentials; use auth');
  if (url.search || url.hash) fail('the base URL must not have a query or fragment');
  return url;
}
