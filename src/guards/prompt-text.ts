// Finds the text of a request body (chat messages, text parts, completion prompts, embedding
// inputs) so guards can scan it and redaction can write it back, and adds the tokens that are not
// text: OpenAI's per-message overhead and images/audio/files counted by rule.
import type { Operation } from '../pipeline/context.js';
import { imageTokens } from './media-tokens.js';

/** Where a scanned text lives in the body: messages[message].content or its content[part].text; or a prompt/input entry. */
export interface TextLocation {
  role: string;
  field: 'messages' | 'prompt' | 'input';
  /** Message index, or index into a prompt/input array (-1: the field is a single string). */
  index: number;
  /** Content part index, or -1 when content is a string. */
  part: number;
  /** Set for an assistant message's tool call: its index in tool_calls (the text is its arguments). */
  toolCall?: number;
}

export interface PromptText {
  locations: TextLocation[];
  texts: string[];
  /** Text that counts as tokens but is not scanned: names, tool names, tool definitions. */
  countOnly: string[];
  /** Tokens that are not text: message framing, images, audio, files, token-array inputs. */
  fixedTokens: number;
}

export interface MediaTokenDefaults {
  image_tokens_default: number;
  audio_tokens_default: number;
  file_tokens_default: number;
}

// OpenAI chat framing (cookbook "How to count tokens"): 3 per message, 1 more when "name" is set,
// 3 to prime the reply.
const tokensPerMessage = 3;
const tokensPerName = 1;
const tokensReplyPriming = 3;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function addContentPart(out: PromptText, part: unknown, location: TextLocation, media: MediaTokenDefaults): void {
  if (!isRecord(part)) return;
  switch (part.type) {
    case 'text':
      if (typeof part.text === 'string') {
        out.locations.push(location);
        out.texts.push(part.text);
      }
      return;
    case 'image_url': {
      const image = isRecord(part.image_url) ? part.image_url : {};
      const url = typeof image.url === 'string' ? image.url : '';
      out.fixedTokens += imageTokens(url, typeof image.detail === 'string' ? image.detail : undefined, media.image_tokens_default);
      return;
    }
    case 'input_audio':
      out.fixedTokens += media.audio_tokens_default;
      return;
    case 'file':
      out.fixedTokens += media.file_tokens_default;
      return;
    default:
      // Unknown part types (refusal, future types): count their small JSON, never scan it.
      out.countOnly.push(JSON.stringify(part).slice(0, 4096));
  }
}

function addMessages(out: PromptText, messages: unknown[], media: MediaTokenDefaults): void {
  messages.forEach((message, index) => {
    if (!isRecord(message)) return;
    const role = typeof message.role === 'string' ? message.role : 'user';
    out.fixedTokens += tokensPerMessage;
    if (typeof message.name === 'string') {
      out.countOnly.push(message.name);
      out.fixedTokens += tokensPerName;
    }
    const content = message.content;
    if (typeof content === 'string') {
      out.locations.push({ role, field: 'messages', index, part: -1 });
      out.texts.push(content);
    } else if (Array.isArray(content)) {
      content.forEach((part, p) => addContentPart(out, part, { role, field: 'messages', index, part: p }, media));
    }
    if (Array.isArray(message.tool_calls)) {
      message.tool_calls.forEach((call: unknown, toolCall: number) => {
        const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
        if (fn && typeof fn.name === 'string') out.countOnly.push(fn.name);
        // Arguments are JSON text written by the model from earlier turns: they carry the same data
        // as messages do (an email to look up, an account number), so they are scanned and redacted.
        if (fn && typeof fn.arguments === 'string') {
          out.locations.push({ role, field: 'messages', index, part: -1, toolCall });
          out.texts.push(fn.arguments);
        }
      });
    }
  });
  out.fixedTokens += tokensReplyPriming;
}

function addStrings(out: PromptText, field: 'prompt' | 'input', value: unknown): void {
  if (typeof value === 'string') {
    out.locations.push({ role: 'user', field, index: -1, part: -1 });
    out.texts.push(value);
  } else if (Array.isArray(value)) {
    value.forEach((entry, index) => {
      if (typeof entry === 'string') {
        out.locations.push({ role: 'user', field, index, part: -1 });
        out.texts.push(entry);
      } else if (typeof entry === 'number') {
        out.fixedTokens += 1; // one token id
      } else if (Array.isArray(entry)) {
        out.fixedTokens += entry.length; // an array of token ids
      }
    });
  }
}

export function extractPromptText(operation: Operation, body: Record<string, unknown>, media: MediaTokenDefaults): PromptText {
  const out: PromptText = { locations: [], texts: [], countOnly: [], fixedTokens: 0 };
  if (operation === 'chat.completions' || operation === 'chat.count_tokens') {
    if (Array.isArray(body.messages)) addMessages(out, body.messages, media);
    // Tool definitions are billed as text in a provider-internal format; their JSON is a close stand-in.
    if (Array.isArray(body.tools) && body.tools.length > 0) out.countOnly.push(JSON.stringify(body.tools));
  } else if (operation === 'completions') {
    addStrings(out, 'prompt', body.prompt);
  } else {
    addStrings(out, 'input', body.input);
  }
  return out;
}

/** Writes a replacement text back where it was found. */
export function writeText(body: Record<string, unknown>, location: TextLocation, text: string): void {
  if (location.field !== 'messages') {
    if (location.index < 0) body[location.field] = text;
    else (body[location.field] as unknown[])[location.index] = text;
    return;
  }
  const message = (body.messages as Array<Record<string, unknown>>)[location.index]!;
  if (location.toolCall !== undefined) {
    ((message.tool_calls as Array<Record<string, unknown>>)[location.toolCall]!.function as Record<string, unknown>).arguments = text;
  } else if (location.part < 0) message.content = text;
  else ((message.content as unknown[])[location.part] as Record<string, unknown>).text = text;
}

/** Indices of the texts a guard scans: every text of the given roles, or only the last one. */
export function textsForScope(locations: readonly TextLocation[], roles: readonly string[], scope: 'last_user' | 'conversation'): number[] {
  const picked: number[] = [];
  for (let i = 0; i < locations.length; i++) if (roles.includes(locations[i]!.role)) picked.push(i);
  if (scope === 'conversation' || picked.length === 0) return picked;
  // The last message of a scanned role, with all of its text parts.
  const lastMessage = locations[picked[picked.length - 1]!]!.index;
  return picked.filter((i) => locations[i]!.index === lastMessage && locations[i]!.field === locations[picked[picked.length - 1]!]!.field);
}
