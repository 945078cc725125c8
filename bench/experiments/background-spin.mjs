// Small requests' latency through a plain gateway (1 server thread, no features) while other
// processes run at SCHED_IDLE, the guard pool's priority: none, two arithmetic spinners (no memory
// traffic), two memory spinners (64 MB arrays swept). SCHED_IDLE yields the CPU at once, so what the
// memory spinners still cost the gateway is shared hardware (cache, memory bandwidth), not scheduling.
// Also prints the VM's steal time over each round. Run from the repo after a build:
//   node bench/experiments/background-spin.mjs
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dist = fileURLToPath(new URL('../../dist', import.meta.url));
const { startSimulator, freePort } = await import(`${dist}/bench/lib/targets.js`);
const { Child } = await import(`${dist}/bench/lib/child.js`);
const { postRequest, RawHttpConnection } = await import(`${dist}/bench/lib/raw-http.js`);
const work = mkdtempSync(join(tmpdir(), 'sy-spin-'));
const sim = await startSimulator();
const port = await freePort();
const cfg = join(work, 'gw.yaml');
writeFileSync(cfg, [`server: { host: 127.0.0.1, port: ${port}, threads: 1 }`, 'admin: { enabled: false }', `data_dir: ${join(work, 'data')}`, 'simulator: { enabled: false }', 'providers:', `  - { name: sim, type: openai, base_url: "http://127.0.0.1:${sim.port}/v1", api_key: sk-x }`, 'models:', '  - { name: gpt-4o-mini, provider: sim }', 'audit: { enabled: false }'].join('\n'));
const gw = new Child('gw', process.execPath, [join(dist, 'src/cli.js'), 'start', '--config', cfg], { cwd: work });
await gw.waitForLine(/switchyard listening/, 30000);
const small = postRequest(port, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'What is the notice period?' }] }));
const steal = () => { const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number); return { steal: f[8], total: f.slice(1, 9).reduce((a, b) => a + b, 0) }; };
async function round(seconds) {
  const probe = await RawHttpConnection.open(port);
  const s = [];
  const until = performance.now() + seconds * 1000;
  const a = steal();
  while (performance.now() < until) { const t = await probe.send(small, false); if (t.status === 200) s.push(t.totalNs / 1e6); await new Promise((r) => setTimeout(r, 2)); }
  const b = steal();
  probe.close(); s.sort((x, y) => x - y);
  return { p50: s[Math.floor(s.length * 0.5)].toFixed(3), p99: s[Math.floor(s.length * 0.99)].toFixed(3), stealPct: (100 * (b.steal - a.steal) / (b.total - a.total)).toFixed(1) };
}
const spinners = {
  none: null,
  alu: 'let x = 0; for (;;) { x = (x * 1103515245 + 12345) | 0; }',
  memory: 'const a = new Float64Array(8 << 20); let s = 0; for (;;) { for (let i = 0; i < a.length; i += 8) { a[i] += 1; s += a[i]; } }',
};
await round(1);
for (let r = 0; r < 3; r++) {
  for (const [name, code] of Object.entries(spinners)) {
    const procs = code ? [0, 1].map(() => spawn('chrt', ['--idle', '0', process.execPath, '-e', code], { stdio: 'ignore' })) : [];
    await new Promise((res) => setTimeout(res, 300));
    const res = await round(4);
    for (const p of procs) p.kill('SIGKILL');
    console.log(`${name.padEnd(7)} p50 ${res.p50} ms p99 ${res.p99} ms steal ${res.stealPct}%`);
  }
}
await gw.stop('SIGTERM');
await sim.child.stop();
rmSync(work, { recursive: true, force: true });
