// The attempts of one request: which deployment takes each, when to wait and when to give up.
// Order: deployments of the group not yet tried and in rotation (tiers, strategy, sticky ring), then
// the fallback groups' in the same way, then deployments already tried again after a backoff (or
// after their Retry-After), within the group's attempt budget, the request's attempt limit and its
// deadline. The first attempt never waits: with nothing in rotation it goes to the best deployment
// that can serve the request, so the gateway never refuses what a provider might still answer.
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../pipeline/context.js';
import { estimatePromptTokens } from '../pipeline/context.js';
import { GatewayError } from '../shared/errors.js';
import type { RoutingConfig } from './config.js';
import { failureKindOfCode, type AttemptFailure } from './failures.js';
import { needsOf, sessionKeyOf, type ModelGroup } from './group.js';
import type { LiveDeployment, RequestNeeds } from './live-deployment.js';
import type { PickRequest } from './strategies.js';

export interface AttemptChoice {
  member: LiveDeployment;
  group: ModelGroup;
  /** Wait this long before sending. */
  delayMs: number;
}

/** One attempt as the audit record lists it. */
export interface AttemptRecord {
  deployment: string;
  model: string;
  status: number;
  /** ok, failed (another attempt followed or the error was relayed), or the client's fault / went away. */
  outcome: 'ok' | 'failed' | 'client_error' | 'aborted';
  error: string | undefined;
  startedAtMs: number;
  durationMs: number;
}

/** Tokens assumed for the answer when the request sets no max_tokens (for cost, capacity and context checks). */
const assumedOutputTokens = 256;

export class AttemptRouter {
  readonly log: AttemptRecord[] = [];
  private readonly chain: readonly ModelGroup[];
  private readonly req: PickRequest;
  private readonly needs: RequestNeeds | undefined;
  private readonly deadline: number;
  private readonly tried: LiveDeployment[] = [];
  /** Attempts made on each group of the chain, by index. */
  private readonly used: number[];
  private groupIndex = 0;
  private retriesOfTried = 0;
  private current:
    | { member: LiveDeployment; group: ModelGroup; startedAt: number; firstByteMs: number | undefined; record: AttemptRecord; ended: boolean }
    | undefined;

  constructor(
    readonly primary: ModelGroup,
    groups: ReadonlyMap<string, ModelGroup>,
    private readonly ctx: RequestContext,
    private readonly routing: RoutingConfig['routing'],
  ) {
    this.chain = primary.chain(groups);
    this.used = this.chain.length === 1 ? [0] : this.chain.map(() => 0);
    const promptTokens = ctx.promptTokens?.count ?? estimatePromptTokens(ctx.rawBody);
    this.req = {
      now: Date.now(),
      stream: ctx.stream,
      promptTokens,
      outputTokens: ctx.maxOutputTokens ?? assumedOutputTokens,
      random: Math.random,
      explore: routing.explore,
    };
    this.needs = this.chain.some((g) => g.checksNeeds) ? needsOf(ctx, promptTokens) : undefined;
    this.deadline = ctx.receivedAtEpochMs + primary.policy.deadlineMs;
  }

  get attempts(): number {
    return this.log.length;
  }

  /** When the group's deadline is shorter than its providers' timeouts: the ms an attempt starting now may take. */
  budgetMs(): number | undefined {
    return this.primary.policy.deadlineCutsAttempts ? Math.max(1, this.deadline - Date.now()) : undefined;
  }

  /** Whether another attempt could follow this one (so its failure is worth holding back). */
  mayRetry(): boolean {
    if (this.log.length >= this.routing.max_attempts_per_request) return false;
    for (let i = this.groupIndex; i < this.chain.length; i++) if (this.used[i] < this.chain[i].policy.maxAttempts) return true;
    return false;
  }

  /** The first attempt's deployment, or the error when no deployment of the chain can serve the request. */
  first(): AttemptChoice | GatewayError {
    return this.fresh() ?? this.lastResort() ?? this.cannotServe();
  }

  /** After a failure: the next attempt, or undefined to relay the failure. */
  next(failure: AttemptFailure): AttemptChoice | undefined {
    const group = this.current?.group;
    if (group === undefined || !group.policy.retry.on.includes(failure.kind)) return undefined;
    if (this.log.length >= this.routing.max_attempts_per_request) return undefined;
    this.req.now = Date.now();
    return this.fresh() ?? this.again(failure);
  }

  begin(choice: AttemptChoice): void {
    const { member, group } = choice;
    this.tried.push(member);
    const index = this.chain.indexOf(group);
    this.used[index]++;
    this.groupIndex = Math.max(this.groupIndex, index);
    // The first attempt starts as the router was made: one clock read less per request.
    const now = this.log.length === 0 ? this.req.now : Date.now();
    member.begin(now, this.estimatedTokens());
    const record: AttemptRecord = { deployment: member.id, model: group.name, status: 0, outcome: 'failed', error: undefined, startedAtMs: now, durationMs: 0 };
    this.log.push(record);
    this.current = { member, group, startedAt: performance.now(), firstByteMs: undefined, record, ended: false };
  }

  /** The current attempt failed before its answer reached the client. */
  failed(failure: AttemptFailure): void {
    const c = this.current;
    if (c === undefined || c.ended) return;
    c.ended = true;
    c.record.status = failure.status;
    c.record.error = failure.detail;
    c.record.durationMs = performance.now() - c.startedAt;
    // A failed attempt spent no tokens: its estimate comes off the deployment's tpm.
    if (c.member.capacity.limited) c.member.capacity.chargeTokens(Date.now(), -this.estimatedTokens());
    const retryAfterMs = failure.quotaExhausted ? Math.max(failure.retryAfterMs ?? 0, this.routing.health_checks.quota_interval_ms) : failure.retryAfterMs;
    c.member.end(Date.now(), { ok: false, kind: failure.kind, status: failure.status, retryAfterMs });
  }

