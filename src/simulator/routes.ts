// Routes of the simulator whose paths carry parameters (Azure deployments, Gemini models, Bedrock model ids).
// Each wire family's module exports its routes; endpoints.ts tries them after its exact paths.
import type { IncomingHead } from '../server/http.js';
import type { GatewayError } from '../shared/errors.js';
import type { Answer, AnswerContext } from './openai.js';
import type { RequestPlan, SimulatorOptions } from './options.js';
import type { JsonObject } from './request.js';

/** Whose wire format an endpoint speaks, for its error bodies (scripted errors among them). */
export type WireFamily = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'bedrock';

export interface SimRoute {
  readonly method: 'GET' | 'POST';
  readonly family: WireFamily;
  /** The path parameter that names the model, when the path names it; else the body's "model" does. */
  readonly modelParam?: string;
  /** The path's parameters when this route serves it, else undefined. */
  match(path: string): Record<string, string> | undefined;
  /** Refuses a request by its head (credentials, api-version, signature) before it is answered. */
  checkHead?(head: IncomingHead, rawBody: Buffer): GatewayError | undefined;
  answer(body: JsonObject, plan: RequestPlan, ctx: AnswerContext, options: SimulatorOptions, params: Record<string, string>, head: IncomingHead): Answer;
  /** The family's error body for `error` (its status is used as it is). */
  errorBody(error: GatewayError): string;
}
