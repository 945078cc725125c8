// A client-facing model as a group of deployments: priority tiers, each with its strategy and sticky
// ring, the group's fallbacks and retry policy. `pick` is the router's one question: which deployment
// takes this attempt.
import type { RequestContext } from '../pipeline/context.js';
import type { RetryConfig, StickyConfig, StrategyName } from './config.js';
import type { LiveDeployment, RequestNeeds } from './live-deployment.js';
import { createStrategy, type PickRequest, type Strategy } from './strategies.js';
import { StickyRing } from './sticky.js';

interface Tier {
  readonly members: readonly LiveDeployment[];
  readonly strategy: Strategy;
  readonly ring: StickyRing | undefined;
}

export interface GroupPolicy {
  strategy: StrategyName;
  fallbacks: readonly string[];
  maxAttempts: number;
  retry: RetryConfig;
  deadlineMs: number;
  /** Set only when the group's deadline is shorter than its providers' own timeouts. */
  deadlineCutsAttempts: boolean;
  sticky: StickyConfig;
}

/** 'room': in rotation with capacity left; 'any': whatever can serve the request, as a last resort. */
export type PickMode = 'room' | 'any';

export class ModelGroup {
  private readonly tiers: Tier[];
  /** Some deployment limits what it serves (context window, features): requests then compute their needs. */
  readonly checksNeeds: boolean;
  readonly anyCapacity: boolean;
  private resolved: readonly ModelGroup[] | undefined;

  constructor(
    readonly name: string,
    readonly members: readonly LiveDeployment[],
    readonly policy: GroupPolicy,
    turn: () => number,
  ) {
    const priorities = [...new Set(members.map((m) => m.priority))].sort((a, b) => a - b);
    this.tiers = priorities.map((p) => {
      const tierMembers = members.filter((m) => m.priority === p);
      return {
        members: tierMembers,
        strategy: createStrategy(policy.strategy, tierMembers, turn),
        ring: policy.sticky.from.length > 0 ? new StickyRing(tierMembers) : undefined,
      };
    });
    this.checksNeeds = members.some((m) => m.contextWindow !== undefined || !m.supports.tools || !m.supports.vision || !m.supports.json_schema);
    this.anyCapacity = members.some((m) => m.capacity.limited);
  }

  /** The first tier with a deployment that can take the request, and that tier's choice. */
  pick(req: PickRequest, needs: RequestNeeds | undefined, sessionKey: string | undefined, exclude: readonly LiveDeployment[] | undefined, mode: PickMode): LiveDeployment | undefined {
    const tokens = req.promptTokens + req.outputTokens;
    const skip = exclude === undefined || exclude.length === 0 ? undefined : exclude;
    const usable =
      mode === 'room'
        ? (m: LiveDeployment) => (skip === undefined || !skip.includes(m)) && m.canServe(needs) && m.hasRoom(req.now, tokens)
        : (m: LiveDeployment) => (skip === undefined || !skip.includes(m)) && m.canServe(needs);
    for (const tier of this.tiers) {
      const chosen = sessionKey !== undefined && tier.ring !== undefined ? tier.ring.pick(sessionKey, usable) : tier.strategy.pick(req, usable);
      if (chosen !== undefined) return chosen;
    }
    return undefined;
  }

  /** With none in rotation: the deployment that can serve the request and is back soonest (tiers break ties). */
  soonestBack(now: number, needs: RequestNeeds | undefined, exclude: readonly LiveDeployment[] | undefined): LiveDeployment | undefined {
    let best: LiveDeployment | undefined;
    let bestMs = Infinity;
    for (const tier of this.tiers) {
      for (const m of tier.members) {
        if (exclude?.includes(m) || !m.canServe(needs)) continue;
        const ms = m.backInMs(now);
        if (ms < bestMs) {
          best = m;
          bestMs = ms;
        }
      }
    }
    return best;
  }

  /** This group and its fallbacks, in order, resolved once. */
  chain(groups: ReadonlyMap<string, ModelGroup>): readonly ModelGroup[] {
    if (this.resolved === undefined) {
      const chain: ModelGroup[] = [this];
      for (const name of this.policy.fallbacks) {
        const g = groups.get(name);
        if (g !== undefined) chain.push(g);
      }
      this.resolved = chain;
    }
    return this.resolved;
  }

  /** The largest context window among the members, when every member has one (for the error when none fits). */
  largestContextWindow(): number | undefined {
    let largest = 0;
    for (const m of this.members) {
      if (m.contextWindow === undefined) return undefined;
      largest = Math.max(largest, m.contextWindow);
    }
    return largest;
  }
}

/** The session key of a request, from the first configured source present. */
export function sessionKeyOf(ctx: RequestContext, sticky: StickyConfig): string | undefined {
  for (const from of sticky.from) {
    let value: unknown;
    if (from === 'header') value = ctx.head.headers[sticky.header];
    else if (from === 'key') value = ctx.key?.id;
    else {
      // Anthropic's metadata.user_id arrives as the canonical form's `user`.
      const anthropic = ctx.dialect === 'anthropic-messages';
      if ((from === 'metadata.user_id') === anthropic) value = ctx.json?.user;
    }
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

const imagePart = '"image_url"';
const jsonSchemaFormat = /"response_format"\s*:\s*\{\s*"type"\s*:\s*"json_schema"/;

/** What the request needs of a deployment (canonical body: OpenAI chat). */
export function needsOf(ctx: RequestContext, promptTokens: number): RequestNeeds {
  const json = ctx.json;
  let tools: boolean;
  let jsonSchema: boolean;
  if (json !== undefined) {
    tools = Array.isArray(json.tools) && json.tools.length > 0;
    const format = json.response_format as { type?: unknown } | undefined;
    jsonSchema = format?.type === 'json_schema';
  } else {
    // A body too large to keep parsed is searched as bytes: a false "needs" only narrows the choice.
    tools = ctx.rawBody.includes('"tools"');
    jsonSchema = jsonSchemaFormat.test(ctx.rawBody.toString('latin1'));
  }
  return {
    promptTokens,
    maxOutputTokens: ctx.maxOutputTokens ?? 0,
    tools,
    vision: ctx.rawBody.includes(imagePart),
    jsonSchema,
  };
}
