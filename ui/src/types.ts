// Shapes of the admin API's answers, as the UI reads them (docs/admin-api.yaml has the full ones).

export interface LimitValues {
  rpm?: number;
  rpd?: number;
  tpm?: number;
  tpd?: number;
  max_concurrent?: number;
}

export interface BudgetValues {
  total_usd?: number;
  daily_usd?: number;
  monthly_usd?: number;
}

export interface KeyView {
  id: string;
  name: string;
  hint: string;
  models: string[] | null;
  limits: LimitValues;
  model_limits: Record<string, LimitValues>;
  budget: BudgetValues;
  source: 'admin' | 'config';
  created_at: string;
  revoked_at: string | null;
  revoked: boolean;
}

export interface KeyDetail extends KeyView {
  usage?: {
    requests_today: number;
    tokens_today: number;
    total_requests: number;
    total_prompt_tokens: number;
    total_completion_tokens: number;
    concurrent: number;
  };
  spend?: { total_usd: number; today_usd: number; this_month_usd: number };
}

export interface DeploymentConfig {
  provider: string;
  model?: string;
  id?: string;
  weight?: number;
  priority?: number;
  [field: string]: unknown;
}

export interface ModelConfig {
  name: string;
  provider?: string;
  model?: string;
  deployments?: DeploymentConfig[];
  strategy?: string;
  fallbacks?: string[];
  /** Where the object is defined: the config file, or the admin API's store. */
  source?: 'file' | 'store';
  [field: string]: unknown;
}

export interface ProviderConfig {
  name: string;
  type: string;
  base_url?: string;
  api_key?: string;
  api_version?: string;
  anthropic_version?: string;
  region?: string;
  aws_access_key_id?: string;
  aws_secret_access_key?: string;
  aws_session_token?: string;
  headers?: Record<string, string>;
  drop_unsupported?: boolean;
  source?: 'file' | 'store';
  [field: string]: unknown;
}

export interface PriceEntry {
  input: number;
  output: number;
  cached_input?: number;
  cache_write_input?: number;
}

export interface LiveDeployment {
  id: string;
  provider: string;
  provider_type: string;
  upstream_model: string;
  priority: number;
  weight: number;
  in_rotation: boolean;
  out_of_rotation: string | null;
  health: string;
  breaker: { state: string; until: string | null; consecutive_failures: number; window_ok: number; window_failed: number };
  cooldown_until: string | null;
  in_flight: number;
  latency_ewma_ms: { duration: number; ttft: number };
  last_error: { at: string; status: number; kind: string } | null;
}

export interface LiveModel {
  model: string;
  strategy: string;
  fallbacks: string[];
  deployments: LiveDeployment[];
}

export type Series = Array<number | null>;

export interface Stats {
  step_seconds: number;
  times: number[];
  totals: Record<'requests' | 'errors' | 'prompt_tokens' | 'completion_tokens' | 'cost_usd' | 'rate_limited' | 'guard_actions', Series>;
  by_model: Record<string, Record<'requests' | 'errors' | 'tokens' | 'cost_usd', Series>>;
  by_key: Record<string, Record<'requests' | 'errors' | 'tokens' | 'cost_usd', Series>>;
  by_deployment: Record<string, Record<'requests' | 'errors', Series>>;
  latency: Record<'ttft_ms_p50' | 'ttft_ms_p99' | 'duration_ms_p50' | 'duration_ms_p99', Series>;
  now: { in_flight: number; waiting_first_token: number };
}

export interface GuardVerdict {
  guard?: string;
  name?: string;
  kind?: string;
  action?: string;
  [field: string]: unknown;
}

/** A row of GET /admin/audit (summary), or a whole record from older gateways. */
export interface AuditSummary {
  id?: string;
  record_id?: string;
  time: string;
  key: string | { id: string; name: string } | null;
  model: string;
  status: number;
  duration_ms: number | null;
  ttft_ms: number | null;
  tokens?: number | { prompt?: number; completion?: number; total?: number } | null;
  usage?: { total_tokens?: number } | null;
  cost?: number | null;
  cost_usd?: number | null;
  deployment: string | { id?: string; name: string; provider: string; upstream_model: string } | null;
  trace_id?: string | null;
  guards?: unknown;
  guard_verdicts?: GuardVerdict[];
}

export interface AuditRecord extends AuditSummary {
  request_id?: string;
  path?: string;
  operation?: string;
  stream?: boolean;
  outcome?: string;
  error?: { type: string; code: string | null; message: string } | null;
  client_dialect?: string;
  provider_type?: string | null;
  attempts?: number;
  attempt_log?: Array<{ deployment: string; model: string; status: number; outcome: string; error: string | null; started_at: string; duration_ms: number }> | null;
  request_body?: unknown;
  response_body?: unknown;
  bodies?: boolean;
}

export interface ConfigChange {
  id: number | string;
  at: string;
  actor: string;
  action: string;
  target: string;
  diff: Array<{ path: string; before: unknown; after: unknown }>;
}

export interface PlaygroundModel {
  name: string;
  provider?: string;
  deployments?: number;
}
