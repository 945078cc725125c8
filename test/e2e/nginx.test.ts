// Switchyard behind a real nginx with the shipped deploy/nginx/switchyard.conf: the official SDK,
// streaming and not, and the health check, through the proxy.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { nginxTempPaths } from '../../bench/lib/targets.js';
import { clientKey, freePort, readChatStream, startStack, type Stack } from '../helpers/stack.js';

const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => spawnSync(path, ['-v']).status === 0);
const shipped = fileURLToPath(new URL('../../../deploy/nginx/switchyard.conf', import.meta.url));
// .ci/run installs Debian's nginx-light; elsewhere the suite is skipped with the reason.
const skip = nginx === undefined && !process.env.CI ? 'nginx is not installed (Debian package nginx-light)' : false;

/** The shipped site, pointed at this gateway and listening on this port, in an nginx.conf of its own. */
function nginxConf(dir: string, gatewayPort: number, listenPort: number): string {
  const site = readFileSync(shipped, 'utf8')
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${gatewayPort};`)
    .replace('listen 80;', `listen 127.0.0.1:${listenPort};`);
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
${nginxTempPaths(dir)}
${site}
}
`;
}

describe('behind nginx', { skip }, () => {
  let stack: Stack;
  let proxy: ChildProcess;
  let dir: string;
  let base: string;

  before(async () => {
    assert.ok(nginx, 'nginx is required in CI (.ci/run installs nginx-light)');
    stack = await startStack({ threads: 2 });
    dir = mkdtempSync(join(tmpdir(), 'switchyard-nginx-'));
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, stack.gateway.port, port));
    proxy = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    base = `http://127.0.0.1:${port}`;
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(up, `nginx did not come up: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
  });

  after(async () => {
    proxy?.kill('SIGTERM');
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('health, a completion and a stream pass through with the SDK', async () => {
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: clientKey, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(answer.choices[0].message.content);
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-sim-completion-tokens': '30' } },
    );
    const { chunks, finish } = await readChatStream(stream);
    assert.equal(chunks, 30);
    assert.equal(finish, 'stop');
  });

  test('fifty requests in a row reuse nginx\'s keep-alive connections without an error', async () => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: clientKey, maxRetries: 0 });
    for (let i = 0; i < 50; i++) {
      const answer = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: `ping ${i}` }] });
      assert.ok(answer.choices[0].message.content);
    }
  });
});
