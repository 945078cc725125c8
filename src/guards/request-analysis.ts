// One request's guard work on its parsed body: prompt guards, PII redaction written back into the
// body, exact token count. The same code runs inline (small bodies) and in a pool worker, where the
// body arrives as bytes and leaves as bytes when redaction changed it: a large prompt's strings then
// live only in the worker, never long enough on the event loop to be promoted and cost it a full GC.
import type { Operation } from '../pipeline/context.js';
import type { AnalyseTask, GuardEngine } from './engine.js';
import { extractPromptText, textsForScope, writeText } from './prompt-text.js';
import type { EncodingName } from './tokenizer.js';

/** What to run on a request; indices refer to the engine setup's prompt guards and PII policies. */
export interface AnalysisSpec {
  operation: Operation;
  /** Encoding to count with, or null to skip counting. */
  encoding: EncodingName | null;
  /** Prompt guards to check, in order; the first refusal wins. */
  guards: number[];
  /** PII policy to redact with. */
  pii: number | null;
  /** Date.now() after which counting stops and the rest is estimated. */
  countDeadlineEpochMs: number;
}

export interface RequestAnalysis {
  /** Prompt tokens, message framing and media included (0 when not counted). */
  tokens: number;
  exact: boolean;
  /** First prompt guard that refused, and why. */
  verdict: { guard: number; reason: 'deny' | 'allow' } | null;
  /** Label of a PII detector in block mode that matched. */
  piiBlocked: string | null;
  /** Text parts changed by redaction. */
  redactedTexts: number;
  /** [placeholder, original] for pseudonymised values. */
  pseudonyms: Array<[string, string]>;
  /** The body re-serialised with the redacted texts, when any changed. */
  body: Uint8Array | null;
}

/** Runs the spec on a parsed body; redacted texts are written into `json` itself. */
export function analyseRequest(engine: GuardEngine, json: Record<string, unknown>, spec: AnalysisSpec): RequestAnalysis {
  const { setup } = engine;
  const prompt = extractPromptText(spec.operation, json, setup.media);
  const task: AnalyseTask = {
    countDeadlineEpochMs: spec.countDeadlineEpochMs,
    encoding: spec.encoding,
    texts: prompt.texts,
    countOnly: prompt.countOnly,
    guards: spec.guards.map((g) => {
      const guard = setup.prompt[g]!;
      return { guard: g, texts: textsForScope(prompt.locations, guard.roles, guard.scope) };
    }),
    pii: spec.pii === null ? null : { policy: spec.pii, texts: textsForScope(prompt.locations, setup.pii[spec.pii]!.roles, 'conversation') },
  };
  const result = engine.analyse(task);
  for (const [index, text] of result.redacted) writeText(json, prompt.locations[index]!, text);
  return {
    tokens: spec.encoding === null ? 0 : prompt.fixedTokens + result.tokens,
    exact: result.exact,
    verdict: result.verdict,
    piiBlocked: result.piiBlocked,
    redactedTexts: result.redacted.length,
    pseudonyms: result.pseudonyms,
    body: result.redacted.length > 0 ? Buffer.from(JSON.stringify(json)) : null,
  };
}

/** The worker's entry: the body as the parse stage accepted it (valid JSON, an object). */
export function analyseRequestBody(engine: GuardEngine, body: Uint8Array, spec: AnalysisSpec): RequestAnalysis {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return analyseRequest(engine, JSON.parse(text) as Record<string, unknown>, spec);
}
