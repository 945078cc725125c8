// The simulator's HTTP front: per-request plan, the fault script, error answers, stats, start/close.
import type { HeaderList, IncomingHead, Reply, RequestHandler } from '../server/http.js';
import { listen } from '../server/uws.js';
import { errors, GatewayError } from '../shared/errors.js';
import { handleControl, type SimulatorState } from './control.js';
import { deliverStream, deliverWhole, type CancelDelivery, type Outcome } from './delivery.js';
import { endpointFor, requestModel, type Endpoint } from './endpoints.js';
import { jsonHeaders, type Answer, type AnswerContext } from './openai.js';
import { planRequest, presentedKey, resolveOptions, type RequestPlan, type SimulatorOptions } from './options.js';
import { isObject } from './request.js';
import { scriptedErrorAnswer } from './script-errors.js';
import { FaultScript, type CompiledRule, type ScriptRule, type ScriptRuleState } from './script.js';
import { StatsRecorder, type SimulatorStats } from './stats.js';

export type { SimulatorOptions } from './options.js';
export type { SimulatorStats, RecordedRequest } from './stats.js';
export type { ScriptRule, ScriptRuleState, ScriptedErrorKind } from './script.js';
export { ScriptRuleError } from './script.js';

export interface RunningSimulator {
  port: number;
  stats(): SimulatorStats;
  /** Clears stats and the fault script. */
  reset(): void;
  /** Replaces the fault script (first matching rule wins); [] clears it. Throws ScriptRuleError on an invalid rule. */
  script(rules: readonly ScriptRule[]): void;
  /** The script's rules with their live counts (remaining, skip_remaining, matched, applied). */
  scriptState(): ScriptRuleState[];
  /** Stops accepting and closes every connection; in-flight requests count as aborted. */
  close(): Promise<void>;
}

function sendError(reply: Reply, endpoint: Endpoint | undefined, error: GatewayError): void {
  const headers: HeaderList = error.headers ? [...jsonHeaders, ...Object.entries(error.headers)] : jsonHeaders;
  reply.send(error.status, headers, endpoint === undefined ? error.toJSON() : endpoint.errorBody(error));
}

function faultError(status: number): GatewayError {
  return new GatewayError(status, `Simulated HTTP ${status} (simulator fault status-${status}).`, {
    code: 'simulated_fault',
    // As OpenAI does: the SDKs read retry-after-ms before retry-after, and x-should-retry overrides their own choice.
    headers: status === 429 || status === 503 ? { 'retry-after': '1', 'retry-after-ms': '1000', 'x-should-retry': 'true' } : undefined,
  });
}

function parseBody(raw: Buffer): { body: unknown; error?: string } {
  if (raw.length === 0) return { body: null };
  try {
    return { body: JSON.parse(raw.toString('utf8')) as unknown };
  } catch (err) {
    return { body: null, error: (err as Error).message };
  }
}

/** The plan of a scripted error: only the rule's delay, no fault. */
function errorPlan(rule: CompiledRule): RequestPlan {
  return { ttft_ms: rule.ttftMs ?? 0, tokens_per_second: 0, chunk_tokens: 1, completion_tokens: 0, fault: undefined };
}

/** A rule's delay and fault, over whatever options, model names and x-sim-* headers planned. */
function applyRule(plan: RequestPlan, rule: CompiledRule, head: IncomingHead): void {
  if (rule.ttftMs !== undefined) plan.ttft_ms = rule.ttftMs;
  if (rule.fault === undefined) return;
  plan.fault = rule.fault.kind === 'key-echo' ? { ...rule.fault, key: presentedKey(head.headers) || (head.headers['x-goog-api-key'] ?? '') } : rule.fault;
}

export async function startSimulator(partial?: Partial<SimulatorOptions>): Promise<RunningSimulator> {
  const options = resolveOptions(partial);
  const state: SimulatorState = { stats: new StatsRecorder(options.keep_requests), script: new FaultScript() };
  const { stats, script } = state;
  const pending = new Set<CancelDelivery>();
  let sequence = 0;

  const handler: RequestHandler = (head, raw, reply) => {
    if (head.path.startsWith('/sim/')) {
      handleControl(state, head, raw, reply);
      return;
    }
    const parsed = parseBody(raw);
    const match = endpointFor(head.path);
    const model = match === undefined ? undefined : requestModel(match, isObject(parsed.body) ? parsed.body : undefined);
    stats.started({ method: head.method, path: head.path, query: head.query, headers: head.headers, body: parsed.body, at: Date.now(), model });
    const endpoint = match?.endpoint;
    try {
      if (match === undefined || endpoint === undefined) throw errors.notFound(head.method, head.path);
      if (endpoint.method !== head.method) throw errors.methodNotAllowed(head.method, head.path, endpoint.method);
      const refused = endpoint.checkHead?.(head, raw);
      if (refused !== undefined) throw refused;
      if (parsed.error !== undefined) throw errors.badJson(parsed.error);
      const body = isObject(parsed.body) ? parsed.body : {};
      if (endpoint.method === 'POST' && !isObject(parsed.body)) throw errors.badJson('the body must be a JSON object');
      const hit = script.active ? script.decide(model, head.path, body) : undefined;
      const ctx: AnswerContext = { sequence: ++sequence, created: Math.floor(Date.now() / 1000) };
      let plan: RequestPlan;
      let answer: Answer;
      if (hit?.rule.error !== undefined) {
        plan = errorPlan(hit.rule);
        const refusal = { family: endpoint.family, path: head.path, query: head.query, model, promptTokens: hit.promptTokens, sequence: ctx.sequence };
        answer = { kind: 'whole', answer: scriptedErrorAnswer(hit.rule, refusal) };
      } else {
        plan = planRequest(options, head.headers, typeof body.model === 'string' ? body.model : undefined);
        if (plan.fault?.kind === 'status') throw faultError(plan.fault.status);
        answer = endpoint.answer(body, plan, ctx, options, head.path, head, match.params);
        if (hit !== undefined) applyRule(plan, hit.rule, head);
      }
      let cancel: CancelDelivery | undefined;
      let ended = false;
      const onEnd = (outcome: Outcome): void => {
        ended = true;
        if (cancel) pending.delete(cancel);
        stats.finished(outcome);
      };
      cancel = answer.kind === 'whole' ? deliverWhole(reply, answer.answer, plan, onEnd) : deliverStream(reply, answer.stream, plan, onEnd);
      if (!ended) pending.add(cancel);
    } catch (err) {
      const error = err instanceof GatewayError ? err : errors.internal((err as Error).message);
      sendError(reply, endpoint, error);
      stats.finished('completed');
    }
  };

  const listener = await listen(
    {
      host: options.host,
      port: options.port,
      clientAddress: false,
      maxBodyBytes: 32 * 1024 * 1024,
      bodyTooLarge: () => {
        const error = errors.bodyTooLarge(32 * 1024 * 1024);
        return { status: error.status, headers: jsonHeaders, body: error.toJSON() };
      },
    },
    handler,
  );

  return {
    port: listener.port,
    stats: () => stats.snapshot(),
    reset: () => {
      stats.reset();
      script.clear();
    },
    script: (rules) => script.replace(rules),
    scriptState: () => script.state(),
    close: async () => {
      for (const cancel of [...pending]) cancel();
      listener.closeAll();
    },
  };
}
