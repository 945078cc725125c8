// What one failover adds to a request: at c=1, a request whose first attempt gets a 503 at once (a
// one-shot rule scripted at the simulator just before it) and is answered by the priority-2 deployment,
// against normal requests to the same group in the same turns. Two normal requests per failed-over one
// keep the failing deployment's failure rate at a third, under the breaker's default 50%, and reset
// its failure streak, so its breaker stays closed and every measured failover is a real retry.
import { postRequest, RawHttpConnection, type ExchangeTiming } from './lib/raw-http.js';
import { round, summarizeNs, type LatencySummary } from './lib/stats.js';
import { requestFor, retryGroup } from './routing-config.js';
import { modeName, modes } from './routing-overhead.js';
import type { SimControl } from './routing-sim.js';
import { chatPath } from './scenarios/requests.js';

export interface RetryOnceOptions {
  gatewayPort: number;
  sim: SimControl;
  /** Failed-over requests per mode. */
  requests: number;
  blockSize: number;
  log(line: string): void;
}

export interface RetryOnceRow {
  mode: 'whole' | 'stream';
  /** Total time (whole) or time to the first content event (stream), µs. */
  normal: LatencySummary;
  failed_over: LatencySummary;
  added_p50_us: number;
  added_p99_us: number;
  non2xx: number;
  /** The simulator saw exactly one request to deployment 2 per failed-over request. */
  secondary_requests: number;
}

/** A probe with headers: the rule makes the first attempt fail and the answer says so. */
async function probe(opts: RetryOnceOptions): Promise<string | undefined> {
  const req = requestFor(retryGroup.model, false, undefined);
  await opts.sim.script([{ model: retryGroup.primary.upstream, status: 503, times: 1 }]);
  const res = await fetch(`http://127.0.0.1:${opts.gatewayPort}${chatPath}`, { method: 'POST', headers: { 'content-type': 'application/json', ...req.headers }, body: req.body });
  await res.text();
  const deployment = res.headers.get('x-switchyard-deployment');
  const attempts = res.headers.get('x-switchyard-attempts');
  if (res.status === 200 && deployment === retryGroup.secondary.id && attempts === '2') return undefined;
  return `failover probe: status ${res.status}, deployment ${deployment}, attempts ${attempts}`;
}

export async function runRetryOnce(opts: RetryOnceOptions): Promise<{ rows: RetryOnceRow[]; problems: string[] }> {
  opts.log(`(3) one failover at c=1: ${opts.requests} failed-over and ${2 * opts.requests} normal requests per mode, in turns of ${opts.blockSize}`);
  const problems: string[] = [];
  const failed = await probe(opts);
  if (failed !== undefined) return { rows: [], problems: [failed] };
  const connection = await RawHttpConnection.open(opts.gatewayPort);
  const lanes = modes.map((stream) => {
    const req = requestFor(retryGroup.model, stream, undefined);
    return { stream, request: postRequest(opts.gatewayPort, chatPath, req.body, req.headers), normal: [] as number[], failedOver: [] as number[], non2xx: 0 };
  });
  const before = await opts.sim.byModel();
  try {
    const time = (lane: (typeof lanes)[number], t: ExchangeTiming, into: number[]) => {
      if (t.status !== 200) lane.non2xx++;
      else into.push(lane.stream ? t.firstContentNs : t.totalNs);
    };
    for (const lane of lanes) for (let i = 0; i < 50; i++) await connection.send(lane.request, lane.stream); // warm-up
    for (let done = 0; done < opts.requests; done += opts.blockSize) {
      for (const lane of lanes) {
        for (let i = 0; i < Math.min(opts.blockSize, opts.requests - done); i++) {
          time(lane, await connection.send(lane.request, lane.stream), lane.normal);
          await opts.sim.script([{ model: retryGroup.primary.upstream, status: 503, times: 1 }]);
          time(lane, await connection.send(lane.request, lane.stream), lane.failedOver);
          time(lane, await connection.send(lane.request, lane.stream), lane.normal);
        }
      }
    }
  } finally {
    connection.close();
    await opts.sim.clearScript();
  }
  const after = await opts.sim.byModel();
  const secondary = (after[retryGroup.secondary.upstream] ?? 0) - (before[retryGroup.secondary.upstream] ?? 0);
  if (secondary !== opts.requests * lanes.length) problems.push(`retry-once: deployment 2 got ${secondary} requests, expected ${opts.requests * lanes.length} (one per failover)`);
  const rows = lanes.map((lane) => {
    const normal = summarizeNs(lane.normal);
    const failedOver = summarizeNs(lane.failedOver);
    if (lane.non2xx > 0) problems.push(`retry-once ${modeName(lane.stream)}: ${lane.non2xx} non-200 answers`);
    return {
      mode: modeName(lane.stream) as 'whole' | 'stream',
      normal,
      failed_over: failedOver,
      added_p50_us: round(failedOver.p50_us - normal.p50_us, 1),
      added_p99_us: round(failedOver.p99_us - normal.p99_us, 1),
      non2xx: lane.non2xx,
      secondary_requests: secondary,
    };
  });
  return { rows, problems };
}
