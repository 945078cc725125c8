// Anthropic `system` and `messages` (content blocks) into canonical chat messages.
// cache_control and citations have no canonical field and are dropped; so is tool_result.is_error.
import { errors } from '../../shared/errors.js';
import type { ChatMessage, ContentPart, JsonObject, ThinkingBlock, ToolCall } from '../../translate/canonical.js';
import { describe, optionalString, requireArray, requireObject, requireString, unsupported } from './request-fields.js';

/** Several text blocks become one string (system, tool results), separated like paragraphs of one text. */
const textSeparator = '\n';

export function systemMessages(system: unknown): ChatMessage[] {
  if (system === undefined || system === null) return [];
  if (typeof system === 'string') return system === '' ? [] : [{ role: 'system', content: system }];
  if (!Array.isArray(system)) throw errors.invalidParam('system', `system: expected a string or an array of text blocks, got ${describe(system)}.`);
  const texts = system.map((block, i) => {
    const path = `system.${i}`;
    const obj = requireObject(block, path);
    if (obj.type !== 'text') throw errors.invalidParam(`${path}.type`, `${path}.type: system blocks must be of type 'text'.`);
    return requireString(obj, 'text', `${path}.text`);
  });
  return texts.length === 0 ? [] : [{ role: 'system', content: texts.join(textSeparator) }];
}

export function canonicalMessages(messages: unknown[]): ChatMessage[] {
  if (messages.length === 0) throw errors.invalidParam('messages', 'messages: at least one message is required.');
  const out: ChatMessage[] = [];
  messages.forEach((message, i) => {
    const path = `messages.${i}`;
    const obj = requireObject(message, path);
    const role = requireString(obj, 'role', `${path}.role`);
    if (role !== 'user' && role !== 'assistant') {
      throw errors.invalidParam(`${path}.role`, `${path}.role: expected 'user' or 'assistant', got '${role}'.`);
    }
    const content = obj.content;
    if (typeof content === 'string') {
      out.push({ role, content });
      return;
    }
    const blocks = requireArray(obj, 'content', `${path}.content`);
    // Anthropic lets only the final (assistant prefill) message be empty.
    if (blocks.length === 0 && !(role === 'assistant' && i === messages.length - 1)) {
      throw errors.invalidParam(`${path}.content`, `${path}.content: a message must have at least one content block.`);
    }
    if (role === 'user') out.push(...userMessages(blocks, `${path}.content`));
    else out.push(assistantMessage(blocks, `${path}.content`));
  });
  return out;
}

/** A single text part is plain string content, as most clients send it. */
function partsContent(parts: ContentPart[]): string | ContentPart[] {
  return parts.length === 1 && parts[0].type === 'text' && typeof parts[0].text === 'string' ? parts[0].text : parts;
}

/** tool_result blocks become `tool` messages in place; the other blocks around them user messages. */
function userMessages(blocks: unknown[], path: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  let parts: ContentPart[] = [];
  const flush = () => {
    if (parts.length > 0) out.push({ role: 'user', content: partsContent(parts) });
    parts = [];
  };
  blocks.forEach((block, j) => {
    const at = `${path}.${j}`;
    const obj = requireObject(block, at);
    const type = requireString(obj, 'type', `${at}.type`);
    if (type === 'tool_result') {
      flush();
      out.push(toolMessage(obj, at));
      return;
    }
    if (type === 'tool_use' || type === 'thinking' || type === 'redacted_thinking') {
      throw errors.invalidParam(`${at}.type`, `${at}.type: '${type}' blocks are only allowed in assistant messages.`);
    }
    parts.push(userPart(obj, type, at));
  });
  flush();
  return out;
}

function userPart(obj: JsonObject, type: string, at: string): ContentPart {
  if (type === 'text') return { type: 'text', text: requireString(obj, 'text', `${at}.text`) };
  if (type === 'image') return imagePart(obj, at);
  if (type === 'document') return documentPart(obj, at);
  return unsupported(`${at}.type`, `a '${type}' content block`);
}