  /** The current attempt's answer goes to the client: for a stream, its time to first byte is now. */
  committed(status: number): void {
    const c = this.current;
    if (c === undefined) return;
    c.record.status = status;
    c.firstByteMs = performance.now() - c.startedAt;
  }

  /** The request completed: the current attempt ends the way the request did. */
  close(): void {
    const c = this.current;
    if (c === undefined || c.ended) return;
    c.ended = true;
    const r = this.ctx.result;
    const elapsed = performance.now() - c.startedAt;
    c.record.durationMs = elapsed;
    if (c.record.status === 0) c.record.status = r.status;
    const now = Date.now();
    if (c.member.capacity.limited) c.member.capacity.chargeTokens(now, (r.usage?.totalTokens ?? 0) - this.estimatedTokens());
    if (r.outcome === 'ok') {
      c.record.outcome = 'ok';
      // Without an attempt sink (nothing to retry) a stream's first byte is the relay's TTFT, counted from arrival.
      const sinceArrival = c.startedAt - this.ctx.receivedAt;
      const firstByte = c.firstByteMs ?? (r.ttftMs !== undefined ? r.ttftMs - sinceArrival : undefined);
      const latencyMs = this.ctx.stream && firstByte !== undefined ? firstByte : elapsed;
      c.member.endOk(now, latencyMs * 1000, this.ctx.stream);
    } else if (r.outcome === 'upstream_error') {
      c.record.error = r.error?.message;
      // Relayed upstream errors are 5xx (or a 429 whose body was too large to hold back); the gateway's own name their kind.
      const kind = r.status === 429 ? '429' : (failureKindOfCode(r.error?.code) ?? '5xx');
      c.member.end(now, { ok: false, kind, status: r.status, retryAfterMs: undefined });
    } else {
      c.record.outcome = r.outcome === 'aborted' ? 'aborted' : 'client_error';
      c.record.error = r.error?.message;
      c.member.end(now, { ok: undefined });
    }
  }

  private estimatedTokens(): number {
    return this.req.promptTokens + this.req.outputTokens;
  }

  private fresh(): AttemptChoice | undefined {
    for (let i = this.groupIndex; i < this.chain.length; i++) {
      const group = this.chain[i];
      if (this.used[i] >= group.policy.maxAttempts) continue;
      const member = group.pick(this.req, this.needs, this.sessionKey(group), this.tried, 'room');
      if (member !== undefined) return { member, group, delayMs: 0 };
    }
    return undefined;
  }

  private lastResort(): AttemptChoice | undefined {
    for (const group of this.chain) {
      const member = group.pick(this.req, this.needs, this.sessionKey(group), undefined, 'any');
      if (member !== undefined) return { member, group, delayMs: 0 };
    }
    return undefined;
  }

  /** A deployment tried before (or out of rotation) again, after a backoff or the wait it asked for. */
  private again(failure: AttemptFailure): AttemptChoice | undefined {
    const failedMember = this.current?.member;
    const exclude = failure.kind === 'context_length' && failedMember !== undefined ? [failedMember] : undefined;
    for (let i = this.groupIndex; i < this.chain.length; i++) {
      const group = this.chain[i];
      if (this.used[i] >= group.policy.maxAttempts) continue;
      const session = this.sessionKey(group);
      const member = group.pick(this.req, this.needs, session, exclude, 'room') ?? group.soonestBack(this.req.now, this.needs, exclude);
      if (member === undefined) continue;
      const retry = group.policy.retry;
      const backoff = Math.min(retry.max_backoff_ms, retry.backoff_ms * 2 ** this.retriesOfTried) * (0.5 + Math.random() * 0.5);
      let delayMs = Math.max(backoff, Math.min(member.backInMs(this.req.now), this.routing.max_cooldown_ms));
      if (member === failedMember && failure.retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(failure.retryAfterMs, this.routing.max_cooldown_ms));
      if (this.req.now + delayMs >= this.deadline) return undefined;
      this.retriesOfTried++;
      return { member, group, delayMs };
    }
    return undefined;
  }

  private sessionKey(group: ModelGroup): string | undefined {
    return group.policy.sticky.from.length === 0 ? undefined : sessionKeyOf(this.ctx, group.policy.sticky);
  }

  private cannotServe(): GatewayError {
    const largest = this.primary.largestContextWindow();
    const needs = this.needs;
    if (needs !== undefined && largest !== undefined && needs.promptTokens + needs.maxOutputTokens > largest) {
      return new GatewayError(
        400,
        `This model's maximum context length is ${largest} tokens. However, you requested about ${needs.promptTokens + needs.maxOutputTokens} tokens (${needs.promptTokens} in the messages, ${needs.maxOutputTokens} in the completion).`,
        { param: 'messages', code: 'context_length_exceeded' },
      );
    }
    const missing = needs === undefined ? [] : (['tools', 'vision', 'jsonSchema'] as const).filter((f) => needs[f]);
    return new GatewayError(400, `No deployment of model '${this.primary.name}' can serve this request${missing.length ? ` (it uses ${missing.join(', ')})` : ''}.`, {
      param: 'model',
      code: 'model_not_supported',
    });
  }
}
