// Simulator options, their per-request overrides (x-sim-* headers, sim-* model names) and faults.
import { GatewayError } from '../shared/errors.js';

export interface SimulatorOptions {
  host: string;
  port: number;
  /** Delay before the response starts (headers and first token). */
  ttft_ms: number;
  /** Generation speed after the first token; 0 = as fast as possible, no timers. */
  tokens_per_second: number;
  /** Tokens per streamed content chunk. */
  chunk_tokens: number;
  /** Answer length when the request sets no smaller max_tokens. */
  completion_tokens: number;
  embedding_dims: number;
  /** Requests kept in stats().last (the most recent ones). */
  keep_requests: number;
}

export const defaultSimulatorOptions: Readonly<SimulatorOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  ttft_ms: 0,
  tokens_per_second: 0,
  chunk_tokens: 1,
  completion_tokens: 16,
  embedding_dims: 1536,
  keep_requests: 50,
});

export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'reset-after'; chunks: number }
  | { kind: 'stall-after'; chunks: number }
  | { kind: 'stall-headers' }
  | { kind: 'malformed' }
  | { kind: 'truncated' }
  | { kind: 'invalid-json' }
  | { kind: 'end-after'; chunks: number }
  | { kind: 'gzip' }
  /** `key` is the credential the request presented, filled in by planRequest. */
  | { kind: 'key-echo'; inStream: boolean; key: string };

/** What one request is to do: the generation options that apply to it and an optional fault. */
export interface RequestPlan {
  ttft_ms: number;
  tokens_per_second: number;
  chunk_tokens: number;
  completion_tokens: number;
  fault: Fault | undefined;
}

type TimingKey = 'ttft_ms' | 'tokens_per_second' | 'chunk_tokens' | 'completion_tokens';

/** Header → option it overrides, and the smallest accepted value. */
const headerOverrides: ReadonlyArray<{ header: string; option: TimingKey; min: number }> = [
  { header: 'x-sim-ttft-ms', option: 'ttft_ms', min: 0 },
  { header: 'x-sim-tokens-per-second', option: 'tokens_per_second', min: 0 },
  { header: 'x-sim-chunk-tokens', option: 'chunk_tokens', min: 1 },
  { header: 'x-sim-completion-tokens', option: 'completion_tokens', min: 0 },
];

/**
 * Model-name rules: a model called `<prefix><argument>` changes the plan. Faults are reachable by
 * model name so tests can trigger them through a gateway that drops unknown headers.
 */
const modelRules: ReadonlyArray<{ prefix: string; apply: (plan: RequestPlan, argument: string) => boolean }> = [
  {
    prefix: 'sim-fault-',
    apply: (plan, arg) => {
      plan.fault = parseFault(arg);
      if (plan.fault === undefined) {
        throw new GatewayError(400, `Unknown simulator fault '${arg}' in the model name.`, { param: 'model', code: 'invalid_value' });
      }
      return true;
    },
  },
  { prefix: 'sim-slow-', apply: (plan, arg) => setNumber(plan, 'ttft_ms', arg, 0) },
  { prefix: 'sim-tps-', apply: (plan, arg) => setNumber(plan, 'tokens_per_second', arg, 0) },
  { prefix: 'sim-chunk-', apply: (plan, arg) => setNumber(plan, 'chunk_tokens', arg, 1) },
  { prefix: 'sim-len-', apply: (plan, arg) => setNumber(plan, 'completion_tokens', arg, 0) },
  {
    prefix: 'sim-fast',
    apply: (plan, arg) => {
      if (arg !== '') return false;
      plan.ttft_ms = 0;
      plan.tokens_per_second = 0;
      return true;
    },
  },
];

/** Fault name → parser of what follows it. */
const faultRules: ReadonlyArray<{ prefix: string; parse: (argument: string) => Fault | undefined }> = [
  { prefix: 'status-', parse: (arg) => mapInt(arg, 100, 599, (status) => ({ kind: 'status', status })) },
  { prefix: 'reset-after-', parse: (arg) => mapInt(arg, 0, 1e9, (chunks) => ({ kind: 'reset-after', chunks })) },
  { prefix: 'stall-after-', parse: (arg) => mapInt(arg, 0, 1e9, (chunks) => ({ kind: 'stall-after', chunks })) },
  { prefix: 'stall-headers', parse: (arg) => (arg === '' ? { kind: 'stall-headers' } : undefined) },
  { prefix: 'malformed', parse: (arg) => (arg === '' ? { kind: 'malformed' } : undefined) },
  { prefix: 'truncated', parse: (arg) => (arg === '' ? { kind: 'truncated' } : undefined) },
  { prefix: 'invalid-json', parse: (arg) => (arg === '' ? { kind: 'invalid-json' } : undefined) },
  { prefix: 'end-after-', parse: (arg) => mapInt(arg, 0, 1e9, (chunks) => ({ kind: 'end-after', chunks })) },
  { prefix: 'gzip', parse: (arg) => (arg === '' ? { kind: 'gzip' } : undefined) },
  {
    prefix: 'key-echo',
    parse: (arg) => (arg === '' || arg === '-stream' ? { kind: 'key-echo', inStream: arg === '-stream', key: '' } : undefined),
  },
];

