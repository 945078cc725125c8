// What a client dialect implements: its requests into the canonical form, and canonical answers,
// streams and errors back in its own wire shape. Pure; the handler and the reply do all I/O.
import type { CanonicalError, ChatChunk, ChatCompletion, ChatRequest, JsonObject } from './canonical.js';

export type DialectName = 'openai-chat' | 'anthropic-messages' | 'openai-responses';

/** What an encoder knows of the request it answers. */
export interface EncodeContext {
  /** Model as the client asked for it. */
  readonly model: string;
  /** The client's request id (x-request-id), usable in generated ids. */
  readonly requestId: string;
  /** Seconds since the epoch at arrival. */
  readonly created: number;
  /** The client's original (parsed) request, for dialects that echo parts of it (Responses echoes instructions, tools…). */
  readonly request: JsonObject;
  /** The prompt's tokens as the gateway counted or estimated them, before the provider reports its own. */
  readonly promptTokens?: number;
}

/** One canonical stream → the dialect's SSE text. Each call returns the text to write ('' for nothing yet). */
export interface StreamEncoder {
  push(chunk: ChatChunk): string;
  /** The canonical stream ended with [DONE]. */
  end(): string;
  /** The stream fails after it started: the dialect's own error event (and whatever closes the stream). */
  error(body: CanonicalError, status: number): string;
}

export interface ErrorAnswer {
  status: number;
  body: string;
}

export interface ClientDialect {
  readonly name: DialectName;
  /** The canonical request; throws a 400 GatewayError naming the parameter for invalid input. */
  toCanonical(body: JsonObject): ChatRequest;
  /** A canonical completion as the dialect's whole answer. */
  fromCompletion(completion: ChatCompletion, ctx: EncodeContext): JsonObject;
  streamEncoder(ctx: EncodeContext): StreamEncoder;
  /** A canonical error (with the status an OpenAI client would get) as the dialect's error answer. */
  error(status: number, body: CanonicalError): ErrorAnswer;
}
