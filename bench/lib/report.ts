// Turns the core measurements into the summary (deltas, ratios, issue-2 targets) and console tables.
import type { LoadTool } from './load.js';
import { delta, ratio } from './stats.js';
import { formatTable } from './table.js';
import type { SweepCell } from '../scenarios/throughput.js';
import type { SequentialResult } from '../scenarios/latency.js';
import type { ChunkGapResult, StreamResult } from '../scenarios/streaming.js';
import type { RatioRounds } from '../scenarios/ratio-rounds.js';

export interface CoreResults {
  sweep: Partial<Record<LoadTool, SweepCell[]>>;
  sequential: SequentialResult[];
  streaming: { ttft: StreamResult[]; chunkGap: ChunkGapResult[] } | undefined;
  ratioRounds?: RatioRounds;
}

export interface TargetCheck {
  goal: string;
  target: string;
  value: number;
  limit: number;
  met: boolean;
}

export interface CoreSummary {
  /** Ratios of req/s at c=64 (first load tool measured). */
  throughput_ratios_c64: Record<string, number>;
  /** Sequential c=1 latency of each proxy minus direct. */
  added_latency_c1_us: Record<string, { p50: number; p99: number }>;
  added_ttft_us: Record<string, Record<string, { p50: number; p99: number }>>;
  added_chunk_gap_mean_us: Record<string, number>;
  simulator_ceiling: string;
  checks: TargetCheck[];
  problems: string[];
}

const proxies = (names: readonly string[]): string[] => names.filter((n) => n !== 'direct');

export function summarize(results: CoreResults, targetNames: readonly string[]): CoreSummary {
  const tool = (Object.keys(results.sweep) as LoadTool[])[0];
  const cells = tool ? results.sweep[tool] ?? [] : [];
  const rpsAt = (target: string, c: number): number | undefined => cells.find((x) => x.target === target && x.connections === c)?.rps;
  const ratios: Record<string, number> = {};
  for (const name of proxies(targetNames)) {
    ratios[`${name}/direct`] = ratio(rpsAt(name, 64), rpsAt('direct', 64));
    if (name.startsWith('gateway')) ratios[`${name}/nginx`] = ratio(rpsAt(name, 64), rpsAt('nginx', 64));
  }

  const seq = (name: string): SequentialResult | undefined => results.sequential.find((r) => r.target === name);
  const addedLatency: CoreSummary['added_latency_c1_us'] = {};
  for (const name of proxies(targetNames)) {
    addedLatency[name] = { p50: delta(seq(name)?.p50_us, seq('direct')?.p50_us), p99: delta(seq(name)?.p99_us, seq('direct')?.p99_us) };
  }

  const addedTtft: CoreSummary['added_ttft_us'] = {};
  const gaps: Record<string, number> = {};
  if (results.streaming) {
    const { ttft, chunkGap } = results.streaming;
    for (const c of [...new Set(ttft.map((r) => r.concurrency))]) {
      const at = (name: string): StreamResult | undefined => ttft.find((r) => r.target === name && r.concurrency === c);
      const row: Record<string, { p50: number; p99: number }> = {};
      for (const name of proxies(targetNames)) {
        row[name] = { p50: delta(at(name)?.ttft.p50_us, at('direct')?.ttft.p50_us), p99: delta(at(name)?.ttft.p99_us, at('direct')?.ttft.p99_us) };
      }
      addedTtft[`c${c}`] = row;
    }
    const gap = (name: string): number | undefined => chunkGap.find((r) => r.target === name)?.gap.mean_us;
    for (const name of proxies(targetNames)) gaps[name] = delta(gap(name), gap('direct'));
  }

  const direct64 = rpsAt('direct', 64);
  let simulatorCeiling = 'not measured';
  if (direct64 !== undefined) {
    const shares = proxies(targetNames).map((name) => ({ name, share: (rpsAt(name, 64) ?? 0) / direct64 }));
    const capped = shares.filter((s) => s.share >= 0.9).map((s) => s.name);
    const list = shares.map((s) => `${s.name} ${Math.round(100 * s.share)}%`).join(', ');
    simulatorCeiling =
      `simulator alone ${direct64} req/s at c=64; proxies reached ${list} of it. ` +
      (capped.length
        ? `${capped.join(', ')} reached ≥ 90%: the simulator (sharing the cores) is likely what caps them, so their ratio understates them.`
        : 'No proxy came within 90%: the simulator was not the bottleneck.');
  }

  const checks: TargetCheck[] = [];
  // nginx gets the latency checks too, as a reference: a limit nginx misses in the same run is one
  // this machine cannot show, whatever the gateway does.
  for (const name of proxies(targetNames).filter((n) => n.startsWith('gateway') || n === 'nginx')) {
    // The median of the paired rounds when they ran; the single sweep cell otherwise.
    const tput = results.ratioRounds?.ratios[`${name}/nginx`]?.median ?? ratios[`${name}/nginx`];
    if (name !== 'nginx' && !Number.isNaN(tput ?? Number.NaN)) checks.push({ goal: 'throughput c=64 ≥ 0.5 × nginx', target: name, value: tput, limit: 0.5, met: tput >= 0.5 });
    const lat = addedLatency[name];
    checks.push({ goal: 'added latency c=1 p50 ≤ 80 µs', target: name, value: lat.p50, limit: 80, met: lat.p50 <= 80 });
    checks.push({ goal: 'added latency c=1 p99 ≤ 250 µs', target: name, value: lat.p99, limit: 250, met: lat.p99 <= 250 });
    const ttft1 = addedTtft.c1?.[name];
    if (ttft1) checks.push({ goal: 'added TTFT c=1 p99 ≤ 300 µs', target: name, value: ttft1.p99, limit: 300, met: ttft1.p99 <= 300 });
  }

  const problems: string[] = [];
  for (const [t, list] of Object.entries(results.sweep)) {
    for (const c of list ?? []) {
      if (c.errors + c.non2xx > 0) problems.push(`${t} c=${c.connections} ${c.target}: errors=${c.errors} non2xx=${c.non2xx}`);
    }
  }
  for (const r of results.sequential) if (r.non2xx > 0) problems.push(`sequential ${r.target}: non2xx=${r.non2xx}`);
  for (const r of [...(results.streaming?.ttft ?? []), ...(results.streaming?.chunkGap ?? [])]) {
    const c = 'concurrency' in r ? r.concurrency : 1;
    if (r.non2xx + r.incomplete > 0) problems.push(`stream ${r.target} c=${c}: non2xx=${r.non2xx} incomplete=${r.incomplete}`);
  }
  return {
    throughput_ratios_c64: ratios,
    added_latency_c1_us: addedLatency,
    added_ttft_us: addedTtft,
    added_chunk_gap_mean_us: gaps,
    simulator_ceiling: simulatorCeiling,
    checks,
    problems,
  };
}

