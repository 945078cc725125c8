// Dialect name → its translator. OpenAI chat completions is the canonical form and needs none.
import type { ClientDialect, DialectName } from '../translate/dialect.js';
import { anthropicMessagesDialect, countTokensBody } from './anthropic-messages/index.js';
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

/** The body of a count_tokens answer in the dialect, or undefined for the gateway's OpenAI-style one. */
export function countBodyFor(name: DialectName): ((inputTokens: number) => string) | undefined {
  return countBodies[name];
}
