// The validated configuration, as the YAML spells it (snake_case). Feature sections are typed in their own folders.
import type { LimitsConfig } from '../limits/config.js';
import type { ObservabilityConfig } from '../observability/config.js';
import type { GuardsConfig } from '../guards/config.js';
import type { McpConfig } from '../mcp/config.js';
import type { ModelRoutingConfig, RoutingConfig } from '../routing/config.js';

export interface TimeoutsConfig {
  /** TCP connect to the provider. */
  connect_ms: number;
  /** Request sent → response headers. */
  first_byte_ms: number;
  /** Longest silence between two chunks of a streamed response. */
  idle_ms: number;
  /** Whole non-streamed exchange. */
  total_ms: number;
}

/** OpenAI-compatible APIs known by name: a default base URL and their quirks (src/providers/presets.ts). */
export type PresetType = 'deepseek' | 'qwen' | 'mistral' | 'groq' | 'together' | 'fireworks' | 'openrouter' | 'xai' | 'vllm' | 'ollama';

export type ProviderType = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'bedrock' | PresetType;

export interface ProviderConfig {
  name: string;
  /** Wire family, or an OpenAI-compatible preset. */
  type: ProviderType;
  /** Filled in at load from the type's default when the type has one (presets, anthropic, gemini, bedrock by region). */
  base_url: string;
  api_key?: string;
  /** Parameters the provider cannot honour are dropped instead of refused with a 400 naming them. */
  drop_unsupported?: boolean;
  /** azure: the api-version query parameter, or 'v1' for the /openai/v1/ paths (model in the body). */
  api_version?: string;
  /** anthropic: the anthropic-version header. */
  anthropic_version?: string;
  /** bedrock: AWS region (default from AWS_REGION / AWS_DEFAULT_REGION). */
  region?: string;
  /** bedrock: static credentials; when absent, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. */
  aws_access_key_id?: string;
  aws_secret_access_key?: string;
  aws_session_token?: string;
  /** Extra headers sent upstream on every request; a client header of the same name is dropped. */
  headers?: Record<string, string>;
  /** Client headers forwarded (lower case, `prefix-*` for a prefix); the schema fills in the defaults. */
  forward_headers?: string[];
  timeouts: TimeoutsConfig;
  /** Keep-alive connections per server thread to this provider. */
  connections: number;
}

/** A client-facing model: one deployment (`provider`, `model`) or a group (`deployments`, src/routing/config.ts). */
export interface ModelConfig extends ModelRoutingConfig {
  /** Name clients send in "model". */
  name: string;
  /** One-deployment form; absent when `deployments` is given. */
  provider?: string;
  /** Name sent upstream (Azure: the deployment; Bedrock: the model id or inference profile); defaults to `name`. */
  model?: string;
  /** Overrides the provider's drop_unsupported for this model. */
  drop_unsupported?: boolean;
}

export interface ServerConfig {
  host: string;
  port: number;
  threads: number | 'auto';
  max_body_bytes: number;
  /** Request line plus headers; larger heads get 431. */
  max_head_bytes: number;
  /** Upstream response bytes a server thread holds in memory at once (non-streamed bodies, an incomplete SSE event). */
  max_buffered_upstream_bytes: number;
  drain_timeout_ms: number;
}

export interface AdminConfig {
  enabled: boolean;
  host: string;
  port: number;
  /** Bearer token for /admin/* (credential name `admin`, full access); generated when unset. */
  token?: string;
  /** More named admin credentials; `read_only` ones may only GET. Read from the config serving now. */
  tokens: AdminTokenConfig[];
  /** Serve the admin UI at /ui/. */
  ui: boolean;
}

export interface AdminTokenConfig {
  name: string;
  token: string;
  read_only: boolean;
}

/** Where changes made through the admin API are kept (src/config/store/); read only at start. */
export interface ConfigStoreConfig {
  /** file: <data_dir>/config-store.json (one node); postgres: one table shared by every node. */
  backend: 'file' | 'postgres';
  /** postgres: connection URL. */
  url: string;
  /** postgres: table name; the change trail is `<table>_changes`. */
  table: string;
  /** postgres: how often each node checks for a change it was not notified of (LISTEN/NOTIFY is the fast path). */
  poll_ms: number;
}

export interface SimulatorConfig {
  enabled: boolean;
  host: string;
  port: number;
}

export interface CoreConfig {
  server: ServerConfig;
  admin: AdminConfig;
  /** Where file-backed state (keys, usage, audit) lives. */
  data_dir: string;
  simulator: SimulatorConfig;
  config_store: ConfigStoreConfig;
  providers: ProviderConfig[];
  models: ModelConfig[];
}

export type SwitchyardConfig = CoreConfig & LimitsConfig & ObservabilityConfig & GuardsConfig & McpConfig & RoutingConfig;
