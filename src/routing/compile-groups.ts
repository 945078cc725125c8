// `models:` entries → model groups: one deployment per entry in the one-provider form, or the entry's
// `deployments:` list; each deployment gets its slot in the shared state table and the group its policy.
import type { Deployment } from '../config/compile.js';
import type { ModelConfig, SwitchyardConfig, TimeoutsConfig } from '../config/types.js';
import { PriceTable, priceNames } from '../limits/prices.js';
import type { DeploymentConfig } from './config.js';
import { DeploymentStateTable, type DeploymentStateMemory } from './deployment-state.js';
import { ModelGroup } from './group.js';
import { LiveDeployment } from './live-deployment.js';

/** What compile.ts needs to build one Deployment. */
export interface DeploymentSpec {
  group: string;
  provider: string;
  upstreamModel: string;
  id: string;
  stateKey: string;
  timeouts: Partial<TimeoutsConfig> | undefined;
  dropUnsupported: boolean | undefined;
}

/** The deployments a `models:` entry declares, in the long form whichever form it was written in. */
export function deploymentsOf(model: ModelConfig): DeploymentConfig[] {
  if (model.deployments !== undefined) return model.deployments;
  return [{ provider: model.provider as string, model: model.model, weight: 1, priority: 1, drop_unsupported: model.drop_unsupported, health_check: model.health_check }];
}

function specOf(model: ModelConfig, d: DeploymentConfig): DeploymentSpec {
  const upstreamModel = d.model ?? model.model ?? model.name;
  const stateKey = `${d.provider}/${upstreamModel}`;
  return {
    group: model.name,
    provider: d.provider,
    upstreamModel,
    id: d.id ?? stateKey,
    stateKey,
    timeouts: d.timeouts,
    dropUnsupported: d.drop_unsupported ?? model.drop_unsupported,
  };
}

/** Every state key and group name a config uses: what the main thread sizes the shared table for. */
export function stateKeysOf(config: SwitchyardConfig): { keys: string[]; groups: string[] } {
  const keys = new Set<string>();
  for (const m of config.models) for (const d of deploymentsOf(m)) keys.add(specOf(m, d).stateKey);
  return { keys: [...keys], groups: config.models.map((m) => m.name) };
}

export function compileGroups(
  config: SwitchyardConfig,
  build: (spec: DeploymentSpec) => Deployment,
  memory: DeploymentStateMemory | undefined,
): { groups: Map<string, ModelGroup>; table: DeploymentStateTable } {
  const routing = config.routing;
  const table = memory !== undefined ? new DeploymentStateTable(memory) : DeploymentStateTable.create(stateKeysOf(config).keys, stateKeysOf(config).groups);
  const prices = new PriceTable(config.prices ?? {});
  const groups = new Map<string, ModelGroup>();
  for (const model of config.models) {
    const members = deploymentsOf(model).map((d) => {
      const deployment = build(specOf(model, d));
      const listed = prices.lookupFirst(priceNames(model.name, deployment.provider.name, deployment.upstreamModel, undefined));
      const price = d.price ?? (listed ? { input: listed.input, output: listed.output } : undefined);
      return new LiveDeployment(
        deployment,
        table,
        table.slotOf(deployment.stateKey),
        d.weight ?? 1,
        d.priority ?? 1,
        d.max_in_flight,
        d.context_window,
        { tools: d.supports?.tools ?? true, vision: d.supports?.vision ?? true, json_schema: d.supports?.json_schema ?? true },
        price,
        routing,
      ).withCapacity(d.rpm, d.tpm);
    });
    const retry = { ...routing.retry, ...model.retry };
    const deadlineMs = model.deadline_ms ?? routing.deadline_ms;
    const longestAttempt = Math.max(...members.map((m) => m.deployment.timeouts.total_ms));
    const group = table.groupOf(model.name);
    groups.set(
      model.name,
      new ModelGroup(
        model.name,
        members,
        {
          strategy: model.strategy ?? routing.strategy,
          fallbacks: model.fallbacks ?? [],
          maxAttempts: model.max_attempts ?? Math.min(members.length, 3),
          retry,
          deadlineMs,
          deadlineCutsAttempts: model.deadline_ms !== undefined && model.deadline_ms < longestAttempt,
          sticky: { ...routing.sticky, ...model.sticky },
        },
        () => table.nextTurn(group),
      ),
    );
  }
  return { groups, table };
}

/** Cross-checks of routing references (run by the config loader with the other reference checks). */
export function routingProblems(models: ReadonlyArray<Record<string, unknown>>, providers: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const names = new Set(models.map((m) => m.name).filter((n): n is string => typeof n === 'string'));
  models.forEach((m, i) => {
    const hasProvider = m.provider !== undefined;
    const deployments = Array.isArray(m.deployments) ? (m.deployments as Array<Record<string, unknown>>) : undefined;
    if (hasProvider === (deployments !== undefined)) problems.push(`models.${i}: give either provider (one deployment) or deployments, not ${hasProvider ? 'both' : 'neither'}`);
    if (deployments !== undefined && m.model !== undefined) problems.push(`models.${i}.model: set model on each deployment`);
    const ids = new Set<string>();
    deployments?.forEach((d, j) => {
      if (typeof d.provider === 'string' && !providers.has(d.provider)) problems.push(`models.${i}.deployments.${j}.provider: unknown provider '${d.provider}'`);
      const id = typeof d.id === 'string' ? d.id : `${String(d.provider)}/${String(d.model ?? m.name)}`;
      if (ids.has(id)) problems.push(`models.${i}.deployments.${j}: duplicate deployment '${id}' (give each an id)`);
      ids.add(id);
    });
    const fallbacks = Array.isArray(m.fallbacks) ? m.fallbacks : [];
    fallbacks.forEach((f, j) => {
      if (f === m.name) problems.push(`models.${i}.fallbacks.${j}: a model cannot fall back to itself`);
      else if (typeof f === 'string' && !names.has(f)) problems.push(`models.${i}.fallbacks.${j}: unknown model '${f}'`);
    });
  });
  return problems;
}
