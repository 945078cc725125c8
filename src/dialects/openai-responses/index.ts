// The OpenAI Responses dialect (POST /v1/responses) for providers without the Responses API: requests into
// the canonical chat form, canonical answers, streams and errors back as Responses shapes.
import type { CanonicalError } from '../../translate/canonical.js';
import type { ClientDialect, ErrorAnswer } from '../../translate/dialect.js';
import { toCanonicalRequest } from './request.js';
import { fromCompletion } from './response.js';
import { responsesStreamEncoder } from './stream-encoder.js';

/** Responses errors have the chat completions shape and status. */
function responsesError(status: number, body: CanonicalError): ErrorAnswer {
  return { status, body: JSON.stringify(body) };
}

export const openaiResponsesDialect: ClientDialect = {
  name: 'openai-responses',
  toCanonical: toCanonicalRequest,
  fromCompletion,
  streamEncoder: responsesStreamEncoder,
  error: responsesError,
};
