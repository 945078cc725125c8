// The one interface between where MCP tools come from (an OpenAPI file, an upstream MCP server) and the
// gateway's /mcp endpoint, which lists, governs and calls them.

/** A tool as MCP's tools/list describes it (2025-06-18 … 2025-11-25 revisions). */
export interface McpTool {
  /** Unique within its source; the aggregated endpoint shows it as `<source>__<name>`. */
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export type McpContent =
  | { type: 'text'; text: string }
  | { type: 'image'; data: string; mimeType: string }
  | { type: 'audio'; data: string; mimeType: string }
  | { type: 'resource_link'; uri: string; name: string; mimeType?: string }
  | { type: 'resource'; resource: Record<string, unknown> };

/** A tools/call result. A failure of the tool itself (an API's 4xx/5xx) is a result with isError, not a thrown error. */
export interface ToolCallResult {
  content: McpContent[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** Thrown by a source when a call cannot be made at all (unknown tool, upstream unreachable); becomes a JSON-RPC error. */
export class ToolSourceError extends Error {
  constructor(
    message: string,
    /** JSON-RPC error code: -32602 invalid params / unknown tool, -32603 internal, -32000.. server-defined. */
    readonly code: number,
  ) {
    super(message);
  }
}

export interface ToolSource {
  /** The source's name in the config; the scoped endpoint is /mcp/<name>. */
  readonly name: string;
  /** The tools as they are now (an OpenAPI source: fixed once loaded; an upstream server: its current list). */
  listTools(signal?: AbortSignal): Promise<McpTool[]>;
  callTool(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolCallResult>;
  close(): Promise<void>;
}
