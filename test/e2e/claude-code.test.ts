// Claude Code itself (the npm CLI, in print mode) against the gateway's /v1/messages, in front of an
// Anthropic, an OpenAI and a Gemini provider: it streams, calls a tool, gets the tool's result back and ends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientKey, multiProviders, startStack, type Stack } from '../helpers/stack.js';

const cli = createRequire(import.meta.url).resolve('@anthropic-ai/claude-code/cli.js');
let stack: Stack;
let home: string;

before(async () => {
  stack = await startStack({ threads: 1, extra: multiProviders });
  home = mkdtempSync(join(tmpdir(), 'switchyard-claude-code-'));
  mkdirSync(join(home, 'project'));
});
after(async () => {
  await stack.stop();
  rmSync(home, { recursive: true, force: true });
});

function claude(model: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, '-p', 'Say hello', '--model', model, '--output-format', 'json'],
      {
        cwd: join(home, 'project'),
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: home,
          ANTHROPIC_BASE_URL: stack.baseURL.replace(/\/v1$/, ''),
          ANTHROPIC_API_KEY: clientKey,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          DISABLE_AUTOUPDATER: '1',
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    // In print mode it reads stdin to its end before it starts.
    child.stdin?.end();
  });
}

for (const model of ['claude', 'gpt-4o-mini', 'gemini']) {
  test(`claude -p through the gateway to ${model}: a tool call, its result, a final answer`, async () => {
    stack.sim.reset();
    const run = await claude(model);
    assert.equal(run.code, 0, run.stderr.slice(0, 2000));
    const result = JSON.parse(run.stdout) as { type: string; subtype: string; is_error: boolean; result: string; num_turns: number };
    assert.equal(result.type, 'result');
    assert.equal(result.subtype, 'success');
    assert.equal(result.is_error, false);
    assert.ok(result.result.length > 0);
    // The simulator calls the first tool offered, then answers in text once it sees the tool's result.
    assert.ok(result.num_turns >= 2, `turns: ${result.num_turns}`);
    const upstream = stack.sim.stats().last.map((r) => r.path);
    assert.ok(upstream.length >= 2, `upstream requests: ${upstream.join(', ')}`);
  });
}
