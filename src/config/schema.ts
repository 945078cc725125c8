// JSON Schema of the whole config. Ajv fills in the defaults written here, so every key has one documented value.
import { limitsSchemaProperties } from '../limits/config.js';
import { observabilitySchemaProperties } from '../observability/config.js';
import { guardsSchemaProperties } from '../guards/config.js';
import { mcpSchemaProperties } from '../mcp/config.js';
import { modelRoutingProperties, routingSchemaProperties } from '../routing/config.js';
import { defaultForwardHeaders, neverForwarded } from '../pipeline/forward-headers.js';
import { presets } from '../providers/presets.js';

const providerTypes = ['openai', 'azure', 'anthropic', 'gemini', 'bedrock', ...Object.keys(presets)];

const timeouts = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    connect_ms: { type: 'integer', minimum: 1, default: 5000 },
    first_byte_ms: { type: 'integer', minimum: 1, default: 120000 },
    idle_ms: { type: 'integer', minimum: 1, default: 60000 },
    total_ms: { type: 'integer', minimum: 1, default: 600000 },
  },
};

const coreProperties = {
  server: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
      threads: { anyOf: [{ type: 'integer', minimum: 1, maximum: 256 }, { const: 'auto' }], default: 'auto' },
      max_body_bytes: { type: 'integer', minimum: 1024, default: 16 * 1024 * 1024 },
      max_head_bytes: { type: 'integer', minimum: 1024, default: 16 * 1024 },
      max_buffered_upstream_bytes: { type: 'integer', minimum: 65536, default: 256 * 1024 * 1024 },
      drain_timeout_ms: { type: 'integer', minimum: 0, default: 30000 },
    },
  },
  admin: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: true },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: 8081 },
      token: { type: 'string', minLength: 16 },
      tokens: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'token'],
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9_.@-]{1,64}$', not: { enum: ['admin', 'public'] } },
            token: { type: 'string', minLength: 16 },
            read_only: { type: 'boolean', default: false },
          },
        },
      },
      ui: { type: 'boolean', default: true },
    },
  },
  config_store: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      backend: { enum: ['file', 'postgres'], default: 'file' },
      url: { type: 'string', pattern: '^postgres(ql)?://', default: 'postgres://127.0.0.1:5432/switchyard' },
      table: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,54}$', default: 'switchyard_config' },
      poll_ms: { type: 'integer', minimum: 100, maximum: 600000, default: 1000 },
    },
  },
  data_dir: { type: 'string', minLength: 1, default: './data' },
  simulator: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: false },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: 9090 },
    },
  },
  providers: {
    type: 'array',
    minItems: 1,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
        type: { enum: providerTypes, default: 'openai' },
        // Required for openai and azure; the other types have a default (load.ts fills it in).
        base_url: { type: 'string', pattern: '^https?://' },
        api_key: { type: 'string' },
        drop_unsupported: { type: 'boolean', default: false },
        api_version: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
        anthropic_version: { type: 'string', pattern: '^[0-9-]+$' },
        region: { type: 'string', pattern: '^[a-z0-9-]+$' },
        aws_access_key_id: { type: 'string' },
        aws_secret_access_key: { type: 'string' },
        aws_session_token: { type: 'string' },
        headers: {
          type: 'object',
          // An HTTP token and a value undici can send (RFC 9110 §5.5); anything else would fail every request.
          propertyNames: { pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
          additionalProperties: { type: 'string', pattern: '^[\\t\\x20-\\x7e\\x80-\\xff]*$' },
        },
        forward_headers: {
          type: 'array',
          // Lower case; a trailing * forwards every name with that prefix, a lone * every name.
          items: { type: 'string', pattern: "^(?:[!#$%&'+.^_`|~0-9a-z-]+\\*?|\\*)$", not: { enum: neverForwarded } },
          default: defaultForwardHeaders,
        },
        timeouts,
        connections: { type: 'integer', minimum: 1, maximum: 65536, default: 256 },
      },
    },
  },
  models: {
    type: 'array',
    minItems: 1,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1 },
        provider: { type: 'string' },
        model: { type: 'string', minLength: 1 },
        drop_unsupported: { type: 'boolean' },
        ...modelRoutingProperties,
      },
    },
  },
};

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Switchyard configuration',
  type: 'object',
  additionalProperties: false,
  required: ['providers', 'models'],
  properties: {
    ...coreProperties,
    ...limitsSchemaProperties,
    ...observabilitySchemaProperties,
    ...guardsSchemaProperties,
    ...mcpSchemaProperties,
    ...routingSchemaProperties,
  },
};
