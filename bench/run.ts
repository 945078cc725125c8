// npm run bench [-- --only core|limits|observability|guards|guards-gateway|all] — see docs/BENCHMARKS.md.
// The core suite starts the simulator, the gateway (threads 1 and auto) and nginx as child processes
// and measures them in one run: throughput sweep, sequential added latency, streaming TTFT and gaps.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killRunningChildren } from './lib/child.js';
import { wrkAvailable, type LoadTool } from './lib/load.js';
import { machineInfo } from './lib/machine.js';
import { runProfile } from './lib/profile.js';
import { formatCore, summarize, type CoreResults } from './lib/report.js';
import { repoRoot, startGateway, startNginx, startSimulator, type Target } from './lib/targets.js';
import { runSequential } from './scenarios/latency.js';
import { runStreaming } from './scenarios/streaming.js';
import { runSweep } from './scenarios/throughput.js';
import { runRatioRounds } from './scenarios/ratio-rounds.js';

const usage = `npm run bench -- [options]
  --only SUITES        core (default), limits, observability, guards, guards-gateway, translation, routing, mcp, all; comma-separated
  --duration S         seconds per load cell (default 5; --quick: 2)
  --warmup S           warm-up seconds before each cell (default 1)
  --concurrency LIST   sweep concurrencies (default 1,8,64,256)
  --tool T             wrk | autocannon | both (default wrk when /usr/bin/wrk exists)
  --requests N         sequential c=1 requests per target (default 5000)
  --rounds N           (a2) paired throughput rounds at c=64 (default 7, 3 with --quick; 0 skips)
  --no-nginx           skip the nginx row
  --feature-defaults   leave audit at its default instead of switching it off
  --quick              short cells, fewer samples (a smoke run)
  --name NAME          results file suffix (default: the suites)
  --profile            profile the gateway instead: --threads N|auto (1), --profile-seconds S (10),
                       --profile-connections C (64), --stream, --top N (30)`;

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'core' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string', default: '1,8,64,256' },
    tool: { type: 'string' },
    requests: { type: 'string' },
    'no-nginx': { type: 'boolean', default: false },
    'feature-defaults': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    name: { type: 'string' },
    profile: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1' },
    'profile-seconds': { type: 'string', default: '10' },
    'profile-connections': { type: 'string', default: '64' },
    stream: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function num(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${raw}'`);
  return n;
}

const quick = values.quick;
const durationS = num('duration', values.duration, quick ? 2 : 5);
const warmupS = num('warmup', values.warmup, 1);
const concurrencies = values.concurrency.split(',').map((c) => num('concurrency', c, 1));
const sequentialRequests = num('requests', values.requests, quick ? 1000 : 5000);
const hasWrk = wrkAvailable();
const toolChoice = values.tool ?? (hasWrk ? 'wrk' : 'autocannon');
if (!['wrk', 'autocannon', 'both'].includes(toolChoice)) throw new Error(`--tool must be wrk, autocannon or both`);
if (toolChoice !== 'autocannon' && !hasWrk) throw new Error('--tool wrk needs /usr/bin/wrk');
const tools: LoadTool[] = toolChoice === 'both' ? ['wrk', 'autocannon'] : [toolChoice as LoadTool];
const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** The other suites live in files owned elsewhere; each is optional and imported only when asked for. */
const extraSuites: Record<string, { file: string; entry: string }> = {
  limits: { file: './limits.js', entry: 'runLimitsBench' },
  observability: { file: './observability.js', entry: 'runObservabilityBench' },
  guards: { file: './guards.js', entry: 'runGuardsBench' },
  'guards-gateway': { file: './guards-gateway.js', entry: 'runGuardsGatewayBench' },
  translation: { file: './translation.js', entry: 'runTranslationBench' },
  routing: { file: './routing.js', entry: 'runRoutingBench' },
  mcp: { file: './mcp.js', entry: 'runMcpBench' },
};

