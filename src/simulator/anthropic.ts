// Anthropic Messages answers (/v1/messages), whole and as SSE with `event:` lines.
import { errors, type GatewayError } from '../shared/errors.js';
import type { RequestPlan } from './options.js';
import type { Answer, AnswerContext } from './openai.js';
import { jsonHeaders, sseHeaders } from './openai.js';
import {
  answerLength, argumentPieces, isObject, isStreaming, optionalCount, requireArray, requireString, toolArguments, type JsonObject,
} from './request.js';
import { contentCharacters, estimateTokens, jsonChunkOf, jsonTextOf, messagesCharacters } from './text.js';

function sse(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

interface ToolUse {
  id: string;
  name: string;
  input: string;
}

function chosenTool(body: JsonObject, sequence: number): ToolUse | undefined {
  const tools = body.tools;
  const choice = isObject(body.tool_choice) ? body.tool_choice : undefined;
  if (!Array.isArray(tools) || tools.length === 0 || choice?.type === 'none') return undefined;
  const wanted = choice?.type === 'tool' ? choice.name : undefined;
  const tool = tools.find((t): t is JsonObject => isObject(t) && typeof t.name === 'string' && (wanted === undefined || t.name === wanted));
  if (tool === undefined) return undefined;
  return { id: `toolu_sim_${sequence}`, name: tool.name as string, input: toolArguments(tool.input_schema) };
}

export function answerMessages(body: JsonObject, plan: RequestPlan, ctx: AnswerContext): Answer {
  const model = requireString(body, 'model');
  const messages = requireArray(body, 'messages');
  const maxTokens = optionalCount(body, 'max_tokens');
  if (maxTokens === undefined) throw errors.missingParam('max_tokens');
  const inputTokens = estimateTokens(messagesCharacters(messages) + contentCharacters(body.system));
  const tool = chosenTool(body, ctx.sequence);
  const length = answerLength(plan.completion_tokens, maxTokens);
  const stopReason = tool ? 'tool_use' : length.cut ? 'max_tokens' : 'end_turn';
  const id = `msg_sim_${ctx.sequence}`;
  const modelJson = JSON.stringify(model);
  const pieces = tool ? argumentPieces(tool.input) : [];
  const outputTokens = tool ? pieces.length : length.tokens;

  if (!isStreaming(body)) {
    const content = tool
      ? `{"type":"tool_use","id":"${tool.id}","name":${JSON.stringify(tool.name)},"input":${tool.input}}`
      : `{"type":"text","text":${jsonTextOf(length.tokens)}}`;
    const head = `{"id":"${id}","type":"message","role":"assistant","model":${modelJson},"content":[`;
    return {
      kind: 'whole',
      answer: {
        status: 200,
        headers: jsonHeaders,
        body:
          `${head}${content}],"stop_reason":"${stopReason}","stop_sequence":null,` +
          `"usage":{"input_tokens":${inputTokens},"output_tokens":${outputTokens}}}`,
        tokens: outputTokens,
        malformed: `${head}{"type":"text","text":"trunc`,
      },
    };
  }

  const start = sse(
    'message_start',
    `{"type":"message_start","message":{"id":"${id}","type":"message","role":"assistant","model":${modelJson},"content":[],` +
      `"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${inputTokens},"output_tokens":1}}}`,
  );
  const block = tool
    ? `{"type":"tool_use","id":"${tool.id}","name":${JSON.stringify(tool.name)},"input":{}}`
    : '{"type":"text","text":""}';
  const chunkTokens = plan.chunk_tokens;
  const total = length.tokens;
  return {
    kind: 'stream',
    stream: {
      headers: sseHeaders,
      head: start + sse('content_block_start', `{"type":"content_block_start","index":0,"content_block":${block}}`) + sse('ping', '{"type":"ping"}'),
      contentCount: tool ? pieces.length : Math.ceil(total / chunkTokens),
      content: (i) => {
        const delta = tool
          ? `{"type":"input_json_delta","partial_json":${JSON.stringify(pieces[i])}}`
          : `{"type":"text_delta","text":${jsonChunkOf(i * chunkTokens, Math.min(chunkTokens, total - i * chunkTokens))}}`;
        return sse('content_block_delta', `{"type":"content_block_delta","index":0,"delta":${delta}}`);
      },
      tail:
        sse('content_block_stop', '{"type":"content_block_stop","index":0}') +
        sse(
          'message_delta',
          `{"type":"message_delta","delta":{"stop_reason":"${stopReason}","stop_sequence":null},"usage":{"output_tokens":${outputTokens}}}`,
        ) +
        sse('message_stop', '{"type":"message_stop"}'),
      malformed: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{\n\n',
    },
  };
}

/** Anthropic's error shape: {"type":"error","error":{"type","message"}}. */
export function anthropicErrorBody(error: GatewayError): string {
  const type = error.status === 503 ? 'overloaded_error' : error.type;
  return JSON.stringify({ type: 'error', error: { type, message: error.message } });
}
