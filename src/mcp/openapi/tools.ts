// OpenAPI operations → MCP tools, pure: a document in, tools (with what a call needs) and a skipped report out.
import type { McpTool } from '../tool-source.js';
import type { OperationFilter } from './config.js';
import { compileFilter, maxToolNameLength, nameFromPath, sanitizeName, ToolNames, type OperationFacts } from './names.js';
import { defaultExpandLimits, follow, isObject, SchemaExpander, setOwn, UnsupportedOperation, type ExpandLimits } from './refs.js';

type Json = Record<string, unknown>;

export type ParameterLocation = 'path' | 'query' | 'header';

export interface ParameterPlan {
  name: string;
  in: ParameterLocation;
  /** OpenAPI serialization style: simple (path, header), form, spaceDelimited, pipeDelimited, deepObject (query). */
  style: string;
  explode: boolean;
}

/** What a call of one tool sends, fixed at load. */
export interface OperationPlan {
  /** Upper case. */
  method: string;
  /** The spec's path template, `/pets/{petId}`. */
  path: string;
  parameters: ParameterPlan[];
  /** The JSON request body's media type as the spec writes it, when the operation takes one. */
  bodyContentType?: string;
}

export interface GeneratedTool {
  tool: McpTool;
  operation: OperationPlan;
}

export interface SkippedOperation {
  /** `POST /pets/{petId}/photo (uploadPhoto)`. */
  operation: string;
  reason: string;
}

export interface GenerateOptions {
  tool_prefix?: string;
  include?: OperationFilter;
  exclude?: OperationFilter;
  /** Header names (any case) that are never tool arguments: the credential's, the configured static ones. */
  reservedHeaders?: readonly string[];
  /** false: no tool gets an outputSchema. */
  outputSchemas?: boolean;
  /** Room left for a longer name elsewhere (the aggregated endpoint's `<source>__`); default 128. */
  maxNameLength?: number;
  limits?: ExpandLimits;
}

export interface GeneratedTools {
  tools: GeneratedTool[];
  skipped: SkippedOperation[];
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Never arguments: credentials, framing, and what OpenAPI says to ignore as parameters (Accept, Content-Type, Authorization). */
const alwaysReservedHeaders = [
  'authorization', 'proxy-authorization', 'cookie', 'host', 'content-length', 'content-type', 'accept',
  'accept-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'expect',
];

const queryStyles = new Set(['form', 'spaceDelimited', 'pipeDelimited', 'deepObject']);
const maxDescriptionLength = 8192;

const readOnlyMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const destructiveMethods = new Set(['DELETE', 'PUT', 'PATCH']);

/** `application/json`, `application/json; charset=utf-8`, `application/problem+json`. */
export function isJsonMediaType(mediaType: string): boolean {
  const essence = mediaType.split(';')[0].trim().toLowerCase();
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}

/** Every eligible operation of the document as a tool; the others in `skipped` with the reason. */
export function generateTools(document: Json, options: GenerateOptions = {}): GeneratedTools {
  const include = compileFilter(options.include);
  const exclude = compileFilter(options.exclude);
  const names = new ToolNames(options.tool_prefix ?? '', options.maxNameLength ?? maxToolNameLength);
  const reserved = new Set([...alwaysReservedHeaders, ...apiKeyHeaders(document), ...(options.reservedHeaders ?? [])].map((h) => h.toLowerCase()));
  const tools: GeneratedTool[] = [];
  const skipped: SkippedOperation[] = [];
  const paths = isObject(document.paths) ? document.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    let item: unknown;
    try {
      item = follow(document, rawItem);
    } catch (err) {
      skipped.push({ operation: path, reason: (err as Error).message });
      continue;
    }
    if (!isObject(item)) continue;
    for (const method of methods) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const operationId = typeof operation.operationId === 'string' ? operation.operationId : undefined;
      const tags = Array.isArray(operation.tags) ? operation.tags.filter((t): t is string => typeof t === 'string') : [];
      const facts: OperationFacts = { path, operationId, tags };
      if ((include && !include(facts)) || exclude?.(facts)) continue;
      const label = `${method.toUpperCase()} ${path}${operationId ? ` (${operationId})` : ''}`;
      try {
        const built = buildTool(document, { path, method, item, operation, operationId }, reserved, options);
        const base = (operationId && sanitizeName(operationId)) || nameFromPath(method, path);
        built.tool.name = names.claim(base);
        tools.push(built);
      } catch (err) {
        // A spec the validator passed can still hold shapes this converter never met: that operation goes, not the source.
        const reason = err instanceof UnsupportedOperation ? err.message : `could not be converted: ${(err as Error).message}`;
        skipped.push({ operation: label, reason });
      }
    }
  }
  return { tools, skipped };
}

