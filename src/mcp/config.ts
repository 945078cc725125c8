// Config section for the MCP gateway (issue 15): types and JSON Schema properties, merged into the top-level schema.
import { openApiSourceSchema, type OpenApiSourceConfig } from './openapi/config.js';

/** An upstream MCP server: Streamable HTTP (`url`) or a local process speaking stdio (`command`). */
export interface McpServerConfig {
  /** Tool prefix on /mcp (`<name>__<tool>`) and the scoped endpoint /mcp/<name>. */
  name: string;
  url?: string;
  /** Sent on every request to `url`: the gateway's own credentials for that server. */
  headers: Record<string, string>;
  command?: string;
  args: string[];
  /** Added to a minimal inherited environment (PATH, HOME, …) of the process. */
  env: Record<string, string>;
  cwd?: string;
  /** One upstream request (initialize, tools/list, tools/call). */
  timeout_ms: number;
  /** stdio: first restart delay after the process exited; doubles up to max_restart_delay_ms. */
  restart_delay_ms: number;
  max_restart_delay_ms: number;
}

/** Who may see and call what. Patterns are globs over `server__tool`, or a bare server name for all its tools. */
export interface McpAccessRule {
  /** Key names or ids; `*` = every caller (also the key-less caller when `auth` is none). */
  keys: string[];
  allow: string[];
  deny: string[];
}

export interface McpRateLimit {
  name: string;
  /** Globs of `server__tool` or server names; absent = every tool. */
  tools: string[];
  /** Key names or ids this limit applies to; absent = every key. */
  keys: string[];
  /** key: every key has its own window; all: one window shared by every key. */
  per: 'key' | 'all';
  rpm?: number;
  rpd?: number;
  max_concurrent?: number;
}

export interface McpGuardRule {
  /** Globs of `server__tool` or server names; absent = every tool. */
  tools: string[];
  /** Names of `guards.prompt` entries: any deny match refuses the call (arguments) or withholds the result. */
  prompt: string[];
  /** Name of a `pii` policy: masks (or refuses, for block detectors) values in arguments and results. */
  pii?: string;
  arguments: boolean;
  results: boolean;
}

export interface McpOAuthConfig {
  /** Issuer URLs of the authorization servers that mint tokens for this gateway (RFC 9728 `authorization_servers`). */
  authorization_servers: string[];
  /** This endpoint's resource identifier; default: derived from the request's Host, e.g. https://gw.example.com/mcp. */
  resource?: string;
  scopes_supported: string[];
}

export interface McpSection {
  openapi: OpenApiSourceConfig[];
  servers: McpServerConfig[];
  access: McpAccessRule[];
  rate_limits: McpRateLimit[];
  guards: McpGuardRule[];
  /** Browser origins allowed to call /mcp (a request with another Origin gets 403); `*` allows any. */
  allowed_origins: string[];
  /** Host header values accepted; default: loopback names when server.host is a loopback address, else any. */
  allowed_hosts?: string[];
  oauth?: McpOAuthConfig;
  /** How long one upstream's tool list is reused before it is asked again (0: every tools/list asks). */
  tools_cache_ms: number;
  /** Characters of a tool result kept in its audit record. */
  audit_result_chars: number;
  /** Rows of the shared table that counts MCP rate limits (one per limit and key). */
  rate_limit_rows: number;
}

export interface McpConfig {
  mcp: McpSection;
}

const name = { type: 'string', pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$', maxLength: 64 };
const globList = { type: 'array', items: { type: 'string', minLength: 1 }, default: [] };
const count = { type: 'integer', minimum: 0 };
const stringMap = { type: 'object', additionalProperties: { type: 'string' }, default: {} };

const serverSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  oneOf: [{ required: ['url'] }, { required: ['command'] }],
  properties: {
    name,
    url: { type: 'string', pattern: '^https?://' },
    headers: stringMap,
    command: { type: 'string', minLength: 1 },
    args: { type: 'array', items: { type: 'string' }, default: [] },
    env: stringMap,
    cwd: { type: 'string', minLength: 1 },
    timeout_ms: { type: 'integer', minimum: 1, default: 30000 },
    restart_delay_ms: { type: 'integer', minimum: 1, default: 500 },
    max_restart_delay_ms: { type: 'integer', minimum: 1, default: 30000 },
  },
};

/** JSON Schema for the top-level key this feature owns. */
export const mcpSchemaProperties = {
  mcp: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      openapi: { type: 'array', items: openApiSourceSchema, default: [] },
      servers: { type: 'array', items: serverSchema, default: [] },
      access: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['keys'],
          properties: { keys: { ...globList, minItems: 1 }, allow: globList, deny: globList },
        },
      },
      rate_limits: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          anyOf: [{ required: ['rpm'] }, { required: ['rpd'] }, { required: ['max_concurrent'] }],
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
            tools: globList,
            keys: globList,
            per: { enum: ['key', 'all'], default: 'key' },
            rpm: count,
            rpd: count,
            max_concurrent: count,
          },
        },
      },
      guards: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tools: globList,
            prompt: globList,
            pii: { type: 'string', minLength: 1 },
            arguments: { type: 'boolean', default: true },
            results: { type: 'boolean', default: true },
          },
        },
      },
      allowed_origins: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
      allowed_hosts: { type: 'array', items: { type: 'string', minLength: 1 } },
      oauth: {
        type: 'object',
        additionalProperties: false,
        required: ['authorization_servers'],
        properties: {
          authorization_servers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^https?://' } },
          resource: { type: 'string', pattern: '^https?://' },
          scopes_supported: { type: 'array', items: { type: 'string' }, default: [] },
        },
      },
      tools_cache_ms: { type: 'integer', minimum: 0, default: 2000 },
      audit_result_chars: { type: 'integer', minimum: 0, default: 2000 },
      rate_limit_rows: { type: 'integer', minimum: 16, maximum: 1048576, default: 4096 },
    },
  },
};

/** Whether the section configures anything to serve: the MCP code is loaded only then. */
export function mcpConfigured(section: McpSection | undefined): boolean {
  return section !== undefined && (section.servers.length > 0 || section.openapi.length > 0);
}
