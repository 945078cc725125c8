// Turns the validated config into lookup tables the hot path uses as they are.
import type { ProviderConfig, SwitchyardConfig, TimeoutsConfig } from './types.js';
import { compileForwardPolicy, type ForwardPolicy } from '../pipeline/forward-headers.js';
import type { ProviderAdapter } from '../translate/provider.js';
import { adapterFor, speaksOpenAi } from '../providers/registry.js';
import { openAiPath, unsupportedParams, type OpenAiOperation } from '../providers/openai/index.js';
import { compileGroups, type DeploymentSpec } from '../routing/compile-groups.js';
import type { ModelGroup } from '../routing/group.js';
import type { RoutingConfig } from '../routing/config.js';
import type { DeploymentStateMemory, DeploymentStateTable } from '../routing/deployment-state.js';

/** Where a client-facing model name goes. */
export interface Deployment {
  /** Client-facing name (of the group it belongs to). */
  readonly name: string;
  /** Names the deployment in headers, metrics and the admin API: `<provider>/<upstream model>` unless configured. */
  readonly id: string;
  /** Where its live state is kept (src/routing/deployment-state.ts): `<provider>/<upstream model>`, shared by groups naming the same upstream. */
  readonly stateKey: string;
  readonly provider: ProviderConfig;
  /** The provider's timeouts with the deployment's overrides. */
  readonly timeouts: TimeoutsConfig;
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
  /** Each model's first deployment (the model list, and callers that need one deployment of a model). */
  readonly byModel: ReadonlyMap<string, Deployment>;
  readonly groups: ReadonlyMap<string, ModelGroup>;
  readonly state: DeploymentStateTable;
  readonly routing: RoutingConfig['routing'];
  /** Body of GET /v1/models, built once. */
  readonly modelList: string;
  /** Body of GET /v1/models for a caller allowed only some models. */
  modelListFor(allowed: ReadonlySet<string>): string;
}

/**
 * `state`: the shared deployment state from the main thread (server threads); without it a table of
 * this thread's own is made (tests, tools).
 */
export function compileRoutes(config: SwitchyardConfig, state?: DeploymentStateMemory): CompiledRoutes {
  const providers = new Map(
    config.providers.map((p) => {
      const adapter = adapterFor(p.type);
      return [p.name, { provider: p, adapter, forward: compileForwardPolicy(p, adapter.authHeaders(p)) }];
    }),
  );
  const build = (spec: DeploymentSpec): Deployment => {
    const compiled = providers.get(spec.provider);
    if (!compiled) throw new Error(`model ${spec.group}: unknown provider ${spec.provider}`);
    const { provider, forward, adapter } = compiled;
    const url = new URL(provider.base_url);
    const upstreamModel = spec.upstreamModel;
    const path = (op: OpenAiOperation) => openAiPath(provider, upstreamModel, op);
    return {
      name: spec.group,
      id: spec.id,
      stateKey: spec.stateKey,
      provider,
      timeouts: { ...provider.timeouts, ...spec.timeouts },
      forward,
      upstreamModel,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      adapter,
      dropUnsupported: spec.dropUnsupported ?? provider.drop_unsupported ?? false,
      openAi: speaksOpenAi(provider.type)
        ? {
            paths: { chat: path('chat'), completions: path('completions'), embeddings: path('embeddings'), responses: path('responses') },
            unsupported: unsupportedParams(provider),
          }
        : undefined,
    };
  };
  const { groups, table } = compileGroups(config, build, state);
  const byModel = new Map<string, Deployment>();
  for (const [name, group] of groups) byModel.set(name, group.members[0].deployment);
  const created = Math.floor(Date.now() / 1000);
  const entries = [...byModel.values()].map((d) => ({ id: d.name, object: 'model', created, owned_by: d.provider.name }));
  return {
    byModel,
    groups,
    state: table,
    routing: config.routing,
    modelList: JSON.stringify({ object: 'list', data: entries }),
    modelListFor: (allowed) => JSON.stringify({ object: 'list', data: entries.filter((e) => allowed.has(e.id)) }),
  };
}
