// Bedrock Converse answers: a JSON body, or ConverseStream's binary event stream built with AWS's codec.
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { HeaderList } from '../server/http.js';
import { errors } from '../shared/errors.js';
import type { Answer, AnswerContext } from './openai.js';
import type { RequestPlan } from './options.js';
import { answerLength, argumentPieces, isObject, optionalCount, requireArray, toolArguments, type JsonObject } from './request.js';
import { jsonChunkOf, jsonTextOf, tokenRange } from './text.js';
import { cacheUsage } from './bedrock-cache.js';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Reasoning tokens the simulator "thinks" when thinking is enabled (fewer if the budget is smaller). */
const reasoningTokens = 8;

function eventMessage(eventType: string, payload: string): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(payload),
  });
}

/** A message whose checksum does not match: what the malformed fault writes. */
function corruptMessage(): Uint8Array {
  const bytes = eventMessage('contentBlockDelta', '{"contentBlockIndex":0,"delta":{"text":"corrupt"}}');
  bytes[bytes.length - 1] ^= 0xff;
  return bytes;
}

const delta = (index: number, value: string): Uint8Array => eventMessage('contentBlockDelta', `{"contentBlockIndex":${index},"delta":${value}}`);

interface ToolUse {
  id: string;
  name: string;
  input: string;
}

/** The last turn hands tool results back. */
function answersToolResults(messages: readonly unknown[]): boolean {
  const last = messages.at(-1);
  return isObject(last) && Array.isArray(last.content) && last.content.some((block) => isObject(block) && isObject(block.toolResult));
}

/**
 * The tool toolChoice names, else the first: like the other families, tools given means one call —
 * except right after tool results without a forcing toolChoice (any/tool), so an agent's loop ends.
 */
function chosenTool(body: JsonObject, messages: readonly unknown[], sequence: number): ToolUse | undefined {
  const config = isObject(body.toolConfig) ? body.toolConfig : undefined;
  const specs = (Array.isArray(config?.tools) ? config.tools : [])
    .map((t) => (isObject(t) && isObject(t.toolSpec) ? t.toolSpec : undefined))
    .filter((s): s is JsonObject => s !== undefined && typeof s.name === 'string');
  if (specs.length === 0) return undefined;
  const choice = isObject(config?.toolChoice) ? config.toolChoice : undefined;
  if (answersToolResults(messages) && !isObject(choice?.any) && !isObject(choice?.tool)) return undefined;
  const wanted = isObject(choice?.tool) ? choice.tool.name : undefined;
  const spec = specs.find((s) => s.name === wanted) ?? specs[0];
  const schema = isObject(spec.inputSchema) ? spec.inputSchema.json : undefined;
  return { id: `tooluse_sim_${sequence}`, name: spec.name as string, input: toolArguments(schema) };
}

/** Tokens of reasoning when additionalModelRequestFields.thinking is enabled, else 0. */
function thinkingTokens(body: JsonObject): number {
  const fields = isObject(body.additionalModelRequestFields) ? body.additionalModelRequestFields : undefined;
  const thinking = isObject(fields?.thinking) ? fields.thinking : undefined;
  if (thinking?.type !== 'enabled') return 0;
  const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : reasoningTokens;
  return Math.max(1, Math.min(reasoningTokens, budget));
}

function maxTokensOf(body: JsonObject): number | undefined {
  if (body.inferenceConfig === undefined) return undefined;
  if (!isObject(body.inferenceConfig)) throw errors.invalidParam('inferenceConfig', "'inferenceConfig' must be an object.");
  return optionalCount(body.inferenceConfig, 'maxTokens');
}

const signatureOf = (sequence: number): string => Buffer.from(`switchyard-sim-signature-${sequence}`).toString('base64');

