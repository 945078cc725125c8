// OpenAI chat.completion and text_completion answers, whole and as SSE, built as strings without
// stringifying response objects on the hot path.
import type { HeaderList } from '../server/http.js';
import { errors } from '../shared/errors.js';
import type { EventStream, WholeAnswer } from './delivery.js';
import type { RequestPlan } from './options.js';
import {
  answerLength, argumentPieces, includeUsage, isObject, isStreaming, optionalCount, requireArray, requireString, toolArguments,
  type JsonObject,
} from './request.js';
import { structuredAnswer } from './schema-value.js';
import { contentCharacters, estimateTokens, jsonChunkOf, jsonTextOf, messagesCharacters } from './text.js';

export const jsonHeaders: HeaderList = [['content-type', 'application/json']];
export const sseHeaders: HeaderList = [
  ['content-type', 'text/event-stream'],
  ['cache-control', 'no-cache'],
];

const fingerprint = '"system_fingerprint":"fp_switchyard_sim"';
const done = 'data: [DONE]\n\n';

/** Request-independent facts every answer carries. */
export interface AnswerContext {
  /** Unique per simulator, for ids. */
  sequence: number;
  /** Epoch seconds. */
  created: number;
}

export type Answer = { kind: 'whole'; answer: WholeAnswer } | { kind: 'stream'; stream: EventStream };

function usageJson(prompt: number, completion: number, reasoning = 0): string {
  return (
    `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},` +
    `"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":${reasoning}}}`
  );
}

/** Reasoning models as DeepSeek and Qwen serve them: the thinking comes first, as reasoning_content. */
const reasoningText = 'The user greets me; a short friendly answer fits.';
const reasoningTokens = estimateTokens(reasoningText.length);
const isReasoningModel = (model: string): boolean => model.includes('reasoner');

interface ToolCall {
  id: string;
  name: string;
  args: string;
}

/** The tool the request obliges or allows the model to call, unless tool_choice is "none". */
function chosenTool(body: JsonObject, sequence: number): ToolCall | undefined {
  const tools = body.tools;
  if (!Array.isArray(tools) || tools.length === 0 || body.tool_choice === 'none') return undefined;
  const choice = body.tool_choice;
  // After a tool result, "auto" answers in text, so an agent's tool loop comes to an end.
  if ((choice === undefined || choice === 'auto') && lastMessageIsToolResult(body)) return undefined;
  const wanted = isObject(choice) && isObject(choice.function) ? choice.function.name : undefined;
  const functions = tools.map((tool) => (isObject(tool) && isObject(tool.function) ? tool.function : undefined));
  const fn = functions.find((f) => f !== undefined && (wanted === undefined || f.name === wanted));
  if (fn === undefined || typeof fn.name !== 'string') return undefined;
  return { id: `call_sim_${sequence}`, name: fn.name, args: toolArguments(fn.parameters) };
}

function lastMessageIsToolResult(body: JsonObject): boolean {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  return isObject(last) && last.role === 'tool';
}

export function answerChat(body: JsonObject, plan: RequestPlan, ctx: AnswerContext): Answer {
  const model = requireString(body, 'model');
  const messages = requireArray(body, 'messages');
  const limit = optionalCount(body, 'max_completion_tokens') ?? optionalCount(body, 'max_tokens');
  const promptTokens = estimateTokens(messagesCharacters(messages));
  const tool = chosenTool(body, ctx.sequence);
  const structured = tool ? undefined : structuredPieces(body.response_format, limit);
  const length = answerLength(plan.completion_tokens, limit);
  const head = `{"id":"chatcmpl-sim-${ctx.sequence}","object":"chat.completion","created":${ctx.created},"model":${JSON.stringify(model)}`;
  if (isStreaming(body)) {
    return { kind: 'stream', stream: chatStream(head, tool, structured, length, promptTokens, plan.chunk_tokens, includeUsage(body), isReasoningModel(model)) };
  }
  let message: string;
  let completionTokens: number;
  let finish: string;
  if (tool) {
    const call = `{"id":"${tool.id}","type":"function","function":{"name":${JSON.stringify(tool.name)},"arguments":${JSON.stringify(tool.args)}}}`;
    message = `{"role":"assistant","content":null,"tool_calls":[${call}],"refusal":null,"annotations":[]}`;
    completionTokens = argumentPieces(tool.args).length;
    finish = 'tool_calls';
  } else if (structured) {
    message = `{"role":"assistant","content":${JSON.stringify(structured.pieces.join(''))},"refusal":null,"annotations":[]}`;
    completionTokens = structured.pieces.length;
    finish = structured.cut ? 'length' : 'stop';
  } else {
    const reasoning = isReasoningModel(model) ? `"reasoning_content":${JSON.stringify(reasoningText)},` : '';
    message = `{"role":"assistant",${reasoning}"content":${jsonTextOf(length.tokens)},"refusal":null,"annotations":[]}`;
    completionTokens = length.tokens;
    finish = length.cut ? 'length' : 'stop';
  }
  const reasoned = !tool && !structured && isReasoningModel(model) ? reasoningTokens : 0;
  return {
    kind: 'whole',
    answer: {
      status: 200,
      headers: jsonHeaders,
      body:
        `${head},"choices":[{"index":0,"message":${message},"logprobs":null,"finish_reason":"${finish}"}],` +
        `"usage":${usageJson(promptTokens, completionTokens + reasoned, reasoned)},"service_tier":"default",${fingerprint}}`,
      tokens: completionTokens,
      malformed: `${head},"choices":[{"index":0,"message":{"role":"assistant","content":"trunc`,
    },
  };
}

/** A structured-output answer (response_format json_object / json_schema) as pieces of one token each, cut by the limit. */
export interface StructuredPieces {
  pieces: string[];
  cut: boolean;
}

