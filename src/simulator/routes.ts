// Routes of the simulator whose paths carry parameters (Azure deployments, Gemini models, Bedrock model ids).
// Each wire family's module exports its routes; server.ts tries them after its exact paths.
import type { IncomingHead } from '../server/http.js';
import type { GatewayError } from '../shared/errors.js';
import type { Answer, AnswerContext } from './openai.js';
import type { RequestPlan, SimulatorOptions } from './options.js';
import type { JsonObject } from './request.js';

export interface SimRoute {
  readonly method: 'GET' | 'POST';
  /** The path's parameters when this route serves it, else undefined. */
  match(path: string): Record<string, string> | undefined;
  /** Refuses a request by its head (credentials, api-version, signature) before it is answered. */
  checkHead?(head: IncomingHead, rawBody: Buffer): GatewayError | undefined;
  answer(body: JsonObject, plan: RequestPlan, ctx: AnswerContext, options: SimulatorOptions, params: Record<string, string>, head: IncomingHead): Answer;
  /** The family's error body for `error` (its status is used as it is). */
  errorBody(error: GatewayError): string;
}
