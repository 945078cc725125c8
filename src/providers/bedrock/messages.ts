// Canonical chat messages → Converse `system` and `messages` (content blocks, alternating user/assistant turns).
import { errors } from '../../shared/errors.js';
import type { ChatMessage, ContentPart, JsonObject, ThinkingBlock, ToolCall } from '../../translate/canonical.js';

export type ContentBlock = JsonObject;

export interface Turn {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface ConverseMessages {
  system: ContentBlock[];
  messages: Turn[];
  /** Some turn carries toolUse/toolResult blocks: Bedrock then needs a toolConfig. */
  usesTools: boolean;
}

const imageFormats: Readonly<Record<string, string>> = { png: 'png', jpeg: 'jpeg', jpg: 'jpeg', gif: 'gif', webp: 'webp' };
const dataUrl = /^data:image\/([a-z]+);base64,(.*)$/s;

/**
 * System and developer messages (wherever they are) become `system` text blocks in order; tool messages
 * become toolResult blocks of a user turn; consecutive turns of one role are merged, as Converse wants
 * them alternating. Empty text is left out (Converse refuses blank text blocks), and so is a turn left empty.
 */
export function toConverseMessages(messages: readonly ChatMessage[]): ConverseMessages {
  const system: ContentBlock[] = [];
  const turns: Turn[] = [];
  let usesTools = false;
  const add = (role: Turn['role'], content: ContentBlock[]): void => {
    if (content.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };
  messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(message.content, at));
        break;
      case 'user':
        add('user', userBlocks(message.content, at));
        break;
      case 'assistant': {
        const blocks = assistantBlocks(message, at);
        usesTools ||= blocks.some((b) => b.toolUse !== undefined);
        add('assistant', blocks);
        break;
      }
      case 'tool':
        usesTools = true;
        add('user', [toolResultBlock(message, at)]);
        break;
      default:
        throw errors.invalidParam(`${at}.role`, `Unknown message role '${String((message as { role: unknown }).role)}'.`);
    }
  });
  return { system, messages: turns, usesTools };
}

function partsOf(content: ChatMessage['content']): ContentPart[] {
  if (content === undefined || content === null) return [];
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function textOf(part: ContentPart): string | undefined {
  if (part.type === 'text' && typeof part.text === 'string') return part.text;
  return part.type === 'refusal' && typeof part.refusal === 'string' ? part.refusal : undefined;
}

/** Content where only text is allowed (system, tool results). */
function textBlocks(content: ChatMessage['content'], at: string): ContentBlock[] {
  return partsOf(content).flatMap((part, j) => {
    const text = textOf(part);
    if (text === undefined) throw errors.invalidParam(`${at}.content[${j}]`, `Only text content is supported here on Bedrock, not '${String(part.type)}'.`);
    return text === '' ? [] : [{ text }];
  });
}

function userBlocks(content: ChatMessage['content'], at: string): ContentBlock[] {
  return partsOf(content).flatMap((part, j): ContentBlock[] => {
    const text = textOf(part);
    if (text !== undefined) return text === '' ? [] : [{ text }];
    if (part.type === 'image_url') return [imageBlock(part, `${at}.content[${j}].image_url`)];
    throw errors.invalidParam(`${at}.content[${j}]`, `Content parts of type '${String(part.type)}' are not supported on Bedrock.`);
  });
}

function imageBlock(part: ContentPart, param: string): ContentBlock {
  const image = (part as { image_url?: { url?: unknown } }).image_url;
  const url = typeof image?.url === 'string' ? image.url : '';
  const match = dataUrl.exec(url);
  if (match === null) {
    throw errors.invalidParam(param, 'Bedrock takes images inline only: give a data: URL (data:image/png;base64,…), not a web address.');
  }
  const format = Object.hasOwn(imageFormats, match[1]) ? imageFormats[match[1]] : undefined;
  if (format === undefined) throw errors.invalidParam(param, `Bedrock takes png, jpeg, gif and webp images, not image/${match[1]}.`);
  return { image: { format, source: { bytes: match[2] } } };
}

/** Thinking blocks first (with their signatures, unchanged), then text, then tool calls. */
function assistantBlocks(message: ChatMessage, at: string): ContentBlock[] {
  const blocks: ContentBlock[] = (message.thinking_blocks ?? []).map(reasoningBlock);
  for (const part of partsOf(message.content)) {
    const text = textOf(part);
    if (text !== undefined && text !== '') blocks.push({ text });
  }
  (message.tool_calls ?? []).forEach((call, j) => blocks.push(toolUseBlock(call, `${at}.tool_calls[${j}]`)));
  return blocks;
}

function reasoningBlock(block: ThinkingBlock): ContentBlock {
  if (block.type === 'redacted_thinking') return { reasoningContent: { redactedContent: block.data } };
  const reasoningText: JsonObject = { text: block.thinking };
  if (block.signature !== undefined) reasoningText.signature = block.signature;
  return { reasoningContent: { reasoningText } };
}

function toolUseBlock(call: ToolCall, at: string): ContentBlock {
  const args = call.function.arguments;
  let input: unknown = {};
  if (args.trim() !== '') {
    try {
      input = JSON.parse(args);
    } catch {
      throw errors.invalidParam(`${at}.function.arguments`, 'Tool call arguments must be JSON to be sent to Bedrock.');
    }
  }
  return { toolUse: { toolUseId: call.id, name: call.function.name, input } };
}

function toolResultBlock(message: ChatMessage, at: string): ContentBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') throw errors.missingParam(`${at}.tool_call_id`);
  // Text as the client sent it: a {json} block would re-serialise the result and lose its exact bytes.
  return { toolResult: { toolUseId: message.tool_call_id, content: textBlocks(message.content, at) } };
}
