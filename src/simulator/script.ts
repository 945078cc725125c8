// Scripted faults: an ordered list of rules, replaced at runtime, that fail, slow or break the requests
// they match (by model and path), each for a number of requests or until replaced. First match wins.
import { parseFault, type Fault } from './options.js';
import type { JsonObject } from './request.js';
import { estimateTokens } from './text.js';

export const scriptedErrorKinds = ['rate_limit', 'insufficient_quota', 'context_length', 'overloaded', 'server_error', 'unavailable'] as const;
export type ScriptedErrorKind = (typeof scriptedErrorKinds)[number];

/** A rule as a test writes it, in code or as JSON to PUT /sim/script. */
export interface ScriptRule {
  /** The request's model (the body's "model", or the path's for Gemini, Bedrock and Azure deployments); `*` matches any run of characters. */
  model?: string;
  /** A prefix of the request path. */
  path?: string;
  /** Applies to the next `times` matching requests, then expires; absent = until the script is replaced. */
  times?: number;
  /** Lets the first `after` matching requests through before applying. */
  after?: number;
  status?: number;
  error?: ScriptedErrorKind;
  /** Sent as Retry-After (seconds). */
  retry_after_s?: number;
  /** Sent as retry-after-ms, as OpenAI does. */
  retry_after_ms?: number;
  /** Delay before the answer (or the error) starts. */
  ttft_ms?: number;
  /** A simulator fault name, e.g. `reset-after-2`, `stall-headers`. */
  fault?: string;
  /** Matches only requests whose prompt is larger; with no other action, answers a context-length error. */
  max_prompt_tokens?: number;
}

export interface ScriptRuleState {
  rule: ScriptRule;
  /** Requests it still applies to; null = until replaced. */
  remaining: number | null;
  /** Matching requests it still lets through before applying. */
  skip_remaining: number;
  /** Requests that matched it (the skipped ones included). */
  matched: number;
  /** Requests it applied to. */
  applied: number;
}

/** A rule ready to match: its action resolved, its counters live. */
export interface CompiledRule {
  readonly given: ScriptRule;
  readonly model: ((model: string) => boolean) | undefined;
  readonly path: string | undefined;
  readonly maxPromptTokens: number | undefined;
  /** The error it answers: the kind (or undefined for a status without a known kind) and an explicit status. */
  readonly error: { kind: ScriptedErrorKind | undefined; status: number | undefined } | undefined;
  readonly retryAfterS: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly ttftMs: number | undefined;
  readonly fault: Fault | undefined;
  remaining: number | null;
  skipRemaining: number;
  matched: number;
  applied: number;
}

export interface ScriptHit {
  readonly rule: CompiledRule;
  /** The request's prompt tokens, counted when a rule needed them (0 otherwise). */
  readonly promptTokens: number;
}

/** A rule the script refuses; `param` names the field, e.g. `rules[1].times`. */
export class ScriptRuleError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
    this.name = 'ScriptRuleError';
  }
}

const maxRules = 1000;

/** The kind a bare status stands for. */
const kindByStatus: Readonly<Record<number, ScriptedErrorKind>> = { 429: 'rate_limit', 500: 'server_error', 503: 'unavailable', 529: 'overloaded' };

type FieldCheck = (value: unknown) => boolean;
const integerAtLeast = (min: number): FieldCheck => (v) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const numberAtLeast = (min: number): FieldCheck => (v) => typeof v === 'number' && Number.isFinite(v) && v >= min;
const nonEmptyString: FieldCheck = (v) => typeof v === 'string' && v !== '';

/** Every field a rule may have: its check and what the check wants, for the message. */
const fields: Readonly<Record<keyof ScriptRule, { check: FieldCheck; wants: string }>> = {
  model: { check: nonEmptyString, wants: 'a non-empty string (`*` matches any characters)' },
  path: { check: (v) => typeof v === 'string' && v.startsWith('/'), wants: "a path prefix starting with '/'" },
  times: { check: integerAtLeast(1), wants: 'an integer >= 1' },
  after: { check: integerAtLeast(0), wants: 'an integer >= 0' },
  status: { check: (v) => integerAtLeast(400)(v) && (v as number) <= 599, wants: 'an HTTP error status from 400 to 599' },
  error: { check: (v) => (scriptedErrorKinds as readonly unknown[]).includes(v), wants: `one of ${scriptedErrorKinds.join(', ')}` },
  retry_after_s: { check: integerAtLeast(0), wants: 'an integer >= 0 (seconds)' },
  retry_after_ms: { check: numberAtLeast(0), wants: 'a number >= 0 (milliseconds)' },
  ttft_ms: { check: numberAtLeast(0), wants: 'a number >= 0 (milliseconds)' },
  fault: { check: nonEmptyString, wants: 'a simulator fault name such as reset-after-2 or stall-headers' },
  max_prompt_tokens: { check: integerAtLeast(0), wants: 'an integer >= 0' },
};

function globMatcher(pattern: string): (model: string) => boolean {
  if (!pattern.includes('*')) return (model) => model === pattern;
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  const regex = new RegExp(`^${source}$`, 's');
  return (model) => regex.test(model);
}

