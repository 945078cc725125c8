// A client dialect's request into the canonical form the stages see (OpenAI chat completions bytes).
import type { ClientDialect } from '../translate/dialect.js';
import { parseJsonObject } from './parse.js';

/**
 * The canonical body of a request in `dialect`. A count request (Anthropic's count_tokens) has no
 * max_tokens, which the dialect requires of a generation: it is counted as if it asked for one token.
 */
export function toCanonicalBody(dialect: ClientDialect, body: Buffer, forCount: boolean): { canonical: Buffer; client: Record<string, unknown> } {
  const client = parseJsonObject(body);
  const json = forCount && client.max_tokens === undefined ? { ...client, max_tokens: 1 } : client;
  return { canonical: Buffer.from(JSON.stringify(dialect.toCanonical(json))), client };
}
