// One deployment of a model group as the router sees it: what it can serve (context window, features,
// capacity) and its live state in the shared table (in flight, latency, breaker, cooldown, health).
import type { Deployment } from '../config/compile.js';
import type { DeploymentSupports, FailureKind, RoutingConfig } from './config.js';
import { failureKinds } from './config.js';
import { Breaker } from './breaker.js';
import { Capacity } from './capacity.js';
import { BreakerState, DeploymentStateTable, Health, I, T } from './deployment-state.js';

/** What a request needs of a deployment; computed once per request, only when some deployment limits it. */
export interface RequestNeeds {
  promptTokens: number;
  maxOutputTokens: number;
  tools: boolean;
  vision: boolean;
  jsonSchema: boolean;
}

/** How an attempt on a deployment ended, as far as its health is concerned. */
export type AttemptEnd =
  | { ok: true; latencyUs: number; stream: boolean }
  /** A failure of the deployment: counts against its breaker (a 429 cools it down instead). */
  | { ok: false; kind: FailureKind; status: number; retryAfterMs: number | undefined }
  /** Neither: the caller's fault (a 4xx), or the caller went away. */
  | { ok: undefined };

export type OutOfRotation = 'breaker_open' | 'cooling_down' | 'unhealthy';

export class LiveDeployment {
  readonly breaker: Breaker;
  readonly capacity: Capacity;
  /** Index of the failure kind + 1, as stored in the table. */
  private static readonly kindCodes = new Map(failureKinds.map((k, i) => [k, i + 1]));

  constructor(
    readonly deployment: Deployment,
    readonly table: DeploymentStateTable,
    readonly slot: number,
    readonly weight: number,
    readonly priority: number,
    readonly maxInFlight: number | undefined,
    readonly contextWindow: number | undefined,
    readonly supports: DeploymentSupports,
    /** USD per 1M tokens, when known (for lowest_cost). */
    readonly price: { input: number; output: number } | undefined,
    private readonly routing: RoutingConfig['routing'],
  ) {
    this.breaker = new Breaker(table, slot, routing.breaker);
    this.capacity = new Capacity(table, slot, { rpm: undefined, tpm: undefined });
  }

  get id(): string {
    return this.deployment.id;
  }

  withCapacity(rpm: number | undefined, tpm: number | undefined): this {
    (this as { capacity: Capacity }).capacity = new Capacity(this.table, this.slot, { rpm, tpm });
    return this;
  }

  inFlight(): number {
    return this.table.int(this.slot, I.inFlight);
  }

  /** µs; 0 before the first sample. */
  latencyUs(stream: boolean): number {
    return this.table.int(this.slot, stream ? I.ewmaTtftUs : I.ewmaUs);
  }

  /** Why the deployment is out of rotation now, or undefined when it is in. */
  outOfRotation(now: number): OutOfRotation | undefined {
    const t = this.table;
    const s = this.slot;
    if (!this.breaker.allows(now)) return 'breaker_open';
    if (t.time(s, T.cooldownUntil) > now) return 'cooling_down';
    const health = t.int(s, I.health);
    if (health === Health.Down || health === Health.QuotaExhausted) return 'unhealthy';
    return undefined;
  }

  /** In rotation and with room: fewer than max in flight and capacity left for the request. */
  hasRoom(now: number, tokens: number): boolean {
    if (this.outOfRotation(now) !== undefined) return false;
    if (this.maxInFlight !== undefined && this.inFlight() >= this.maxInFlight) return false;
    return !this.capacity.limited || this.capacity.fits(now, tokens);
  }

  /** Whether the deployment can serve the request at all (context window, features); never changes with load. */
  canServe(needs: RequestNeeds | undefined): boolean {
    if (needs === undefined) return true;
    if (this.contextWindow !== undefined && needs.promptTokens + needs.maxOutputTokens > this.contextWindow) return false;
    const s = this.supports;
    return (s.tools || !needs.tools) && (s.vision || !needs.vision) && (s.json_schema || !needs.jsonSchema);
  }

  /** Milliseconds until the deployment is back in rotation (0 when it is). */
  backInMs(now: number): number {
    const t = this.table;
    const s = this.slot;
    let until = t.time(s, T.cooldownUntil);
    if (t.int(s, I.breaker) === BreakerState.Open) until = Math.max(until, t.time(s, T.breakerUntil));
    return Math.max(0, until - now);
  }

  begin(now: number, tokens: number): void {
    this.table.addInt(this.slot, I.inFlight, 1);
    this.breaker.enter(now);
    if (this.capacity.limited) this.capacity.chargeRequest(now, tokens);
  }

  /** A successful attempt ended (the common case, without an outcome object). */
  endOk(now: number, latencyUs: number, stream: boolean): void {
    this.table.addInt(this.slot, I.inFlight, -1);
    this.sample(stream ? I.ewmaTtftUs : I.ewmaUs, latencyUs);
    this.breaker.success(now);
  }

  end(now: number, outcome: AttemptEnd): void {
    if (outcome.ok === true) return this.endOk(now, outcome.latencyUs, outcome.stream);
    const t = this.table;
    const s = this.slot;
    t.addInt(s, I.inFlight, -1);
    if (outcome.ok === undefined) return;
    t.setInt(s, I.lastErrorStatus, outcome.status);
    t.setInt(s, I.lastErrorKind, LiveDeployment.kindCodes.get(outcome.kind) ?? 0);
    t.setTime(s, T.lastErrorAt, now);
    if (outcome.kind === '429') {
      // Rate limited is not broken: it leaves rotation for as long as the provider asked, and no longer.
      const wait = Math.min(outcome.retryAfterMs ?? this.routing.cooldown_429_ms, this.routing.max_cooldown_ms);
      if (wait > 0) t.setTime(s, T.cooldownUntil, Math.max(t.time(s, T.cooldownUntil), now + wait));
      return;
    }
    // A prompt too long for this deployment says nothing about its health.
    if (outcome.kind === 'context_length') return;
    this.breaker.failure(now);
  }

  private sample(field: number, us: number): void {
    const value = Math.max(1, Math.min(2_000_000_000, Math.round(us)));
    const t = this.table;
    const alpha = this.routing.ewma_alpha;
    // A lost race drops one sample, which an average tolerates.
    const old = t.int(this.slot, field);
    t.swapInt(this.slot, field, old, old === 0 ? value : Math.round(old + alpha * (value - old)));
  }
}