export function formatCore(results: CoreResults, summary: CoreSummary): string {
  const out: string[] = [];
  for (const [tool, cells] of Object.entries(results.sweep)) {
    out.push(
      formatTable(
        `(a) non-stream chat completions, ${tool} (latency in µs${tool === 'autocannon' ? '; autocannon records whole ms, so sub-ms latencies show as 0' : ''})`,
        ['target', 'c', 'req/s', 'p50', 'p99', 'errors', 'non2xx'],
        (cells ?? []).map((c) => [c.target, c.connections, c.rps, c.p50_us, c.p99_us, c.errors, c.non2xx]),
      ),
    );
  }
  out.push(
    formatTable(
      '(b) sequential requests at c=1, one keep-alive connection, µs',
      ['target', 'n', 'p50', 'p90', 'p99', 'mean', 'added p50', 'added p99'],
      results.sequential.map((r) => [
        r.target, r.count, r.p50_us, r.p90_us, r.p99_us, r.mean_us,
        summary.added_latency_c1_us[r.target]?.p50, summary.added_latency_c1_us[r.target]?.p99,
      ]),
    ),
  );
  if (results.streaming) {
    out.push(
      formatTable(
        '(c) streaming: time to first content event, µs',
        ['target', 'c', 'streams', 'p50', 'p99', 'added p50', 'added p99', 'non2xx', 'incomplete'],
        results.streaming.ttft.map((r) => {
          const added = summary.added_ttft_us[`c${r.concurrency}`]?.[r.target];
          return [r.target, r.concurrency, r.streams, r.ttft.p50_us, r.ttft.p99_us, added?.p50, added?.p99, r.non2xx, r.incomplete];
        }),
      ),
    );
    out.push(
      formatTable(
        '(c) paced streams: gap between content events, µs',
        ['target', 'streams', 'gaps', 'mean', 'p50', 'p99', 'added mean'],
        results.streaming.chunkGap.map((r) => [r.target, r.streams, r.gap.count, r.gap.mean_us, r.gap.p50_us, r.gap.p99_us, summary.added_chunk_gap_mean_us[r.target]]),
      ),
    );
  }
  out.push(formatTable('Throughput ratios at c=64 (sweep cells)', ['ratio', 'value'], Object.entries(summary.throughput_ratios_c64)));
  if (results.ratioRounds) {
    const rr = results.ratioRounds;
    out.push(
      formatTable(
        `(a2) throughput ratios at c=${rr.connections}, ${rr.rounds} paired rounds of ${rr.duration_s} s`,
        ['ratio', 'median', 'min', 'max'],
        Object.entries(rr.ratios).map(([name, r]) => [name, r.median, r.min, r.max]),
      ),
    );
  }
  out.push(`\nSimulator at c=64: ${summary.simulator_ceiling}`);
  out.push(
    formatTable(
      'Issue 2 targets',
      ['goal', 'target', 'value', 'limit', 'met'],
      summary.checks.map((c) => [c.goal, c.target, c.value, c.limit, c.met ? 'yes' : 'NO']),
    ),
  );
  out.push(summary.problems.length ? `\nProblems:\n${summary.problems.map((p) => `  - ${p}`).join('\n')}` : '\nProblems: none (0 errors, 0 non-2xx)');
  return out.join('\n');
}
