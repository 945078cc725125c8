// The MCP gateway as a feature: serves /mcp on the public listener. Its code is loaded only when the
// `mcp` section declares a server or an OpenAPI source; otherwise no stage and no route exist.
import { ConfigError } from '../config/load.js';
import type { SwitchyardConfig } from '../config/types.js';
import type { Feature } from '../pipeline/stage.js';
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

export function createMcpFeature(): Feature {
  let thread: McpThread | undefined;
  return {
    name: 'mcp',
    validate: validateMcp,
    async initMain(config) {
      // `switchyard validate` runs these checks too; a start must not get past them either.
      const problems = validateMcp(config);
      if (problems.length > 0) throw new ConfigError('config', problems);
      if (!mcpConfigured(config.mcp) || config.mcp.rate_limits.length === 0) return undefined;
      const { createLimitMemory } = await import('./rate-limits.js');
      return createLimitMemory(config.mcp.rate_limit_rows);
    },
    async initThread(config, shared, host) {
      if (!mcpConfigured(config.mcp)) return [];
      const { startMcpThread } = await import('./thread.js');
      thread = await startMcpThread(config, shared, host);
      return [thread.stage];
    },
    async closeThread() {
      await thread?.close();
      thread = undefined;
    },
  };
}
