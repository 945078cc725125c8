// Runs generated cases against a gateway, many at a time, and counts the outcome classes per family.
import { bodyFamilies, makeBodyCase, type BodyContext } from './fuzz-bodies.js';
import { showBytes, type Expectation, type FuzzCase } from './fuzz-case.js';
import { classifyAnswer, classifyMissing, meets, outcomeClasses, type OutcomeClass } from './fuzz-classify.js';
import { anthropicPostEndpoints, endpointWeight, openaiPostEndpoints, type PostEndpoint } from './fuzz-fields.js';
import { headFamilies, makeHeadCase, type HeadContext } from './fuzz-heads.js';
import { Rng } from './fuzz-prng.js';
import { exchange, KeepAliveConnection, type ExchangeResult } from './raw-http.js';

export interface FuzzOptions {
  port: number;
  seed: number;
  /** Cases in all; every fifth one is a head case. */
  cases: number;
  /** Body cases in flight at once (each worker keeps one keep-alive connection). */
  concurrency: number;
  /** Head cases in flight at once (each on its own connection; a hanging one holds a slot for deadlineMs). */
  headConcurrency: number;
  deadlineMs: number;
  maxBodyBytes: number;
  /** Run only these case indices (reproducing a report). */
  only?: readonly number[];
  /** Failing cases kept per family and kind of violation, with their bytes. */
  examplesPerFamily?: number;
  /** Called with every case's outcome (for analyses beyond the tables). */
  onOutcome?: (outcome: CaseOutcome) => void;
}

export interface CaseOutcome {
  c: FuzzCase;
  classes: OutcomeClass[];
  /** One line per answer that broke its rule. */
  violations: string[];
  /** "expectation→class" of each broken rule, deduplicated. */
  violationKinds: string[];
  result: ExchangeResult;
}

export interface FamilyTally {
  family: string;
  kind: 'body' | 'head';
  cases: number;
  /** Expectations of the requests sent. */
  expected: { ok: number; reject: number; answer: number };
  /** Answers per outcome class (a pipelined case counts one per request). */
  classes: Record<OutcomeClass, number>;
  /** Answers per expectation and outcome class. */
  matrix: Record<Expectation, Record<OutcomeClass, number>>;
  /** Cases with at least one answer that broke its rule. */
  failed: number;
  /** The smallest failing cases per kind of violation ("reject→hang"), a few each. */
  examples: Record<string, CaseOutcome[]>;
  slowestMs: number;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  dialects: string[];
  elapsedMs: { bodies: number; heads: number };
  families: FamilyTally[];
}

const isHeadIndex = (i: number) => i % 5 === 4;

/** Case `index` of `seed`: the same bytes whatever the run size, so one case can be rerun alone. */
export function generateCase(seed: number, index: number, body: BodyContext, head: HeadContext): FuzzCase {
  const rng = Rng.forCase(seed, index);
  if (isHeadIndex(index)) return makeHeadCase(rng, index, (index - 4) / 5, head);
  return makeBodyCase(rng, index, index - Math.floor((index + 1) / 5), body);
}

