// Config for routing and resilience: deployment groups on `models:` entries, and the `routing:` section
// with the defaults every group inherits (retries, breaker, cooldown, health checks). Types and JSON Schema.
import type { TimeoutsConfig } from '../config/types.js';

export type StrategyName = 'weighted' | 'round_robin' | 'least_busy' | 'least_latency' | 'lowest_cost' | 'usage_based';
export const strategyNames: readonly StrategyName[] = ['weighted', 'round_robin', 'least_busy', 'least_latency', 'lowest_cost', 'usage_based'];

/** Why an attempt failed, as retry and fallback policies name it. */
export type FailureKind = 'connect' | 'timeout' | '5xx' | '429' | 'context_length';
export const failureKinds: readonly FailureKind[] = ['connect', 'timeout', '5xx', '429', 'context_length'];

/** Request features a provider may lack; a deployment that lacks one the request uses is skipped. */
export interface DeploymentSupports {
  tools: boolean;
  vision: boolean;
  json_schema: boolean;
}

export interface DeploymentConfig {
  provider: string;
  /** Name sent upstream; defaults to the group's name. */
  model?: string;
  /** Shown in headers, metrics and the admin API; defaults to `<provider>/<model>`. */
  id?: string;
  weight: number;
  /** Tier: a tier is used only when every deployment of the tiers before it is unavailable. */
  priority: number;
  rpm?: number;
  tpm?: number;
  max_in_flight?: number;
  /** Prompt plus max output tokens larger than this skips the deployment. */
  context_window?: number;
  /** Price per 1M tokens for lowest_cost and metering; else the price table's entry for the model. */
  price?: { input: number; output: number };
  timeouts?: Partial<TimeoutsConfig>;
  /** Unset fields take the provider type's default (src/routing/supports.ts). */
  supports?: Partial<DeploymentSupports>;
  drop_unsupported?: boolean;
  /** Set false to leave this deployment out of active health checks. */
  health_check?: boolean;
}

export type StickyFrom = 'header' | 'user' | 'metadata.user_id' | 'key';

export interface StickyConfig {
  /** Where the session key comes from; the first that is present wins. */
  from: StickyFrom[];
  /** For `from: header`. */
  header: string;
}

export interface RetryConfig {
  /** Failure kinds that move the request to another attempt. */
  on: FailureKind[];
  /** First backoff before retrying a deployment already tried; doubles each time, with jitter. */
  backoff_ms: number;
  max_backoff_ms: number;
}

/** What a `models:` entry may say about routing (the rest of ModelConfig is in config/types.ts). */
export interface ModelRoutingConfig {
  deployments?: DeploymentConfig[];
  strategy?: StrategyName;
  /** Other models tried, in order, once this group's attempts are spent (not followed transitively). */
  fallbacks?: string[];
  /** Attempts on this group's deployments; default: one per deployment, at most 3. */
  max_attempts?: number;
  retry?: Partial<RetryConfig>;
  /** Whole request, all attempts and waits included. */
  deadline_ms?: number;
  sticky?: Partial<StickyConfig>;
  /** One-deployment form: false leaves it out of active health checks (e.g. an embeddings-only model). */
  health_check?: boolean;
}

export interface BreakerConfig {
  /** Consecutive failures that open the breaker. */
  consecutive_failures: number;
  /** Or: this failure rate over the window, once the window holds min_requests. */
  failure_rate: number;
  window_s: number;
  min_requests: number;
  /** Open for this long, then half-open. */
  cooldown_ms: number;
  /** Trial requests let through while half-open; all must succeed to close. */
  half_open_requests: number;
}

export interface HealthCheckConfig {
  enabled: boolean;
  interval_ms: number;
  /** Each check's time is spread by ±jitter × interval so deployments are not checked in lockstep. */
  jitter: number;
  timeout_ms: number;
  /** Consecutive failed checks that take a deployment out; consecutive good ones that put it back. */
  unhealthy_after: number;
  healthy_after: number;
  /** The check's request, in OpenAI chat form (translated per provider family); `model` is filled in. */
  body: Record<string, unknown>;
  /** A deployment out of credit (insufficient_quota) is checked again this much later, not every interval. */
  quota_interval_ms: number;
}

export interface RoutingConfig {
  routing: {
    strategy: StrategyName;
    retry: RetryConfig;
    /** Attempts one request may make across its group and fallbacks. */
    max_attempts_per_request: number;
    deadline_ms: number;
    breaker: BreakerConfig;
    /** A 429 without Retry-After takes the deployment out for this long. */
    cooldown_429_ms: number;
    /** Longest Retry-After honoured as a cooldown (a provider asking for hours is capped). */
    max_cooldown_ms: number;
    health_checks: HealthCheckConfig;
    sticky: StickyConfig;
    /** least_latency: share of requests sent to a random deployment so a recovered one is noticed. */
    explore: number;
    /** Weight of the newest sample in the latency EWMA. */
    ewma_alpha: number;
  };
}

