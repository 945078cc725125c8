// Prompt guards and PII policies (the guards feature's own compiled forms) over tool arguments and
// tool results: every string in the arguments, every text block and string of structured content in
// the result. Runs inline: arguments and results are small next to prompts.
import type { GuardsConfig } from '../guards/config.js';
import { CompiledPromptGuard } from '../guards/engine.js';
import { PiiRedactor, PseudonymTable } from '../guards/redactor.js';
import type { GuardVerdict } from '../pipeline/observations.js';
import { ToolPatterns } from './acl.js';
import type { McpGuardRule } from './config.js';
import type { ToolCallResult } from './tool-source.js';

interface CompiledRule {
  tools: ToolPatterns;
  prompt: CompiledPromptGuard[];
  pii: PiiRedactor | undefined;
  arguments: boolean;
  results: boolean;
}

export type GuardOutcome<T> = { ok: true; value: T; verdicts: GuardVerdict[] } | { ok: false; message: string; verdicts: GuardVerdict[] };

/** Calls fn on every string in a JSON value and rebuilds it with fn's answers (the same object when none changed). */
function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const m = mapStrings(v, fn);
      if (m !== v) changed = true;
      return m;
    });
    return changed ? out : value;
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const m = mapStrings(v, fn);
      if (m !== v) changed = true;
      out[k] = m;
    }
    return changed ? out : value;
  }
  return value;
}

function stringsOf(value: unknown, out: string[] = []): string[] {
  mapStrings(value, (s) => {
    out.push(s);
    return s;
  });
  return out;
}

export class McpGuards {
  private readonly rules: CompiledRule[];

  constructor(rules: readonly McpGuardRule[], guards: GuardsConfig) {
    this.rules = rules.map((r) => ({
      tools: new ToolPatterns(r.tools),
      prompt: r.prompt.map((name) => new CompiledPromptGuard(guards.guards.prompt.find((g) => g.name === name)!)),
      pii: r.pii === undefined ? undefined : new PiiRedactor(guards.pii.find((p) => p.name === r.pii)!),
      arguments: r.arguments,
      results: r.results,
    }));
  }

  private applying(server: string, tool: string, side: 'arguments' | 'results'): CompiledRule[] {
    return this.rules.filter((r) => r[side] && (r.tools.empty || r.tools.matches(server, tool)));
  }

  checkArguments(server: string, tool: string, args: Record<string, unknown>): GuardOutcome<Record<string, unknown>> {
    const rules = this.applying(server, tool, 'arguments');
    return this.run(rules, args, (v) => stringsOf(v), (v, fn) => mapStrings(v, fn) as Record<string, unknown>, 'arguments');
  }

  checkResult(server: string, tool: string, result: ToolCallResult): GuardOutcome<ToolCallResult> {
    const rules = this.applying(server, tool, 'results');
    const texts = (r: ToolCallResult) => {
      const out: string[] = [];
      for (const c of r.content ?? []) if (c.type === 'text') out.push(c.text);
      if (r.structuredContent !== undefined) stringsOf(r.structuredContent, out);
      return out;
    };
    const rewrite = (r: ToolCallResult, fn: (s: string) => string): ToolCallResult => {
      const content = (r.content ?? []).map((c) => (c.type === 'text' ? { ...c, text: fn(c.text) } : c));
      const next: ToolCallResult = { ...r, content };
      if (r.structuredContent !== undefined) next.structuredContent = mapStrings(r.structuredContent, fn) as Record<string, unknown>;
      return next;
    };
    return this.run(rules, result, texts, rewrite, 'result');
  }

  private run<T>(
    rules: readonly CompiledRule[],
    value: T,
    texts: (v: T) => string[],
    rewrite: (v: T, fn: (s: string) => string) => T,
    what: 'arguments' | 'result',
  ): GuardOutcome<T> {
    const verdicts: GuardVerdict[] = [];
    if (rules.length === 0) return { ok: true, value, verdicts };
    let current = value;
    for (const rule of rules) {
      const scanned = texts(current);
      for (const guard of rule.prompt) {
        const reason = guard.check(scanned);
        if (reason) {
          verdicts.push({ guard: guard.name, action: 'block', detail: reason });
          const why = reason === 'deny' ? 'matched a denied pattern' : 'matched no allowed pattern';
          const message = what === 'arguments' ? `The tool call was refused by guard '${guard.name}': its arguments ${why}.` : `The tool result was withheld by guard '${guard.name}': it ${why}.`;
          return { ok: false, message, verdicts };
        }
      }
      if (rule.pii === undefined) continue;
      const redactor = rule.pii;
      const pseudonyms = new PseudonymTable();
      let blocked: string | undefined;
      let redacted = false;
      const next = rewrite(current, (s) => {
        const outcome = redactor.redact(s, pseudonyms);
        if (outcome.blockedBy) blocked ??= outcome.blockedBy;
        if (outcome.text !== s) redacted = true;
        return outcome.text;
      });
      if (blocked !== undefined) {
        verdicts.push({ guard: redactor.name, action: 'block', detail: blocked });
        return { ok: false, message: `The tool ${what} carried ${blocked}, which policy '${redactor.name}' does not let through.`, verdicts };
      }
      if (redacted) {
        verdicts.push({ guard: redactor.name, action: 'redact' });
        current = next;
      }
    }
    return { ok: true, value: current, verdicts };
  }
}
