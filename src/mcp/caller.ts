// Who is calling /mcp: the Switchyard virtual key in `Authorization: Bearer` (or x-api-key), checked
// against the same key table as the LLM path, and the 401 an MCP client understands when it is missing
// or wrong (WWW-Authenticate pointing at the protected-resource metadata, RFC 9728).
import { threadKeyCheck, type KeyCheck } from '../limits/stages.js';
import type { SwitchyardConfig } from '../config/types.js';
import type { IncomingHead } from '../server/http.js';
import type { McpOAuthConfig } from './config.js';

export type { KeyCheck };

/** The LLM path's own key check (src/limits/stages.ts), read per call: it exists once the auth stage does. */
export function createKeyCheck(config: SwitchyardConfig): KeyCheck | undefined {
  if (config.auth !== 'keys') return undefined;
  return (headers) => threadKeyCheck()?.(headers) ?? { refused: 'invalid' };
}

/** The resource this endpoint is (RFC 9728 `resource`): configured, or the URL the client used. */
export function resourceOf(head: IncomingHead, oauth: McpOAuthConfig | undefined, path: string): string {
  // A configured resource names /mcp; a scoped endpoint is that resource plus its own suffix.
  if (oauth?.resource !== undefined) return oauth.resource.replace(/\/$/, '') + path.slice('/mcp'.length);
  const proto = head.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  return `${proto}://${head.headers['host'] ?? 'localhost'}${path}`;
}

/** Where the metadata of `resource` lives: the well-known prefix inserted before its path (RFC 9728 §3.1). */
export function metadataUrlOf(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

export function wwwAuthenticate(head: IncomingHead, oauth: McpOAuthConfig | undefined, path: string, invalid: boolean): string {
  const parts = ['Bearer realm="switchyard"'];
  if (invalid) parts.push('error="invalid_token"');
  if (oauth) parts.push(`resource_metadata="${metadataUrlOf(resourceOf(head, oauth, path))}"`);
  return parts.join(', ');
}

/** The protected-resource metadata document for `path` (/mcp or /mcp/<server>). */
export function protectedResourceMetadata(head: IncomingHead, oauth: McpOAuthConfig, path: string): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    resource: resourceOf(head, oauth, path),
    authorization_servers: oauth.authorization_servers,
    bearer_methods_supported: ['header'],
    resource_name: 'Switchyard MCP gateway',
  };
  if (oauth.scopes_supported.length > 0) doc.scopes_supported = oauth.scopes_supported;
  return doc;
}
