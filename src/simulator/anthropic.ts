// Anthropic Messages answers (/v1/messages, /v1/messages/count_tokens), whole and as SSE with `event:` lines.
import type { IncomingHead } from '../server/http.js';
import { errors, GatewayError } from '../shared/errors.js';
import type { EventStream } from './delivery.js';
import type { RequestPlan, SimulatorOptions } from './options.js';
import type { Answer, AnswerContext } from './openai.js';
import { jsonHeaders, sseHeaders } from './openai.js';
import {
  answerLength, argumentPieces, isObject, isStreaming, optionalCount, requireArray, requireString, toolArguments, type JsonObject,
} from './request.js';
import { contentCharacters, estimateTokens, jsonChunkOf, jsonTextOf } from './text.js';

function sse(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

/** The simulator's thinking: fixed words, and a signature that is the same for every answer. */
const thinkingWords = 'The simulator thinks about the request before it answers. '.split(/(?<= )/);
export const simThinkingSignature = Buffer.from('switchyard-simulator-thinking-signature').toString('base64');

/** One content block of an answer: whole, and streamed as a start, `count` deltas and a stop. */
interface AnswerBlock {
  readonly whole: string;
  readonly start: string;
  readonly count: number;
  delta(j: number): string;
  /** A delta sent just before the block's stop (the thinking signature). */
  readonly last?: string;
  /** Output tokens the block counts for. */
  readonly tokens: number;
}

function textBlock(tokens: number, chunkTokens: number): AnswerBlock {
  return {
    whole: `{"type":"text","text":${jsonTextOf(tokens)}}`,
    start: '{"type":"text","text":""}',
    count: Math.ceil(tokens / chunkTokens),
    delta: (j) => `{"type":"text_delta","text":${jsonChunkOf(j * chunkTokens, Math.min(chunkTokens, tokens - j * chunkTokens))}}`,
    tokens,
  };
}

/** A text answer that is JSON (structured output), streamed in the 8-character pieces tool input uses. */
function jsonTextBlock(json: string): AnswerBlock {
  const pieces = argumentPieces(json);
  return {
    whole: `{"type":"text","text":${JSON.stringify(json)}}`,
    start: '{"type":"text","text":""}',
    count: pieces.length,
    delta: (j) => `{"type":"text_delta","text":${JSON.stringify(pieces[j])}}`,
    tokens: pieces.length,
  };
}

function thinkingBlock(chunkTokens: number): AnswerBlock {
  const pieces: string[] = [];
  for (let k = 0; k < thinkingWords.length; k += chunkTokens) pieces.push(JSON.stringify(thinkingWords.slice(k, k + chunkTokens).join('')));
  return {
    whole: `{"type":"thinking","thinking":${JSON.stringify(thinkingWords.join(''))},"signature":"${simThinkingSignature}"}`,
    start: '{"type":"thinking","thinking":"","signature":""}',
    count: pieces.length,
    delta: (j) => `{"type":"thinking_delta","thinking":${pieces[j]}}`,
    last: `{"type":"signature_delta","signature":"${simThinkingSignature}"}`,
    tokens: thinkingWords.length,
  };
}

function toolBlock(id: string, name: string, input: string): AnswerBlock {
  const pieces = argumentPieces(input);
  const head = `{"type":"tool_use","id":"${id}","name":${JSON.stringify(name)},"input":`;
  return {
    whole: `${head}${input}}`,
    start: `${head}{}}`,
    count: pieces.length,
    delta: (j) => `{"type":"input_json_delta","partial_json":${JSON.stringify(pieces[j])}}`,
    tokens: pieces.length,
  };
}

/**
 * The tools the answer calls: none for tool_choice none, the named one for tool, the first two (parallel
 * calls) for any with two tools or more unless disable_parallel_tool_use, else the first.
 */
function chosenTools(body: JsonObject, sequence: number): AnswerBlock[] {
  const tools = Array.isArray(body.tools) ? body.tools.filter((t): t is JsonObject => isObject(t) && typeof t.name === 'string') : [];
  const choice = isObject(body.tool_choice) ? body.tool_choice : { type: 'auto' };
  if (tools.length === 0 || choice.type === 'none') return [];
  // After a tool result, "auto" answers in text, so an agent's tool loop (Claude Code's) comes to an end.
  if (choice.type === 'auto' && lastTurnHasToolResult(body)) return [];
  const picked =
    choice.type === 'tool'
      ? tools.filter((t) => t.name === choice.name).slice(0, 1)
      : tools.slice(0, choice.type === 'any' && choice.disable_parallel_tool_use !== true ? 2 : 1);
  return picked.map((tool, k) => toolBlock(k === 0 ? `toolu_sim_${sequence}` : `toolu_sim_${sequence}_${k}`, tool.name as string, toolArguments(tool.input_schema)));
}

function lastTurnHasToolResult(body: JsonObject): boolean {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  return isObject(last) && last.role === 'user' && Array.isArray(last.content) && last.content.some((b) => isObject(b) && b.type === 'tool_result');
}

/** The thinking budget when thinking is enabled, checked as Anthropic checks it. */
function thinkingBudget(body: JsonObject, maxTokens: number): number | undefined {
  const thinking = body.thinking;
  if (!isObject(thinking) || thinking.type !== 'enabled') return undefined;
  const budget = thinking.budget_tokens;
  if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1024) {
    throw errors.invalidParam('thinking.budget_tokens', 'thinking.budget_tokens: Input should be an integer greater than or equal to 1024.');
  }
  if (maxTokens <= budget) throw errors.invalidParam('max_tokens', '`max_tokens` must be greater than `thinking.budget_tokens`.');
  const choice = isObject(body.tool_choice) ? body.tool_choice.type : undefined;
  if (choice === 'any' || choice === 'tool') throw errors.invalidParam('tool_choice', 'Thinking may not be enabled when tool_choice forces tool use.');
  return budget;
}

