// One server thread's MCP gateway: its tool sources, the governance around them, and the routes
// (/mcp, and the OAuth protected-resource metadata when configured). Loaded only when `mcp` has sources.
import type { SwitchyardConfig } from '../config/types.js';
import type { PublicRoute, Stage, ThreadHost } from '../pipeline/stage.js';
import { registerMetricFamilies } from '../pipeline/observations.js';
import type { RequestHandler } from '../server/http.js';
import { AccessControl } from './acl.js';
import { gatewaySecrets, McpAudit } from './audit.js';
import { createKeyCheck, protectedResourceMetadata } from './caller.js';
import { ToolCatalog } from './catalog.js';
import { createMcpEndpoint, hostPolicy } from './endpoint.js';
import { McpMetrics } from './metrics.js';
import { McpRateLimiter, type McpLimitMemory } from './rate-limits.js';
import type { Governance } from './tool-call.js';
import type { ToolSource } from './tool-source.js';
import { UpstreamServer } from './upstream-server.js';
import { loadOpenApiSources, openApiSecrets } from './openapi-sources.js';

export interface McpThread {
  readonly stage: Stage;
  /** What the endpoint runs on (tests drive it directly). */
  readonly governance: Governance;
  close(): Promise<void>;
}

/** The metrics hook of the observability feature, when it has one (`registerMetricFamilies`, proposed in the issue-15 report). */

function metadataRoute(config: SwitchyardConfig): RequestHandler {
  const oauth = config.mcp.oauth!;
  const prefix = '/.well-known/oauth-protected-resource';
  return (head, _body, reply) => {
    const resourcePath = head.path.slice(prefix.length) || '/mcp';
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      reply.send(405, [['allow', 'GET'], ['content-type', 'application/json']], '{"error":"method_not_allowed"}');
      return;
    }
    if (resourcePath !== '/mcp' && !resourcePath.startsWith('/mcp/')) {
      reply.send(404, [['content-type', 'application/json']], '{"error":"not_found"}');
      return;
    }
    const doc = protectedResourceMetadata(head, oauth, resourcePath);
    reply.send(200, [['content-type', 'application/json'], ['cache-control', 'max-age=300'], ['access-control-allow-origin', '*']], JSON.stringify(doc));
  };
}

export async function startMcpThread(config: SwitchyardConfig, shared: unknown, host: ThreadHost): Promise<McpThread> {
  const section = config.mcp;
  const upstreams = section.servers.map((s) => new UpstreamServer(s));
  const sources: ToolSource[] = [...upstreams, ...(await loadOpenApiSources(section.openapi))];
  const catalog = new ToolCatalog(sources, section.tools_cache_ms);
  for (const u of upstreams) {
    u.onToolsChanged = () => catalog.invalidate(u.name);
    u.start();
  }

  const metrics = config.metrics.enabled ? new McpMetrics(new Set(catalog.names)) : undefined;
  let unregister: (() => void) | undefined;
  if (metrics) {
    catalog.onListFailure = (server) => metrics.listFailure(server);
    unregister = registerMetricFamilies(() => metrics.toJSON());
  }
  const guards = section.guards.length > 0 ? new (await import('./guards.js')).McpGuards(section.guards, config) : undefined;
  const governance: Governance = {
    catalog,
    access: new AccessControl(section.access),
    limiter: section.rate_limits.length > 0 ? new McpRateLimiter(shared as McpLimitMemory, section.rate_limits) : undefined,
    guards,
    audit: config.audit.enabled ? new McpAudit(host, config.audit, section.audit_result_chars, [...gatewaySecrets(section.servers), ...openApiSecrets(section.openapi)]) : undefined,
    metrics,
  };
  const endpoint = createMcpEndpoint({
    governance,
    keyCheck: createKeyCheck(config),
    oauth: section.oauth,
    allowedOrigins: section.allowed_origins,
    hostAllowed: hostPolicy(section.allowed_hosts, config.server.host),
  });
  const routes: PublicRoute[] = [{ prefix: '/mcp', handle: endpoint }];
  if (section.oauth) routes.push({ prefix: '/.well-known/oauth-protected-resource', handle: metadataRoute(config) });

  return {
    stage: { name: 'mcp', routes },
    governance,
    async close() {
      unregister?.();
      governance.audit?.close();
      await catalog.close();
    },
  };
}
