// A tool call's arguments → the HTTP request's path, query, headers and body, pure. Path parameters are
// percent-encoded and refused when they would change the path, in any encoding a server might undo.
import { ToolSourceError } from '../tool-source.js';
import { isObject } from './refs.js';
import type { OperationPlan, ParameterPlan } from './tools.js';

/** Arguments that do not fit the tool's input schema or would be unsafe to send (JSON-RPC -32602). */
export class InvalidToolArguments extends ToolSourceError {
  constructor(message: string) {
    super(message, -32602);
    this.name = 'InvalidToolArguments';
  }
}

export interface BuiltRequest {
  /** Base path, expanded template and query: what goes on the request line. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Rounds of percent-decoding a path value is checked through: a server or proxy that decodes twice still sees no `..`. */
const decodeRounds = 3;
const pathChanging = /[/\\]|^\.{1,2}$/;
const headerUnsafe = /[^\t\x20-\x7e\x80-\xff]/;
const queryDelimiters: Record<string, string> = { form: ',', spaceDelimited: '%20', pipeDelimited: '|' };

/** `basePath` is the base URL's path without its trailing slash (`/v1`, or `` for none). */
export function buildRequest(operation: OperationPlan, args: Record<string, unknown>, basePath: string): BuiltRequest {
  try {
    return build(operation, args, basePath);
  } catch (err) {
    // encodeURIComponent refuses a lone UTF-16 surrogate, which JSON text can carry.
    if (err instanceof URIError) throw new InvalidToolArguments('a path or query argument holds text that cannot be percent-encoded (a lone surrogate)');
    throw err;
  }
}

function build(operation: OperationPlan, args: Record<string, unknown>, basePath: string): BuiltRequest {
  let path = operation.path;
  const query: string[] = [];
  const headers: Record<string, string> = {};
  for (const parameter of operation.parameters) {
    const value = args[parameter.name];
    if (parameter.in === 'path') {
      if (value === undefined || value === null) throw new InvalidToolArguments(`path parameter '${parameter.name}' is required`);
      path = path.split(`{${parameter.name}}`).join(pathValue(parameter.name, value));
    } else if (value !== undefined && value !== null) {
      if (parameter.in === 'query') appendQuery(query, parameter, value);
      else headers[parameter.name.toLowerCase()] = headerValue(parameter, value);
    }
  }
  if (/\{[^}]*\}/.test(path)) throw new InvalidToolArguments(`path ${operation.path} has a template variable without a parameter`);
  const fullPath = basePath + path;
  // Belt and braces: the path must reach the server exactly as built, with no segment a URL parser would fold.
  if (new URL(fullPath, 'http://check.invalid').pathname !== fullPath) {
    throw new InvalidToolArguments(`path parameters of ${operation.path} would change the path`);
  }
  const built: BuiltRequest = { path: query.length > 0 ? `${fullPath}?${query.join('&')}` : fullPath, headers };
  if (operation.bodyContentType && args.body !== undefined) {
    built.body = JSON.stringify(args.body);
    headers['content-type'] = operation.bodyContentType;
  }
  return built;
}

function scalar(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/** One path segment's value: `.`/`..` or a slash, in any encoding, would reach another path, so it is refused. */
function pathValue(name: string, value: unknown): string {
  const items = Array.isArray(value) ? value : [value];
  return items
    .map((item) => {
      if (isObject(item) || Array.isArray(item)) throw new InvalidToolArguments(`path parameter '${name}' must be a string, number or boolean`);
      const text = scalar(item);
      if (text === '') throw new InvalidToolArguments(`path parameter '${name}' must not be empty`);
      let decoded = text;
      for (let round = 0; round <= decodeRounds; round++) {
        if (pathChanging.test(decoded)) {
          throw new InvalidToolArguments(`path parameter '${name}' must not be '.' or '..' or contain '/' or '\\' (in any encoding): it would change the path`);
        }
        let next: string;
        try {
          next = decodeURIComponent(decoded);
        } catch {
          break;
        }
        if (next === decoded) break;
        decoded = next;
      }
      return encodeURIComponent(text);
    })
    .join(',');
}

/** Form-style serialization (arrays exploded unless explode: false), the delimited styles, and deepObject. */
function appendQuery(out: string[], parameter: ParameterPlan, value: unknown): void {
  const key = encodeURIComponent(parameter.name);
  const encode = (v: unknown) => encodeURIComponent(scalar(v));
  if (Array.isArray(value)) {
    if (parameter.style === 'deepObject') throw new InvalidToolArguments(`query parameter '${parameter.name}' (deepObject) must be an object`);
    if (parameter.explode) for (const item of value) out.push(`${key}=${encode(item)}`);
    else out.push(`${key}=${value.map(encode).join(queryDelimiters[parameter.style] ?? ',')}`);
  } else if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (parameter.style === 'deepObject') for (const [name, v] of entries) out.push(`${key}[${encodeURIComponent(name)}]=${encode(v)}`);
    else if (parameter.explode) for (const [name, v] of entries) out.push(`${encodeURIComponent(name)}=${encode(v)}`);
    else out.push(`${key}=${entries.map(([name, v]) => `${encodeURIComponent(name)},${encode(v)}`).join(',')}`);
  } else {
    out.push(`${key}=${encode(value)}`);
  }
}

function headerValue(parameter: ParameterPlan, value: unknown): string {
  let text: string;
  if (Array.isArray(value)) text = value.map(scalar).join(',');
  else if (isObject(value)) text = Object.entries(value).map(([k, v]) => (parameter.explode ? `${k}=${scalar(v)}` : `${k},${scalar(v)}`)).join(',');
  else text = scalar(value);
  if (headerUnsafe.test(text)) throw new InvalidToolArguments(`header parameter '${parameter.name}' holds a character a header cannot carry`);
  return text;
}
