// Anthropic error answers ({"type":"error","error":{"type","message"},"request_id"}) → canonical errors.
import { normaliseUpstreamError } from '../../shared/errors.js';
import type { MappedError } from '../../translate/provider.js';

/** Anthropic's own statuses an OpenAI client does not know: 529 overloaded is a 503 to it. */
const statusForClient: Readonly<Record<number, number>> = { 529: 503 };

/**
 * `error(status, body)` has no provider name, so texts quoted from a body that is not Anthropic's JSON
 * name the family instead.
 */
export function fromAnthropicError(status: number, body: string): MappedError {
  const normalised = normaliseUpstreamError(status, body, 'anthropic');
  // A 529 whose body is not Anthropic's (a proxy page) is still the overload Anthropic means by it.
  if (status === 529 && !hasOwnType(body)) normalised.error.type = 'overloaded_error';
  return { status: statusForClient[status] ?? status, body: normalised };
}

function hasOwnType(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { error?: { type?: unknown } } | null;
    return typeof parsed?.error?.type === 'string';
  } catch {
    return false;
  }
}
