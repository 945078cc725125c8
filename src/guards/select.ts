// Which guards, PII policy, output guards and encoding apply to a request, decided from (model, key)
// once and cached: the per-request cost is one Map lookup.
import type { Attachment, GuardsConfig } from './config.js';
import type { EncodingName } from './tokenizer.js';
import { compileOutputGuard, type CompiledOutputGuard } from './output-guard.js';

export interface GuardSelection {
  /** Indices into config.guards.prompt. */
  prompt: number[];
  /** Index into config.pii (the first policy that applies), or -1. */
  pii: number;
  output: CompiledOutputGuard[];
  /** null when counting is off. */
  encoding: EncodingName | null;
  /**
   * The encoding is the model's own (a configured glob or OpenAI's table matched it); a count with the
   * default encoding for another family's model (Claude, Gemini) is an estimate, reported exact: false.
   */
  encodingIsTheModels: boolean;
}

/** A model-name glob (`*` = any run of characters) as a matcher. */
export function globMatcher(glob: string): (value: string) => boolean {
  if (!glob.includes('*')) return (value) => value === glob;
  const source = glob.split('*').map((part) => part.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')).join('.*');
  const re = new RegExp(`^${source}$`);
  return (value) => re.test(value);
}

// OpenAI's model → encoding table, by prefix; checked after the configured globs.
const builtInEncodings: Array<[string, EncodingName]> = [
  ['gpt-4o', 'o200k_base'],
  ['gpt-4.1', 'o200k_base'],
  ['gpt-4.5', 'o200k_base'],
  ['gpt-5', 'o200k_base'],
  ['chatgpt-4o', 'o200k_base'],
  ['o1', 'o200k_base'],
  ['o3', 'o200k_base'],
  ['o4', 'o200k_base'],
  ['gpt-4', 'cl100k_base'],
  ['gpt-3.5', 'cl100k_base'],
  ['gpt-35', 'cl100k_base'],
  ['text-embedding-', 'cl100k_base'],
];

interface CompiledAttachment {
  models: Array<(value: string) => boolean>;
  keys: Set<string>;
}

function compileAttachment(a: Attachment): CompiledAttachment {
  return { models: (a.models ?? []).map(globMatcher), keys: new Set(a.keys ?? []) };
}

function applies(a: CompiledAttachment, models: readonly string[], key: { id: string; name: string } | undefined): boolean {
  if (a.models.length > 0 && !a.models.some((m) => models.some((name) => m(name)))) return false;
  if (a.keys.size > 0 && !(key && (a.keys.has(key.id) || a.keys.has(key.name)))) return false;
  return true;
}

const maxCachedSelections = 10_000;

export class GuardSelector {
  private readonly prompt: CompiledAttachment[];
  private readonly pii: CompiledAttachment[];
  private readonly output: Array<{ attach: CompiledAttachment; guard: CompiledOutputGuard }>;
  private readonly encodings: Array<{ match: (value: string) => boolean; encoding: EncodingName }>;
  private readonly cache = new Map<string, GuardSelection>();

  constructor(private readonly config: GuardsConfig) {
    this.prompt = config.guards.prompt.map(compileAttachment);
    this.pii = config.pii.map(compileAttachment);
    this.output = config.guards.output.map((g) => ({ attach: compileAttachment(g), guard: compileOutputGuard(g) }));
    this.encodings = config.tokenizer.encodings.map((e) => ({ match: globMatcher(e.model), encoding: e.encoding }));
  }

  /** `model` as the client sent it; `upstreamModel` as the provider knows it (either may match a glob). */
  select(model: string, upstreamModel: string | undefined, key: { id: string; name: string } | undefined): GuardSelection {
    const cacheKey = `${model}\u0000${upstreamModel ?? ''}\u0000${key?.id ?? ''}`;
    let selection = this.cache.get(cacheKey);
    if (selection) return selection;
    const models = upstreamModel && upstreamModel !== model ? [model, upstreamModel] : [model];
    const own = this.encodingFor(models);
    selection = {
      prompt: this.prompt.flatMap((a, i) => (applies(a, models, key) ? [i] : [])),
      pii: this.pii.findIndex((a) => applies(a, models, key)),
      output: this.output.filter((o) => applies(o.attach, models, key)).map((o) => o.guard),
      encoding: this.config.tokenizer.enabled ? (own ?? this.config.tokenizer.default_encoding) : null,
      encodingIsTheModels: own !== undefined,
    };
    if (this.cache.size >= maxCachedSelections) this.cache.clear();
    this.cache.set(cacheKey, selection);
    return selection;
  }

  /** The model's own encoding, or undefined when none is known for it. */
  private encodingFor(models: readonly string[]): EncodingName | undefined {
    for (const e of this.encodings) if (models.some((m) => e.match(m))) return e.encoding;
    for (const name of models.slice().reverse()) {
      for (const [prefix, encoding] of builtInEncodings) if (name.startsWith(prefix)) return encoding;
    }
    return undefined;
  }
}
