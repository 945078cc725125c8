// The official MCP conformance suite (@modelcontextprotocol/conformance 0.1.16, active server scenarios)
// against a scoped endpoint of the gateway, /mcp/conf, in front of an SDK fixture with the suite's tools.
// The gateway serves tools only and answers each request by itself (stateless), so the scenarios of
// resources, prompts, completion, logging, and of server-to-client requests (sampling, elicitation,
// progress) fail by design; the count below is what was measured, and must not drop.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFixtureServer, type FixtureServer } from '../helpers/mcp-fixtures.js';
import { conformanceTools, runConformance, type ConformanceRun } from '../helpers/mcp-conformance.js';
import { startMcpStack, type McpStack } from '../helpers/mcp-stack.js';

/** Checks passed by the active suite when measured (docs/mcp.md). */
const measuredPassed = 11;
const expectedScenarios = [
  'server-initialize',
  'ping',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-image',
  'tools-call-audio',
  'tools-call-embedded-resource',
  'tools-call-mixed-content',
  'tools-call-error',
  'dns-rebinding-protection',
];

describe('mcp conformance suite against /mcp/conf', () => {
  let conf: FixtureServer;
  let stack: McpStack;
  let url: string;

  before(async () => {
    conf = await startFixtureServer({ name: 'conf', tools: conformanceTools() });
    // The suite's client sends no credentials.
    stack = await startMcpStack({ servers: [{ name: 'conf', url: conf.url }] }, { config: { auth: 'none' } });
    url = `http://localhost:${stack.gateway.port}/mcp/conf`;
  });
  after(async () => {
    await stack?.stop();
    await conf?.close();
  });

  const passed = (run: ConformanceRun) => [...run.scenarios.values()].flat().filter((c) => c.status === 'SUCCESS').length;
  const failures = (run: ConformanceRun, name: string) =>
    (run.scenarios.get(name) ?? []).filter((c) => c.status !== 'SUCCESS').map((c) => `${c.id}: ${c.errorMessage ?? c.status}`);

  test(`the active server suite passes at least ${measuredPassed} checks, every tool scenario among them`, async () => {
    const run = await runConformance(url);
    assert.ok(run.scenarios.size >= 25, `the suite ran ${run.scenarios.size} scenarios:\n${run.output.slice(-2000)}`);
    for (const name of expectedScenarios) {
      const checks = run.scenarios.get(name);
      assert.ok(checks && checks.length > 0, `scenario ${name} did not run`);
      assert.deepEqual(failures(run, name), [], name);
    }
    assert.ok(passed(run) >= measuredPassed, `${passed(run)} checks passed, fewer than the ${measuredPassed} measured:\n${run.output.slice(-3000)}`);
  });

  test('json-schema-2020-12: $schema, $defs and additionalProperties of a tool schema pass through', async () => {
    const run = await runConformance(url, 'json-schema-2020-12');
    assert.deepEqual(failures(run, 'json-schema-2020-12'), []);
    assert.equal(passed(run), 4);
  });
});
