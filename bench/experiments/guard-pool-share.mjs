// Guard pool exhaustion by one caller (issue 11 item 15), through a real gateway: one server thread
// with every guard on (prompt guards, PII, exact counts) and a pool of 2 workers; one caller (key
// "bulk") keeps 8 connections busy with 2 MiB prompts while another (key "app") sends ordinary guarded
// requests one at a time. Prints, per phase, the ordinary requests' success rate and p50/p99 and
// what the 2 MiB prompts got (status and code counts, latency of each outcome).
// Loopback only, bounded: every phase ends after its seconds, then every process is stopped.
// Run from the repo after a build:
//   node bench/experiments/guard-pool-share.mjs
// SWITCHYARD_BENCH_GATEWAY_DIST=/other/build runs that build (A/B: the unfixed build against the fixed one);
// SWITCHYARD_EXPERIMENT_SECONDS sets each phase's length (default 15), SWITCHYARD_EXPERIMENT_POOL adds
// keys to the gateway's `pool:` section (YAML flow pairs, e.g. "small_lane_max_bytes: 0").
// Large clients wait out retry-after as the OpenAI SDKs do; with --no-backoff they send again at once.
// With --distinct-callers each of the 8 large clients has a key of its own (8 callers, not one).
// SWITCHYARD_EXPERIMENT_KINDS picks the ordinary requests measured (default "6kb,short").
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';

const dist = process.env.SWITCHYARD_BENCH_GATEWAY_DIST ?? fileURLToPath(new URL('../../dist', import.meta.url));
const { startSimulator, freePort } = await import(`${dist}/bench/lib/targets.js`);
const { Child } = await import(`${dist}/bench/lib/child.js`);
const { contractText } = await import(`${dist}/bench/guards.js`);
const seconds = Number(process.env.SWITCHYARD_EXPERIMENT_SECONDS ?? 15);
const extraPool = process.env.SWITCHYARD_EXPERIMENT_POOL ?? '';
const backoff = !process.argv.includes('--no-backoff');
const distinct = process.argv.includes('--distinct-callers');
const kinds = (process.env.SWITCHYARD_EXPERIMENT_KINDS ?? '6kb,short').split(',');
const largeClients = 8;
const keys = { bulk: 'sk-experiment-bulk', app: 'sk-experiment-app' };
const bulkKeys = Array.from({ length: largeClients }, (_, i) => (distinct ? `${keys.bulk}-${i}` : keys.bulk));
const piiDetectors = '{ email: pseudonymize, phone: mask, credit_card: mask, us_ssn: mask, iban: pseudonymize, ipv4: mask, ipv6: mask, secret: mask }';

const work = mkdtempSync(join(tmpdir(), 'sy-pool-share-'));
const sim = await startSimulator();
const largeSim = await startSimulator();
const port = await freePort();
const cfg = join(work, 'gw.yaml');
writeFileSync(cfg, [
  `server: { host: 127.0.0.1, port: ${port}, threads: 1 }`,
  'admin: { enabled: false }',
  `data_dir: ${JSON.stringify(join(work, 'data'))}`,
  'simulator: { enabled: false }',
  'audit: { enabled: false }',
  'auth: keys',
  'keys:',
  `  - { name: bulk, key: ${keys.bulk} }`,
  `  - { name: app, key: ${keys.app} }`,
  ...(distinct ? bulkKeys.map((key, i) => `  - { name: bulk-${i}, key: ${key} }`) : []),
  'providers:',
  `  - { name: sim, type: openai, base_url: "http://127.0.0.1:${sim.port}/v1", api_key: sk-x }`,
  `  - { name: sim-large, type: openai, base_url: "http://127.0.0.1:${largeSim.port}/v1", api_key: sk-x }`,
  'models:',
  '  - { name: gpt-4o-mini, provider: sim }',
  '  - { name: gpt-4o-large, provider: sim-large }',
  'tokenizer: { enabled: true }',
  `pool: { size: 2${extraPool ? `, ${extraPool}` : ''} }`,
  'guards:',
  '  prompt:',
  "    - { name: deny, deny: ['\\bbuild\\b.*\\b(bomb|explosive)s?\\b', 'ignore (all )?previous instructions', 'system prompt'] }",
  'pii:',
  `  - { name: all, detectors: ${piiDetectors} }`,
].join('\n'));
const gw = new Child('gw', process.execPath, [join(dist, 'src/cli.js'), 'start', '--config', cfg], { cwd: work });
await gw.waitForLine(/switchyard listening/, 30000);

