// One tools/call through the gateway's governance, in order: resolve the tool, ACL (a denied call never
// reaches the upstream), rate limits, guards on the arguments, the upstream call, guards on the result;
// then audit and metrics, whatever happened.
import { performance } from 'node:perf_hooks';
import type { GuardVerdict } from '../pipeline/observations.js';
import { SEPARATOR, type AccessControl } from './acl.js';
import type { CallOrigin, CallOutcome, McpAudit } from './audit.js';
import type { ToolCatalog } from './catalog.js';
import type { McpGuards } from './guards.js';
import { ErrorCode, JsonRpcError } from './jsonrpc.js';
import type { McpMetrics } from './metrics.js';
import type { McpRateLimiter } from './rate-limits.js';
import { ToolSourceError, type ToolCallResult } from './tool-source.js';

export interface CallContext extends CallOrigin {
  /** The scoped endpoint's source, or undefined on the aggregated /mcp. */
  scope: string | undefined;
  /** Bytes of the JSON-RPC message that carried the call. */
  requestBytes: number;
  signal: AbortSignal;
}

export interface Governance {
  catalog: ToolCatalog;
  access: AccessControl;
  limiter: McpRateLimiter | undefined;
  guards: McpGuards | undefined;
  audit: McpAudit | undefined;
  metrics: McpMetrics | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A result the gateway made up itself (a guard's refusal): the call "succeeds" with isError, as MCP asks of tool failures. */
function refusalResult(message: string): ToolCallResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

export async function callTool(g: Governance, ctx: CallContext, params: Record<string, unknown> | undefined): Promise<ToolCallResult> {
  const started = performance.now();
  const name = params?.name;
  const rawArgs = params?.arguments;
  let server = ctx.scope ?? '';
  let tool = typeof name === 'string' ? name : '';
  if (ctx.scope === undefined && typeof name === 'string') {
    const cut = name.indexOf(SEPARATOR);
    server = cut > 0 ? name.slice(0, cut) : '';
    tool = cut > 0 ? name.slice(cut + SEPARATOR.length) : name;
  }
  let args = isObject(rawArgs) ? rawArgs : undefined;
  let result: ToolCallResult | undefined;
  let outcome: CallOutcome = 'ok';
  let error: JsonRpcError | undefined;
  let upstreamMs: number | undefined;
  const verdicts: GuardVerdict[] = [];
  let charge: ReturnType<McpRateLimiter['admit']> | undefined;
  const refuse = (o: CallOutcome, e: JsonRpcError): JsonRpcError => {
    outcome = o;
    return e;
  };
  try {
    if (typeof name !== 'string' || name === '') throw refuse('invalid_params', new JsonRpcError(ErrorCode.invalidParams, 'tools/call needs params.name, a string.'));
    if (rawArgs !== undefined && args === undefined) throw refuse('invalid_params', new JsonRpcError(ErrorCode.invalidParams, 'params.arguments must be an object.'));
    const source = g.catalog.source(server);
    if (!source || tool === '') throw refuse('unknown_tool', new JsonRpcError(ErrorCode.invalidParams, `Unknown tool: ${name}`));
    if (!g.access.forCaller(ctx.key).allows(server, tool)) {
      throw refuse('denied', new JsonRpcError(ErrorCode.invalidParams, `Tool '${name}' is not allowed for this key.`));
    }
    charge = g.limiter?.admit(ctx.key, server, tool);
    if (charge && !charge.ok) {
      throw refuse('rate_limited', new JsonRpcError(ErrorCode.rateLimited, charge.message, { retry_after_ms: Math.ceil(charge.refusal.retryAfterMs) }));
    }
    if (g.guards) {
      const input = args ?? {};
      const checked = g.guards.checkArguments(server, tool, input);
      verdicts.push(...checked.verdicts);
      if (!checked.ok) {
        outcome = 'guard_blocked';
        return (result = refusalResult(checked.message));
      }
      if (checked.value !== input) args = checked.value;
    }
    const upstreamStart = performance.now();
    try {
      result = await source.callTool(tool, args ?? {}, ctx.signal);
    } finally {
      upstreamMs = performance.now() - upstreamStart;
    }
    if (g.guards) {
      const checked = g.guards.checkResult(server, tool, result);
      verdicts.push(...checked.verdicts);
      if (!checked.ok) {
        outcome = 'guard_blocked';
        return (result = refusalResult(checked.message));
      }
      result = checked.value;
    }
    if (result.isError === true) outcome = 'tool_error';
    return result;
  } catch (err) {
    if (err instanceof JsonRpcError) error = err;
    else if (err instanceof ToolSourceError) {
      outcome = err.code === ErrorCode.invalidParams ? 'unknown_tool' : 'upstream_error';
      error = new JsonRpcError(err.code, err.message);
    } else {
      outcome = 'upstream_error';
      error = new JsonRpcError(ErrorCode.internalError, `The call to '${name as string}' failed: ${(err as Error).message ?? String(err)}`);
    }
    throw error;
  } finally {
    if (charge?.ok) g.limiter?.settle(charge.charge);
    const durationMs = performance.now() - started;
    g.metrics?.toolCall(server, tool, g.catalog.knows(server, tool), outcome, durationMs, upstreamMs);
    g.audit?.record({
      requestId: ctx.requestId,
      receivedAtEpochMs: ctx.receivedAtEpochMs,
      key: ctx.key,
      clientIp: ctx.clientIp,
      userAgent: ctx.userAgent,
      path: ctx.path,
      server,
      tool,
      arguments: args,
      result,
      outcome,
      error: error ? { code: error.code, message: error.message } : undefined,
      durationMs,
      upstreamMs,
      requestBytes: ctx.requestBytes,
      responseBytes: result ? Buffer.byteLength(JSON.stringify(result)) : 0,
      verdicts,
    });
  }
}
