// The MCP gateway as a feature: serves /mcp on the public listener. Its code is loaded only when the
// `mcp` section declares a server or an OpenAPI source; otherwise no stage and no route exist.
import { ConfigError } from '../config/load.js';
import type { SwitchyardConfig } from '../config/types.js';
import type { Feature, Stage, ThreadHost } from '../pipeline/stage.js';
import { mcpConfigured } from './config.js';
import type { McpThread } from './thread.js';

/** Checks beyond the schema: unique source names, guard names that exist, globs and URLs that parse. */
export function validateMcp(config: SwitchyardConfig): string[] {
  const section = config.mcp;
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const claim = (name: string, path: string) => {
    const earlier = seen.get(name);
    if (earlier !== undefined) problems.push(`${path}: the name '${name}' is already used by ${earlier}`);
    else seen.set(name, path);
  };
  section.servers.forEach((s, i) => claim(s.name, `mcp.servers.${i}`));
  section.openapi.forEach((s, i) => {
    claim(s.name, `mcp.openapi.${i}`);
    // The aggregated endpoint splits `<source>__<tool>` at the first `__`.
    if (s.name.includes('__')) problems.push(`mcp.openapi.${i}.name: '${s.name}' must not contain '__'`);
  });
  section.guards.forEach((r, i) => {
    r.prompt.forEach((name, j) => {
      if (!config.guards.prompt.some((g) => g.name === name)) problems.push(`mcp.guards.${i}.prompt.${j}: no prompt guard named '${name}' in guards.prompt`);
    });
    if (r.pii !== undefined && !config.pii.some((p) => p.name === r.pii)) problems.push(`mcp.guards.${i}.pii: no PII policy named '${r.pii}' in pii`);
  });
  const names = new Set(section.rate_limits.map((l) => l.name));
  if (names.size !== section.rate_limits.length) problems.push('mcp.rate_limits: names must be unique');
  return problems;
}

/** What an MCP thread is built from (catalog and audit settings): a reload that leaves it alone keeps the running one. */
const builtFrom = (config: SwitchyardConfig) =>
  JSON.stringify([config.mcp, config.guards, config.pii, config.auth, config.metrics.enabled, config.audit.enabled, config.audit.bodies, config.audit.bodies_off_keys, config.audit.sinks.file.fsync_ms]);

export function createMcpFeature(): Feature {
  /** Each thread serving or retired-but-busy, by its stage. */
  const threads = new Map<Stage, { thread: McpThread; from: string }>();
  let shared: { rows: number; memory: unknown } | undefined;

  async function limitMemory(config: SwitchyardConfig): Promise<unknown> {
    if (!mcpConfigured(config.mcp) || config.mcp.rate_limits.length === 0) return (shared = undefined);
    // Counters survive a reload that keeps the table's size.
    if (shared?.rows === config.mcp.rate_limit_rows) return shared.memory;
    const { createLimitMemory } = await import('./rate-limits.js');
    shared = { rows: config.mcp.rate_limit_rows, memory: createLimitMemory(config.mcp.rate_limit_rows) };
    return shared.memory;
  }

  async function start(config: SwitchyardConfig, limits: unknown, host: ThreadHost): Promise<Stage[]> {
    if (!mcpConfigured(config.mcp)) return [];
    const { startMcpThread } = await import('./thread.js');
    const thread = await startMcpThread(config, limits, host);
    threads.set(thread.stage, { thread, from: builtFrom(config) });
    return [thread.stage];
  }

  return {
    name: 'mcp',
    validate: validateMcp,
    async initMain(config) {
      // `switchyard validate` runs these checks too; a start must not get past them either.
      const problems = validateMcp(config);
      if (problems.length > 0) throw new ConfigError('config', problems);
      return limitMemory(config);
    },
    reloadMain: (config) => limitMemory(config),
    initThread: (config, limits, host) => start(config, limits, host),
    // A changed server list, OpenAPI source, ACL, limit or guard builds a new catalog; calls in flight finish on the old one.
    async reloadThread(config, limits, host, current) {
      const serving = current[0] === undefined ? undefined : threads.get(current[0]);
      const unchanged = serving === undefined ? !mcpConfigured(config.mcp) : serving.from === builtFrom(config);
      return unchanged ? current : start(config, limits, host);
    },
    async retireThread(stages) {
      await Promise.all(
        stages.map((stage) => {
          const retired = threads.get(stage);
          threads.delete(stage);
          return retired?.thread.close();
        }),
      );
    },
    async closeThread() {
      const all = [...threads.values()];
      threads.clear();
      await Promise.all(all.map((t) => t.thread.close()));
    },
  };
}
