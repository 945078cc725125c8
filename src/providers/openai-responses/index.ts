// Reads Responses API answers in the canonical form, for a Responses request the gateway forwards unchanged
// to an OpenAI-type provider: the relay meters and guards the canonical view and passes the bytes on.
import { errors } from '../../shared/errors.js';
import type { ChatCompletion, JsonObject, ToolCall } from '../../translate/canonical.js';
import type { ProviderTarget, StreamDecoder } from '../../translate/provider.js';
import { canonicalUsage, finishOf, isObject } from './response-fields.js';
import { ResponsesStreamDecoder } from './stream.js';

function textOf(parts: unknown, key: 'text' | 'refusal', type: string): string {
  if (!Array.isArray(parts)) return '';
  let text = '';
  for (const part of parts) if (isObject(part) && part.type === type && typeof part[key] === 'string') text += part[key];
  return text;
}

function completionOf(body: JsonObject, target: ProviderTarget): ChatCompletion {
  const output = body.output;
  if (body.object !== 'response' || !Array.isArray(output)) {
    throw errors.upstreamInvalidResponse(target.provider.name, 'the body is not a Responses API response object.');
  }
  let content = '';
  let refusal = '';
  let reasoning = '';
  const calls: ToolCall[] = [];
  for (const item of output) {
    if (!isObject(item)) continue;
    if (item.type === 'message') {
      content += textOf(item.content, 'text', 'output_text');
      refusal += textOf(item.content, 'refusal', 'refusal');
    } else if (item.type === 'reasoning') {
      reasoning += textOf(item.summary, 'text', 'summary_text') || textOf(item.content, 'text', 'reasoning_text');
    } else if (item.type === 'function_call' && typeof item.call_id === 'string' && typeof item.name === 'string') {
      calls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '' } });
    }
    // Built-in tool items (web_search_call, …) reach the client unchanged; they carry no text to meter or guard.
  }
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: content === '' && calls.length > 0 ? null : content };
  if (refusal !== '') message.refusal = refusal;
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  const completion: ChatCompletion = {
    id: typeof body.id === 'string' ? body.id : `chatcmpl-${target.requestId}`,
    object: 'chat.completion',
    created: typeof body.created_at === 'number' ? body.created_at : target.created,
    model: typeof body.model === 'string' ? body.model : target.upstreamModel,
    choices: [{ index: 0, message, finish_reason: finishOf(body, calls.length > 0), logprobs: null }],
  };
  if (isObject(body.usage)) completion.usage = canonicalUsage(body.usage);
  return completion;
}

export const responsesPassThrough = {
  response: completionOf,
  stream: (target: ProviderTarget): StreamDecoder => new ResponsesStreamDecoder(target),
};
