// Routing overhead: every variant (the single-deployment model and one ten-deployment group per
// strategy) on the one gateway, whole and streamed, A/B-interleaved over rounds. (a) c=1 latency: each
// round every lane (variant × mode, plus the simulator asked directly) sends a block of requests, the
// order rotating; a round's overhead is the group's percentile minus the single model's in that round.
// (b) c=16: A/B pairs, each group's cell next to a single-model cell, over rounds; req/s and the
// gateway's CPU per request from /proc, compared within each pair.
import { readdirSync, readFileSync } from 'node:fs';
import { postRequest, RawHttpConnection, type ExchangeTiming } from './lib/raw-http.js';
import { percentile, round, summarizeNs, type LatencySummary } from './lib/stats.js';
import { chatPath } from './scenarios/requests.js';
import { referenceVariant, requestFor, variants, type Variant } from './routing-config.js';

export interface OverheadOptions {
  gatewayPort: number;
  gatewayPid: number | undefined;
  simPort: number;
  rounds: number;
  /** c=1 requests per lane and round. */
  latencyPerRound: number;
  latencyWarmup: number;
  /** c=16 requests per variant, mode and round. */
  cpuPerCell: number;
  log(line: string): void;
}

export const cpuConcurrency = 16;
/** c=1 requests a lane sends before the next lane's turn. */
const latencyBlock = 100;
export const modes = [false, true] as const;
export const modeName = (stream: boolean) => (stream ? 'stream' : 'whole');

/** Median and range of per-round values. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spread(values: readonly number[], digits = 1): Spread {
  const finite = values.filter(Number.isFinite);
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length === 0 ? Number.NaN : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median: round(median, digits), min: round(sorted[0] ?? Number.NaN, digits), max: round(sorted[sorted.length - 1] ?? Number.NaN, digits), values: values.map((v) => round(v, digits)) };
}

interface LatencyLane {
  variant: string;
  stream: boolean;
  connection: RawHttpConnection;
  request: Buffer;
  /** Per round: total time (whole) or time to the first content event (stream), ns. */
  rounds: number[][];
  /** Streams only: total time, all rounds. */
  streamTotals: number[];
  non2xx: number;
  incomplete: number;
}

const ok = (status: number) => status >= 200 && status <= 299;

function keep(lane: LatencyLane, timing: ExchangeTiming, into: number[] | undefined): void {
  if (!ok(timing.status)) {
    lane.non2xx++;
    return;
  }
  if (into === undefined) return;
  if (!lane.stream) {
    into.push(timing.totalNs);
    return;
  }
  if (timing.firstContentNs < 0) lane.incomplete++;
  else into.push(timing.firstContentNs);
  lane.streamTotals.push(timing.totalNs);
}

async function send(lane: LatencyLane, count: number, into: number[] | undefined): Promise<void> {
  for (let i = 0; i < count; i++) keep(lane, await lane.connection.send(lane.request, lane.stream), into);
}

async function openLane(variant: Variant | 'direct', stream: boolean, opts: OverheadOptions): Promise<LatencyLane> {
  const direct = variant === 'direct';
  const port = direct ? opts.simPort : opts.gatewayPort;
  // The simulator asked directly for the single model's upstream name: the floor every gateway lane is measured from.
  const req = requestFor(direct ? variants[0].upstream[0] : variant.model, stream, 'sess-0');
  return {
    variant: direct ? 'direct' : variant.name,
    stream,
    connection: await RawHttpConnection.open(port),
    request: postRequest(port, chatPath, req.body, req.headers),
    rounds: [],
    streamTotals: [],
    non2xx: 0,
    incomplete: 0,
  };
}

/** (a) c=1: every lane gets its warm-up, then `rounds` rounds of `latencyPerRound` requests each. */
async function runLatency(opts: OverheadOptions): Promise<LatencyLane[]> {
  const lanes: LatencyLane[] = [];
  try {
    for (const stream of modes) {
      lanes.push(await openLane('direct', stream, opts));
      for (const v of variants) lanes.push(await openLane(v, stream, opts));
    }
    for (const lane of lanes) await send(lane, opts.latencyWarmup, undefined);
    // Within a round the lanes take turns in blocks, so a few seconds of drift hit every lane of the round alike.
    let turn = 0;
    for (let r = 0; r < opts.rounds; r++) {
      for (const lane of lanes) lane.rounds.push([]);
      for (let done = 0; done < opts.latencyPerRound; done += latencyBlock) {
        const offset = turn++ % lanes.length;
        for (let k = 0; k < lanes.length; k++) {
          const lane = lanes[(k + offset) % lanes.length];
          await send(lane, Math.min(latencyBlock, opts.latencyPerRound - done), lane.rounds[r]);
        }
      }
      opts.log(`  c=1 round ${r + 1}/${opts.rounds} done`);
    }
    return lanes;
  } finally {
    for (const lane of lanes) lane.connection.close();
  }
}