export function answerConverse(body: JsonObject, plan: RequestPlan, ctx: AnswerContext, streaming: boolean, headers: HeaderList): Answer {
  const messages = requireArray(body, 'messages');
  if (body.system !== undefined && !Array.isArray(body.system)) throw errors.invalidParam('system', "'system' must be an array.");
  const usage = cacheUsage(Array.isArray(body.system) ? body.system : [], messages);
  const tool = chosenTool(body, messages, ctx.sequence);
  const thinking = thinkingTokens(body);
  const length = answerLength(plan.completion_tokens, maxTokensOf(body));
  const pieces = tool ? argumentPieces(tool.input) : [];
  const stopReason = tool ? 'tool_use' : length.cut ? 'max_tokens' : 'end_turn';
  const outputTokens = thinking + (tool ? pieces.length : length.tokens);
  const latencyMs = Math.round(plan.ttft_ms + (plan.tokens_per_second > 0 ? (outputTokens * 1000) / plan.tokens_per_second : 0));
  const usageJson =
    `{"inputTokens":${usage.input},"outputTokens":${outputTokens},"totalTokens":${usage.input + usage.read + usage.write + outputTokens}` +
    (usage.cached ? `,"cacheReadInputTokens":${usage.read},"cacheWriteInputTokens":${usage.write}}` : '}');
  const reasoningText = JSON.stringify(tokenRange(0, thinking));
  const signature = signatureOf(ctx.sequence);

  if (!streaming) {
    const blocks: string[] = [];
    if (thinking > 0) blocks.push(`{"reasoningContent":{"reasoningText":{"text":${reasoningText},"signature":"${signature}"}}}`);
    blocks.push(tool ? `{"toolUse":{"toolUseId":"${tool.id}","name":${JSON.stringify(tool.name)},"input":${tool.input}}}` : `{"text":${jsonTextOf(length.tokens)}}`);
    const head = '{"output":{"message":{"role":"assistant","content":[';
    return {
      kind: 'whole',
      answer: {
        status: 200,
        headers,
        body: `${head}${blocks.join(',')}]}},"stopReason":"${stopReason}","usage":${usageJson},"metrics":{"latencyMs":${latencyMs}}}`,
        tokens: outputTokens,
        malformed: `${head}{"text":"trunc`,
      },
    };
  }

  const index = thinking > 0 ? 1 : 0;
  const headParts: Uint8Array[] = [eventMessage('messageStart', '{"role":"assistant"}')];
  if (thinking > 0) {
    for (let k = 0; k < thinking; k++) headParts.push(delta(0, `{"reasoningContent":{"text":${jsonChunkOf(k, 1)}}}`));
    headParts.push(delta(0, `{"reasoningContent":{"signature":"${signature}"}}`), eventMessage('contentBlockStop', '{"contentBlockIndex":0}'));
  }
  if (tool) {
    headParts.push(eventMessage('contentBlockStart', `{"start":{"toolUse":{"toolUseId":"${tool.id}","name":${JSON.stringify(tool.name)}}},"contentBlockIndex":${index}}`));
  }
  const chunkTokens = plan.chunk_tokens;
  const total = length.tokens;
  return {
    kind: 'stream',
    stream: {
      headers,
      head: Buffer.concat(headParts),
      contentCount: tool ? pieces.length : Math.ceil(total / chunkTokens),
      content: (i) =>
        tool
          ? delta(index, `{"toolUse":{"input":${JSON.stringify(pieces[i])}}}`)
          : delta(index, `{"text":${jsonChunkOf(i * chunkTokens, Math.min(chunkTokens, total - i * chunkTokens))}}`),
      tail: Buffer.concat([
        eventMessage('contentBlockStop', `{"contentBlockIndex":${index}}`),
        eventMessage('messageStop', `{"stopReason":"${stopReason}"}`),
        eventMessage('metadata', `{"usage":${usageJson},"metrics":{"latencyMs":${latencyMs}}}`),
      ]),
      malformed: corruptMessage(),
    },
  };
}
