// (a2) Throughput ratios at c=64 from repeated short rounds. One 5 s cell per target moves by ±30% on
// a shared VM, so a single sweep cell cannot tell 0.45 from 0.55. Every round runs each target once,
// the order rotating, and each gateway/nginx ratio is taken within its round; the median is reported.
import type { LoadTool } from '../lib/load.js';
import { runLoad } from '../lib/load.js';
import type { Target } from '../lib/targets.js';
import { chatBody, chatPath, clientHeaders } from './requests.js';

export interface RatioRoundsOptions {
  rounds: number;
  durationS: number;
  connections: number;
  tool: LoadTool;
  scriptDir: string;
  log(line: string): void;
}

export interface RatioRounds {
  rounds: number;
  duration_s: number;
  connections: number;
  /** req/s of each target, one value per round. */
  rps: Record<string, number[]>;
  /** Per-round ratios (e.g. "gateway-t1/nginx") with their median, min and max. */
  ratios: Record<string, { median: number; min: number; max: number; values: number[] }>;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round2 = (n: number) => Math.round(n * 100) / 100;

/** Ratio names: every gateway against nginx and against direct, when those rows exist. */
export function ratioPairs(names: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const name of names.filter((n) => n.startsWith('gateway'))) {
    for (const base of ['nginx', 'direct']) if (names.includes(base)) pairs.push([name, base]);
  }
  return pairs;
}

export function summarizeRounds(rps: Record<string, number[]>, pairs: ReadonlyArray<[string, string]>): RatioRounds['ratios'] {
  const ratios: RatioRounds['ratios'] = {};
  for (const [a, b] of pairs) {
    const values = rps[a].map((v, i) => round2(v / rps[b][i]));
    ratios[`${a}/${b}`] = { median: round2(median(values)), min: Math.min(...values), max: Math.max(...values), values };
  }
  return ratios;
}

export async function runRatioRounds(targets: readonly Target[], opts: RatioRoundsOptions): Promise<RatioRounds> {
  const rps: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let round = 0; round < opts.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const target of order) {
      const spec = { port: target.port, path: chatPath, body: chatBody, headers: clientHeaders, connections: opts.connections, durationS: opts.durationS };
      rps[target.name].push(Math.round((await runLoad(opts.tool, spec, opts.scriptDir)).rps));
    }
    opts.log(`  round ${round + 1}/${opts.rounds}: ${targets.map((t) => `${t.name} ${rps[t.name][round]}`).join(', ')}`);
  }
  const names = targets.map((t) => t.name);
  return { rounds: opts.rounds, duration_s: opts.durationS, connections: opts.connections, rps, ratios: summarizeRounds(rps, ratioPairs(names)) };
}
