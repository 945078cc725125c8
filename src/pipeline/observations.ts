// What features tell observability about a request (rate-limit scope, guard verdicts, retries,
// fallbacks, cost) and about their queues. They write it into ctx.state under one key through these helpers; metrics and
// audit read it in onComplete. Keeping it here means no feature reaches into another's state.
import type { RequestContext } from './context.js';

export interface GuardVerdict {
  guard: string;
  /** e.g. allow, block, redact, flag. */
  action: string;
  detail?: string;
}

export interface RequestObservations {
  /** Scope of the limit that refused the request (key, model, global, budget...). */
  rateLimitScope?: string;
  guardVerdicts: GuardVerdict[];
  retries: number;
  fallbacks: number;
  /** Cost in USD as priced by the limits feature. */
  costUsd?: number;
}

const stateKey = 'observations';

/** The observations of this request, created on first use. */
export function observationsOf(ctx: RequestContext): RequestObservations {
  let found = ctx.state.get(stateKey) as RequestObservations | undefined;
  if (found === undefined) {
    found = { guardVerdicts: [], retries: 0, fallbacks: 0 };
    ctx.state.set(stateKey, found);
  }
  return found;
}

/** The observations if any feature recorded one (no allocation otherwise). */
export function peekObservations(ctx: RequestContext): RequestObservations | undefined {
  return ctx.state.get(stateKey) as RequestObservations | undefined;
}

export function noteRateLimitRejection(ctx: RequestContext, scope: string): void {
  observationsOf(ctx).rateLimitScope = scope;
}

export function noteGuardVerdict(ctx: RequestContext, verdict: GuardVerdict): void {
  observationsOf(ctx).guardVerdicts.push(verdict);
}

export function noteRetry(ctx: RequestContext): void {
  observationsOf(ctx).retries++;
}

export function noteFallback(ctx: RequestContext): void {
  observationsOf(ctx).fallbacks++;
}

export function noteCost(ctx: RequestContext, usd: number): void {
  observationsOf(ctx).costUsd = usd;
}

/** Reports a queue's depth (e.g. the worker pool's) on every metrics scrape of this thread. */
export type QueueDepthSource = () => number;
export const queueDepthSources = new Map<string, QueueDepthSource>();

export function registerQueueDepthSource(pool: string, source: QueueDepthSource): void {
  queueDepthSources.set(pool, source);
}

/** Metric families a feature keeps itself (the MCP gateway's), exported with the thread's metrics on every scrape. */
export type MetricFamilySource = () => readonly object[];
export const metricFamilySources = new Set<MetricFamilySource>();
export function registerMetricFamilies(source: MetricFamilySource): () => void {
  metricFamilySources.add(source);
  return () => metricFamilySources.delete(source);
}