/** On-CPU seconds of every live thread of the process (/proc/<pid>/task/<tid>/schedstat), or of the process (stat ticks). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited between the listing and the read
      }
    }
    return ns / 1e9;
  } catch {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }
}

interface CpuCellResult {
  requests: number;
  non2xx: number;
  cpuS: number;
  wallS: number;
}

/** One c=16 cell: each connection carries its own session key (sticky spreads sessions, not requests). */
async function cpuCell(v: Variant, stream: boolean, opts: OverheadOptions): Promise<CpuCellResult> {
  const perConnection = Math.max(1, Math.ceil(opts.cpuPerCell / cpuConcurrency));
  const connections = await Promise.all(Array.from({ length: cpuConcurrency }, () => RawHttpConnection.open(opts.gatewayPort)));
  const requests = connections.map((_, k) => {
    const req = requestFor(v.model, stream, `sess-${k}`);
    return postRequest(opts.gatewayPort, chatPath, req.body, req.headers);
  });
  let non2xx = 0;
  try {
    const cpu0 = cpuSeconds(opts.gatewayPid);
    const t0 = process.hrtime.bigint();
    await Promise.all(
      connections.map(async (c, k) => {
        for (let i = 0; i < perConnection; i++) if (!ok((await c.send(requests[k], false)).status)) non2xx++;
      }),
    );
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    return { requests: perConnection * cpuConcurrency, non2xx, cpuS: cpuSeconds(opts.gatewayPid) - cpu0, wallS };
  } finally {
    for (const c of connections) c.close();
  }
}

/** A group's c=16 cell and the single model's cell run right next to it. */
interface CpuPair {
  cell: CpuCellResult;
  ref: CpuCellResult;
}

/**
 * (b) A/B pairs: each round, every group × mode runs next to a fresh cell of the single model (which
 * goes first alternates by round), so each comparison spans a second, not a whole round of cells.
 * The single model's own rows are its cells from every pair.
 */
async function runCpu(opts: OverheadOptions): Promise<Map<string, CpuPair[]>> {
  const ref = variants.find((v) => v.name === referenceVariant)!;
  const keyOf = (v: Variant, stream: boolean) => `${v.name} ${modeName(stream)}`;
  const cells = modes.flatMap((stream) => variants.map((v) => ({ v, stream, key: keyOf(v, stream) })));
  const groups = cells.filter((c) => c.v !== ref);
  const results = new Map<string, CpuPair[]>(cells.map((c) => [c.key, []]));
  const warmup = { ...opts, cpuPerCell: Math.min(opts.cpuPerCell, 500) };
  for (const c of cells) await cpuCell(c.v, c.stream, warmup);
  for (let r = 0; r < opts.rounds; r++) {
    const offset = Math.floor((r * groups.length) / opts.rounds);
    for (let k = 0; k < groups.length; k++) {
      const g = groups[(k + offset) % groups.length];
      const first = await cpuCell(r % 2 === 0 ? ref : g.v, g.stream, opts);
      const second = await cpuCell(r % 2 === 0 ? g.v : ref, g.stream, opts);
      const pair = r % 2 === 0 ? { ref: first, cell: second } : { cell: first, ref: second };
      results.get(g.key)!.push(pair);
      results.get(keyOf(ref, g.stream))!.push({ cell: pair.ref, ref: pair.ref });
    }
    const rps = (c: CpuCellResult) => Math.round(c.requests / c.wallS);
    const line = groups.filter((g) => !g.stream).map((g) => `${g.v.name} ${rps(results.get(g.key)![r].cell)}/${rps(results.get(g.key)![r].ref)}`);
    opts.log(`  c=${cpuConcurrency} round ${r + 1}/${opts.rounds} (whole, req/s group/single): ${line.join(', ')}`);
  }
  return results;
}