export function parseFault(name: string): Fault | undefined {
  for (const rule of faultRules) {
    if (name.startsWith(rule.prefix)) return rule.parse(name.slice(rule.prefix.length));
  }
  return undefined;
}

/** Builds the plan of one request: options, then model-name rules, then x-sim-* headers (strongest). */
export function planRequest(
  options: SimulatorOptions,
  headers: Readonly<Record<string, string>>,
  model: string | undefined,
): RequestPlan {
  const plan: RequestPlan = {
    ttft_ms: options.ttft_ms,
    tokens_per_second: options.tokens_per_second,
    chunk_tokens: options.chunk_tokens,
    completion_tokens: options.completion_tokens,
    fault: undefined,
  };
  if (model !== undefined && model.startsWith('sim-')) {
    for (const rule of modelRules) {
      if (model.startsWith(rule.prefix) && rule.apply(plan, model.slice(rule.prefix.length))) break;
    }
  }
  for (const { header, option, min } of headerOverrides) {
    const raw = headers[header];
    if (raw === undefined) continue;
    if (!setNumber(plan, option, raw, min)) {
      throw new GatewayError(400, `Header ${header} must be a number >= ${min}, got '${raw}'.`, {
        param: header,
        code: 'invalid_value',
      });
    }
  }
  const faultHeader = headers['x-sim-fault'];
  if (faultHeader !== undefined) {
    plan.fault = parseFault(faultHeader);
    if (plan.fault === undefined) {
      throw new GatewayError(400, `Unknown x-sim-fault '${faultHeader}'.`, { param: 'x-sim-fault', code: 'invalid_value' });
    }
  }
  if (plan.fault?.kind === 'key-echo') plan.fault.key = presentedKey(headers);
  return plan;
}

/** The credential a request carries, as a provider that quotes it in an error would see it. */
export function presentedKey(headers: Readonly<Record<string, string>>): string {
  const authorization = headers.authorization;
  if (authorization !== undefined) return authorization.replace(/^Bearer\s+/i, '');
  return headers['x-api-key'] ?? headers['api-key'] ?? '';
}

function setNumber(plan: RequestPlan, option: TimingKey, raw: string, min: number): boolean {
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value) || value < min) return false;
  plan[option] = option === 'ttft_ms' || option === 'tokens_per_second' ? value : Math.floor(value);
  return true;
}

function mapInt(raw: string, min: number, max: number, make: (n: number) => Fault): Fault | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? make(n) : undefined;
}

/** Fills defaults and rejects impossible values, for options given in code or on the command line. */
export function resolveOptions(partial: Partial<SimulatorOptions> = {}): SimulatorOptions {
  const options: SimulatorOptions = {
    host: partial.host ?? defaultSimulatorOptions.host,
    port: partial.port ?? defaultSimulatorOptions.port,
    ttft_ms: partial.ttft_ms ?? defaultSimulatorOptions.ttft_ms,
    tokens_per_second: partial.tokens_per_second ?? defaultSimulatorOptions.tokens_per_second,
    chunk_tokens: partial.chunk_tokens ?? defaultSimulatorOptions.chunk_tokens,
    completion_tokens: partial.completion_tokens ?? defaultSimulatorOptions.completion_tokens,
    embedding_dims: partial.embedding_dims ?? defaultSimulatorOptions.embedding_dims,
    keep_requests: partial.keep_requests ?? defaultSimulatorOptions.keep_requests,
  };
  const rules: Array<[keyof SimulatorOptions, number, 'integer' | 'number']> = [
    ['port', 0, 'integer'], ['ttft_ms', 0, 'number'], ['tokens_per_second', 0, 'number'],
    ['chunk_tokens', 1, 'integer'], ['completion_tokens', 0, 'integer'], ['embedding_dims', 1, 'integer'],
    ['keep_requests', 1, 'integer'],
  ];
  for (const [key, min, kind] of rules) {
    const value = options[key];
    const valid = typeof value === 'number' && Number.isFinite(value) && value >= min && (kind === 'number' || Number.isInteger(value));
    if (!valid) throw new Error(`Simulator option ${key} must be ${kind === 'integer' ? 'an integer' : 'a number'} >= ${min}, got ${String(value)}.`);
  }
  if (typeof options.host !== 'string' || options.host === '') throw new Error('Simulator option host must be a non-empty string.');
  return options;
}