interface PromptUsage {
  input: number;
  cacheCreation: number;
  cacheRead: number;
}

/**
 * Input tokens, and the cached prefix: everything up to the last block with `cache_control` (tools,
 * then system, then messages; only text counts). `x-sim-cache: read` reports it as read, else as written.
 */
function promptUsage(body: JsonObject, head: IncomingHead | undefined): PromptUsage {
  let characters = 0;
  let cached = -1;
  const visit = (block: unknown): void => {
    if (!isObject(block)) return;
    if (typeof block.text === 'string') characters += block.text.length;
    if (block.content !== undefined && block.type === 'tool_result') characters += contentCharacters(block.content);
    if (isObject(block.cache_control)) cached = characters;
  };
  if (Array.isArray(body.tools)) body.tools.forEach(visit);
  if (typeof body.system === 'string') characters += body.system.length;
  else if (Array.isArray(body.system)) body.system.forEach(visit);
  for (const message of body.messages as unknown[]) {
    const content = isObject(message) ? message.content : undefined;
    if (typeof content === 'string') characters += content.length;
    else if (Array.isArray(content)) content.forEach(visit);
  }
  const total = estimateTokens(characters);
  if (cached < 0) return { input: total, cacheCreation: 0, cacheRead: 0 };
  const mode = head?.headers['x-sim-cache'] ?? 'write';
  if (mode !== 'read' && mode !== 'write') {
    throw new GatewayError(400, `Header x-sim-cache must be 'read' or 'write', got '${mode}'.`, { param: 'x-sim-cache', code: 'invalid_value' });
  }
  const prefix = estimateTokens(cached);
  return { input: total - prefix, cacheCreation: mode === 'write' ? prefix : 0, cacheRead: mode === 'read' ? prefix : 0 };
}

function usageJson(prompt: PromptUsage, output: number): string {
  return `{"input_tokens":${prompt.input},"cache_creation_input_tokens":${prompt.cacheCreation},"cache_read_input_tokens":${prompt.cacheRead},"output_tokens":${output}}`;
}

