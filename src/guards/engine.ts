// The work a guard worker does, as plain synchronous code: compiled once per thread from the config
// (RE2 objects cannot cross threads, so each worker compiles the pattern sources itself). Also used
// in-process by the inline fast path and by the bench.
import RE2 from 're2';
import type { PiiPolicyConfig, PromptGuardConfig } from './config.js';
import { PiiRedactor, PseudonymTable } from './redactor.js';
import { TokenCounter, estimateTokens, type EncodingName } from './tokenizer.js';
import type { CountResult, CountTask } from '../pool/tasks.js';
import type { MediaTokenDefaults } from './prompt-text.js';

/** What a worker is started with (workerData): config sections only, no compiled objects. */
export interface EngineSetup {
  prompt: PromptGuardConfig[];
  pii: PiiPolicyConfig[];
  /** Encodings loaded at start so the first request does not pay for it (~0.3 s each). */
  preload: EncodingName[];
  /** Use RE2.Set as a prefilter for PII (bench compares both). */
  piiPrefilter: boolean;
  /** Accept the crash/spin test tasks. */
  testHooks: boolean;
  /** How images, audio and files count (tokenizer config). */
  media: MediaTokenDefaults;
}

/** The texts of one prompt and what to run on them: guard verdict, redaction, token count. */
export interface AnalyseTask {
  /** Date.now() after which counting stops and the rest is estimated. */
  countDeadlineEpochMs: number;
  /** Encoding to count with, or null to skip counting. */
  encoding: EncodingName | null;
  /** Text that is scanned and possibly redacted (message contents, text parts). */
  texts: string[];
  /** Text that only counts (names, tool calls, tool definitions). */
  countOnly: string[];
  /** Prompt guards (index in setup.prompt) and the indices of the texts each one scans. */
  guards: Array<{ guard: number; texts: number[] }>;
  /** PII policy (index in setup.pii) and the texts it redacts. */
  pii: { policy: number; texts: number[] } | null;
}

export interface AnalyseResult {
  tokens: number;
  exact: boolean;
  /** First prompt guard that refused, and why. */
  verdict: { guard: number; reason: 'deny' | 'allow' } | null;
  /** Label of a PII detector in block mode that matched. */
  piiBlocked: string | null;
  /** [text index, redacted text] for texts that changed. */
  redacted: Array<[number, string]>;
  /** [placeholder, original] for pseudonymised values. */
  pseudonyms: Array<[string, string]>;
}

export class CompiledPromptGuard {
  readonly name: string;
  private readonly deny: InstanceType<typeof RE2.Set> | undefined;
  private readonly allow: InstanceType<typeof RE2.Set> | undefined;

  constructor(config: PromptGuardConfig) {
    this.name = config.name;
    const flags = config.case_insensitive ? 'i' : '';
    this.deny = config.deny.length > 0 ? new RE2.Set(config.deny, flags) : undefined;
    this.allow = config.allow.length > 0 ? new RE2.Set(config.allow, flags) : undefined;
  }

  /** Why the texts are refused, or null. Patterns apply to each text on its own. */
  check(texts: readonly string[]): 'deny' | 'allow' | null {
    if (this.deny) for (const t of texts) if (this.deny.test(t)) return 'deny';
    if (this.allow && !texts.some((t) => this.allow!.test(t))) return 'allow';
    return null;
  }
}

export class GuardEngine {
  private readonly guards: CompiledPromptGuard[];
  private readonly redactors: PiiRedactor[];
  private readonly counters = new Map<EncodingName, TokenCounter>();

  constructor(readonly setup: EngineSetup) {
    this.guards = setup.prompt.map((g) => new CompiledPromptGuard(g));
    this.redactors = setup.pii.map((p) => new PiiRedactor(p, { prefilter: setup.piiPrefilter }));
    for (const encoding of setup.preload) this.counter(encoding);
  }

  counter(encoding: EncodingName): TokenCounter {
    let counter = this.counters.get(encoding);
    if (!counter) {
      counter = new TokenCounter(encoding);
      this.counters.set(encoding, counter);
    }
    return counter;
  }

  analyse(task: AnalyseTask): AnalyseResult {
    const result: AnalyseResult = {
      tokens: 0,
      exact: true,
      verdict: null,
      piiBlocked: null,
      redacted: [],
      pseudonyms: [],
    };
    for (const { guard, texts } of task.guards) {
      const reason = this.guards[guard]!.check(texts.map((i) => task.texts[i]!));
      if (reason) {
        result.verdict = { guard, reason };
        return result;
      }
    }
    const texts = task.texts;
    if (task.pii) {
      const redactor = this.redactors[task.pii.policy]!;
      const pseudonyms = new PseudonymTable();
      const redactedTexts = texts.slice();
      for (const i of task.pii.texts) {
        const outcome = redactor.redact(texts[i]!, pseudonyms);
        if (outcome.blockedBy) {
          result.piiBlocked = outcome.blockedBy;
          return result;
        }
        if (outcome.text !== texts[i]) {
          result.redacted.push([i, outcome.text]);
          redactedTexts[i] = outcome.text;
        }
      }
      result.pseudonyms = pseudonyms.entries();
      if (task.encoding) Object.assign(result, this.countTexts(task.encoding, [...redactedTexts, ...task.countOnly], task.countDeadlineEpochMs));
      return result;
    }
    if (task.encoding) Object.assign(result, this.countTexts(task.encoding, [...texts, ...task.countOnly], task.countDeadlineEpochMs));
    return result;
  }

  count(task: CountTask): CountResult {
    return { kind: 'count', ...this.countTexts(task.encoding, task.texts, task.countDeadlineEpochMs) };
  }

  private countTexts(encoding: EncodingName, texts: readonly string[], deadlineEpochMs: number): { tokens: number; exact: boolean } {
    const counter = this.counter(encoding);
    // The tokenizer checks performance.now(); translate the wall-clock deadline once.
    const deadline = performance.now() + (deadlineEpochMs - Date.now());
    let tokens = 0;
    let exact = true;
    for (const text of texts) {
      if (!exact) {
        tokens += estimateTokens(Buffer.byteLength(text, 'utf8'));
        continue;
      }
      const counted = counter.count(text, deadline);
      tokens += counted.count;
      exact = counted.exact;
    }
    return { tokens, exact };
  }
}