export function structuredPieces(format: unknown, limit: number | undefined): StructuredPieces | undefined {
  const json = structuredAnswer(format);
  if (json === undefined) return undefined;
  const pieces = argumentPieces(json);
  if (limit !== undefined && limit < pieces.length) return { pieces: pieces.slice(0, limit), cut: true };
  return { pieces, cut: false };
}

function chatStream(
  objectHead: string,
  tool: ToolCall | undefined,
  structured: StructuredPieces | undefined,
  length: { tokens: number; cut: boolean },
  promptTokens: number,
  chunkTokens: number,
  withUsage: boolean,
  reasons: boolean,
): EventStream {
  const prefix = `data: ${objectHead.replace('"chat.completion"', '"chat.completion.chunk"')},${fingerprint},"choices":[{"index":0,"delta":`;
  const suffix = withUsage ? '}],"usage":null}\n\n' : '}]}\n\n';
  const event = (delta: string, finish: string): string => `${prefix}${delta},"logprobs":null,"finish_reason":${finish}${suffix}`;
  const usageEvent = (completion: number, reasoning = 0): string =>
    withUsage
      ? `data: ${objectHead.replace('"chat.completion"', '"chat.completion.chunk"')},${fingerprint},"choices":[],"usage":${usageJson(promptTokens, completion + reasoning, reasoning)}}\n\n`
      : '';
  const malformed = `${prefix}{"content":"unterminated}\n\n`;
  if (tool) {
    const pieces = argumentPieces(tool.args);
    const opening = `{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"${tool.id}","type":"function","function":{"name":${JSON.stringify(tool.name)},"arguments":""}}],"refusal":null}`;
    return {
      headers: sseHeaders,
      head: event(opening, 'null'),
      contentCount: pieces.length,
      content: (i) => event(`{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(pieces[i])}}}]}`, 'null'),
      tail: event('{}', '"tool_calls"') + usageEvent(pieces.length) + done,
      malformed,
    };
  }
  const roleEvent = event('{"role":"assistant","content":"","refusal":null}', 'null');
  if (structured) {
    const { pieces } = structured;
    return {
      headers: sseHeaders,
      head: roleEvent,
      contentCount: Math.ceil(pieces.length / chunkTokens),
      content: (i) => event(`{"content":${JSON.stringify(pieces.slice(i * chunkTokens, (i + 1) * chunkTokens).join(''))}}`, 'null'),
      tail: event('{}', structured.cut ? '"length"' : '"stop"') + usageEvent(pieces.length) + done,
      malformed,
    };
  }
  const total = length.tokens;
  const reasoning = reasons ? event(`{"reasoning_content":${JSON.stringify(reasoningText)}}`, 'null') : '';
  return {
    headers: sseHeaders,
    head: roleEvent + reasoning,
    contentCount: Math.ceil(total / chunkTokens),
    content: (i) => {
      const from = i * chunkTokens;
      return event(`{"content":${jsonChunkOf(from, Math.min(chunkTokens, total - from))}}`, 'null');
    },
    tail: event('{}', length.cut ? '"length"' : '"stop"') + usageEvent(total, reasons ? reasoningTokens : 0) + done,
    malformed,
  };
}

/** Characters of a legacy prompt: a string, strings, or token arrays (counted at 4 characters a token). */
function promptCharacters(prompt: unknown): number {
  if (typeof prompt === 'string') return prompt.length;
  if (!Array.isArray(prompt)) return 0;
  let total = 0;
  for (const item of prompt) total += typeof item === 'number' ? 4 : Array.isArray(item) ? item.length * 4 : contentCharacters(item);
  return total;
}

export function answerCompletion(body: JsonObject, plan: RequestPlan, ctx: AnswerContext): Answer {
  const model = requireString(body, 'model');
  if (body.prompt === undefined) throw errors.missingParam('prompt');
  const promptTokens = estimateTokens(promptCharacters(body.prompt));
  const length = answerLength(plan.completion_tokens, optionalCount(body, 'max_tokens'));
  const finish = length.cut ? '"length"' : '"stop"';
  const head = `{"id":"cmpl-sim-${ctx.sequence}","object":"text_completion","created":${ctx.created},"model":${JSON.stringify(model)}`;
  if (!isStreaming(body)) {
    return {
      kind: 'whole',
      answer: {
        status: 200,
        headers: jsonHeaders,
        body:
          `${head},"choices":[{"text":${jsonTextOf(length.tokens)},"index":0,"logprobs":null,"finish_reason":${finish}}],` +
          `"usage":${usageJson(promptTokens, length.tokens)},${fingerprint}}`,
        tokens: length.tokens,
        malformed: `${head},"choices":[{"text":"trunc`,
      },
    };
  }
  const withUsage = includeUsage(body);
  const chunkTokens = plan.chunk_tokens;
  const total = length.tokens;
  const event = (text: string, finishReason: string): string =>
    `data: ${head},${fingerprint},"choices":[{"text":${text},"index":0,"logprobs":null,"finish_reason":${finishReason}}]${withUsage ? ',"usage":null' : ''}}\n\n`;
  const usageEvent = withUsage ? `data: ${head},${fingerprint},"choices":[],"usage":${usageJson(promptTokens, total)}}\n\n` : '';
  return {
    kind: 'stream',
    stream: {
      headers: sseHeaders,
      head: '',
      contentCount: Math.ceil(total / chunkTokens),
      content: (i) => {
        const from = i * chunkTokens;
        return event(jsonChunkOf(from, Math.min(chunkTokens, total - from)), 'null');
      },
      tail: event('""', finish) + usageEvent + done,
      malformed: `data: ${head},"choices":[{"text":"unterminated}\n\n`,
    },
  };
}
