// An MCP server on stdio built with the official SDK, for the gateway's stdio tests: `pid` tells which
// process answered, `crash` ends the process (the gateway must start it again).
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server({ name: 'stdio-fixture', version: '1.0.0' }, { capabilities: { tools: {} } });
const empty = { type: 'object' as const, properties: {} };
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [
    { name: 'pid', description: 'The process id of this server.', inputSchema: empty },
    { name: 'env', description: 'The value of FIXTURE_GREETING.', inputSchema: empty },
    { name: 'crash', description: 'Exits the process.', inputSchema: empty },
  ],
}));
server.setRequestHandler(CallToolRequestSchema, (request) => {
  if (request.params.name === 'crash') setTimeout(() => process.exit(3), 10);
  const text = request.params.name === 'pid' ? String(process.pid) : request.params.name === 'env' ? (process.env.FIXTURE_GREETING ?? '') : 'bye';
  return { content: [{ type: 'text', text }] };
});
// `node --test dist/test/` runs every file under it, this one too: without --serve it only loads.
if (process.argv.includes('--serve')) await server.connect(new StdioServerTransport());
