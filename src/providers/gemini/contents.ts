// Canonical messages → Gemini `contents` (user / model turns of parts) and `systemInstruction`.
import { errors } from '../../shared/errors.js';
import type { ChatMessage, ContentPart, JsonObject, ToolCall } from '../../translate/canonical.js';
import { isObject, signatureOf, type GeminiContent, type GeminiPart } from './wire.js';

export interface GeminiConversation {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
}

/** Extension → MIME type, for image URLs Gemini fetches itself (fileData needs one). */
const mimeByExtension: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

function mimeOfUrl(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // not a URL the WHATWG parser takes: guess from the text as it is
  }
  const dot = path.lastIndexOf('.');
  return (dot === -1 ? undefined : mimeByExtension[path.slice(dot + 1).toLowerCase()]) ?? 'image/jpeg';
}

const dataUrl = /^data:([^;,]+)((?:;[^;,]*)*);base64,(.*)$/s;

/** A base64 `data:` URL → inlineData; anything else is refused (`param` names where it was). */
function inlineDataOf(url: string, param: string): GeminiPart {
  const match = dataUrl.exec(url);
  if (match === null) throw errors.invalidParam(param, `'${param}' must be a base64 data: URL or an http(s) URL.`);
  return { inlineData: { mimeType: match[1], data: match[3] } };
}

function mediaPart(url: string, param: string): GeminiPart {
  if (/^https?:\/\//i.test(url)) return { fileData: { mimeType: mimeOfUrl(url), fileUri: url } };
  return inlineDataOf(url, param);
}

const audioMime: Readonly<Record<string, string>> = { wav: 'audio/wav', mp3: 'audio/mp3' };

function contentPart(part: ContentPart, param: string): GeminiPart {
  const type = part.type;
  if (type === 'text' && typeof part.text === 'string') return { text: part.text };
  // An earlier assistant refusal is what the model said, as far as the next turn is concerned.
  if (type === 'refusal' && typeof part.refusal === 'string') return { text: part.refusal };
  if (type === 'image_url' && isObject(part.image_url) && typeof part.image_url.url === 'string') {
    return mediaPart(part.image_url.url, `${param}.image_url`);
  }
  if (type === 'input_audio' && isObject(part.input_audio) && typeof part.input_audio.data === 'string') {
    const format = String(part.input_audio.format ?? 'wav');
    return { inlineData: { mimeType: audioMime[format] ?? `audio/${format}`, data: part.input_audio.data } };
  }
  if (type === 'file' && isObject(part.file) && typeof part.file.file_data === 'string') {
    return inlineDataOf(part.file.file_data, `${param}.file.file_data`);
  }
  throw errors.invalidParam(param, `Content part type '${String(type)}' cannot be sent to a Gemini provider (text, image_url, input_audio and file with file_data can).`);
}

function partsOf(content: ChatMessage['content'], param: string): GeminiPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw errors.invalidParam(param, `'${param}' must be a string or an array of content parts.`);
  return content.map((part, j) => {
    if (!isObject(part)) throw errors.invalidParam(`${param}[${j}]`, 'A content part must be an object.');
    return contentPart(part, `${param}[${j}]`);
  });
}

/** Text only: system prompts and tool results are text in the canonical form. */
function textOf(content: ChatMessage['content'], param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw errors.invalidParam(param, `'${param}' must be a string or an array of text parts.`);
  return content
    .map((part, j) => {
      if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
      throw errors.invalidParam(`${param}[${j}]`, `Only text parts are accepted in '${param}' for a Gemini provider.`);
    })
    .join('');
}

function functionCallPart(call: ToolCall, param: string): GeminiPart {
  if (!isObject(call) || !isObject(call.function) || typeof call.function.name !== 'string') {
    throw errors.invalidParam(param, `'${param}' must have function.name and function.arguments.`);
  }
  const raw = call.function.arguments;
  let args: unknown = {};
  if (typeof raw === 'string' && raw.trim() !== '') {
    try {
      args = JSON.parse(raw);
    } catch {
      args = undefined;
    }
  }
  if (!isObject(args)) throw errors.invalidParam(param, `'${param}' function.arguments must be a JSON object (Gemini takes arguments as an object).`);
  const part: GeminiPart = { functionCall: { name: call.function.name, args } };
  const signature = typeof call.id === 'string' ? signatureOf(call.id) : undefined;
  if (signature !== undefined) part.thoughtSignature = signature;
  return part;
}

/** A tool result as Gemini's `response` object: the result itself when it is a JSON object, else `{content}`. */
function functionResponseOf(text: string): JsonObject {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObject(parsed)) return parsed;
    } catch {
      // plain text that happens to start with a brace
    }
  }
  return { content: text };
}

/**
 * Thinking text and Anthropic signatures of earlier assistant turns are not sent: Gemini has no way to
 * take thought text back, and its own signatures come back through the tool-call ids.
 */
export function toGeminiConversation(messages: unknown): GeminiConversation {
  if (!Array.isArray(messages) || messages.length === 0) throw errors.invalidParam('messages', "'messages' must be a non-empty array.");
  const system: Array<{ text: string }> = [];
  const turns: GeminiContent[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: GeminiContent['role'], parts: GeminiPart[]): void => {
    if (parts.length === 0) return;
    const last = turns[turns.length - 1];
    // Gemini wants turns to alternate; parallel tool results in particular must share one user turn.
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else turns.push({ role, parts });
  };
  messages.forEach((raw: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isObject(raw)) throw errors.invalidParam(at, `'${at}' must be an object.`);
    const m = raw as unknown as ChatMessage;
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, `${at}.content`);
        if (text !== '') system.push({ text });
        return;
      }
      case 'user':
        push('user', partsOf(m.content, `${at}.content`));
        return;
      case 'assistant': {
        const parts = partsOf(m.content, `${at}.content`).filter((p) => p.text === undefined || p.text !== '');
        if (m.tool_calls !== undefined && !Array.isArray(m.tool_calls)) throw errors.invalidParam(`${at}.tool_calls`, `'${at}.tool_calls' must be an array.`);
        for (const call of m.tool_calls ?? []) {
          parts.push(functionCallPart(call, `${at}.tool_calls`));
          if (typeof call.id === 'string') toolNames.set(call.id, call.function.name);
        }
        push('model', parts);
        return;
      }
      case 'tool': {
        const id = m.tool_call_id;
        const name = (typeof id === 'string' ? toolNames.get(id) : undefined) ?? m.name;
        if (typeof name !== 'string') {
          throw errors.invalidParam(`${at}.tool_call_id`, `'${at}.tool_call_id' matches no tool call of an earlier assistant message (Gemini needs the function's name).`);
        }
        push('user', [{ functionResponse: { name, response: functionResponseOf(textOf(m.content, `${at}.content`)) } }]);
        return;
      }
      default:
        throw errors.invalidParam(`${at}.role`, `Role '${String(m.role)}' is not supported; use system, developer, user, assistant or tool.`);
    }
  });
  if (turns.length === 0) throw errors.invalidParam('messages', "Gemini needs at least one user or assistant message besides the system prompt.");
  const conversation: GeminiConversation = { contents: turns };
  if (system.length > 0) conversation.systemInstruction = { parts: system };
  return conversation;
}