/** The Anthropic dialect is fuzzed only once the gateway serves /v1/messages. */
export async function servedPostEndpoints(port: number, deadlineMs: number): Promise<PostEndpoint[]> {
  const probe = Buffer.from('POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
  const r = await exchange({ port, writes: [probe], expectAnswers: [false], deadlineMs });
  const res = r.responses[0];
  const absent = res === undefined || (res.status === 404 && /"unknown_url"/.test(res.body.toString()));
  return absent ? [...openaiPostEndpoints] : [...openaiPostEndpoints, ...anthropicPostEndpoints];
}

function judge(c: FuzzCase, result: ExchangeResult): CaseOutcome {
  const classes: OutcomeClass[] = [];
  const violations: string[] = [];
  const kinds: string[] = [];
  c.requests.forEach((req, j) => {
    const res = result.responses[j];
    const cls = res ? classifyAnswer(res, req.dialect, req.isHead) : classifyMissing(result.ending);
    classes.push(cls);
    if (!meets(req.expect, cls)) violations.push(`${c.requests.length > 1 ? `request ${j + 1}: ` : ''}expected ${req.expect}, got ${cls}${res ? ` (${res.status})` : ''}`);
    kinds.push(`${req.expect}→${cls}`);
  });
  return { c, classes, violations, result, violationKinds: [...new Set(kinds.filter((_, j) => !meets(c.requests[j].expect, classes[j])))] };
}

const noClasses = () => Object.fromEntries(outcomeClasses.map((k) => [k, 0])) as Record<OutcomeClass, number>;

function emptyTally(c: FuzzCase): FamilyTally {
  return {
    family: c.family,
    kind: c.kind,
    cases: 0,
    expected: { ok: 0, reject: 0, answer: 0 },
    classes: noClasses(),
    matrix: { ok: noClasses(), reject: noClasses(), answer: noClasses() },
    failed: 0,
    examples: {},
    slowestMs: 0,
  };
}

async function sendCase(c: FuzzCase, port: number, deadlineMs: number, conn: KeepAliveConnection | undefined): Promise<ExchangeResult> {
  if (!c.fresh && conn && c.writes.length === 1 && c.requests.length === 1 && !c.halfClose) {
    try {
      return await conn.send(c.writes[0], c.requests[0].isHead, deadlineMs);
    } catch (err) {
      conn.drop();
      return { responses: [], ending: 'closed', rest: Buffer.alloc(0), problem: (err as Error).message, elapsedMs: 0 };
    }
  }
  return exchange({ port, writes: c.writes, expectAnswers: c.requests.map((r) => r.isHead), halfClose: c.halfClose, deadlineMs });
}

/** Generates and runs the cases (bodies first, then heads) and tallies them per family. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const post = await servedPostEndpoints(opts.port, opts.deadlineMs);
  const bodyCtx: BodyContext = { post, weights: endpointWeight, maxBodyBytes: opts.maxBodyBytes };
  const headCtx: HeadContext = { port: opts.port };
  const indices = opts.only ? [...opts.only] : Array.from({ length: opts.cases }, (_, i) => i);
  const tallies = new Map<string, FamilyTally>();
  const keep = opts.examplesPerFamily ?? 3;

  const record = (outcome: CaseOutcome): void => {
    const c = outcome.c;
    let t = tallies.get(`${c.kind}:${c.family}`);
    if (!t) tallies.set(`${c.kind}:${c.family}`, (t = emptyTally(c)));
    t.cases++;
    c.requests.forEach((r, j) => {
      t.expected[r.expect]++;
      t.classes[outcome.classes[j]]++;
      t.matrix[r.expect][outcome.classes[j]]++;
    });
    t.slowestMs = Math.max(t.slowestMs, outcome.result.elapsedMs);
    if (outcome.violations.length > 0) t.failed++;
    for (const kind of outcome.violationKinds) {
      // Keep the smallest failing inputs: they make the best reproductions.
      const list = (t.examples[kind] ??= []);
      list.push(outcome);
      list.sort((a, b) => size(a.c) - size(b.c));
      if (list.length > keep) list.pop();
    }
  };

  const pool = async (list: number[], width: number, withConnection: boolean): Promise<number> => {
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      const conn = withConnection ? new KeepAliveConnection(opts.port) : undefined;
      try {
        while (next < list.length) {
          const c = generateCase(opts.seed, list[next++], bodyCtx, headCtx);
          const outcome = judge(c, await sendCase(c, opts.port, opts.deadlineMs, conn));
          record(outcome);
          opts.onOutcome?.(outcome);
        }
      } finally {
        conn?.drop();
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, list.length) }, worker));
    return performance.now() - started;
  };

  const bodies = await pool(indices.filter((i) => !isHeadIndex(i)), opts.concurrency, true);
  const heads = await pool(indices.filter(isHeadIndex), opts.headConcurrency, false);
  const declared = [...bodyFamilies.map((f) => `body:${f[0]}`), ...headFamilies.map((f) => `head:${f[0]}`)];
  const families = declared.flatMap((key) => tallies.get(key) ?? []);
  return { seed: opts.seed, cases: indices.length, dialects: [...new Set(post.map((e) => e.dialect))], elapsedMs: { bodies, heads }, families };
}

const size = (c: FuzzCase) => c.writes.reduce((n, w) => n + w.length, 0);

const columns: ReadonlyArray<[string, OutcomeClass]> = [
  ['2xx', '2xx'],
  ['2xx-stream-error', '2xx-stream-error'],
  ['4xx-dialect', '4xx-dialect'],
  ['4xx-other', '4xx-other'],
  ['5xx-gateway', '5xx-gateway'],
  ['other-status', 'other-status'],
  ['malformed', 'malformed-answer'],
  ['closed-no-answer', 'closed-no-answer'],
  ['hang', 'hang'],
];

/** A Markdown table of one kind's families: expectations, answers per class, failed cases. */
export function formatTable(report: FuzzReport, kind: 'body' | 'head'): string {
  const rows = report.families.filter((f) => f.kind === kind);
  const total = rows.reduce<FamilyTally | undefined>((acc, f) => {
    const t = acc ?? { ...emptyTally({ family: 'total', kind } as FuzzCase), family: 'total' };
    t.cases += f.cases;
    t.failed += f.failed;
    for (const k of ['ok', 'reject', 'answer'] as const) t.expected[k] += f.expected[k];
    for (const cls of outcomeClasses) t.classes[cls] += f.classes[cls];
    return t;
  }, undefined);
  const head = ['family', 'cases', 'expect ok/4xx/any', ...columns.map((c) => c[0]), 'failed'];
  const line = (f: FamilyTally) => [f.family, String(f.cases), `${f.expected.ok}/${f.expected.reject}/${f.expected.answer}`, ...columns.map((c) => String(f.classes[c[1]])), String(f.failed)];
  const body = [...rows.map(line), ...(total ? [line(total)] : [])];
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [fmt(head), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(fmt)].join('\n');
}

/** One failing case as text: how to rerun it, its bytes, and what came back. */
export function describeOutcome(o: CaseOutcome, seed: number, maxBytes = 600): string {
  const r = o.result;
  const answers = r.responses.map((res) => `${res.statusLine} content-type=${res.headers['content-type'] ?? '-'} body=${showBytes(res.body, 300)}`);
  return [
    `[${o.c.kind} ${o.c.family} #${o.c.index}, SWITCHYARD_FUZZ_SEED=${seed}] ${o.c.note}${o.c.halfClose ? ' (FIN after the request)' : ''}`,
    `  violations: ${o.violations.join('; ')}`,
    `  sent: ${o.c.writes.map((w) => showBytes(w, maxBytes)).join(' + ')}`,
    `  got: ${answers.length > 0 ? answers.join(' | ') : 'no answer'}; ended ${r.ending} after ${Math.round(r.elapsedMs)} ms${r.problem ? ` (${r.problem})` : ''}${r.rest.length > 0 ? `; unparsed bytes ${showBytes(r.rest, 200)}` : ''}`,
  ].join('\n');
}

export function formatReport(report: FuzzReport, withExamples = true): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const bodies = report.families.filter((f) => f.kind === 'body').reduce((n, f) => n + f.cases, 0);
  const parts = [
    `fuzz: seed ${report.seed} (SWITCHYARD_FUZZ_SEED=${report.seed}), ${report.cases} cases, dialects ${report.dialects.join(', ')}`,
    `bodies: ${bodies} cases in ${s(report.elapsedMs.bodies)}; heads: ${report.cases - bodies} cases in ${s(report.elapsedMs.heads)}`,
    '',
    'Body cases (answers per class):',
    formatTable(report, 'body'),
    '',
    'Head cases over raw sockets (answers per class):',
    formatTable(report, 'head'),
  ];
  if (withExamples) {
    const failing = report.families.filter((f) => f.failed > 0);
    if (failing.length > 0) parts.push('', 'Smallest failing case per family:');
    for (const f of failing) for (const list of Object.values(f.examples)) parts.push(describeOutcome(list[0], report.seed));
  }
  return parts.join('\n');
}

