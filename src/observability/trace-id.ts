// The trace a request belongs to, for its audit record: the gateway's span when tracing is on, else
// the trace of the client's W3C traceparent (forwarded upstream untouched), else none.
import type { RequestContext } from '../pipeline/context.js';

/** ctx.state key under which the tracing stage notes its span's trace id. */
export const traceIdStateKey = 'observability.trace_id';

const traceparent = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/;
const invalidTraceId = '0'.repeat(32);

/** The trace id of a `traceparent` header value (W3C Trace Context), or undefined when it is not a valid one. */
export function traceIdOfHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = traceparent.exec(value.trim())?.[1];
  return id === undefined || id === invalidTraceId ? undefined : id;
}

export function traceIdOf(ctx: RequestContext): string | undefined {
  return (ctx.state.get(traceIdStateKey) as string | undefined) ?? traceIdOfHeader(ctx.head.headers.traceparent);
}