/** Header names of the spec's apiKey security schemes: the gateway's credential goes there, not the caller's. */
function apiKeyHeaders(document: Json): string[] {
  const components = isObject(document.components) ? document.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const followed = (scheme: unknown): unknown => {
    try {
      return follow(document, scheme);
    } catch {
      return undefined;
    }
  };
  return Object.values(schemes)
    .map(followed)
    .filter((scheme): scheme is Json => isObject(scheme) && scheme.type === 'apiKey' && scheme.in === 'header' && typeof scheme.name === 'string')
    .map((scheme) => scheme.name as string);
}

interface OperationSite {
  path: string;
  method: string;
  item: Json;
  operation: Json;
  operationId: string | undefined;
}

function buildTool(document: Json, site: OperationSite, reservedHeaders: Set<string>, options: GenerateOptions): GeneratedTool {
  const limits = options.limits ?? defaultExpandLimits;
  const method = site.method.toUpperCase();
  const properties: Json = {};
  const required: string[] = [];
  const parameters: ParameterPlan[] = [];
  for (const parameter of mergedParameters(document, site)) {
    const plan = planParameter(parameter, reservedHeaders);
    if (!plan) continue;
    if (Object.hasOwn(properties, plan.name)) throw new UnsupportedOperation(`parameter name '${plan.name}' is used twice (in ${plan.in} and elsewhere)`);
    const schema = new SchemaExpander(document, 'input', limits).expand(parameter.schema);
    if (typeof parameter.description === 'string') schema.description = parameter.description;
    if (parameter.deprecated === true) schema.deprecated = true;
    setOwn(properties, plan.name, schema);
    if (parameter.required === true || plan.in === 'path') required.push(plan.name);
    parameters.push(plan);
  }
  const operation: OperationPlan = { method, path: site.path, parameters };
  const body = requestBody(document, site.operation, limits);
  if (body) {
    if (Object.hasOwn(properties, 'body')) throw new UnsupportedOperation("a parameter is named 'body', which the request body's argument needs");
    properties.body = body.schema;
    if (body.required) required.push('body');
    operation.bodyContentType = body.contentType;
  }
  const inputSchema: Json = { type: 'object', properties, additionalProperties: false };
  if (required.length > 0) inputSchema.required = required;
  const tool: McpTool = { name: '', description: describe(site.operation, method, site.path), inputSchema, annotations: annotations(method) };
  if (typeof site.operation.summary === 'string' && site.operation.summary.trim()) tool.title = site.operation.summary.trim();
  const outputSchema = options.outputSchemas === false ? undefined : responseObjectSchema(document, site.operation, limits);
  if (outputSchema) tool.outputSchema = outputSchema;
  return { tool, operation };
}

/** Path-level parameters, overridden by operation-level ones of the same name and location. */
function mergedParameters(document: Json, site: OperationSite): Json[] {
  const merged = new Map<string, Json>();
  for (const list of [site.item.parameters, site.operation.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const parameter = follow(document, raw);
      if (!isObject(parameter) || typeof parameter.name !== 'string' || typeof parameter.in !== 'string') {
        throw new UnsupportedOperation('a parameter has no name or location');
      }
      merged.set(`${parameter.in}:${parameter.name}`, parameter);
    }
  }
  return [...merged.values()];
}

/**
 * How one parameter is sent, or undefined when it is not a tool argument: a reserved header (the
 * gateway's credential and framing), or an optional cookie. Cookies are never taken from callers, so an
 * operation that requires one is skipped.
 */