const failureKindSchema = { enum: failureKinds };
const stickyFromSchema = { enum: ['header', 'user', 'metadata.user_id', 'key'] };

const retrySchema = (withDefaults: boolean) => ({
  type: 'object',
  additionalProperties: false,
  ...(withDefaults ? { default: {} } : {}),
  properties: {
    on: { type: 'array', items: failureKindSchema, uniqueItems: true, ...(withDefaults ? { default: [...failureKinds] } : {}) },
    backoff_ms: { type: 'integer', minimum: 0, ...(withDefaults ? { default: 100 } : {}) },
    max_backoff_ms: { type: 'integer', minimum: 0, ...(withDefaults ? { default: 5000 } : {}) },
  },
});

const stickySchema = (withDefaults: boolean) => ({
  type: 'object',
  additionalProperties: false,
  ...(withDefaults ? { default: {} } : {}),
  properties: {
    from: { type: 'array', items: stickyFromSchema, uniqueItems: true, ...(withDefaults ? { default: [] } : {}) },
    header: { type: 'string', pattern: '^[a-z0-9-]+$', ...(withDefaults ? { default: 'x-session-id' } : {}) },
  },
});

const timeoutsOverride = {
  type: 'object',
  additionalProperties: false,
  properties: {
    connect_ms: { type: 'integer', minimum: 1 },
    first_byte_ms: { type: 'integer', minimum: 1 },
    idle_ms: { type: 'integer', minimum: 1 },
    total_ms: { type: 'integer', minimum: 1 },
  },
};

export const deploymentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['provider'],
  properties: {
    provider: { type: 'string' },
    model: { type: 'string', minLength: 1 },
    id: { type: 'string', pattern: '^[A-Za-z0-9_.:/@-]{1,128}$' },
    weight: { type: 'number', exclusiveMinimum: 0, default: 1 },
    priority: { type: 'integer', minimum: 1, default: 1 },
    rpm: { type: 'integer', minimum: 1 },
    tpm: { type: 'integer', minimum: 1 },
    max_in_flight: { type: 'integer', minimum: 1 },
    context_window: { type: 'integer', minimum: 1 },
    price: {
      type: 'object',
      additionalProperties: false,
      required: ['input', 'output'],
      properties: { input: { type: 'number', minimum: 0 }, output: { type: 'number', minimum: 0 } },
    },
    timeouts: timeoutsOverride,
    supports: {
      type: 'object',
      additionalProperties: false,
      properties: { tools: { type: 'boolean' }, vision: { type: 'boolean' }, json_schema: { type: 'boolean' } },
    },
    drop_unsupported: { type: 'boolean' },
    health_check: { type: 'boolean', default: true },
  },
};

/** Properties a `models:` entry gains; merged into its schema in config/schema.ts. */
export const modelRoutingProperties = {
  deployments: { type: 'array', minItems: 1, maxItems: 256, items: deploymentSchema },
  strategy: { enum: strategyNames },
  fallbacks: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, maxItems: 16 },
  max_attempts: { type: 'integer', minimum: 1, maximum: 20 },
  retry: retrySchema(false),
  deadline_ms: { type: 'integer', minimum: 1 },
  sticky: stickySchema(false),
  health_check: { type: 'boolean' },
};

export const routingSchemaProperties = {
  routing: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      strategy: { enum: strategyNames, default: 'weighted' },
      retry: retrySchema(true),
      max_attempts_per_request: { type: 'integer', minimum: 1, maximum: 50, default: 6 },
      deadline_ms: { type: 'integer', minimum: 1, default: 600000 },
      breaker: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          consecutive_failures: { type: 'integer', minimum: 1, default: 5 },
          failure_rate: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.5 },
          window_s: { type: 'integer', minimum: 1, maximum: 60, default: 30 },
          min_requests: { type: 'integer', minimum: 1, default: 20 },
          cooldown_ms: { type: 'integer', minimum: 1, default: 30000 },
          half_open_requests: { type: 'integer', minimum: 1, maximum: 100, default: 1 },
        },
      },
      cooldown_429_ms: { type: 'integer', minimum: 0, default: 5000 },
      max_cooldown_ms: { type: 'integer', minimum: 0, default: 300000 },
      health_checks: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          enabled: { type: 'boolean', default: false },
          interval_ms: { type: 'integer', minimum: 100, default: 30000 },
          jitter: { type: 'number', minimum: 0, maximum: 0.5, default: 0.1 },
          timeout_ms: { type: 'integer', minimum: 1, default: 10000 },
          unhealthy_after: { type: 'integer', minimum: 1, default: 2 },
          healthy_after: { type: 'integer', minimum: 1, default: 1 },
          body: {
            type: 'object',
            required: ['messages'],
            properties: { messages: { type: 'array', minItems: 1 } },
            default: { messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 },
          },
          quota_interval_ms: { type: 'integer', minimum: 100, default: 300000 },
        },
      },
      sticky: stickySchema(true),
      explore: { type: 'number', minimum: 0, maximum: 0.5, default: 0.05 },
      ewma_alpha: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.3 },
    },
  },
};
