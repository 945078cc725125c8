// Config section for metrics, audit, logging, tracing (issue 4): types and JSON Schema properties, merged into the top-level schema.

export interface MetricsConfig {
  enabled: boolean;
  /** What the `key` label holds: the key id, its name, or nothing (one series for all keys). */
  key_label: 'id' | 'name' | 'off';
  /** Distinct values a label may take per thread before new ones are folded into "__other__". */
  max_label_values: number;
}

export interface AuditFileSinkConfig {
  enabled: boolean;
  /** Directory for the JSONL files, relative to data_dir unless absolute. */
  dir: string;
  /** Start a new file when the current one reaches this size. */
  rotate_bytes: number;
  /** Start a new file after this many seconds (0: size only). */
  rotate_interval_s: number;
  /** Delete files older than this many days (0: keep forever). */
  retention_days: number;
  /** Keep at most this many files (0: no limit). */
  max_files: number;
  /** Records are written and fsynced at least this often; a kill -9 loses at most this window. */
  fsync_ms: number;
}

export interface AuditPostgresSinkConfig {
  enabled: boolean;
  url: string;
  table: string;
  /** Most records per INSERT. */
  batch: number;
  /** Where records go while PostgreSQL is unreachable, relative to data_dir unless absolute. */
  spill_dir: string;
  /** How often to retry an unreachable server. */
  retry_ms: number;
}

export interface AuditQueueConfig {
  /** Records waiting for a sink before the policy applies. */
  max: number;
  /** block: refuse new requests with 503 until the queue drains; spill: write the overflow to local files and replay it later. */
  policy: 'block' | 'spill';
}

export interface AuditConfig {
  enabled: boolean;
  /** Record request and response bodies. */
  bodies: boolean;
  /** Models (client-facing names) whose bodies are never recorded. */
  bodies_off_models: string[];
  /** Keys (id or name) whose bodies are never recorded. */
  bodies_off_keys: string[];
  sinks: { file: AuditFileSinkConfig; postgres: AuditPostgresSinkConfig };
  queue: AuditQueueConfig;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggingConfig {
  /** Threshold for the gateway's own log (stderr) and the access log. */
  level: LogLevel;
  /** One JSON line per request. */
  access_log: boolean;
  /** Append access log lines to this file instead of stdout (relative to data_dir unless absolute). */
  access_log_file?: string;
}

export interface TracingConfig {
  enabled: boolean;
  /** OTLP/HTTP (JSON) traces endpoint of the collector, including the path. */
  otlp_endpoint: string;
  /** service.name of the exported spans. */
  service_name: string;
  /** Share of new traces recorded; a client's traceparent decides for the traces it started. */
  sample_ratio: number;
  /** Extra headers on every export request (e.g. a collector's auth token). */
  headers: Record<string, string>;
}

export interface ObservabilityConfig {
  metrics: MetricsConfig;
  audit: AuditConfig;
  logging: LoggingConfig;
  tracing: TracingConfig;
}

const positiveInt = (def: number) => ({ type: 'integer', minimum: 1, default: def });
const nonNegativeInt = (def: number) => ({ type: 'integer', minimum: 0, default: def });

/** JSON Schema for the top-level keys this feature owns. */
export const observabilitySchemaProperties: Record<string, object> = {
  metrics: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: true },
      key_label: { enum: ['id', 'name', 'off'], default: 'id' },
      max_label_values: positiveInt(200),
    },
  },
  audit: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: true },
      bodies: { type: 'boolean', default: true },
      bodies_off_models: { type: 'array', items: { type: 'string' }, default: [] },
      bodies_off_keys: { type: 'array', items: { type: 'string' }, default: [] },
      sinks: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          file: {
            type: 'object',
            additionalProperties: false,
            default: {},
            properties: {
              enabled: { type: 'boolean', default: true },
              dir: { type: 'string', minLength: 1, default: 'audit' },
              rotate_bytes: { type: 'integer', minimum: 1024, default: 100 * 1024 * 1024 },
              rotate_interval_s: nonNegativeInt(86400),
              retention_days: nonNegativeInt(30),
              max_files: nonNegativeInt(0),
              fsync_ms: nonNegativeInt(100),
            },
          },
          postgres: {
            type: 'object',
            additionalProperties: false,
            default: {},
            properties: {
              enabled: { type: 'boolean', default: false },
              url: { type: 'string', default: 'postgres://127.0.0.1:5432/switchyard' },
              table: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$', default: 'switchyard_audit' },
              batch: positiveInt(500),
              spill_dir: { type: 'string', minLength: 1, default: 'audit-spill' },
              retry_ms: positiveInt(2000),
            },
          },
        },
      },
      queue: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          max: positiveInt(10000),
          policy: { enum: ['block', 'spill'], default: 'spill' },
        },
      },
    },
  },
  logging: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      level: { enum: ['debug', 'info', 'warn', 'error'], default: 'info' },
      access_log: { type: 'boolean', default: false },
      access_log_file: { type: 'string', minLength: 1 },
    },
  },
  tracing: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: false },
      otlp_endpoint: { type: 'string', pattern: '^https?://', default: 'http://127.0.0.1:4318/v1/traces' },
      service_name: { type: 'string', minLength: 1, default: 'switchyard' },
      sample_ratio: { type: 'number', minimum: 0, maximum: 1, default: 1 },
      headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    },
  },
};
