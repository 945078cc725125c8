// The MCP methods the gateway answers itself, stateless: initialize, ping, tools/list, tools/call.
import { ErrorCode, JsonRpcError, type JsonRpcRequest } from './jsonrpc.js';
import { callTool, type CallContext, type Governance } from './tool-call.js';

/** Newest first; the first is offered to a client asking for a revision the gateway does not speak. */
export const supportedVersions = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
export const assumedVersion = '2025-03-26';
/** JSON-RPC batches were part of 2025-03-26 only. */
export const batchesAllowed = (version: string): boolean => version === '2025-03-26';

function initialize(params: Record<string, unknown> | undefined, scope: string | undefined): Record<string, unknown> {
  const asked = params?.protocolVersion;
  if (typeof asked !== 'string') throw new JsonRpcError(ErrorCode.invalidParams, 'initialize needs params.protocolVersion, a string.');
  const protocolVersion = (supportedVersions as readonly string[]).includes(asked) ? asked : supportedVersions[0];
  return {
    protocolVersion,
    capabilities: { tools: { listChanged: false } },
    serverInfo: { name: scope === undefined ? 'switchyard' : `switchyard/${scope}`, title: 'Switchyard MCP gateway', version: '0.1.0' },
    instructions:
      scope === undefined
        ? 'Tools of several servers, each named <server>__<tool>. Calls are authorised, limited and audited by the gateway.'
        : `The tools of '${scope}' through the Switchyard gateway.`,
  };
}

async function listTools(g: Governance, ctx: CallContext): Promise<Record<string, unknown>> {
  const listing = await g.catalog.list(g.access.forCaller(ctx.key), ctx.scope);
  if (ctx.scope !== undefined && listing.unavailable.length > 0) {
    throw new JsonRpcError(ErrorCode.upstreamUnavailable, listing.unavailable[0]!.error);
  }
  const result: Record<string, unknown> = { tools: listing.tools };
  if (listing.unavailable.length > 0) result._meta = { 'io.switchyard/unavailable': listing.unavailable };
  return result;
}

/** The result of one request, or a JsonRpcError thrown. */
export async function answer(g: Governance, ctx: CallContext, request: JsonRpcRequest): Promise<unknown> {
  switch (request.method) {
    case 'initialize':
      return initialize(request.params, ctx.scope);
    case 'ping':
      return {};
    case 'tools/list':
      return listTools(g, ctx);
    case 'tools/call':
      return callTool(g, ctx, request.params);
    default:
      throw new JsonRpcError(ErrorCode.methodNotFound, `Method not found: ${request.method}`);
  }
}
