// Child-process entry: runs one autocannon load (spec as JSON in argv[2]) and prints "ACJSON {...}".
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const result = await autocannon({
    url: `http://127.0.0.1:${spec.port}${spec.path}`,
    method: 'POST',
    body: spec.body,
    headers: { 'content-type': 'application/json', ...spec.headers },
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 10,
  });
  const ms = (value: number): number => Math.round(value * 1000);
  const summary: LoadResult = {
    tool: 'autocannon',
    connections: spec.connections,
    duration_s: result.duration,
    requests: result.requests.total,
    rps: Math.round(result.requests.total / result.duration),
    p50_us: ms(result.latency.p50),
    p99_us: ms(result.latency.p99),
    mean_us: ms(result.latency.mean),
    max_us: ms(result.latency.max),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
  process.stdout.write(`ACJSON ${JSON.stringify(summary)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`autocannon child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