function compileRule(input: unknown, at: string): CompiledRule {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ScriptRuleError(`${at} must be an object.`, at);
  const given: ScriptRule = {};
  for (const [key, value] of Object.entries(input)) {
    const field = fields[key as keyof ScriptRule];
    if (field === undefined) throw new ScriptRuleError(`${at} has an unknown field '${key}'; a rule has ${Object.keys(fields).join(', ')}.`, `${at}.${key}`);
    if (value === undefined) continue;
    if (!field.check(value)) throw new ScriptRuleError(`${at}.${key} must be ${field.wants}, got ${JSON.stringify(value)}.`, `${at}.${key}`);
    (given as Record<string, unknown>)[key] = value;
  }
  let fault: Fault | undefined;
  let status = given.status;
  if (given.fault !== undefined) {
    fault = parseFault(given.fault);
    if (fault === undefined) throw new ScriptRuleError(`${at}.fault '${given.fault}' is not a simulator fault (see docs/simulator.md, Faults).`, `${at}.fault`);
    if (given.status !== undefined || given.error !== undefined) {
      throw new ScriptRuleError(`${at} has a fault and an error (status or error): give one of them.`, `${at}.fault`);
    }
    // A status fault is an error like any other: answered in the family's real shape.
    if (fault.kind === 'status') {
      if (fault.status < 400) throw new ScriptRuleError(`${at}.fault '${given.fault}' must be an error status (400-599).`, `${at}.fault`);
      status = fault.status;
      fault = undefined;
    }
  }
  let kind = given.error ?? (status === undefined ? undefined : kindByStatus[status]);
  if (kind === undefined && status === undefined && fault === undefined && given.max_prompt_tokens !== undefined) kind = 'context_length';
  const errs = kind !== undefined || status !== undefined;
  if (kind === 'context_length' && given.max_prompt_tokens === undefined) {
    throw new ScriptRuleError(`${at}: error context_length needs max_prompt_tokens (the model's context window).`, `${at}.max_prompt_tokens`);
  }
  for (const key of ['retry_after_s', 'retry_after_ms'] as const) {
    if (given[key] !== undefined && !errs) throw new ScriptRuleError(`${at}.${key} needs an error (status or error) to send it with.`, `${at}.${key}`);
  }
  return {
    given,
    model: given.model === undefined ? undefined : globMatcher(given.model),
    path: given.path,
    maxPromptTokens: given.max_prompt_tokens,
    error: errs ? { kind, status } : undefined,
    retryAfterS: given.retry_after_s,
    retryAfterMs: given.retry_after_ms,
    ttftMs: given.ttft_ms,
    fault,
    remaining: given.times ?? null,
    skipRemaining: given.after ?? 0,
    matched: 0,
    applied: 0,
  };
}

/** Validates a whole script; nothing changes when one rule is refused. */
export function compileScript(rules: unknown): CompiledRule[] {
  if (!Array.isArray(rules)) throw new ScriptRuleError('rules must be an array of rules.', 'rules');
  if (rules.length > maxRules) throw new ScriptRuleError(`A script has at most ${maxRules} rules, got ${rules.length}.`, 'rules');
  return rules.map((rule, i) => compileRule(rule, `rules[${i}]`));
}

/** Fields whose text counts as prompt, wherever they are in a request body (all wire families). */
const promptFields = new Set(['content', 'text', 'system', 'instructions', 'input', 'prompt']);

/** Characters of prompt text in a body: strings in prompt fields, and in arrays under them. */
function promptCharacters(value: unknown, counted: boolean, depth: number): number {
  if (typeof value === 'string') return counted ? value.length : 0;
  if (value === null || typeof value !== 'object' || depth > 64) return 0;
  let total = 0;
  if (Array.isArray(value)) {
    for (const item of value) total += promptCharacters(item, counted, depth + 1);
    return total;
  }
  for (const key in value) total += promptCharacters((value as JsonObject)[key], promptFields.has(key), depth + 1);
  return total;
}

export function promptTokensOf(body: JsonObject): number {
  return estimateTokens(promptCharacters(body, false, 0));
}

export class FaultScript {
  private rules: CompiledRule[] = [];

  /** The one check the request path pays while no script is set. */
  get active(): boolean {
    return this.rules.length !== 0;
  }

  /** Replaces the script; [] clears it. Throws ScriptRuleError (and keeps the old script) on an invalid rule. */
  replace(rules: unknown): void {
    this.rules = compileScript(rules);
  }

  clear(): void {
    this.rules = [];
  }

  state(): ScriptRuleState[] {
    return this.rules.map((rule) => ({
      rule: { ...rule.given },
      remaining: rule.remaining,
      skip_remaining: rule.skipRemaining,
      matched: rule.matched,
      applied: rule.applied,
    }));
  }

  /** The rule that applies to a request, counting it; undefined = answer normally. */
  decide(model: string | undefined, path: string, body: JsonObject): ScriptHit | undefined {
    let tokens = -1;
    for (const rule of this.rules) {
      if (rule.remaining === 0) continue;
      if (rule.model !== undefined && (model === undefined || !rule.model(model))) continue;
      if (rule.path !== undefined && !path.startsWith(rule.path)) continue;
      if (rule.maxPromptTokens !== undefined) {
        if (tokens < 0) tokens = promptTokensOf(body);
        if (tokens <= rule.maxPromptTokens) continue;
      }
      rule.matched++;
      // A rule still letting requests through does not apply: the next rule may.
      if (rule.skipRemaining > 0) {
        rule.skipRemaining--;
        continue;
      }
      if (rule.remaining !== null) rule.remaining--;
      rule.applied++;
      return { rule, promptTokens: Math.max(tokens, 0) };
    }
    return undefined;
  }
}
