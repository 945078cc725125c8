// A Responses `input` (a string or a list of items) as canonical chat messages. Items are the turn's
// history: messages, the model's function calls and their outputs, and reasoning, which goes onto the
// assistant message that follows it (Responses keeps them as separate items, chat as one message).
import { errors } from '../../shared/errors.js';
import type { ChatMessage, ContentPart, JsonObject, ThinkingBlock, ToolCall } from '../../translate/canonical.js';
import { invalid, optionalArray, optionalString, requireObject, requireString } from './fields.js';
import { decodeThinkingBlocks } from './reasoning.js';

const roles = new Set(['user', 'system', 'developer', 'assistant']);

/** Reasoning waiting for the assistant message it belongs to. */
interface PendingReasoning {
  text: string;
  blocks: ThinkingBlock[];
}

export function inputMessages(input: unknown): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (input === undefined || input === null) throw errors.missingParam('input');
  if (!Array.isArray(input)) throw invalid('input', 'a string or an array of input items', input);
  const messages: ChatMessage[] = [];
  let reasoning: PendingReasoning | undefined;
  /** The assistant message the previous item produced, which a following function call joins. */
  let assistant: ChatMessage | undefined;
  const openAssistant = (): ChatMessage => {
    const message: ChatMessage = { role: 'assistant', content: null };
    if (reasoning !== undefined) {
      if (reasoning.text !== '') message.reasoning_content = reasoning.text;
      if (reasoning.blocks.length > 0) message.thinking_blocks = reasoning.blocks;
      reasoning = undefined;
    }
    messages.push(message);
    return message;
  };
  input.forEach((raw, i) => {
    const path = `input[${i}]`;
    const item = requireObject(raw, path);
    const type = optionalString(item, 'type', `${path}.type`) ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = requireString(item, 'role', `${path}.role`);
        if (!roles.has(role)) throw errors.invalidParam(`${path}.role`, `Invalid '${path}.role': expected one of user, system, developer, assistant, got '${role}'.`);
        if (role === 'assistant') {
          const message = openAssistant();
          message.content = assistantText(item.content, `${path}.content`);
          assistant = message;
        } else {
          messages.push({ role: role as ChatMessage['role'], content: userContent(item.content, `${path}.content`) });
          assistant = undefined;
        }
        return;
      }
      case 'function_call': {
        const call: ToolCall = {
          id: requireString(item, 'call_id', `${path}.call_id`),
          type: 'function',
          function: { name: requireString(item, 'name', `${path}.name`), arguments: requireString(item, 'arguments', `${path}.arguments`) },
        };
        assistant ??= openAssistant();
        (assistant.tool_calls ??= []).push(call);
        return;
      }
      case 'function_call_output':
        messages.push({
          role: 'tool',
          tool_call_id: requireString(item, 'call_id', `${path}.call_id`),
          content: toolOutput(item.output, `${path}.output`),
        });
        assistant = undefined;
        return;
      case 'reasoning':
        reasoning = mergeReasoning(reasoning, item, path);
        assistant = undefined;
        return;
      case 'item_reference':
        throw errors.invalidParam(
          `${path}.type`,
          `Invalid '${path}.type': item references need stored responses, which this gateway does not keep; send the items themselves (with the AI SDK: providerOptions.openai.store = false).`,
        );
      case undefined:
        throw errors.missingParam(`${path}.type`);
      default:
        throw errors.invalidParam(`${path}.type`, `Invalid '${path}.type': '${type}' items are not supported through this gateway; only message, function_call, function_call_output and reasoning items are.`);
    }
  });
  return messages;
}

function reasoningTexts(item: JsonObject, key: 'summary' | 'content', path: string): string[] {
  const parts = optionalArray(item, key, `${path}.${key}`) ?? [];
  return parts.map((part, j) => requireString(requireObject(part, `${path}.${key}[${j}]`), 'text', `${path}.${key}[${j}].text`));
}

function mergeReasoning(pending: PendingReasoning | undefined, item: JsonObject, path: string): PendingReasoning {
  // A summary says the same as the reasoning text, shorter; a model that shows its reasoning fills `content`.
  const summary = reasoningTexts(item, 'summary', path);
  const content = reasoningTexts(item, 'content', path);
  const text = (summary.length > 0 ? summary : content).join('\n\n');
  const encrypted = optionalString(item, 'encrypted_content', `${path}.encrypted_content`);
  const blocks = encrypted === undefined ? undefined : decodeThinkingBlocks(encrypted);
  const joined = pending === undefined || pending.text === '' ? text : text === '' ? pending.text : `${pending.text}\n\n${text}`;
  return { text: joined, blocks: [...(pending?.blocks ?? []), ...(blocks ?? [])] };
}

function assistantText(content: unknown, path: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(path, 'a string or an array of content parts', content);
  let text = '';
  content.forEach((raw, j) => {
    const partPath = `${path}[${j}]`;
    const part = requireObject(raw, partPath);
    const type = requireString(part, 'type', `${partPath}.type`);
    if (type === 'output_text' || type === 'input_text') text += requireString(part, 'text', `${partPath}.text`);
    else if (type === 'refusal') text += requireString(part, 'refusal', `${partPath}.refusal`);
    else throw errors.invalidParam(`${partPath}.type`, `Invalid '${partPath}.type': an assistant message takes output_text and refusal parts, got '${type}'.`);
  });
  return text;
}

function userContent(content: unknown, path: string): string | ContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(path, 'a string or an array of content parts', content);
  return content.map((raw, j) => inputPart(raw, `${path}[${j}]`));
}

function inputPart(raw: unknown, path: string): ContentPart {
  const part = requireObject(raw, path);
  const type = requireString(part, 'type', `${path}.type`);
  switch (type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: requireString(part, 'text', `${path}.text`) };
    case 'input_image': {
      if (part.file_id !== undefined && part.file_id !== null) throw noFileIds(`${path}.file_id`);
      const url = requireString(part, 'image_url', `${path}.image_url`);
      const detail = optionalString(part, 'detail', `${path}.detail`);
      return { type: 'image_url', image_url: detail === undefined ? { url } : { url, detail } };
    }
    case 'input_file': {
      if (part.file_id !== undefined && part.file_id !== null) throw noFileIds(`${path}.file_id`);
      if (part.file_url !== undefined && part.file_url !== null) {
        throw errors.invalidParam(`${path}.file_url`, `Invalid '${path}.file_url': files by URL are not supported through this gateway; send file_data.`);
      }
      const file: JsonObject = { file_data: requireString(part, 'file_data', `${path}.file_data`) };
      const filename = optionalString(part, 'filename', `${path}.filename`);
      if (filename !== undefined) file.filename = filename;
      return { type: 'file', file };
    }
    default:
      throw errors.invalidParam(`${path}.type`, `Invalid '${path}.type': expected input_text, input_image or input_file, got '${type}'.`);
  }
}

function noFileIds(path: string) {
  return errors.invalidParam(path, `Invalid '${path}': uploaded files (file_id) are not supported through this gateway; send the image as a URL or data URL.`);
}

/** A function's output: a string, or parts (text, images) for providers that take them in tool results. */
function toolOutput(output: unknown, path: string): string | ContentPart[] {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) throw invalid(path, 'a string or an array of content parts', output);
  const parts = output.map((raw, j) => inputPart(raw, `${path}[${j}]`));
  return parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('') : parts;
}

