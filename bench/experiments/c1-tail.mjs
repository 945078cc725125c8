// Experiment (docs/BENCHMARKS.md, "The c=1 tail"): sequential non-stream requests at c=1, in turns of
// 250, through direct / the gateway / a bare uWS+undici proxy / uWS with a minimal client / nginx.
// npm run build && node bench/experiments/c1-tail.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startGateway, startNginx, startSimulator } from '../../dist/bench/lib/targets.js';
import { RawHttpConnection, postRequest } from '../../dist/bench/lib/raw-http.js';
import { chatBody, chatPath, clientHeaders } from '../../dist/bench/scenarios/requests.js';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'switchyard-c1-tail-'));
const children = [];
async function bare(script, upstreamPort) {
  const port = await freePort();
  const child = spawn(process.execPath, [here(script), String(port), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return port;
}

const sim = await startSimulator();
const gateway = await startGateway({ name: 'gateway-t1', threads: 1, simulatorPort: sim.port, workDir: work, featureDefaults: false });
const nginx = await startNginx(work, sim.port);
const targets = [
  { name: 'direct', port: sim.port },
  { name: 'gateway-t1', port: gateway.port },
  { name: 'uws+undici (bare)', port: await bare('bare-undici-proxy.mjs', sim.port) },
  { name: 'uws+minimal client', port: await bare('bare-net-proxy.mjs', sim.port) },
  ...(typeof nginx === 'string' ? [] : [{ name: 'nginx', port: nginx.port }]),
];
const requests = Number(process.env.REQUESTS ?? 4000);
const block = 250;
const lanes = await Promise.all(targets.map(async (t) => ({ t, conn: await RawHttpConnection.open(t.port), req: postRequest(t.port, chatPath, chatBody, clientHeaders), us: [] })));
for (const lane of lanes) for (let i = 0; i < 300; i++) await lane.conn.send(lane.req, false);
for (let done = 0; done < requests; done += block) {
  for (const lane of lanes) for (let i = 0; i < block; i++) lane.us.push((await lane.conn.send(lane.req, false)).totalNs / 1e3);
}
for (const { t, us } of lanes) {
  us.sort((a, b) => a - b);
  const q = (p) => us[Math.floor(p * (us.length - 1))].toFixed(0);
  console.log(`${t.name.padEnd(20)} p50 ${q(0.5).padStart(5)} µs  p99 ${q(0.99).padStart(5)} µs  over 1 ms: ${us.filter((x) => x > 1000).length}/${us.length}`);
}
for (const lane of lanes) lane.conn.close();
for (const child of children) child.kill();
await gateway.child.stop();
if (typeof nginx !== 'string') await nginx.child.stop();
await sim.child.stop();
rmSync(work, { recursive: true, force: true });
