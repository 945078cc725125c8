// Turns the validated config into lookup tables the hot path uses as they are.
import type { ProviderConfig, SwitchyardConfig } from './types.js';
import { compileForwardPolicy, type ForwardPolicy } from '../pipeline/forward-headers.js';
import type { ProviderAdapter } from '../translate/provider.js';
import { adapterFor, speaksOpenAi } from '../providers/registry.js';
import { openAiPath, unsupportedParams, type OpenAiOperation } from '../providers/openai/index.js';

/** Where a client-facing model name goes. */
export interface Deployment {
  /** Client-facing name. */
  readonly name: string;
  readonly provider: ProviderConfig;
  /** Which request headers go to the provider (shared by the deployments of one provider). */
  readonly forward: ForwardPolicy;
  /** Name sent upstream. */
  readonly upstreamModel: string;
  /** Origin (scheme://host:port) and path prefix of the provider, split once. */
  readonly origin: string;
  readonly basePath: string;
  /** The provider's wire family. */
  readonly adapter: ProviderAdapter;
  /** Parameters the provider cannot honour are dropped instead of refused. */
  readonly dropUnsupported: boolean;
  /**
   * OpenAI-family providers: the path of each operation (Azure's carry the deployment and api-version),
   * and the top-level fields a preset refuses, checked on the byte path. Undefined for other families.
   */
  readonly openAi: { readonly paths: Readonly<Record<OpenAiOperation, string>>; readonly unsupported: readonly string[] } | undefined;
}

export interface CompiledRoutes {
  readonly byModel: ReadonlyMap<string, Deployment>;
  /** Body of GET /v1/models, built once. */
  readonly modelList: string;
  /** Body of GET /v1/models for a caller allowed only some models. */
  modelListFor(allowed: ReadonlySet<string>): string;
}

export function compileRoutes(config: SwitchyardConfig): CompiledRoutes {
  const providers = new Map(
    config.providers.map((p) => {
      const adapter = adapterFor(p.type);
      return [p.name, { provider: p, adapter, forward: compileForwardPolicy(p, adapter.authHeaders(p)) }];
    }),
  );
  const byModel = new Map<string, Deployment>();
  for (const m of config.models) {
    const compiled = providers.get(m.provider);
    if (!compiled) throw new Error(`model ${m.name}: unknown provider ${m.provider}`);
    const { provider, forward, adapter } = compiled;
    const url = new URL(provider.base_url);
    const upstreamModel = m.model ?? m.name;
    const path = (op: OpenAiOperation) => openAiPath(provider, upstreamModel, op);
    byModel.set(m.name, {
      name: m.name,
      provider,
      forward,
      upstreamModel,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      adapter,
      dropUnsupported: m.drop_unsupported ?? provider.drop_unsupported ?? false,
      openAi: speaksOpenAi(provider.type)
        ? {
            paths: { chat: path('chat'), completions: path('completions'), embeddings: path('embeddings'), responses: path('responses') },
            unsupported: unsupportedParams(provider),
          }
        : undefined,
    });
  }
  const created = Math.floor(Date.now() / 1000);
  const entries = [...byModel.values()].map((d) => ({ id: d.name, object: 'model', created, owned_by: d.provider.name }));
  return {
    byModel,
    modelList: JSON.stringify({ object: 'list', data: entries }),
    modelListFor: (allowed) => JSON.stringify({ object: 'list', data: entries.filter((e) => allowed.has(e.id)) }),
  };
}