function imagePart(obj: JsonObject, at: string): ContentPart {
  const source = requireObject(obj.source, `${at}.source`);
  const sourceType = requireString(source, 'type', `${at}.source.type`);
  if (sourceType === 'base64') {
    const mediaType = requireString(source, 'media_type', `${at}.source.media_type`);
    const data = requireString(source, 'data', `${at}.source.data`);
    return { type: 'image_url', image_url: { url: `data:${mediaType};base64,${data}` } };
  }
  if (sourceType === 'url') return { type: 'image_url', image_url: { url: requireString(source, 'url', `${at}.source.url`) } };
  return unsupported(`${at}.source.type`, `an image source of type '${sourceType}'`);
}

/** Only a plain-text document has a canonical form (its text); PDFs, URLs and files do not. */
function documentPart(obj: JsonObject, at: string): ContentPart {
  const source = requireObject(obj.source, `${at}.source`);
  if (source.type !== 'text') return unsupported(`${at}.type`, `a 'document' block with a '${String(source.type)}' source`);
  return { type: 'text', text: requireString(source, 'data', `${at}.source.data`) };
}

function toolMessage(obj: JsonObject, at: string): ChatMessage {
  const toolCallId = requireString(obj, 'tool_use_id', `${at}.tool_use_id`);
  const content = obj.content;
  if (content === undefined || content === null) return { role: 'tool', tool_call_id: toolCallId, content: '' };
  if (typeof content === 'string') return { role: 'tool', tool_call_id: toolCallId, content };
  const blocks = requireArray(obj, 'content', `${at}.content`);
  const parts = blocks.map((block, k) => {
    const inner = `${at}.content.${k}`;
    const b = requireObject(block, inner);
    const type = requireString(b, 'type', `${inner}.type`);
    if (type === 'text') return { type: 'text', text: requireString(b, 'text', `${inner}.text`) } as const;
    if (type === 'image') return imagePart(b, inner);
    if (type === 'document') return documentPart(b, inner);
    return unsupported(`${inner}.type`, `a '${type}' block in a tool result`);
  });
  const allText = parts.every((p) => p.type === 'text');
  return {
    role: 'tool',
    tool_call_id: toolCallId,
    content: allText ? parts.map((p) => (p as { text: string }).text).join(textSeparator) : parts,
  };
}

function assistantMessage(blocks: unknown[], path: string): ChatMessage {
  const parts: ContentPart[] = [];
  const toolCalls: ToolCall[] = [];
  const thinkingBlocks: ThinkingBlock[] = [];
  const reasoning: string[] = [];
  blocks.forEach((block, j) => {
    const at = `${path}.${j}`;
    const obj = requireObject(block, at);
    const type = requireString(obj, 'type', `${at}.type`);
    switch (type) {
      case 'text':
        parts.push({ type: 'text', text: requireString(obj, 'text', `${at}.text`) });
        return;
      case 'tool_use': {
        const input = requireObject(obj.input, `${at}.input`);
        toolCalls.push({
          id: requireString(obj, 'id', `${at}.id`),
          type: 'function',
          function: { name: requireString(obj, 'name', `${at}.name`), arguments: JSON.stringify(input) },
        });
        return;
      }
      case 'thinking': {
        const thinking = requireString(obj, 'thinking', `${at}.thinking`);
        const signature = optionalString(obj, 'signature', `${at}.signature`);
        // An empty signature is how this dialect answers unsigned reasoning (see response.ts): not a signature.
        thinkingBlocks.push(signature ? { type: 'thinking', thinking, signature } : { type: 'thinking', thinking });
        if (thinking !== '') reasoning.push(thinking);
        return;
      }
      case 'redacted_thinking':
        thinkingBlocks.push({ type: 'redacted_thinking', data: requireString(obj, 'data', `${at}.data`) });
        return;
      case 'tool_result':
      case 'image':
      case 'document':
        throw errors.invalidParam(`${at}.type`, `${at}.type: '${type}' blocks are only allowed in user messages.`);
      default:
        unsupported(`${at}.type`, `a '${type}' content block`);
    }
  });
  const message: ChatMessage = {
    role: 'assistant',
    content: parts.length > 0 ? partsContent(parts) : toolCalls.length > 0 ? null : '',
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning.length > 0) message.reasoning_content = reasoning.join(textSeparator);
  if (thinkingBlocks.length > 0) message.thinking_blocks = thinkingBlocks;
  return message;
}
