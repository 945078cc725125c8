// Dialect name → its translator. OpenAI chat completions is the canonical form and needs none.
import type { ClientDialect, DialectName, ErrorAnswer } from '../translate/dialect.js';
import type { GatewayError } from '../shared/errors.js';
import { anthropicMessagesDialect, countTokensBody, modelListBody } from './anthropic-messages/index.js';
import { openaiResponsesDialect } from './openai-responses/index.js';

const dialects: Partial<Record<DialectName, ClientDialect>> = {
  'anthropic-messages': anthropicMessagesDialect,
  'openai-responses': openaiResponsesDialect,
};
const countBodies: Partial<Record<DialectName, (inputTokens: number) => string>> = {
  'anthropic-messages': countTokensBody,
};

export function dialectNamed(name: DialectName): ClientDialect | undefined {
  return dialects[name];
}

/** Anthropic's paths, and anything under them (a 404 there should still read as Anthropic's). */
const anthropicPath = /\/v1\/messages(?:[/?#]|$)/;

/** An error answered from the path alone (unknown URL, wrong method, body too large), in the dialect the path implies. */
export function errorInDialectOf(path: string, error: GatewayError): ErrorAnswer {
  if (anthropicPath.test(path) || (path.includes('%') && anthropicPath.test(decoded(path)))) {
    return anthropicMessagesDialect.error(error.status, error.toBody());
  }
  return { status: error.status, body: error.toJSON() };
}

/** The body of a count_tokens answer in the dialect, or undefined for the gateway's OpenAI-style one. */
export function countBodyFor(name: DialectName): ((inputTokens: number) => string) | undefined {
  return countBodies[name];
}

/** GET /v1/models in Anthropic's shape, from the OpenAI-shaped list the routes compiled. */
export function anthropicModelList(openAiList: string): string {
  const list = JSON.parse(openAiList) as { data: Array<{ id: string; owned_by: string; created: number }> };
  return modelListBody(list.data.map((m) => ({ id: m.id, ownedBy: m.owned_by })), list.data[0]?.created ?? 0);
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
