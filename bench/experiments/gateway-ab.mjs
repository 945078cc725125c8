// A/B throughput of two gateway setups, one gateway alive at a time: each round starts A fresh, loads
// it at c=64 (2 s warm-up, then measured), stops it, then B; the order alternates. A setup is
// NAME[:DIST]: NAME picks the observability config below, DIST another build's dist/ (kept inside the
// repo so that it resolves node_modules).
// SWITCHYARD_AB=cpu measures the gateway process's CPU per request instead (all its threads, from
// /proc/PID/stat over the measured part, at c=8): it moves far less with the machine's load.
// SWITCHYARD_AB_STREAM=1 sends streamed requests (stream: true, no include_usage) instead.
// Run from the repo after a build:
//   node bench/experiments/gateway-ab.mjs off on [ROUNDS=6] [SECONDS=3]
//   node bench/experiments/gateway-ab.mjs on:$PWD/.old-dist on      # an older build against this one
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const dist = fileURLToPath(new URL('../../dist', import.meta.url));
const { startSimulator, freePort } = await import(`${dist}/bench/lib/targets.js`);
const { Child } = await import(`${dist}/bench/lib/child.js`);
const { runLoad } = await import(`${dist}/bench/lib/load.js`);
const work = mkdtempSync(join(tmpdir(), 'switchyard-ab-'));
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there, how are you today?' }], max_tokens: 16, ...(process.env.SWITCHYARD_AB_STREAM === '1' ? { stream: true } : {}) });
const obs = {
  off: 'metrics: { enabled: false }\naudit: { enabled: false }',
  on: 'metrics: { enabled: true }\naudit: { enabled: true, bodies: true, sinks: { file: { enabled: true, fsync_ms: 100 } } }',
  metrics: 'metrics: { enabled: true }\naudit: { enabled: false }',
  nobodies: 'metrics: { enabled: true }\naudit: { enabled: true, bodies: false, sinks: { file: { enabled: true, fsync_ms: 100 } } }',
  shm: `metrics: { enabled: true }\naudit: { enabled: true, bodies: true, sinks: { file: { enabled: true, fsync_ms: 100, dir: /dev/shm/switchyard-ab-audit-${process.pid} } } }`,
};
const specs = process.argv.slice(2, 4);
const rounds = Number(process.argv[4] ?? 6), secs = Number(process.argv[5] ?? 3);
const sim = await startSimulator();
const cpuMode = process.env.SWITCHYARD_AB === 'cpu';
const load = (port, s) => runLoad('wrk', { port, path: '/v1/chat/completions', body, headers: {}, connections: cpuMode ? 8 : 64, durationS: s }, work);
/** utime + stime of a process, all threads, in clock ticks (USER_HZ 100: 10 ms each). */
function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
async function measure(spec) {
  const [name, gdist = dist] = spec.split(':');
  const port = await freePort();
  const tag = `${name}${Math.random()}`;
  const cfg = join(work, `${tag}.yaml`);
  writeFileSync(cfg, [`server: { host: 127.0.0.1, port: ${port}, threads: 2 }`, 'admin: { enabled: true, host: 127.0.0.1, port: 0 }', `data_dir: ${JSON.stringify(join(work, tag + '-data'))}`, 'simulator: { enabled: false }', 'providers:', `  - { name: sim, type: openai, base_url: "http://127.0.0.1:${sim.port}/v1", api_key: sk-x }`, 'models:', '  - { name: gpt-4o-mini, provider: sim }', obs[name]].join('\n'));
  const child = new Child(name, process.execPath, [join(gdist, 'src/cli.js'), 'start', '--config', cfg], { cwd: work });
  await child.waitForLine(/switchyard listening/, 30000);
  await load(port, 2);
  const ticks = cpuTicks(child.pid);
  const r = await load(port, secs);
  const cpuUs = ((cpuTicks(child.pid) - ticks) * 10_000) / r.requests;
  await child.stop('SIGTERM');
  rmSync(join(work, tag + '-data'), { recursive: true, force: true });
  return cpuMode ? cpuUs : r.rps;
}
const ratios = [];
for (let i = 0; i < rounds; i++) {
  const order = i % 2 === 0 ? [0, 1] : [1, 0];
  const rps = [];
  for (const k of order) rps[k] = await measure(specs[k]);
  ratios.push(rps[1] / rps[0] - 1);
  console.log(`${rps[0].toFixed(cpuMode ? 1 : 0)} ${rps[1].toFixed(cpuMode ? 1 : 0)}${cpuMode ? ' µs/request' : ' req/s'} ${(100 * (rps[1] / rps[0] - 1)).toFixed(1)}%`);
}
ratios.sort((x, y) => x - y);
console.log(`median ${specs[1]} vs ${specs[0]}: ${(100 * ratios[Math.floor(ratios.length / 2)]).toFixed(1)}%  mean ${(100 * ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(1)}%`);
await sim.child.stop();
rmSync(work, { recursive: true, force: true });
rmSync(`/dev/shm/switchyard-ab-audit-${process.pid}`, { recursive: true, force: true });
