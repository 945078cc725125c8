// Guards bench: tokenizer and guard throughput inline vs in the pool, the worst-case tokenization
// rows (10/100/1000 KB), the thread-hop cost that sets the inline threshold, and the added latency
// and event-loop lag of 100 KB prompts with every guard on. Run alone: node dist/bench/guards.js
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GuardEngine, type EngineSetup } from '../src/guards/engine.js';
import { PiiRedactor, PseudonymTable } from '../src/guards/redactor.js';
import { TokenCounter } from '../src/guards/tokenizer.js';
import { GuardPool } from '../src/pool/guard-pool.js';
import type { AnalyseTask } from '../src/guards/engine.js';
import { analyseRequestBody, type AnalysisSpec } from '../src/guards/request-analysis.js';
import type { PiiPolicyConfig, PromptGuardConfig } from '../src/guards/config.js';

const words = 'the contract party agreement shall term notice payment invoice clause liability data service provider customer section hereby within days written consent confidential information obligations'.split(' ');

/** Deterministic contract-like English with some PII sprinkled in. */
export function contractText(bytes: number): string {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = next() % 200;
    const piece =
      n === 0 ? 'jane.doe@example.com' : n === 1 ? '4111 1111 1111 1111' : n === 2 ? '+44 20 7946 0958' : n === 3 ? 'DE89 3704 0044 0532 0130 00' : words[n % words.length]!;
    parts.push(piece);
    size += piece.length + 1;
    if (n % 17 === 0) parts.push('.\n');
  }
  return parts.join(' ').slice(0, bytes);
}

const prompt: PromptGuardConfig[] = [
  {
    name: 'deny',
    deny: ['\\bbuild\\b.*\\b(bomb|explosive)s?\\b', 'ignore (all )?previous instructions', '(a+)+$', 'system prompt'],
    allow: [],
    scope: 'conversation',
    roles: ['user'],
    case_insensitive: true,
    action: 'reject',
    refusal_message: '',
  },
];
const pii: PiiPolicyConfig[] = [
  {
    name: 'all',
    detectors: { email: 'pseudonymize', phone: 'mask', credit_card: 'mask', us_ssn: 'mask', iban: 'pseudonymize', ipv4: 'mask', ipv6: 'mask', secret: 'mask' },
    custom: [],
    roles: ['user'],
  },
];
const setup: EngineSetup = {
  prompt,
  pii,
  preload: ['o200k_base'],
  piiPrefilter: true,
  testHooks: false,
  media: { image_tokens_default: 765, audio_tokens_default: 600, file_tokens_default: 1000 },
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function round(n: number, digits = 2): number {
  return Number(n.toFixed(digits));
}

function analyseTask(text: string, withGuards: boolean): AnalyseTask {
  return {
    countDeadlineEpochMs: Date.now() + 60_000,
    encoding: 'o200k_base',
    texts: [text],
    countOnly: [],
    guards: withGuards ? [{ guard: 0, texts: [0] }] : [],
    pii: withGuards ? { policy: 0, texts: [0] } : null,
  };
}

const allGuards = (): AnalysisSpec => ({ operation: 'chat.completions', encoding: 'o200k_base', guards: [0], pii: 0, countDeadlineEpochMs: Date.now() + 60_000 });

/** A chat body with `text` as its user message, as the gateway hands it to the pool: bytes. */
function chatBody(text: string): Buffer {
  return Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] }));
}

/** Runs fn repeatedly for about `ms`, returns per-call ms samples (sorted). */
async function sample(ms: number, fn: () => unknown | Promise<unknown>, minRuns = 5): Promise<number[]> {
  const samples: number[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until || samples.length < minRuns) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples.sort((a, b) => a - b);
}

function worstCaseRows(counter: TokenCounter): object[] {
  const rows: object[] = [];
  for (const kb of [10, 100, 1000]) {
    const bytes = kb * 1024;
    const inputs: Array<[string, string]> = [
      ['"a" repeated', 'a'.repeat(bytes)],
      ['base64 of zeros', Buffer.alloc(Math.floor((bytes * 3) / 4)).toString('base64')],
    ];
    for (const [name, text] of inputs) {
      const t = performance.now();
      const { count, exact } = counter.count(text);
      const ms = performance.now() - t;
      rows.push({ input: name, kb, tokens: count, exact, ms: round(ms, 1), ms_per_kb: round(ms / kb, 3) });
    }
  }
  return rows;
}