async function runCore(): Promise<Record<string, unknown>> {
  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const started: Target[] = [];
  const notes: string[] = [];
  try {
    const simulator = await startSimulator();
    started.push(simulator);
    for (const threads of [1, 'auto'] as const) {
      const name = threads === 1 ? 'gateway-t1' : 'gateway-auto';
      started.push(await startGateway({ name, threads, simulatorPort: simulator.port, workDir, featureDefaults: values['feature-defaults'] }));
    }
    if (!values['no-nginx']) {
      const nginx = await startNginx(workDir, simulator.port);
      if (typeof nginx === 'string') notes.push(nginx);
      else started.push(nginx);
    } else {
      notes.push('nginx skipped (--no-nginx)');
    }
    if (!hasWrk) notes.push('wrk not installed (/usr/bin/wrk): the sweep used autocannon');
    notes.forEach((note) => log(`note: ${note}`));
    const targets = [...started];
    log(`targets: ${targets.map((t) => `${t.name}=:${t.port}`).join(', ')}; work dir ${workDir}`);

    const results: CoreResults = { sweep: {}, sequential: [], streaming: undefined };
    for (const tool of tools) {
      log(`\n(a) concurrency sweep with ${tool}: ${durationS} s per cell after ${warmupS} s warm-up`);
      results.sweep[tool] = await runSweep(targets, { concurrencies, durationS, warmupS, tool, scriptDir: workDir, log });
    }
    const rounds = Number(values.rounds ?? (quick ? 3 : 7));
    if (rounds > 0) {
      log(`\n(a2) throughput ratio rounds at c=64: ${rounds} rounds of 3 s per target, order rotating`);
      results.ratioRounds = await runRatioRounds(targets, { rounds, durationS: 3, connections: 64, tool: tools[0], scriptDir: workDir, log });
    }
    log(`\n(b) sequential latency: ${sequentialRequests} requests per target at c=1`);
    results.sequential = await runSequential(targets, { requests: sequentialRequests, warmup: 500, blockSize: 250 });
    log('\n(c) streaming');
    results.streaming = await runStreaming(targets, {
      sequentialStreams: quick ? 500 : 2000,
      blockSize: 100,
      concurrency: 64,
      durationS: quick ? 2 : 3,
      warmupS,
      pacedStreams: quick ? 20 : 60,
      log,
    });

    const health = targets.map((t) => ({
      target: t.name,
      alive: t.child.exit === undefined,
      exit: t.child.exit,
      problem_lines: t.child.problemLines,
      last_lines: t.child.problemLines > 0 || t.child.exit ? [...t.child.stdoutLines, ...t.child.stderrLines].slice(-10) : [],
    }));
    const summary = summarize(results, targets.map((t) => t.name));
    for (const h of health) {
      if (!h.alive) summary.problems.push(`${h.target} exited during the run: ${JSON.stringify(h.exit)}`);
      if (h.problem_lines > 0) summary.problems.push(`${h.target} logged ${h.problem_lines} warning/error lines: ${h.last_lines.slice(-3).join(' | ')}`);
    }
    log(formatCore(results, summary));
    return {
      notes,
      settings: { durationS, warmupS, concurrencies, tools, sequentialRequests, feature_defaults: values['feature-defaults'], quick },
      configs: targets.map((t) => ({ target: t.name, config: t.configPath })),
      results,
      summary,
      health,
    };
  } finally {
    for (const target of started.reverse()) await target.child.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function runExtraSuite(name: string): Promise<unknown> {
  const suite = extraSuites[name];
  let module: Record<string, unknown>;
  try {
    module = (await import(suite.file)) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(suite.file.slice(2))) {
      log(`note: suite ${name} skipped: bench/${suite.file.slice(2, -3)}.ts is not there yet`);
      return { skipped: 'module not present' };
    }
    throw err;
  }
  const entry = module[suite.entry];
  if (typeof entry !== 'function') throw new Error(`bench/${suite.file.slice(2, -3)}.ts does not export ${suite.entry}()`);
  log(`\n== suite ${name} ==`);
  return (await entry({ durationS, warmupS, quick, log })) as unknown;
}

async function main(): Promise<void> {
  if (values.help) {
    log(usage);
    return;
  }
  const machine = machineInfo();
  const stamp = machine.date.replace(/[:.]/g, '-');
  const resultsDir = join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });

  if (values.profile) {
    const threads = values.threads === 'auto' ? 'auto' : num('threads', values.threads, 1);
    const profile = await runProfile({
      threads,
      seconds: num('profile-seconds', values['profile-seconds'], 10),
      connections: num('profile-connections', values['profile-connections'], 64),
      stream: values.stream,
      tool: tools[0],
      featureDefaults: values['feature-defaults'],
      top: num('top', values.top, 30),
      log,
    });
    const file = join(resultsDir, `${stamp}-profile.json`);
    writeFileSync(file, `${JSON.stringify({ machine, profile }, null, 2)}\n`);
    log(`wrote ${file}`);
    return;
  }

  const wanted = values.only === 'all' ? ['core', ...Object.keys(extraSuites)] : values.only.split(',').map((s) => s.trim());
  for (const name of wanted) if (name !== 'core' && !(name in extraSuites)) throw new Error(`unknown suite '${name}'\n${usage}`);
  log(`switchyard bench: ${machine.cpu_model}, ${machine.cores} cores, Node ${machine.node}, commit ${machine.git_commit.slice(0, 10)}, load ${machine.loadavg_start.join(' ')}`);
  const suites: Record<string, unknown> = {};
  const started = Date.now();
  for (const name of wanted) suites[name] = name === 'core' ? await runCore() : await runExtraSuite(name);
  const report = { machine: { ...machine, loadavg_end: loadavg().map((v) => Math.round(v * 100) / 100) }, elapsed_s: Math.round((Date.now() - started) / 1000), suites };
  const file = join(resultsDir, `${stamp}-${values.name ?? wanted.join('+')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`\nwrote ${file} (${report.elapsed_s} s)`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping the benchmarked processes`);
    killRunningChildren();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
