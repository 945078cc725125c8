// Thinking blocks carried through a client in a reasoning item's opaque `encrypted_content`: the gateway
// keeps no state, so a provider's signed thinking (Anthropic, Bedrock) must travel with the client and come
// back unchanged on the next turn, exactly as OpenAI's own encrypted reasoning does.
import type { ThinkingBlock } from '../../translate/canonical.js';
import { isObject } from './fields.js';

/** Marks content this gateway wrote; anything else (OpenAI's own encrypted reasoning) is not ours to read. */
const prefix = 'swy1.';

export function encodeThinkingBlocks(blocks: readonly ThinkingBlock[]): string {
  return prefix + Buffer.from(JSON.stringify(blocks), 'utf8').toString('base64url');
}

function isThinkingBlock(value: unknown): value is ThinkingBlock {
  if (!isObject(value)) return false;
  if (value.type === 'thinking') return typeof value.thinking === 'string' && (value.signature === undefined || typeof value.signature === 'string');
  return value.type === 'redacted_thinking' && typeof value.data === 'string';
}

/** The blocks in content this gateway encoded, else undefined (foreign or damaged content is ignored). */
export function decodeThinkingBlocks(content: string): ThinkingBlock[] | undefined {
  if (!content.startsWith(prefix)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(content.slice(prefix.length), 'base64url').toString('utf8'));
    return Array.isArray(parsed) && parsed.every(isThinkingBlock) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the client asked for reasoning content it can send back (`include: ["reasoning.encrypted_content"]`). */
export function wantsEncryptedReasoning(request: Record<string, unknown>): boolean {
  return Array.isArray(request.include) && request.include.includes('reasoning.encrypted_content');
}
