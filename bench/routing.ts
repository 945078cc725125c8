// Routing bench (issue 13): what routing costs and how fast it fails over, on one gateway (threads 1,
// audit off) in front of one simulator, in one run. (1) Overhead: a single-deployment model against a
// group of ten deployments per strategy (and weighted with sticky sessions), interleaved over rounds
// (bench/routing-overhead.ts). (2) Failover under c=8 load: a priority-1 deployment starts answering
// 503, the breaker opens, the fault clears, traffic returns (bench/routing-failover.ts). (3) What one
// failed attempt adds to a request (bench/routing-retry-once.ts). And, in-process, the routing work of
// one request alone (bench/routing-pick.ts), which the gateway rows carry inside their noise.
// Run alone: node dist/bench/routing.js [--quick]
// SWITCHYARD_BENCH_ROUTING_ROUNDS overrides the rounds of (1), SWITCHYARD_BENCH_ROUTING_CYCLES the cycles of (2).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from './lib/child.js';
import { formatTable, type Cell } from './lib/table.js';
import { distDir, freePort, startGatewayWith, type Target } from './lib/targets.js';
import { chatPath } from './scenarios/requests.js';
import { breakerCooldownMs, requestFor, routingYaml, variants, type Variant } from './routing-config.js';
import { runFailover, type FailoverResult } from './routing-failover.js';
import { runPick, type PickRow } from './routing-pick.js';
import { cpuConcurrency, modes, runOverhead, type OverheadRow, type Spread } from './routing-overhead.js';
import { runRetryOnce, type RetryOnceRow } from './routing-retry-once.js';
import { SimControl } from './routing-sim.js';

export interface RoutingBenchOptions {
  /** Accepted for the runner's common signature; this suite counts requests and rounds. */
  durationS?: number;
  warmupS?: number;
  quick?: boolean;
  log?: (line: string) => void;
}

async function startSimulator(): Promise<Target> {
  // One kept request: the bench polls /sim/stats for its per-model counts, not for bodies.
  const child = new Child('simulator', process.execPath, [join(distDir, 'src/simulator/main.js'), '--port', '0', '--keep-requests', '1']);
  const match = await child.waitForLine(/listening on http:\/\/[^:]+:(\d+)/, 15_000);
  return { name: 'simulator', port: Number(match[1]), child };
}

/** One request per variant and mode, read in full: the answer must come from one of the variant's deployments. */
async function probe(port: number, v: Variant, stream: boolean): Promise<string | undefined> {
  const req = requestFor(v.model, stream, 'sess-probe');
  try {
    const res = await fetch(`http://127.0.0.1:${port}${chatPath}`, { method: 'POST', headers: { 'content-type': 'application/json', ...req.headers }, body: req.body });
    const text = await res.text();
    const deployment = res.headers.get('x-switchyard-deployment') ?? '';
    const marker = stream ? text.includes('"delta":{"content":') && text.includes('[DONE]') : text.includes('"chat.completion"');
    if (res.status === 200 && marker && v.upstream.some((m) => deployment === `sim/${m}`)) return undefined;
    return `${v.name} ${stream ? 'stream' : 'whole'}: status ${res.status}, deployment '${deployment}', body ${text.slice(0, 300)}`;
  } catch (err) {
    return `${v.name}: ${(err as Error).message}`;
  }
}

/** How the c=16 and c=1 requests of each group spread over its deployments, from the simulator's counts. */
function spreadOverDeployments(counts: Record<string, number>): Record<string, number[]> {
  return Object.fromEntries(variants.map((v) => [v.name, v.upstream.map((m) => counts[m] ?? 0)]));
}

const range = (s: Spread) => (Number.isFinite(s.min) ? `${s.min}…${s.max}` : '-');

