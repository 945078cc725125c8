// Reads V8 .cpuprofile files (node --cpu-prof) and ranks functions by self time.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeRow {
  function: string;
  location: string;
  self_ms: number;
  /** Share of all sampled time, idle included. */
  percent: number;
  /** Share of busy time (idle excluded). */
  busy_percent: number;
}

export interface ProfileSummary {
  file: string;
  total_ms: number;
  idle_ms: number;
  gc_ms: number;
  /** Busy time by where the code lives: our code, node internals, each npm package, V8/native. */
  by_origin: Record<string, number>;
  top: SelfTimeRow[];
}

function isProfile(value: unknown): value is CpuProfile {
  const v = value as Partial<CpuProfile> | null;
  return !!v && Array.isArray(v.nodes) && Array.isArray(v.samples) && Array.isArray(v.timeDeltas);
}

function shortUrl(url: string, root: string): string {
  let path = url.replace(/^file:\/\//, '');
  if (path.startsWith(root)) path = path.slice(root.length);
  return path;
}

function origin(url: string, root: string): string {
  if (url === '') return 'v8/native';
  if (url.startsWith('node:')) return 'node internals';
  const path = shortUrl(url, root);
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `npm:${pkg[1]}`;
  if (path.startsWith('dist/src/')) return 'switchyard';
  return 'other';
}

export function summarizeProfile(file: string, root: string, topN = 25): ProfileSummary {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isProfile(parsed)) throw new Error(`${file} is not a V8 CPU profile`);
  const byId = new Map(parsed.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < parsed.samples.length; i++) {
    const id = parsed.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (parsed.timeDeltas[i] ?? 0));
  }
  const rows = new Map<string, { fn: string; location: string; us: number; url: string }>();
  let totalUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  const byOrigin: Record<string, number> = {};
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    totalUs += us;
    const fn = frame.functionName || '(anonymous)';
    if (fn === '(idle)') {
      idleUs += us;
      continue;
    }
    if (fn === '(garbage collector)') gcUs += us;
    const kind = fn.startsWith('(') ? fn : origin(frame.url, root);
    byOrigin[kind] = (byOrigin[kind] ?? 0) + us;
    const location = frame.url ? `${shortUrl(frame.url, root)}:${frame.lineNumber + 1}` : '';
    const key = `${fn}\u0000${location}`;
    const row = rows.get(key) ?? { fn, location, us: 0, url: frame.url };
    row.us += us;
    rows.set(key, row);
  }
  const busyUs = totalUs - idleUs;
  const ms = (us: number): number => Math.round(us / 10) / 100;
  const top = [...rows.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((row) => ({
      function: row.fn,
      location: row.location,
      self_ms: ms(row.us),
      percent: Math.round((1000 * row.us) / (totalUs || 1)) / 10,
      busy_percent: Math.round((1000 * row.us) / (busyUs || 1)) / 10,
    }));
  const origins: Record<string, number> = {};
  for (const [kind, us] of Object.entries(byOrigin).sort((a, b) => b[1] - a[1])) origins[kind] = ms(us);
  return { file, total_ms: ms(totalUs), idle_ms: ms(idleUs), gc_ms: ms(gcUs), by_origin: origins, top };
}

export function formatProfile(summary: ProfileSummary): string {
  const busy = summary.total_ms - summary.idle_ms;
  const lines = [
    `\n${summary.file}`,
    `  sampled ${summary.total_ms} ms, idle ${summary.idle_ms} ms, busy ${Math.round(busy)} ms, GC ${summary.gc_ms} ms`,
    `  busy by origin: ${Object.entries(summary.by_origin).map(([k, v]) => `${k} ${v} ms`).join(', ')}`,
    '  self ms   busy%  function  (location)',
  ];
  for (const row of summary.top) {
    lines.push(`  ${row.self_ms.toFixed(1).padStart(7)}  ${row.busy_percent.toFixed(1).padStart(5)}%  ${row.function}  ${row.location}`);
  }
  return lines.join('\n');
}
