// Config section for guards, PII redaction, tokenizer and worker pool (issue 5): types and JSON Schema properties, merged into the top-level schema.
import type { PoolPriority } from '../pool/thread-priority.js';
import type { EncodingName } from './tokenizer.js';

/** Which requests a guard or policy applies to; an empty or absent list means all. */
export interface Attachment {
  /** Model names as clients send them; `*` matches any run of characters. */
  models?: string[];
  /** Key ids or names. */
  keys?: string[];
}

export interface PromptGuardConfig extends Attachment {
  name: string;
  /** RE2 patterns; any match refuses the request. */
  deny: string[];
  /** RE2 patterns; when non-empty, the scanned text must match at least one. */
  allow: string[];
  /** What is scanned: the last message of a scanned role, or every message of the scanned roles. */
  scope: 'last_user' | 'conversation';
  roles: string[];
  case_insensitive: boolean;
  /** reject: HTTP 400 content_policy_violation. refuse: a normal completion carrying refusal_message. */
  action: 'reject' | 'refuse';
  refusal_message: string;
}

export interface OutputGuardConfig extends Attachment {
  name: string;
  patterns: string[];
  case_insensitive: boolean;
  /** mask: replace each match with `replacement`. stop: end the answer with finish_reason "content_filter". */
  action: 'mask' | 'stop';
  replacement: string;
  /** Characters held back from a stream so a match split across chunks is still caught: the longest match the patterns can produce. */
  window_chars: number;
}

export type PiiMode = 'block' | 'mask' | 'pseudonymize';
export type PiiDetectorName = 'email' | 'phone' | 'credit_card' | 'us_ssn' | 'iban' | 'ipv4' | 'ipv6' | 'secret';
export const piiDetectorNames: readonly PiiDetectorName[] = [
  'email',
  'phone',
  'credit_card',
  'us_ssn',
  'iban',
  'ipv4',
  'ipv6',
  'secret',
];

export interface CustomPiiPattern {
  /** Upper-case label used in masks and placeholders ([LABEL], <LABEL_1>). */
  name: string;
  pattern: string;
  mode: PiiMode;
}

export interface PiiPolicyConfig extends Attachment {
  name: string;
  detectors: Partial<Record<PiiDetectorName, PiiMode>>;
  custom: CustomPiiPattern[];
  /** Roles whose message text is redacted. */
  roles: string[];
}

export interface TokenizerConfig {
  enabled: boolean;
  default_encoding: EncodingName;
  /** Model name (glob) → encoding, checked in order before the built-in model table. */
  encodings: Array<{ model: string; encoding: EncodingName }>;
  /** Image whose size is unknown (remote URL, unreadable header) at detail high/auto. */
  image_tokens_default: number;
  audio_tokens_default: number;
  file_tokens_default: number;
}

export interface PoolConfig {
  /** Worker threads in total across server threads; 'auto' = CPU count. */
  size: number | 'auto';
  /** Deadline for one task, queueing included. Counting past it is estimated; guards past it fail the request (503). */
  task_timeout_ms: number;
  /** Payloads up to this many bytes are handled on the server thread instead of a worker (0 = never). */
  inline_max_bytes: number;
  /** CPU priority of the worker threads (src/pool/thread-priority.ts). */
  priority: PoolPriority;
  /**
   * Bytes of request bodies one caller (its key, else its client address) may have in each lane of a
   * server thread's pool at once, queued or running; past it the request is refused at once (429
   * guard_capacity). 0 = no bound.
   */
  caller_max_bytes: number;
  small_lane: SmallLaneConfig;
}

/** Workers of their own for small bodies, which large ones never occupy. */
export interface SmallLaneConfig {
  /** Bodies up to this many bytes (and over inline_max_bytes) go to the small lane; 0 = no small lane. */
  max_bytes: number;
  /** Its workers per server thread, in addition to `size`. */
  size: number;
  priority: PoolPriority;
}

export interface GuardsConfig {
  guards: { prompt: PromptGuardConfig[]; output: OutputGuardConfig[] };
  pii: PiiPolicyConfig[];
  tokenizer: TokenizerConfig;
  pool: PoolConfig;
}

const stringList = { type: 'array', items: { type: 'string' } };
const attachment = { models: stringList, keys: stringList };
const name = { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' };
const piiMode = { enum: ['block', 'mask', 'pseudonymize'] };
const encoding = { enum: ['o200k_base', 'cl100k_base'] };

/** JSON Schema for the top-level keys this feature owns. */
export const guardsSchemaProperties: Record<string, object> = {
  guards: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      prompt: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name,
            ...attachment,
            deny: { ...stringList, default: [] },
            allow: { ...stringList, default: [] },
            scope: { enum: ['last_user', 'conversation'], default: 'last_user' },
            roles: { ...stringList, default: ['user'] },
            case_insensitive: { type: 'boolean', default: true },
            action: { enum: ['reject', 'refuse'], default: 'reject' },
            refusal_message: { type: 'string', default: "I'm sorry, but I can't help with that request." },
          },
        },
      },
      output: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'patterns'],
          properties: {
            name,
            ...attachment,
            patterns: { ...stringList, minItems: 1 },
            case_insensitive: { type: 'boolean', default: true },
            action: { enum: ['mask', 'stop'], default: 'mask' },
            replacement: { type: 'string', default: '[REDACTED]' },
            window_chars: { type: 'integer', minimum: 1, maximum: 65536, default: 128 },
          },
        },
      },
    },
  },
  pii: {
    type: 'array',
    default: [],
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name,
        ...attachment,
        detectors: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: Object.fromEntries(piiDetectorNames.map((d) => [d, piiMode])),
        },
        custom: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'pattern'],
            properties: {
              name: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
              pattern: { type: 'string', minLength: 1 },
              mode: { ...piiMode, default: 'mask' },
            },
          },
        },
        roles: { ...stringList, default: ['user', 'system', 'developer', 'assistant', 'tool'] },
      },
    },
  },
  tokenizer: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      enabled: { type: 'boolean', default: false },
      default_encoding: { ...encoding, default: 'o200k_base' },
      encodings: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['model', 'encoding'],
          properties: { model: { type: 'string', minLength: 1 }, encoding },
        },
      },
      image_tokens_default: { type: 'integer', minimum: 0, default: 765 },
      audio_tokens_default: { type: 'integer', minimum: 0, default: 600 },
      file_tokens_default: { type: 'integer', minimum: 0, default: 1000 },
    },
  },
  pool: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      size: { anyOf: [{ type: 'integer', minimum: 1, maximum: 256 }, { const: 'auto' }], default: 'auto' },
      task_timeout_ms: { type: 'integer', minimum: 10, default: 2000 },
      inline_max_bytes: { type: 'integer', minimum: 0, default: 2048 },
      priority: { enum: ['idle', 'low', 'normal'], default: 'idle' },
      caller_max_bytes: { type: 'integer', minimum: 0, default: 4 * 1024 * 1024 },
      small_lane: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          max_bytes: { type: 'integer', minimum: 0, default: 64 * 1024 },
          size: { type: 'integer', minimum: 0, maximum: 64, default: 1 },
          priority: { enum: ['idle', 'low', 'normal'], default: 'low' },
        },
      },
    },
  },
};
