// A stateless SDK-built MCP server as a child process of the MCP bench (test/helpers/mcp-fixtures.ts,
// recording off): `node dist/bench/mcp-fixture.js` prints "listening on port N".
import { basicTools, startFixtureServer } from '../test/helpers/mcp-fixtures.js';

const server = await startFixtureServer({ name: 'fixture', tools: basicTools(), record: false });
process.stdout.write(`mcp fixture listening on port ${server.port}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
