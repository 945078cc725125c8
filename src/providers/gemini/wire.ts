// Gemini API (generativelanguage v1beta) wire shapes, paths, and the tool-call id that carries a thought signature.
import type { ProviderConfig } from '../../config/types.js';
import type { FinishReason, JsonObject } from '../../translate/canonical.js';

export interface GeminiPart {
  text?: string;
  /** A thought summary (includeThoughts), not answer text. */
  thought?: boolean;
  /** Opaque; Gemini 3 refuses a function-call turn sent back without it. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { id?: string; name: string; args?: JsonObject };
  functionResponse?: { name: string; response: JsonObject };
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiCandidate {
  content?: { parts?: GeminiPart[]; role?: string };
  finishReason?: string;
  index?: number;
}

export interface GeminiUsage {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsage;
  modelVersion?: string;
  responseId?: string;
}

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'embedContent' | 'batchEmbedContents';

/** Resource prefixes a configured model may already carry (`models/x`, `tunedModels/x`). */
const resourcePrefixes = ['models/', 'tunedModels/'];

/** `models/<id>` (or the tuned-model resource as given), the id percent-encoded so no ':' or '/' can split the path. */
export function modelResource(model: string): string {
  for (const prefix of resourcePrefixes) {
    if (model.startsWith(prefix)) return prefix + encodeURIComponent(model.slice(prefix.length));
  }
  return `models/${encodeURIComponent(model)}`;
}

/** Whether a base URL already names an API version, so the path must not add one (…/v1beta pasted from the docs). */
const versionedBase = new WeakMap<ProviderConfig, boolean>();

function baseHasVersion(provider: ProviderConfig): boolean {
  let known = versionedBase.get(provider);
  if (known === undefined) {
    let path = '';
    try {
      path = new URL(provider.base_url).pathname;
    } catch {
      path = '';
    }
    known = /\/v1(beta\d*|alpha)?\/?$/.test(path);
    versionedBase.set(provider, known);
  }
  return known;
}

export function geminiPath(provider: ProviderConfig, model: string, method: GeminiMethod): string {
  const version = baseHasVersion(provider) ? '' : '/v1beta';
  const query = method === 'streamGenerateContent' ? '?alt=sse' : '';
  return `${version}/${modelResource(model)}:${method}${query}`;
}

/** Gemini finishReason → canonical; absent from the table → "stop" (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL…). */
const finishReasons: Readonly<Record<string, FinishReason>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  IMAGE_PROHIBITED_CONTENT: 'content_filter',
  IMAGE_RECITATION: 'content_filter',
};

export function finishReasonOf(reason: string, hadToolCalls: boolean): FinishReason {
  const mapped = finishReasons[reason] ?? 'stop';
  return mapped === 'stop' && hadToolCalls ? 'tool_calls' : mapped;
}

/**
 * A thought signature rides in the tool-call id, the one field every client sends back unchanged, as
 * base64url so the id stays within [A-Za-z0-9_-] (Anthropic's tool-use id pattern, should the
 * conversation move there).
 */
const signatureMark = '__thought__';

export function toolCallId(id: string, signature: string | undefined): string {
  if (signature === undefined || signature === '') return id;
  return id + signatureMark + signature.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function signatureOf(id: string): string | undefined {
  const at = id.indexOf(signatureMark);
  if (at === -1) return undefined;
  const url = id.slice(at + signatureMark.length);
  if (url === '') return undefined;
  const base64 = url.replace(/-/g, '+').replace(/_/g, '/');
  return base64 + '='.repeat((4 - (base64.length % 4)) % 4);
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
