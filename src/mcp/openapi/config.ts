// One OpenAPI source of the MCP gateway (issue 15): its type and JSON Schema. The mcp section lists them as `openapi:`.
//
// Secrets: write `${ENV_VAR}` (or `${ENV_VAR:-fallback}`) for any value. The gateway's config loader
// (substituteEnv in src/config/load.ts) replaces them when it reads the YAML, before this schema is
// checked; createOpenApiSource replaces any reference still present (a config built in code or stored at
// runtime) from options.env, and refuses to load when a referenced variable is unset.

/** Which operations become tools. An operation matches a filter when any of its lists matches. */
export interface OperationFilter {
  tags?: string[];
  /** Globs over the spec's path templates: `*` is one path segment (no `/`), `**` any run of segments. */
  paths?: string[];
  /** operationId values, exactly as the spec writes them. */
  operations?: string[];
}

export type OpenApiAuth =
  | { type: 'header'; name: string; value: string }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | OAuth2ClientCredentials;

/** RFC 6749 §4.4. The token is cached until it expires (less a margin) and refreshed once on a 401. */
export interface OAuth2ClientCredentials {
  type: 'oauth2_client_credentials';
  token_url: string;
  client_id: string;
  client_secret: string;
  scope?: string;
  audience?: string;
  /** `basic`: client_secret_basic (HTTP Basic on the token request, RFC 6749 §2.3.1). `post`: client_secret_post (in the form body). */
  client_auth: 'basic' | 'post';
}

export interface OpenApiSourceConfig {
  /** The source's name: tools are listed as `<name>__<tool>` on /mcp and served alone on /mcp/<name>. */
  name: string;
  /** A file path (JSON or YAML), relative to the working directory; exactly one of spec and spec_url. */
  spec?: string;
  /** Fetched once at load (no redirects followed, bounded in size and time). */
  spec_url?: string;
  /** Where calls go; overrides the spec's servers[0]. Its path is kept: `https://api.example.com/v2`. */
  base_url?: string;
  /** Put in front of every tool name as it is (`pets_` → `pets_listPets`). */
  tool_prefix?: string;
  /** When given, only matching operations become tools. */
  include?: OperationFilter;
  /** Matching operations never become tools; applied after include. */
  exclude?: OperationFilter;
  /** The gateway's credential for the API; the MCP caller's own headers never reach it. */
  auth?: OpenApiAuth;
  /** One call: connect, send, and read the whole answer. */
  timeout_ms: number;
  /** Answers longer than this are cut off and reported as a tool error. */
  max_response_bytes: number;
  /** Sent with every call; the auth header wins over one of the same name. */
  headers: Record<string, string>;
  /** false: never advertise an outputSchema (for APIs whose answers do not follow their spec). */
  output_schema: boolean;
}

const stringList = { type: 'array', items: { type: 'string', minLength: 1 } };
const filter = {
  type: 'object',
  additionalProperties: false,
  properties: { tags: stringList, paths: stringList, operations: stringList },
};
const httpUrl = { type: 'string', pattern: '^https?://[^\\s]+$' };
const text = { type: 'string', minLength: 1 };
const headerName = { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" };

/** The keys each auth type takes, and which of them are required. */
const authTypes: Record<OpenApiAuth['type'], { required: string[]; optional: string[] }> = {
  header: { required: ['name', 'value'], optional: [] },
  bearer: { required: ['token'], optional: [] },
  basic: { required: ['username', 'password'], optional: [] },
  oauth2_client_credentials: { required: ['token_url', 'client_id', 'client_secret'], optional: ['scope', 'audience', 'client_auth'] },
};

/** JSON Schema (draft-07, for Ajv with useDefaults) of one entry of `mcp.openapi`. */
export const openApiSourceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  oneOf: [{ required: ['spec'] }, { required: ['spec_url'] }],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: 64 },
    spec: text,
    spec_url: httpUrl,
    base_url: httpUrl,
    tool_prefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]*$', maxLength: 64 },
    include: filter,
    exclude: filter,
    auth: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { enum: Object.keys(authTypes) },
        name: headerName,
        value: text,
        token: text,
        username: { type: 'string' },
        password: { type: 'string' },
        token_url: httpUrl,
        client_id: text,
        client_secret: text,
        scope: text,
        audience: text,
        client_auth: { enum: ['basic', 'post'] },
      },
      // Per type: its required keys, and no key of another type.
      allOf: Object.entries(authTypes).map(([type, keys]) => ({
        if: { properties: { type: { const: type } } },
        then: {
          required: keys.required,
          propertyNames: { enum: ['type', ...keys.required, ...keys.optional] },
          ...(type === 'oauth2_client_credentials' ? { properties: { client_auth: { default: 'basic' } } } : {}),
        },
      })),
    },
    timeout_ms: { type: 'integer', minimum: 1, maximum: 600_000, default: 30_000 },
    max_response_bytes: { type: 'integer', minimum: 1024, maximum: 256 * 1024 * 1024, default: 1024 * 1024 },
    headers: { type: 'object', propertyNames: headerName, additionalProperties: { type: 'string' }, default: {} },
    output_schema: { type: 'boolean', default: true },
  },
};
