// Removes provider credentials from upstream text before the gateway relays or records it. A provider that
// refuses a key may quote it ("Incorrect API key provided: sk-…"); the caller must not learn it, and the
// audit log must not keep it. Compiled once per server thread from the config: the configured secrets
// verbatim, and anything shaped like a well-known provider credential whoever it belongs to.
import type { ProviderConfig } from '../config/types.js';

export const redactedMark = '[REDACTED]';

/** Shorter configured values are not redacted: replacing every "abc" would garble messages and hide little. */
export const minSecretLength = 6;

/** Header names whose values are credentials (Authorization, x-api-key, api-key, x-goog-api-key, …). */
const secretHeaderName = /auth|key|token|secret|passw|credential|signature|cookie/i;

/**
 * Provider credential shapes. The character classes hold no quote or backslash, so a match inside JSON
 * text never spans an escape and the text stays valid JSON once redacted.
 */
const keyShapes = [
  // OpenAI (sk-…, sk-proj-…, also as OpenAI masks it: sk-proj-abc***wxyz) and Anthropic (sk-ant-…).
  String.raw`\bsk-[A-Za-z0-9_*-]{16,}`,
  // Google API keys.
  String.raw`\bAIza[0-9A-Za-z_-]{35}`,
  // AWS access key ids.
  String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
  // JWTs (Azure AD and other OAuth access tokens).
  String.raw`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`,
];
/** A long bearer token of any shape: the scheme word is kept, the token goes. */
const bearerToken = String.raw`(\b[Bb]earer\s+)[A-Za-z0-9._~+/-]{20,}=*`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A header value as a secret, and its credential alone when it reads "<scheme> <credential>". */
function headerSecrets(value: string): string[] {
  const scheme = /^[A-Za-z]+\s+(\S+)$/.exec(value);
  return scheme ? [value, scheme[1]] : [value];
}

/** Every credential the config gives providers: api_key values and the values of credential-named headers. */
export function providerSecrets(providers: readonly ProviderConfig[]): string[] {
  const found: string[] = [];
  for (const provider of providers) {
    if (provider.api_key) found.push(provider.api_key);
    for (const [name, value] of Object.entries(provider.headers ?? {})) {
      if (secretHeaderName.test(name)) found.push(...headerSecrets(value));
    }
  }
  return found;
}

export class SecretRedactor {
  private readonly pattern: RegExp;

  constructor(secrets: readonly string[] = []) {
    const literal = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < minSecretLength) continue;
      literal.add(secret);
      // As it appears inside a JSON string, should it hold a character JSON escapes.
      literal.add(JSON.stringify(secret).slice(1, -1));
    }
    // Longest first, so a secret that contains another is replaced whole.
    const alternatives = [...literal].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = new RegExp([bearerToken, ...alternatives, ...keyShapes].join('|'), 'g');
  }

  /** `text` with every secret replaced by [REDACTED]; the same string when there was none. */
  redact(text: string): string {
    this.pattern.lastIndex = 0;
    if (!this.pattern.test(text)) return text;
    return text.replace(this.pattern, (match: string, scheme: string | undefined) => (scheme ? scheme + redactedMark : redactedMark));
  }
}
