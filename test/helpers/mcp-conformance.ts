// What the official MCP conformance suite (@modelcontextprotocol/conformance) expects of a server's tools,
// served by an SDK fixture behind the gateway; and the suite's CLI run under Node 20 with a loader shim.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixtureTool } from './mcp-fixtures.js';

// A 1×1 PNG and a 44-byte silent WAV.
const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const wav = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=';
const noArgs = { type: 'object' as const, properties: {} };

export function conformanceTools(): FixtureTool[] {
  const tool = (name: string, description: string, run: FixtureTool['run'], inputSchema: Record<string, unknown> = noArgs): FixtureTool => ({
    tool: { name, description, inputSchema: inputSchema as FixtureTool['tool']['inputSchema'] },
    run,
  });
  return [
    tool('test_simple_text', 'Returns simple text.', () => ({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] })),
    tool('test_image_content', 'Returns an image.', () => ({ content: [{ type: 'image', data: png, mimeType: 'image/png' }] })),
    tool('test_audio_content', 'Returns audio.', () => ({ content: [{ type: 'audio', data: wav, mimeType: 'audio/wav' }] })),
    tool('test_embedded_resource', 'Returns an embedded resource.', () => ({
      content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
    })),
    tool('test_multiple_content_types', 'Returns text, an image and a resource.', () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: png, mimeType: 'image/png' },
        { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } },
      ],
    })),
    tool('test_error_handling', 'Always fails.', () => ({ content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }], isError: true })),
    tool('json_schema_2020_12_tool', 'Tool with JSON Schema 2020-12 features', () => ({ content: [{ type: 'text', text: 'ok' }] }), {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    }),
  ];
}

export interface ConformanceCheck {
  id: string;
  status: string;
  errorMessage?: string;
}

export interface ConformanceRun {
  exitCode: number;
  /** Scenario name → its checks. */
  scenarios: Map<string, ConformanceCheck[]>;
  output: string;
}

const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');
const shim = fileURLToPath(new URL('./mcp-conformance-shim.js', import.meta.url));

function checkFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) checkFiles(path, out);
    else if (name === 'checks.json') out.push(path);
  }
  return out;
}

/** Runs `conformance server --url <url>` (every active scenario, or `--scenario <name>`) and reads back each scenario's checks. */
export async function runConformance(url: string, scenario?: string, timeoutMs = 240_000): Promise<ConformanceRun> {
  const outDir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  try {
    const child = spawn(process.execPath, ['--import', shim, cli, 'server', '--url', url, '-o', outDir, ...(scenario ? ['--scenario', scenario] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    clearTimeout(timer);
    const scenarios = new Map<string, ConformanceCheck[]>();
    for (const file of checkFiles(outDir)) {
      const checks = JSON.parse(readFileSync(file, 'utf8')) as ConformanceCheck[];
      const scenario = dirname(file).slice(outDir.length + 1).split('/')[0]!.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
      scenarios.set(scenario, checks);
    }
    return { exitCode, scenarios, output };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