const chat = (model, content) => JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content }] });
// Ordinary requests of two sizes: a short question (analysed on the server thread, under
// inline_max_bytes) and a 6 KB one (a system prompt and a question: the pool's work).
const ordinary = {
  short: chat('gpt-4o-mini', 'What is the notice period in section 4?'),
  '6kb': JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'system', content: contractText(6 * 1024) }, { role: 'user', content: 'What is the notice period in section 4?' }] }),
};
const large = chat('gpt-4o-large', contractText(2 * 1024 * 1024));
const gateway = new Pool(`http://127.0.0.1:${port}`, { connections: largeClients + 2, pipelining: 1, bodyTimeout: 60_000, headersTimeout: 60_000 });

async function post(body, key) {
  const started = performance.now();
  const res = await gateway.request({ method: 'POST', path: '/v1/chat/completions', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` } });
  const text = await res.body.text();
  const ms = performance.now() - started;
  let code = null;
  if (res.statusCode !== 200) {
    try { code = JSON.parse(text).error?.code ?? null; } catch { code = 'unparsed'; }
  }
  return { status: res.statusCode, code, ms, retryAfter: res.headers['retry-after'] };
}

const pct = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]);
const fmt = (ms) => (Number.isNaN(ms) ? '-' : ms < 10 ? ms.toFixed(2) : ms.toFixed(0));

function summary(results) {
  const ok = results.filter((r) => r.status === 200).map((r) => r.ms).sort((a, b) => a - b);
  const all = results.map((r) => r.ms).sort((a, b) => a - b);
  const outcomes = {};
  for (const r of results) {
    const label = r.status === 200 ? '200' : `${r.status} ${r.code}`;
    const o = (outcomes[label] ??= { n: 0, ms: [], retryAfter: new Set() });
    o.n++;
    o.ms.push(r.ms);
    if (r.retryAfter !== undefined) o.retryAfter.add(r.retryAfter);
  }
  const text = Object.entries(outcomes)
    .map(([label, o]) => {
      o.ms.sort((a, b) => a - b);
      const ra = o.retryAfter.size ? `, retry-after ${[...o.retryAfter].join('/')}` : '';
      return `${label}: ${o.n} (p50 ${fmt(pct(o.ms, 50))} ms${ra})`;
    })
    .join('; ');
  return { n: results.length, okRate: results.length ? ok.length / results.length : NaN, p50: pct(all, 50), p99: pct(all, 99), okP50: pct(ok, 50), text };
}

/** One phase: the ordinary client alone or beside the 8 bulk connections, for `seconds`. */
async function phase(name, withLarge, kind) {
  const until = performance.now() + seconds * 1000;
  const largeResults = [];
  const loops = [];
  if (withLarge) {
    for (let i = 0; i < largeClients; i++) {
      loops.push((async () => {
        while (performance.now() < until) {
          const r = await post(large, bulkKeys[i]);
          largeResults.push(r);
          if (backoff && r.retryAfter !== undefined) {
            const waitMs = Math.min(Number(r.retryAfter) * 1000, until - performance.now());
            if (waitMs > 0) await new Promise((res) => setTimeout(res, waitMs));
          }
        }
      })());
    }
    await new Promise((res) => setTimeout(res, 500)); // let the pool fill before measuring
  }
  const small = [];
  while (performance.now() < until) {
    small.push(await post(ordinary[kind], keys.app));
    await new Promise((res) => setTimeout(res, 5));
  }
  await Promise.all(loops);
  const s = summary(small);
  console.log(`${name.padEnd(28)} ordinary ${kind}: ${s.n} sent, ${(100 * s.okRate).toFixed(1)}% ok, p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms [${s.text}]`);
  if (withLarge) {
    const l = summary(largeResults);
    console.log(`${''.padEnd(28)} 2 MiB prompts: ${l.n} sent, ${(100 * l.okRate).toFixed(1)}% ok [${l.text}]`);
  }
}

try {
  console.log(`gateway ${dist}, pool: { size: 2${extraPool ? `, ${extraPool}` : ''} }, ${seconds} s a phase, ${distinct ? '8 callers' : 'one caller'} sending 2 MiB prompts, ${backoff ? 'honouring' : 'ignoring'} retry-after; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await post(ordinary['6kb'], keys.app); // warm-up
  for (const kind of kinds) {
    await phase('alone', false, kind);
    await phase(`beside 8 × 2 MiB`, true, kind);
  }
} finally {
  await gateway.close();
  await gw.stop('SIGTERM');
  await sim.child.stop();
  await largeSim.child.stop();
  rmSync(work, { recursive: true, force: true });
}
