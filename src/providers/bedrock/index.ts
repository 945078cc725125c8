// The Amazon Bedrock family: Converse and ConverseStream, SigV4-signed, streams in AWS event-stream framing.
import type { ProviderAdapter } from '../../translate/provider.js';
import { bedrockError } from './errors.js';
import { EventStreamFramer } from './eventstream.js';
import { toConverseRequest } from './request.js';
import { fromConverseResponse } from './response.js';
import { signBedrockRequest } from './sign.js';
import { ConverseStreamDecoder } from './stream.js';

export const bedrockAdapter: ProviderAdapter = {
  family: 'bedrock',
  framing: 'aws-eventstream',
  framer: () => new EventStreamFramer(),
  // Every request is signed instead (sign), over its method, path, body and date.
  authHeaders: () => [],
  sign: signBedrockRequest,
  error: bedrockError,
  chat: {
    request: toConverseRequest,
    response: fromConverseResponse,
    stream: (target) => new ConverseStreamDecoder(target),
  },
};
