// Canonical chat messages → Anthropic `system` and alternating user/assistant turns of content blocks.
import { errors } from '../../shared/errors.js';
import type { ChatMessage, ContentPart, JsonObject, ThinkingBlock } from '../../translate/canonical.js';

type Block = JsonObject;

export interface AnthropicTurn {
  role: 'user' | 'assistant';
  content: string | Block[];
}

export interface AnthropicConversation {
  /** A string for one plain system text, else text blocks; undefined without system/developer messages. */
  system: string | Block[] | undefined;
  messages: AnthropicTurn[];
}

/** What to do with a content part Anthropic has no block for: refuse (the default) or drop it. */
interface PartPolicy {
  dropUnsupported: boolean;
  provider: string;
}

export function toAnthropicConversation(messages: readonly ChatMessage[], policy: PartPolicy): AnthropicConversation {
  const system: Block[] = [];
  const turns: AnthropicTurn[] = [];
  messages.forEach((message, i) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...contentBlocks(message.content, i, policy, false));
        break;
      case 'user':
        push(turns, 'user', typeof message.content === 'string' ? message.content : contentBlocks(message.content, i, policy, true));
        break;
      case 'assistant': {
        const blocks = assistantBlocks(message, i, policy);
        if (blocks.length > 0) push(turns, 'assistant', blocks);
        break;
      }
      case 'tool':
        push(turns, 'user', [toolResult(message, i, policy)]);
        break;
      default:
        throw errors.invalidParam(`messages[${i}].role`, `Unknown role '${String((message as { role: unknown }).role)}'.`);
    }
  });
  return { system: systemOf(system), messages: turns };
}

function systemOf(blocks: Block[]): string | Block[] | undefined {
  if (blocks.length === 0) return undefined;
  if (blocks.length === 1 && blocks[0].cache_control === undefined) return blocks[0].text as string;
  return blocks;
}

/** Anthropic requires alternating roles: a turn of the same role as the last one is merged into it. */
function push(turns: AnthropicTurn[], role: AnthropicTurn['role'], content: string | Block[]): void {
  const last = turns.at(-1);
  if (last === undefined || last.role !== role) {
    turns.push({ role, content });
    return;
  }
  last.content = [...asBlocks(last.content), ...asBlocks(content)];
}

function asBlocks(content: string | Block[]): Block[] {
  if (typeof content !== 'string') return content;
  return content === '' ? [] : [{ type: 'text', text: content }];
}

function assistantBlocks(message: ChatMessage, i: number, policy: PartPolicy): Block[] {
  // Thinking comes first in an assistant turn, exactly as it was received (signatures unchanged).
  const blocks: Block[] = (message.thinking_blocks ?? []).map((block, k) => thinkingBlock(block, `messages[${i}].thinking_blocks[${k}]`));
  blocks.push(...(typeof message.content === 'string' ? asBlocks(message.content) : contentBlocks(message.content, i, policy, false)));
  (message.tool_calls ?? []).forEach((call, j) => {
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments, i, j) });
  });
  return blocks;
}

function thinkingBlock(block: ThinkingBlock, param: string): Block {
  if (block.type === 'thinking') {
    return block.signature === undefined
      ? { type: 'thinking', thinking: block.thinking }
      : { type: 'thinking', thinking: block.thinking, signature: block.signature };
  }
  if (block.type === 'redacted_thinking') return { type: 'redacted_thinking', data: block.data };
  throw errors.invalidParam(param, `Unknown thinking block type '${String((block as { type: unknown }).type)}'.`);
}

function toolInput(args: string, i: number, j: number): JsonObject {
  if (args.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    input = undefined;
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw errors.invalidParam(
      `messages[${i}].tool_calls`,
      `messages[${i}].tool_calls[${j}].function.arguments must be a JSON object to be sent as an Anthropic tool_use input.`,
    );
  }
  return input as JsonObject;
}

function toolResult(message: ChatMessage, i: number, policy: PartPolicy): Block {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') throw errors.missingParam(`messages[${i}].tool_call_id`);
  const result: Block = { type: 'tool_result', tool_use_id: message.tool_call_id };
  const content = typeof message.content === 'string' ? message.content : contentBlocks(message.content, i, policy, true);
  if (content.length > 0) result.content = content;
  return result;
}

/** Text parts (and, where `media`, images and PDFs) as blocks; empty texts are left out. */
function contentBlocks(content: ChatMessage['content'], i: number, policy: PartPolicy, media: boolean): Block[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return asBlocks(content);
  if (!Array.isArray(content)) throw errors.invalidParam(`messages[${i}].content`, 'Content must be a string or an array of parts.');
  const blocks: Block[] = [];
  content.forEach((part, j) => {
    const block = partBlock(part, media);
    if (block === undefined) {
      const where = `messages[${i}].content[${j}]`;
      if (policy.dropUnsupported) return;
      const type = (part as JsonObject | null)?.type;
      throw errors.invalidParam(where, `Provider '${policy.provider}' (anthropic) does not support a content part of type '${String(type)}' here (${where}).`);
    }
    if (block !== null) blocks.push(block);
  });
  return blocks;
}

/** The block of one part; null for a part that is rightly empty, undefined for one Anthropic cannot take. */
function partBlock(part: ContentPart, media: boolean): Block | null | undefined {
  if (part === null || typeof part !== 'object') return undefined;
  const raw = part as JsonObject;
  let block: Block | null | undefined;
  if (raw.type === 'text' && typeof raw.text === 'string') block = raw.text === '' ? null : { type: 'text', text: raw.text };
  else if (raw.type === 'image_url' && media) block = imageBlock(raw.image_url);
  else if (raw.type === 'file' && media) block = documentBlock(raw.file);
  if (block && raw.cache_control !== null && typeof raw.cache_control === 'object') block.cache_control = raw.cache_control;
  return block;
}

/** `data:<media type>;base64,<data>` split, without scanning the (possibly megabytes of) data. */
function dataUrl(url: string): { mediaType: string; data: string } | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  const head = comma === -1 ? '' : url.slice(5, comma);
  if (!head.endsWith(';base64')) return undefined;
  return { mediaType: head.slice(0, -';base64'.length), data: url.slice(comma + 1) };
}

function imageBlock(value: unknown): Block | undefined {
  const url = value !== null && typeof value === 'object' ? (value as JsonObject).url : undefined;
  if (typeof url !== 'string') return undefined;
  const inline = dataUrl(url);
  if (inline !== undefined) return { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  return undefined;
}

/** OpenAI `file` parts with inline data (PDFs) as Anthropic documents; file ids have no equivalent. */
function documentBlock(value: unknown): Block | undefined {
  const data = value !== null && typeof value === 'object' ? (value as JsonObject).file_data : undefined;
  const inline = typeof data === 'string' ? dataUrl(data) : undefined;
  if (inline === undefined) return undefined;
  return { type: 'document', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } };
}
