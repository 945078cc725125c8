// The MCP gateway as a feature: serves /mcp on the public listener.
import type { Feature } from '../pipeline/stage.js';

export function createMcpFeature(): Feature {
  return { name: 'mcp' };
}