function planParameter(parameter: Json, reservedHeaders: Set<string>): ParameterPlan | undefined {
  const name = parameter.name as string;
  const location = parameter.in as string;
  if (parameter.content !== undefined) throw new UnsupportedOperation(`parameter '${name}' uses content (only schema-described parameters are supported)`);
  if (location === 'cookie') {
    if (parameter.required === true) throw new UnsupportedOperation(`required cookie parameter '${name}' is not supported`);
    return undefined;
  }
  if (location === 'header') {
    if (reservedHeaders.has(name.toLowerCase())) return undefined;
    return { name, in: 'header', style: 'simple', explode: parameter.explode === true };
  }
  if (location === 'path') {
    const style = typeof parameter.style === 'string' ? parameter.style : 'simple';
    if (style !== 'simple') throw new UnsupportedOperation(`path parameter '${name}' has style ${style} (only simple is supported)`);
    return { name, in: 'path', style, explode: parameter.explode === true };
  }
  if (location === 'query') {
    const style = typeof parameter.style === 'string' ? parameter.style : 'form';
    if (!queryStyles.has(style)) throw new UnsupportedOperation(`query parameter '${name}' has style ${style}, which is not supported`);
    return { name, in: 'query', style, explode: typeof parameter.explode === 'boolean' ? parameter.explode : style === 'form' };
  }
  throw new UnsupportedOperation(`parameter '${name}' is in '${location}', which is not supported`);
}

function requestBody(document: Json, operation: Json, limits: ExpandLimits): { schema: Json; required: boolean; contentType: string } | undefined {
  if (operation.requestBody === undefined) return undefined;
  const body = follow(document, operation.requestBody);
  if (!isObject(body) || !isObject(body.content) || Object.keys(body.content).length === 0) return undefined;
  const mediaTypes = Object.keys(body.content);
  const contentType = mediaTypes.find(isJsonMediaType);
  if (!contentType) throw new UnsupportedOperation(`request body ${mediaTypes.join(', ')} is not supported (only JSON bodies are)`);
  const media = follow(document, body.content[contentType]);
  const schema = new SchemaExpander(document, 'input', limits).expand(isObject(media) ? media.schema : undefined);
  if (typeof body.description === 'string') schema.description = body.description;
  return { schema, required: body.required === true, contentType };
}

/**
 * The answer's schema, when every success answer the operation declares is the same JSON object schema.
 * MCP requires structuredContent to match an advertised outputSchema, so anything less certain (a 204
 * beside a 200, an array, a nullable object, two different shapes) advertises none.
 */
function responseObjectSchema(document: Json, operation: Json, limits: ExpandLimits): Json | undefined {
  const responses = isObject(operation.responses) ? operation.responses : {};
  const successes = Object.keys(responses).filter((code) => /^2(\d\d|XX)$/i.test(code));
  if (successes.length === 0) return undefined;
  let found: Json | undefined;
  let foundText: string | undefined;
  for (const code of successes) {
    const response = follow(document, responses[code]);
    const content = isObject(response) && isObject(response.content) ? response.content : {};
    const jsonType = Object.keys(content).find(isJsonMediaType);
    if (!jsonType) return undefined;
    const media = follow(document, content[jsonType]);
    if (!isObject(media) || media.schema === undefined) return undefined;
    const schema = new SchemaExpander(document, 'output', limits).expand(media.schema);
    if (schema.type !== 'object') return undefined;
    const text = JSON.stringify(schema);
    if (foundText !== undefined && text !== foundText) return undefined;
    found = schema;
    foundText = text;
  }
  return found;
}

function describe(operation: Json, method: string, path: string): string {
  const parts = [operation.summary, operation.description].filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => p.trim());
  // A summary repeated as the description's first line is said once.
  if (parts.length === 2 && parts[1].startsWith(parts[0])) parts.shift();
  let text = parts.join('\n\n') || `${method} ${path}`;
  if (operation.deprecated === true) text = `Deprecated. ${text}`;
  return text.length > maxDescriptionLength ? `${text.slice(0, maxDescriptionLength - 1)}…` : text;
}

function annotations(method: string): Record<string, unknown> {
  const hints: Record<string, unknown> = { readOnlyHint: readOnlyMethods.has(method), idempotentHint: idempotentMethods.has(method) };
  if (!readOnlyMethods.has(method)) hints.destructiveHint = destructiveMethods.has(method);
  return hints;
}
