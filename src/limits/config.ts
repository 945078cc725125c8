// Config section for keys, limits, budgets and prices (issue 3): types and JSON Schema properties, merged into the top-level schema.

/** Request and token limits of one subject (a key, a model, or a key on one model). Absent = unlimited. */
export interface LimitValues {
  rpm?: number;
  rpd?: number;
  tpm?: number;
  tpd?: number;
  max_concurrent?: number;
}

/** Spend caps of a key in USD; daily and monthly are UTC calendar periods. */
export interface BudgetValues {
  total_usd?: number;
  daily_usd?: number;
  monthly_usd?: number;
}

/** A virtual key declared in YAML (read-only through the admin API). */
export interface KeyDeclaration {
  name: string;
  /** Plaintext key, normally `${ENV}`; only its SHA-256 is kept in memory. */
  key?: string;
  /** Hex SHA-256 of the key, for configs that must not hold the plaintext. */
  key_sha256?: string;
  /** Models this key may use; absent = all. */
  models?: string[];
  limits?: LimitValues;
  /** Limits of this key on one model (key×model). */
  model_limits?: Record<string, LimitValues>;
  budget?: BudgetValues;
}

/** USD per 1M tokens. */
export interface PriceEntry {
  input: number;
  output: number;
  /** Input read from the provider's prompt cache; defaults to `input` when absent. */
  cached_input?: number;
  /** Input written to the provider's prompt cache (Anthropic, Bedrock); defaults to `input` when absent. */
  cache_write_input?: number;
}

export interface RedisLimitsConfig {
  url: string;
  /** Every Redis key this gateway writes starts with this. */
  key_prefix: string;
  /** Redis unreachable: 'open' admits (logged and counted), 'closed' refuses with 503. */
  on_down: 'open' | 'closed';
  /** Longest wait for one Redis command before on_down applies. */
  timeout_ms: number;
  /** How often each machine re-reads the key table written by other machines. */
  key_refresh_ms: number;
}

export interface LimitsSection {
  /** 'memory': shared memory across this process's threads; 'redis': shared by every gateway using the same Redis. */
  backend: 'memory' | 'redis';
  /** Output tokens reserved when a request sets no max_tokens / max_completion_tokens. */
  default_max_output_tokens: number;
  /** Per model, across all keys. */
  models: Record<string, LimitValues>;
  /** Rows of the shared counter table (keys + models + key×model pairs) this process can hold. */
  max_rows: number;
  /** How often usage and spend are written to the file store (memory backend). */
  persist_interval_ms: number;
  redis: RedisLimitsConfig;
}

export interface LimitsConfig {
  /** 'keys': every request needs a virtual key; 'none': open (development). */
  auth: 'keys' | 'none';
  keys: KeyDeclaration[];
  limits: LimitsSection;
  /** Overrides and additions to the shipped price table, by model name. */
  prices: Record<string, PriceEntry>;
}

const count = { type: 'integer', minimum: 0 };
const usd = { type: 'number', minimum: 0 };

export const limitValuesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { rpm: count, rpd: count, tpm: count, tpd: count, max_concurrent: count },
};

export const budgetSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { total_usd: usd, daily_usd: usd, monthly_usd: usd },
};

const keyDeclarationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  oneOf: [{ required: ['key'] }, { required: ['key_sha256'] }],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    key: { type: 'string', minLength: 8 },
    key_sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    models: { type: 'array', items: { type: 'string', minLength: 1 } },
    limits: limitValuesSchema,
    model_limits: { type: 'object', additionalProperties: limitValuesSchema },
    budget: budgetSchema,
  },
};

const priceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['input', 'output'],
  properties: { input: usd, output: usd, cached_input: usd, cache_write_input: usd },
};

/** JSON Schema for the top-level keys this feature owns. */
export const limitsSchemaProperties: Record<string, object> = {
  auth: { enum: ['keys', 'none'], default: 'none' },
  keys: { type: 'array', items: keyDeclarationSchema, default: [] },
  limits: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      backend: { enum: ['memory', 'redis'], default: 'memory' },
      default_max_output_tokens: { type: 'integer', minimum: 0, default: 1024 },
      models: { type: 'object', additionalProperties: limitValuesSchema, default: {} },
      max_rows: { type: 'integer', minimum: 16, maximum: 1048576, default: 16384 },
      persist_interval_ms: { type: 'integer', minimum: 100, default: 5000 },
      redis: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          url: { type: 'string', pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' },
          key_prefix: { type: 'string', minLength: 1, default: 'switchyard' },
          on_down: { enum: ['open', 'closed'], default: 'closed' },
          timeout_ms: { type: 'integer', minimum: 1, default: 200 },
          key_refresh_ms: { type: 'integer', minimum: 100, default: 2000 },
        },
      },
    },
  },
  prices: { type: 'object', additionalProperties: priceSchema, default: {} },
};