/** The fuzz stack's server.max_body_bytes: small enough that over-limit bodies are cheap to send. */
export const fuzzMaxBodyBytes = 1024 * 1024;

export interface FuzzSettings {
  seed: number;
  cases: number;
  concurrency: number;
  headConcurrency: number;
  deadlineMs: number;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer: ${value}`);
  return n;
}

/** SWITCHYARD_FUZZ_CASES / _CONCURRENCY / _HEAD_CONCURRENCY / _DEADLINE_MS, with the CI defaults. */
export function settingsFromEnv(env: NodeJS.ProcessEnv, seed: number): FuzzSettings {
  return {
    seed,
    cases: positive('SWITCHYARD_FUZZ_CASES', env.SWITCHYARD_FUZZ_CASES, 10_000),
    concurrency: positive('SWITCHYARD_FUZZ_CONCURRENCY', env.SWITCHYARD_FUZZ_CONCURRENCY, 32),
    headConcurrency: positive('SWITCHYARD_FUZZ_HEAD_CONCURRENCY', env.SWITCHYARD_FUZZ_HEAD_CONCURRENCY, 128),
    deadlineMs: positive('SWITCHYARD_FUZZ_DEADLINE_MS', env.SWITCHYARD_FUZZ_DEADLINE_MS, 2000),
  };
}
