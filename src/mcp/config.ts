// Config section for the MCP gateway (issue 15): types and JSON Schema properties, merged into the top-level schema.

/** Placeholder until the MCP section is written: no keys yet. */
export interface McpConfig {
  mcp?: Record<string, never>;
}

export const mcpSchemaProperties = {
  mcp: { type: 'object', additionalProperties: false, default: {}, properties: {} },
};
