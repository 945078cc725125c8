// What the handler answers in a client's dialect without loading any translator (src/pipeline/translation.ts
// loads those on first use): errors decided by the path alone, and Anthropic's model list.
import type { GatewayError } from '../shared/errors.js';
import type { ErrorAnswer } from '../translate/dialect.js';
import { anthropicError } from './anthropic-messages/errors.js';
import { modelListBody } from './anthropic-messages/models.js';

/** Anthropic's paths, and anything under them (a 404 there should still read as Anthropic's). */
const anthropicPath = /\/v1\/messages(?:[/?#]|$)/;

/** An error answered from the path alone (unknown URL, wrong method, body too large), in the dialect the path implies. */
export function errorInDialectOf(path: string, error: GatewayError): ErrorAnswer {
  if (anthropicPath.test(path) || (path.includes('%') && anthropicPath.test(decoded(path)))) {
    return anthropicError(error.status, error.toBody());
  }
  return { status: error.status, body: error.toJSON() };
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