export interface OverheadRow {
  variant: string;
  mode: 'whole' | 'stream';
  /** c=1, all rounds pooled: the gateway lane (TTFT for streams) and its added latency over direct. */
  c1: LatencySummary & { added_p50_us: number; added_p99_us: number };
  /** Streams: total time per stream, pooled. */
  c1_stream_total?: LatencySummary;
  /** Per round: this variant's percentile minus the single model's, µs. */
  overhead_p50_us: Spread;
  overhead_p99_us: Spread;
  rps_c16: Spread;
  /** Per A/B pair: this variant's req/s over the single model's cell next to it. */
  rps_ratio: Spread;
  cpu_us_per_request: Spread;
  /** Per A/B pair: this variant's CPU per request minus the single model's, µs. */
  cpu_overhead_us: Spread;
  non2xx: number;
  incomplete_streams: number;
}

const roundPercentile = (samples: readonly number[], p: number) => percentile(Float64Array.from(samples).sort(), p) / 1000;

function summarise(lanes: LatencyLane[], cpu: Map<string, CpuPair[]>): OverheadRow[] {
  const laneOf = (variant: string, stream: boolean) => lanes.find((l) => l.variant === variant && l.stream === stream)!;
  const rows: OverheadRow[] = [];
  for (const stream of modes) {
    const direct = summarizeNs(laneOf('direct', stream).rounds.flat());
    const ref = laneOf(referenceVariant, stream);
    for (const v of variants) {
      const lane = laneOf(v.name, stream);
      const pooled = summarizeNs(lane.rounds.flat());
      const perRound = (p: number) => lane.rounds.map((samples, r) => roundPercentile(samples, p) - roundPercentile(ref.rounds[r], p));
      const pairs = cpu.get(`${v.name} ${modeName(stream)}`)!;
      const rpsOf = (c: CpuCellResult) => c.requests / c.wallS;
      const cpuUsOf = (c: CpuCellResult) => (c.cpuS * 1e6) / Math.max(1, c.requests - c.non2xx);
      const cells = pairs.map((p) => p.cell);
      rows.push({
        variant: v.name,
        mode: modeName(stream) as 'whole' | 'stream',
        c1: { ...pooled, added_p50_us: round(pooled.p50_us - direct.p50_us, 1), added_p99_us: round(pooled.p99_us - direct.p99_us, 1) },
        ...(stream ? { c1_stream_total: summarizeNs(lane.streamTotals) } : {}),
        overhead_p50_us: spread(perRound(50)),
        overhead_p99_us: spread(perRound(99)),
        rps_c16: spread(cells.map(rpsOf), 0),
        rps_ratio: spread(pairs.map((p) => rpsOf(p.cell) / rpsOf(p.ref)), 3),
        cpu_us_per_request: spread(cells.map(cpuUsOf)),
        cpu_overhead_us: spread(pairs.map((p) => cpuUsOf(p.cell) - cpuUsOf(p.ref))),
        non2xx: lane.non2xx + cells.reduce((n, c) => n + c.non2xx, 0),
        incomplete_streams: lane.incomplete,
      });
    }
    rows.push({
      variant: 'direct',
      mode: modeName(stream) as 'whole' | 'stream',
      c1: { ...direct, added_p50_us: 0, added_p99_us: 0 },
      overhead_p50_us: spread([]),
      overhead_p99_us: spread([]),
      rps_c16: spread([]),
      rps_ratio: spread([]),
      cpu_us_per_request: spread([]),
      cpu_overhead_us: spread([]),
      non2xx: laneOf('direct', stream).non2xx,
      incomplete_streams: laneOf('direct', stream).incomplete,
    });
  }
  return rows;
}

export async function runOverhead(opts: OverheadOptions): Promise<OverheadRow[]> {
  const laneCount = (variants.length + 1) * modes.length;
  opts.log(`(1a) c=1 latency: ${opts.latencyWarmup} warm-up + ${opts.rounds} rounds × ${opts.latencyPerRound} requests per lane, ${laneCount} lanes taking turns of ${latencyBlock}`);
  const lanes = await runLatency(opts);
  opts.log(`(1b) c=${cpuConcurrency}: ${opts.rounds} rounds of A/B pairs (group, single) × ${opts.cpuPerCell} requests per cell; gateway CPU from /proc`);
  const cpu = await runCpu(opts);
  return summarise(lanes, cpu);
}