export function answerMessages(
  body: JsonObject, plan: RequestPlan, ctx: AnswerContext, _options?: SimulatorOptions, path?: string, head?: IncomingHead,
): Answer {
  const model = requireString(body, 'model');
  requireArray(body, 'messages');
  const prompt = promptUsage(body, head);
  // One table entry in server.ts serves both paths; token counting answers without generating.
  if (path === '/v1/messages/count_tokens') {
    const counted = `{"input_tokens":${prompt.input + prompt.cacheCreation + prompt.cacheRead}}`;
    return { kind: 'whole', answer: { status: 200, headers: jsonHeaders, body: counted, tokens: 0, malformed: counted.slice(0, counted.length >> 1) } };
  }
  const maxTokens = optionalCount(body, 'max_tokens');
  if (maxTokens === undefined) throw errors.missingParam('max_tokens');
  const thinking = thinkingBudget(body, maxTokens) === undefined ? undefined : thinkingBlock(plan.chunk_tokens);
  const blocks: AnswerBlock[] = thinking ? [thinking] : [];
  const tools = chosenTools(body, ctx.sequence);
  const format = isObject(body.output_config) && isObject(body.output_config.format) ? body.output_config.format : undefined;
  const length = answerLength(plan.completion_tokens, Math.max(0, maxTokens - (thinking?.tokens ?? 0)));
  if (tools.length > 0) blocks.push(...tools);
  else if (format?.type === 'json_schema') blocks.push(jsonTextBlock(toolArguments(format.schema)));
  else blocks.push(textBlock(length.tokens, plan.chunk_tokens));
  const stopReason = tools.length > 0 ? 'tool_use' : length.cut && format === undefined ? 'max_tokens' : 'end_turn';
  const outputTokens = blocks.reduce((sum, block) => sum + block.tokens, 0);
  const messageHead = `{"id":"msg_sim_${ctx.sequence}","type":"message","role":"assistant","model":${JSON.stringify(model)},"content":[`;

  if (!isStreaming(body)) {
    return {
      kind: 'whole',
      answer: {
        status: 200,
        headers: jsonHeaders,
        body:
          `${messageHead}${blocks.map((block) => block.whole).join(',')}],"stop_reason":"${stopReason}","stop_sequence":null,` +
          `"usage":${usageJson(prompt, outputTokens)}}`,
        tokens: outputTokens,
        malformed: `${messageHead}{"type":"text","text":"trunc`,
      },
    };
  }
  const start = sse('message_start', `{"type":"message_start","message":${messageHead}],"stop_reason":null,"stop_sequence":null,"usage":${usageJson(prompt, 1)}}}`);
  // message_delta's usage is cumulative, as Anthropic sends it: the totals, not what came since message_start.
  const end =
    sse('message_delta', `{"type":"message_delta","delta":{"stop_reason":"${stopReason}","stop_sequence":null},"usage":${usageJson(prompt, outputTokens)}}`) +
    sse('message_stop', '{"type":"message_stop"}');
  return { kind: 'stream', stream: blockStream(start, blocks, end) };
}

/** The blocks as SSE: block 0 starts in the head, each later block starts with its first delta. */
function blockStream(start: string, blocks: readonly AnswerBlock[], end: string): EventStream {
  const opening = (b: number): string =>
    sse('content_block_start', `{"type":"content_block_start","index":${b},"content_block":${blocks[b].start}}`);
  const closing = (b: number): string => {
    const last = blocks[b].last;
    const lastDelta = last === undefined ? '' : sse('content_block_delta', `{"type":"content_block_delta","index":${b},"delta":${last}}`);
    return lastDelta + sse('content_block_stop', `{"type":"content_block_stop","index":${b}}`);
  };
  /** Closes the block open before `to` and passes any empty blocks between (start and stop at once). */
  const between = (from: number, to: number): string => {
    let text = closing(from);
    for (let k = from + 1; k < to; k++) text += opening(k) + closing(k);
    return text;
  };
  const offsets: number[] = [];
  const opened: number[] = [];
  let total = 0;
  let open = 0;
  for (let b = 0; b < blocks.length; b++) {
    offsets.push(total);
    opened.push(open);
    total += blocks[b].count;
    if (blocks[b].count > 0) open = b;
  }
  return {
    headers: sseHeaders,
    head: start + opening(0) + sse('ping', '{"type":"ping"}'),
    contentCount: total,
    content: (i) => {
      let b = blocks.length - 1;
      while (b > 0 && (offsets[b] > i || blocks[b].count === 0)) b--;
      const j = i - offsets[b];
      const prefix = j === 0 && b > 0 ? between(opened[b], b) + opening(b) : '';
      return `${prefix}${sse('content_block_delta', `{"type":"content_block_delta","index":${b},"delta":${blocks[b].delta(j)}}`)}`;
    },
    tail: between(open, blocks.length) + end,
    malformed: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{\n\n',
  };
}

/** Anthropic's error shape: {"type":"error","error":{"type","message"},"request_id"?}; 529 is its overloaded status. */
export function anthropicErrorBody(error: GatewayError, requestId?: string): string {
  const type = error.status === 503 || error.status === 529 ? 'overloaded_error' : error.type;
  const body: Record<string, unknown> = { type: 'error', error: { type, message: error.message } };
  if (requestId !== undefined) body.request_id = requestId;
  return JSON.stringify(body);
}
