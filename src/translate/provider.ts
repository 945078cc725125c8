// What a provider family implements: the canonical request in its wire shape, and its answers back in
// the canonical form. Pure functions and state machines over events; the relay does all I/O.
import type { ProviderConfig } from '../config/types.js';
import type { CanonicalError, ChatChunk, ChatCompletion, ChatRequest, EmbeddingsRequest, EmbeddingsResponse, JsonObject } from './canonical.js';

export type ProviderFamily = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'bedrock';

/** Where a request goes: one deployment of one provider, as compiled from the config. */
export interface ProviderTarget {
  readonly provider: ProviderConfig;
  /** Model (Azure: deployment; Bedrock: model id or inference profile) as the provider names it. */
  readonly upstreamModel: string;
  readonly stream: boolean;
  /** Drop a parameter the provider cannot honour instead of refusing the request (400 naming it). */
  readonly dropUnsupported: boolean;
  /** Seconds since the epoch at the request's arrival: `created` of canonical answers that lack one. */
  readonly created: number;
  /** The gateway's request id: the base of ids a provider does not send (e.g. `chatcmpl-<requestId>`). */
  readonly requestId: string;
}

/** A request as it goes on the wire; `path` is appended to the provider's base URL path and may carry a query. */
export interface WireRequest {
  path: string;
  /** Family-specific headers beyond the gateway's own (e.g. anthropic-version); name lower case. */
  headers: Array<[string, string]>;
  body: string;
}

/** One upstream stream event: an SSE event, or one AWS event-stream message (`event` = its :event-type). */
export interface UpstreamEvent {
  event: string | undefined;
  data: string;
}

/** Splits a streamed response body into events. */
export interface StreamFramer {
  push(chunk: Buffer): UpstreamEvent[];
  /** Bytes held for an event not yet complete. */
  readonly pendingBytes: number;
}

/**
 * Turns one provider stream into canonical chunks. push() is called per upstream event in order and
 * returns the chunks it completes (often none, sometimes several); end() once the upstream ended.
 * An error event becomes one chunk `{"error":{…}}` (a CanonicalError); the relay ends the stream on it.
 * A stream that ends without its terminal event must not be made to look complete: end() then returns
 * no finish_reason and no [DONE].
 */
export interface StreamDecoder {
  push(event: UpstreamEvent): Array<ChatChunk | CanonicalError>;
  end(): Array<ChatChunk | CanonicalError>;
  /** The provider's terminal event arrived (canonical [DONE] is then due). */
  readonly complete: boolean;
}

export interface MappedError {
  /** Status for an OpenAI-dialect client (e.g. Anthropic 529 → 503). */
  status: number;
  body: CanonicalError;
  /** Retry headers the body implies (Google's RetryInfo), relayed like the provider's own retry-after. */
  retryHeaders?: Array<[string, string]>;
}

export interface ChatTranslator {
  /** Throws a 400 GatewayError naming the parameter the provider cannot honour (unless target.dropUnsupported). */
  request(req: ChatRequest, target: ProviderTarget): WireRequest;
  /** A whole (non-streamed) 2xx answer; throws GatewayError (502) when it is not the provider's shape. */
  response(body: JsonObject, target: ProviderTarget): ChatCompletion;
  /** Stream state machine, one per response. */
  stream(target: ProviderTarget): StreamDecoder;
}

export interface EmbeddingsTranslator {
  request(req: EmbeddingsRequest, target: ProviderTarget): WireRequest;
  response(body: JsonObject, target: ProviderTarget): EmbeddingsResponse;
}

export interface ProviderAdapter {
  readonly family: ProviderFamily;
  /** How streamed answers are framed. */
  readonly framing: 'sse' | 'aws-eventstream';
  /** A framer for a framing other than SSE (the gateway's own SSE parser frames the rest). */
  framer?(): StreamFramer;
  /** Headers that authenticate every request, from the provider's config (computed once). */
  authHeaders(provider: ProviderConfig): Array<[string, string]>;
  /**
   * Signs a finished request (Bedrock's SigV4). `url` is the full URL; returns headers to add.
   * Async because the signer is; only families that sign implement it.
   */
  sign?(provider: ProviderConfig, method: string, url: URL, headers: Array<[string, string]>, body: string): Promise<Array<[string, string]>>;
  /** An error answer (status ≥ 400) in the canonical shape, with the status an OpenAI client should get. */
  error(status: number, body: string): MappedError;
  readonly chat: ChatTranslator;
  /** Absent: the provider has no embeddings API here (the gateway answers 400). */
  readonly embeddings?: EmbeddingsTranslator;
}
