// The canonical form every stage sees: OpenAI chat completions, request, body and chunk, plus a few
// extension fields (marked "extension") that carry what other families have and OpenAI lacks, so a
// round trip through the canonical form loses nothing a client sends back (thinking signatures).
//
// Translators are pure: no I/O, no clock, no randomness except what the caller passes in.

export type JsonObject = Record<string, unknown>;

/** A thinking block as Anthropic (and Bedrock) return it; its signature must come back unchanged on the next turn. */
export type ThinkingBlock =
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'redacted_thinking'; data: string };

export interface ToolCall {
  /** Index within the message; required in stream deltas, optional in whole messages. */
  index?: number;
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } }
  | JsonObject;

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  /** extension (DeepSeek's name): the reasoning text of an assistant turn. */
  reasoning_content?: string;
  /** extension: the provider's thinking blocks of an assistant turn, kept whole with their signatures. */
  thinking_blocks?: ThinkingBlock[];
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: JsonObject; strict?: boolean };
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  n?: number;
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; json_schema: { name: string; schema?: JsonObject; strict?: boolean; description?: string } };
  reasoning_effort?: 'minimal' | 'low' | 'medium' | 'high';
  user?: string;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  /** extension: top-k sampling (Anthropic, Gemini). */
  top_k?: number;
  /** extension: an explicit thinking budget (Anthropic's `thinking`), when the client gave one. */
  thinking?: { type: 'enabled'; budget_tokens: number } | { type: 'disabled' };
  [field: string]: unknown;
}

/**
 * Canonical usage. prompt_tokens counts every input token (cached reads and cache writes included, as
 * OpenAI counts them); completion_tokens includes reasoning tokens.
 */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    /** extension: input tokens written to the provider's prompt cache (Anthropic, Bedrock). */
    cache_write_tokens?: number;
  };
  completion_tokens_details?: { reasoning_tokens?: number };
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: ChatMessage & { role: 'assistant'; content: string | null; refusal?: string | null };
    finish_reason: FinishReason | null;
    logprobs?: null;
  }>;
  usage?: ChatUsage;
  [field: string]: unknown;
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string | null;
  /** extension: reasoning text, as DeepSeek streams it. */
  reasoning_content?: string;
  /**
   * extension: thinking-block boundaries and signatures, in stream order: a `thinking` block with a
   * signature (and the text streamed before in reasoning_content) or a redacted block.
   */
  thinking_blocks?: ThinkingBlock[];
  tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }>;
  refusal?: string | null;
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: number; delta: ChunkDelta; finish_reason: FinishReason | null; logprobs?: null }>;
  /** Only on the final usage chunk (whose choices are empty). */
  usage?: ChatUsage | null;
  [field: string]: unknown;
}

/** OpenAI's error body, the canonical error. `type` may be a provider's own (e.g. overloaded_error). */
export interface CanonicalError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
  user?: string;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
