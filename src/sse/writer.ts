// The one SSE writer.
import type { ErrorBody } from '../shared/errors.js';

export const doneEvent = 'data: [DONE]\n\n';

export function dataEvent(json: unknown): string {
  return `data: ${JSON.stringify(json)}\n\n`;
}

/** The final event of a stream that failed after it started: the OpenAI SDKs raise it as an APIError. */
export function errorEvent(body: ErrorBody): string {
  return `data: ${JSON.stringify(body)}\n\n`;
}