function overheadTables(rows: OverheadRow[], share: Record<string, number[]>): string {
  const used = (name: string) => {
    const counts = share[name] ?? [];
    const total = counts.reduce((a, b) => a + b, 0);
    return total === 0 ? '-' : `${counts.filter((c) => c / total >= 0.01).length}/${counts.length}`;
  };
  const latency: Cell[][] = rows.map((r) => [
    r.variant, r.mode, r.c1.p50_us, r.c1.p99_us, r.c1.added_p50_us, r.c1.added_p99_us,
    r.overhead_p50_us.median, range(r.overhead_p50_us), r.overhead_p99_us.median, range(r.overhead_p99_us),
  ]);
  const load: Cell[][] = rows.filter((r) => r.variant !== 'direct').map((r) => [
    r.variant, r.mode, r.rps_c16.median, range(r.rps_c16), r.rps_ratio.median, range(r.rps_ratio),
    r.cpu_us_per_request.median, range(r.cpu_us_per_request), r.cpu_overhead_us.median, range(r.cpu_overhead_us), used(r.variant), r.non2xx,
  ]);
  return [
    formatTable('(1a) c=1 latency, µs (stream: time to first content; added = gateway − direct, pooled; vs single = per-round difference, median and range)',
      ['model', 'mode', 'p50', 'p99', 'added p50', 'added p99', 'vs single p50', 'range', 'vs single p99', 'range'], latency),
    formatTable(`(1b) c=${cpuConcurrency}: req/s and gateway CPU µs per request (median and range over rounds; × and Δ against the single model's cell run next to it)`,
      ['model', 'mode', 'req/s', 'range', '× single', 'range', 'CPU µs', 'range', 'Δ CPU µs', 'range', 'deployments used', 'non-2xx'], load),
  ].join('\n');
}

function pickTable(rows: PickRow[]): string {
  return formatTable('(1c) routing work per request alone, in-process, ns (router, first choice, begin, close; median and range over rounds)',
    ['model', 'mode', 'ns', 'range', 'vs single', 'range'],
    rows.map((r) => [r.variant, r.mode, r.ns_per_request.median, range(r.ns_per_request), r.vs_single_ns.median, range(r.vs_single_ns)]));
}

function failoverTable(f: FailoverResult): string {
  const s = f.summary;
  const row = (label: string, key: string): Cell[] => [label, s[key]?.median, s[key] ? range(s[key]) : '-'];
  return formatTable(`(2) failover at c=${f.concurrency}, ${f.cycles.length} cycles (breaker: ${f.breaker.consecutive_failures} consecutive failures, cooldown ${f.breaker.cooldown_ms} ms); → = from the fault (the later of its PUT and the first failed-over request's sending)`,
    ['measure', 'median', 'range'], [
      row('client errors', 'client_errors'),
      row('req/s before the fault', 'rps_before'),
      row('req/s during the fault', 'rps_during_fault'),
      row('the fault\'s PUT itself, ms', 'fault_put_ms'),
      row('the fault, after its PUT was sent, ms', 'fault_anchor_ms'),
      row('→ first response from deployment 2, ms', 'fault_to_first_fallback_ms'),
      row('  that request, send → answer, ms', 'first_fallback_request_ms'),
      row('failed attempts before the breaker opened', 'failed_attempts_before_open'),
      row('→ last request on deployment 1 answered, ms', 'fault_to_primary_quiet_ms'),
      row('→ first request routed past the open breaker, ms', 'fault_to_breaker_open_seen_ms'),
      row('simulator: 503s answered in the burst', 'sim_failed_in_burst'),
      row('simulator: → 503 count stops rising, ms (± poll)', 'sim_fault_to_primary_quiet_ms'),
      row('half-open trials during the fault', 'half_open_trials'),
      row('time between failures on deployment 1, ms', 'trial_intervals_ms'),
      row('last failure → deployment 1 serving again, ms', 'last_failure_to_return_ms'),
      row('fault cleared → deployment 1 serving again, ms', 'clear_to_return_ms'),
      row('deployment 1 share, 300 ms after its return', 'primary_share_after_return'),
    ]);
}

function retryTable(rows: RetryOnceRow[]): string {
  return formatTable('(3) one failed attempt (503 at once) then deployment 2, c=1, µs (stream: time to first content)',
    ['mode', 'normal p50', 'normal p99', 'failed over p50', 'failed over p99', 'added p50', 'added p99', 'non-2xx'],
    rows.map((r) => [r.mode, r.normal.p50_us, r.normal.p99_us, r.failed_over.p50_us, r.failed_over.p99_us, r.added_p50_us, r.added_p99_us, r.non2xx]));
}

