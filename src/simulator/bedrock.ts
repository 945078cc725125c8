// Bedrock Converse / ConverseStream routes: SigV4-checked, answered in Bedrock's JSON and event-stream shapes.
import type { HeaderList } from '../server/http.js';
import { GatewayError } from '../shared/errors.js';
import { answerConverse } from './bedrock-answer.js';
import { checkSignature } from './bedrock-signature.js';
import { planRequest } from './options.js';
import type { SimRoute } from './routes.js';

const converseShape = /^\/model\/([^/]+)\/(converse|converse-stream)$/;

/** Bedrock's exception for a status, when an error does not carry x-amzn-errortype already. */
const exceptionByStatus: Readonly<Record<number, string>> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  405: 'ValidationException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

export function exceptionFor(status: number): string {
  return exceptionByStatus[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
}

/**
 * `{"message"}` as Bedrock sends it; the exception name goes in x-amzn-errortype where the error carries
 * that header, else (errors the shared server builds: faults, bad JSON) in the body's `__type`, which
 * the AWS SDKs read just the same.
 */
export function bedrockErrorBody(error: GatewayError): string {
  if (error.headers?.['x-amzn-errortype'] !== undefined) return JSON.stringify({ message: error.message });
  return JSON.stringify({ __type: exceptionFor(error.status), message: error.message });
}

function responseHeaders(streaming: boolean, sequence: number): HeaderList {
  return [
    ['content-type', streaming ? 'application/vnd.amazon.eventstream' : 'application/json'],
    ['x-amzn-requestid', `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`],
  ];
}

function route(operation: 'converse' | 'converse-stream'): SimRoute {
  const streaming = operation === 'converse-stream';
  return {
    method: 'POST',
    family: 'bedrock',
    modelParam: 'modelId',
    match(path) {
      const m = converseShape.exec(path);
      if (m === null || m[2] !== operation) return undefined;
      try {
        return { modelId: decodeURIComponent(m[1]) };
      } catch {
        return undefined;
      }
    },
    checkHead: checkSignature,
    answer(body, plan, ctx, options, params, head) {
      // The model is in the path, so the server planned without it: its sim-* rules apply here, onto the
      // same plan object the delivery then uses (x-sim-* headers still win, as planRequest orders them).
      if (params.modelId.startsWith('sim-')) Object.assign(plan, planRequest(options, head.headers, params.modelId));
      if (plan.fault?.kind === 'status') {
        const status = plan.fault.status;
        throw new GatewayError(status, `Simulated HTTP ${status} (simulator fault status-${status}).`, {
          code: 'simulated_fault',
          headers: { 'x-amzn-errortype': exceptionFor(status), ...(status === 429 || status === 503 ? { 'retry-after': '1' } : {}) },
        });
      }
      return answerConverse(body, plan, ctx, streaming, responseHeaders(streaming, ctx.sequence));
    },
    errorBody: bedrockErrorBody,
  };
}

export const bedrockRoutes: readonly SimRoute[] = [route('converse'), route('converse-stream')];
