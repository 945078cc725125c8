// (c) Streaming: time to the first content event (TTFT) at c=1 and c=64 with an instant simulator,
// and the gap between content events of paced streams — each directly and through every proxy.
import { RawHttpConnection, postRequest, type ExchangeTiming } from '../lib/raw-http.js';
import { summarizeNs, type LatencySummary } from '../lib/stats.js';
import type { Target } from '../lib/targets.js';
import { burstStreamHeaders, chatPath, pacedStreamHeaders, streamBody, streamTokens } from './requests.js';

export interface StreamResult {
  target: string;
  concurrency: number;
  streams: number;
  non2xx: number;
  /** Streams that did not carry exactly `streamTokens` content events. */
  incomplete: number;
  ttft: LatencySummary;
}

export interface ChunkGapResult {
  target: string;
  streams: number;
  non2xx: number;
  incomplete: number;
  gap: LatencySummary;
}

interface Tally {
  ttftNs: number[];
  gapNs: number[];
  non2xx: number;
  incomplete: number;
  streams: number;
}

function newTally(): Tally {
  return { ttftNs: [], gapNs: [], non2xx: 0, incomplete: 0, streams: 0 };
}

function record(tally: Tally, timing: ExchangeTiming): void {
  tally.streams++;
  if (timing.status < 200 || timing.status > 299) {
    tally.non2xx++;
    return;
  }
  if (timing.contentNs.length !== streamTokens) tally.incomplete++;
  if (timing.firstContentNs >= 0) tally.ttftNs.push(timing.firstContentNs);
  for (let i = 1; i < timing.contentNs.length; i++) tally.gapNs.push(timing.contentNs[i] - timing.contentNs[i - 1]);
}

/** Sequential streams, targets taking turns in blocks of `blockSize`. */
async function sequentialStreams(
  targets: readonly Target[],
  headers: Readonly<Record<string, string>>,
  rounds: number,
  blockSize: number,
  warmup: number,
): Promise<Tally[]> {
  const lanes = await Promise.all(
    targets.map(async (target) => ({
      connection: await RawHttpConnection.open(target.port),
      request: postRequest(target.port, chatPath, streamBody, headers),
      tally: newTally(),
    })),
  );
  try {
    for (const lane of lanes) for (let i = 0; i < warmup; i++) await lane.connection.send(lane.request, true);
    for (let r = 0; r < rounds; r++) {
      for (const lane of lanes) {
        for (let i = 0; i < blockSize; i++) record(lane.tally, await lane.connection.send(lane.request, true));
      }
    }
  } finally {
    for (const lane of lanes) lane.connection.close();
  }
  return lanes.map((lane) => lane.tally);
}

/** `concurrency` connections streaming back to back against one target for `durationS`. */
async function concurrentStreams(target: Target, concurrency: number, durationS: number, warmupS: number): Promise<Tally> {
  const request = postRequest(target.port, chatPath, streamBody, burstStreamHeaders);
  const connections = await Promise.all(Array.from({ length: concurrency }, () => RawHttpConnection.open(target.port)));
  const tally = newTally();
  const warmupEnd = Date.now() + warmupS * 1000;
  const end = warmupEnd + durationS * 1000;
  try {
    await Promise.all(
      connections.map(async (connection) => {
        while (Date.now() < end) {
          const timing = await connection.send(request, true);
          if (Date.now() > warmupEnd) record(tally, timing);
        }
      }),
    );
  } finally {
    for (const connection of connections) connection.close();
  }
  return tally;
}

export interface StreamingOptions {
  sequentialStreams: number;
  blockSize: number;
  concurrency: number;
  durationS: number;
  warmupS: number;
  pacedStreams: number;
  log(line: string): void;
}

export async function runStreaming(
  targets: readonly Target[],
  opts: StreamingOptions,
): Promise<{ ttft: StreamResult[]; chunkGap: ChunkGapResult[] }> {
  const ttft: StreamResult[] = [];
  const asResult = (target: Target, concurrency: number, tally: Tally): StreamResult => ({
    target: target.name,
    concurrency,
    streams: tally.streams,
    non2xx: tally.non2xx,
    incomplete: tally.incomplete,
    ttft: summarizeNs(tally.ttftNs),
  });

  const rounds = Math.max(1, Math.ceil(opts.sequentialStreams / opts.blockSize));
  const single = await sequentialStreams(targets, burstStreamHeaders, rounds, opts.blockSize, 100);
  targets.forEach((target, i) => ttft.push(asResult(target, 1, single[i])));
  opts.log(`  stream TTFT c=1: ${ttft.map((r) => `${r.target} p50=${r.ttft.p50_us}µs p99=${r.ttft.p99_us}µs`).join(', ')}`);

  for (const target of targets) {
    const result = asResult(target, opts.concurrency, await concurrentStreams(target, opts.concurrency, opts.durationS, opts.warmupS));
    ttft.push(result);
    opts.log(`  stream TTFT c=${opts.concurrency} ${target.name}: ${result.streams} streams p50=${result.ttft.p50_us}µs p99=${result.ttft.p99_us}µs`);
  }

  const pacedBlock = Math.max(1, Math.min(10, opts.pacedStreams));
  const pacedRounds = Math.max(1, Math.ceil(opts.pacedStreams / pacedBlock));
  const paced = await sequentialStreams(targets, pacedStreamHeaders, pacedRounds, pacedBlock, 3);
  const chunkGap = targets.map((target, i) => ({
    target: target.name,
    streams: paced[i].streams,
    non2xx: paced[i].non2xx,
    incomplete: paced[i].incomplete,
    gap: summarizeNs(paced[i].gapNs),
  }));
  opts.log(`  paced chunk gap: ${chunkGap.map((r) => `${r.target} mean=${r.gap.mean_us}µs`).join(', ')}`);
  return { ttft, chunkGap };
}