export async function runRoutingBench(opts: RoutingBenchOptions = {}): Promise<object> {
  const log = opts.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const envNumber = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  const quick = opts.quick ?? false;
  const settings = {
    rounds: envNumber('SWITCHYARD_BENCH_ROUTING_ROUNDS') ?? (quick ? 2 : 8),
    latency_per_round: quick ? 200 : 500,
    latency_warmup: quick ? 50 : 200,
    cpu_per_cell: quick ? 600 : 1000,
    failover_cycles: envNumber('SWITCHYARD_BENCH_ROUTING_CYCLES') ?? (quick ? 2 : 5),
    failover_warm_ms: 1000,
    failover_fault_ms: 2.5 * breakerCooldownMs,
    failover_poll_ms: 5,
    retry_once_requests: quick ? 150 : 600,
    pick_rounds: quick ? 3 : 10,
    pick_per_round: quick ? 20_000 : 100_000,
    quick,
  };
  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-routing-bench-'));
  const started: Target[] = [];
  const problems: string[] = [];
  let sim: SimControl | undefined;
  try {
    // Before any process is started, so nothing of the bench's own competes with it.
    const pick = await runPick({ rounds: settings.pick_rounds, perRound: settings.pick_per_round, log });
    log(pickTable(pick));

    const simulator = await startSimulator();
    started.push(simulator);
    const config = routingYaml(workDir, simulator.port, await freePort());
    const gateway = await startGatewayWith(workDir, config);
    started.push(gateway);
    sim = new SimControl(simulator.port);
    log(`simulator :${simulator.port}, gateway :${gateway.port} (threads 1, audit off); ${variants.length} models of 1 or 10 deployments`);
    const failures = (await Promise.all(variants.flatMap((v) => modes.map((stream) => probe(gateway.port, v, stream))))).filter((f) => f !== undefined);
    if (failures.length > 0) {
      failures.forEach((f) => log(`probe failed: ${f}`));
      return { settings, config, problems: failures.map((f) => `probe failed: ${f}`) };
    }

    const countsBefore = await sim.byModel();
    const overhead = await runOverhead({
      gatewayPort: gateway.port, gatewayPid: gateway.child.pid, simPort: simulator.port, rounds: settings.rounds,
      latencyPerRound: settings.latency_per_round, latencyWarmup: settings.latency_warmup, cpuPerCell: settings.cpu_per_cell, log,
    });
    const countsAfter = await sim.byModel();
    const share = spreadOverDeployments(Object.fromEntries(Object.entries(countsAfter).map(([m, n]) => [m, n - (countsBefore[m] ?? 0)])));
    for (const r of overhead) {
      if (r.non2xx + r.incomplete_streams > 0) problems.push(`${r.variant} ${r.mode}: ${r.non2xx} non-2xx, ${r.incomplete_streams} streams without content`);
    }
    log(overheadTables(overhead, share));

    const retryOnce = await runRetryOnce({ gatewayPort: gateway.port, sim, requests: settings.retry_once_requests, blockSize: 50, log });
    problems.push(...retryOnce.problems);
    log(retryTable(retryOnce.rows));

    const failover = await runFailover({
      gatewayPort: gateway.port, sim, cycles: settings.failover_cycles, warmMs: settings.failover_warm_ms,
      faultMs: settings.failover_fault_ms, pollMs: settings.failover_poll_ms, log,
    });
    for (const [i, c] of failover.cycles.entries()) {
      if (c.client_errors > 0) problems.push(`failover cycle ${i + 1}: ${c.client_errors} client errors`);
      if (!Number.isFinite(c.last_failure_to_return_ms)) problems.push(`failover cycle ${i + 1}: traffic did not return to deployment 1`);
    }
    log(failoverTable(failover));

    for (const t of started) {
      if (t.child.exit !== undefined) problems.push(`${t.name} exited during the run: ${JSON.stringify(t.child.exit)}`);
      if (t.child.problemLines > 0) problems.push(`${t.name} logged ${t.child.problemLines} warning/error lines: ${[...t.child.stdoutLines, ...t.child.stderrLines].slice(-3).join(' | ')}`);
    }
    log(problems.length === 0 ? '\nproblems: none' : `\nproblems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return { settings, config, overhead, routing_work_ns: pick, deployment_counts: share, retry_once: retryOnce.rows, failover, problems };
  } finally {
    await sim?.close();
    for (const t of started.reverse()) if (t.child.exit === undefined) await t.child.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runRoutingBench({ quick: process.argv.includes('--quick') });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
