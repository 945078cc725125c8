// OpenAPI sources (src/mcp/openapi/) as tool sources of the gateway; what each could not turn into a
// tool is reported (logged) by the loader itself.
import type { OpenApiSourceConfig } from './openapi/config.js';
import type { ToolSource } from './tool-source.js';

/** MCP's limit on a tool name, which the aggregated endpoint's `<source>__` prefix counts against. */
const maxToolName = 128;

export async function loadOpenApiSources(entries: readonly OpenApiSourceConfig[]): Promise<ToolSource[]> {
  if (entries.length === 0) return [];
  const { createOpenApiSource } = await import('./openapi/index.js');
  const sources: ToolSource[] = [];
  try {
    for (const entry of entries) {
      const { source } = await createOpenApiSource(entry, { maxToolNameLength: maxToolName - entry.name.length - 2 });
      sources.push(source);
    }
  } catch (err) {
    await Promise.all(sources.map((s) => s.close()));
    throw err;
  }
  return sources;
}

/** The credentials an OpenAPI source holds for its API (kept out of the audit log). */
export function openApiSecrets(entries: readonly OpenApiSourceConfig[]): string[] {
  const found: string[] = [];
  for (const e of entries) {
    const auth = e.auth;
    if (auth?.type === 'header') found.push(auth.value);
    else if (auth?.type === 'bearer') found.push(auth.token);
    else if (auth?.type === 'basic') found.push(auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64'));
    else if (auth?.type === 'oauth2_client_credentials') found.push(auth.client_secret);
    for (const [name, value] of Object.entries(e.headers ?? {}) as Array<[string, string]>) if (/auth|key|token|secret|passw|credential|cookie/i.test(name)) found.push(value);
  }
  return found;
}