export async function runGuardsBench(): Promise<object> {
  const counter = new TokenCounter('o200k_base');
  const engine = new GuardEngine(setup);
  const text100k = contractText(100 * 1024);
  const body100k = chatBody(text100k);
  const mb = text100k.length / 1e6;

  // Inline throughput: tokenizer, guard+redact with and without the RE2.Set prefilter.
  const tokensPer = counter.count(text100k).count;
  const tokenizeInline = await sample(3000, () => counter.count(text100k));
  const withSet = new PiiRedactor(pii[0]!, { prefilter: true });
  const withoutSet = new PiiRedactor(pii[0]!, { prefilter: false });
  const clean = contractText(100 * 1024).replace(/[0-9@+]/g, 'x');
  const redactSet = await sample(1500, () => withSet.redact(text100k, new PseudonymTable()));
  const redactNoSet = await sample(1500, () => withoutSet.redact(text100k, new PseudonymTable()));
  const cleanSet = await sample(1000, () => withSet.redact(clean, new PseudonymTable()));
  const cleanNoSet = await sample(1000, () => withoutSet.redact(clean, new PseudonymTable()));
  const guardOnly = await sample(1000, () => engine.analyse({ ...analyseTask(text100k, true), encoding: null, pii: null }));
  const allInline = await sample(3000, () => engine.analyse(analyseTask(text100k, true)));

  // GUARD_BENCH_THREADS: pool workers (default 2 = this box's cores; 1 leaves a core to the event loop).
  const pool = new GuardPool({ threads: Number(process.env.GUARD_BENCH_THREADS ?? 2), timeoutMs: 60_000, setup, priority: 'idle' });
  await Promise.all([pool.ready(), pool.ready()]);
  try {
    // Thread hop: an empty count task round trip vs the inline work for small payloads.
    const hop = await sample(1500, () => pool.run({ kind: 'count', encoding: 'o200k_base', texts: [''], countDeadlineEpochMs: Date.now() + 1000 }));
    const hopRows: object[] = [];
    for (const kb of [0.25, 1, 4, 16, 64]) {
      const body = chatBody(contractText(kb * 1024));
      const inline = await sample(400, () => analyseRequestBody(engine, body, allGuards()));
      const pooled = await sample(400, () => pool.analyseRequest(body, allGuards()));
      hopRows.push({ kb, inline_p50_ms: round(percentile(inline, 50), 3), pool_p50_ms: round(percentile(pooled, 50), 3) });
    }

    // Pool throughput with both workers busy (4 tasks in flight).
    const inFlight = 4;
    const poolStart = performance.now();
    let poolTasks = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() - poolStart < 3000) {
          await pool.analyseRequest(body100k, allGuards());
          poolTasks++;
        }
      }),
    );
    const poolSeconds = (performance.now() - poolStart) / 1000;

    // Added latency of one 100 KB prompt with all guards on, and the event loop while 100 KB prompts are guarded.
    const added = await sample(3000, () => pool.analyseRequest(body100k, allGuards()));
    // Small prompts every 5 ms for 3 s: once with the pool idle, once while 3 loops keep 100 KB prompts in it.
    const smallBody = chatBody('What is the notice period in section 4?');
    const smallPrompts = async (withLoad: boolean) => {
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      const small: number[] = [];
      const until = performance.now() + 3000;
      const load = withLoad
        ? Array.from({ length: 3 }, async () => {
            while (performance.now() < until) await pool.analyseRequest(body100k, allGuards());
          })
        : [];
      const smallLoop = (async () => {
        while (performance.now() < until) {
          const t = performance.now();
          await new Promise<void>((resolve) => setImmediate(resolve));
          analyseRequestBody(engine, smallBody, allGuards());
          small.push(performance.now() - t);
          await new Promise<void>((resolve) => setTimeout(resolve, 5));
        }
      })();
      await Promise.all([...load, smallLoop]);
      lag.disable();
      small.sort((a, b) => a - b);
      return {
        event_loop_lag_ms: { p50: round(lag.percentile(50) / 1e6, 2), p99: round(lag.percentile(99) / 1e6, 2), max: round(lag.max / 1e6, 2) },
        small_prompt_ms: { p50: round(percentile(small, 50), 3), p99: round(percentile(small, 99), 3) },
      };
    };
    const idle = await smallPrompts(false);
    const loaded = await smallPrompts(true);

    const p50 = (s: number[]) => percentile(s, 50);
    return {
      text_kb: 100,
      tokens_per_100kb: tokensPer,
      tokenize_inline_tokens_per_s: Math.round(tokensPer / (p50(tokenizeInline) / 1000)),
      prompt_guard_inline_mb_per_s: round(mb / (p50(guardOnly) / 1000), 1),
      pii_redact_inline_mb_per_s: { with_re2_set: round(mb / (p50(redactSet) / 1000), 1), without_set: round(mb / (p50(redactNoSet) / 1000), 1) },
      pii_clean_text_inline_mb_per_s: { with_re2_set: round(mb / (p50(cleanSet) / 1000), 1), without_set: round(mb / (p50(cleanNoSet) / 1000), 1) },
      all_guards_inline: { mb_per_s: round(mb / (p50(allInline) / 1000), 1), tokens_per_s: Math.round(tokensPer / (p50(allInline) / 1000)) },
      all_guards_pool_2_workers: {
        mb_per_s: round((poolTasks * mb) / poolSeconds, 1),
        tokens_per_s: Math.round((poolTasks * tokensPer) / poolSeconds),
      },
      thread_hop_ms: { p50: round(p50(hop), 3), p99: round(percentile(hop, 99), 3) },
      inline_vs_pool_by_size: hopRows,
      added_latency_100kb_all_guards_ms: { p50: round(p50(added), 1), p99: round(percentile(added, 99), 1) },
      small_prompts_pool_idle: idle,
      under_100kb_load: loaded,
      worst_case_tokenization: worstCaseRows(counter),
    };
  } finally {
    await pool.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runGuardsBench(), null, 2));
}
