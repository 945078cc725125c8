// Label values for metrics. Only config-defined names and gateway-defined codes go into labels,
// and every label is capped, so a client (or an upstream) can never blow up the series count.
import type { RequestContext } from '../pipeline/context.js';
import type { MetricsConfig } from './config.js';

export const otherLabel = '__other__';
export const noneLabel = '__none__';

/**
 * Keeps at most `max` distinct values; later newcomers become "__other__". The values seen are kept
 * across config reloads (a reload gives a new `max`, not a fresh allowance), so reloads cannot add series.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  value(raw: string | undefined, max = this.max): string {
    if (raw === undefined || raw === '') return noneLabel;
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= max) return otherLabel;
    this.seen.add(raw);
    return raw;
  }
}

/** The bounded labels of one thread, shared by the LabelMakers of every config it serves. */
export interface LabelBounds {
  readonly keys: BoundedLabel;
  readonly responseModels: BoundedLabel;
  readonly reasons: BoundedLabel;
}

export function newLabelBounds(max: number): LabelBounds {
  return { keys: new BoundedLabel(max), responseModels: new BoundedLabel(max), reasons: new BoundedLabel(50) };
}

export interface RequestLabels {
  model: string;
  provider: string;
  deployment: string;
  key: string;
  operation: string;
  responseModel: string;
}

const genAiOperation: Record<RequestContext['operation'], string> = {
  'chat.completions': 'chat',
  'chat.count_tokens': 'count_tokens',
  completions: 'text_completion',
  embeddings: 'embeddings',
  models: 'list_models',
};

export class LabelMaker {
  private readonly max: number;

  constructor(
    private readonly config: MetricsConfig,
    private readonly bounds: LabelBounds = newLabelBounds(config.max_label_values),
  ) {
    this.max = config.max_label_values;
  }

  /** Model labels come from the matched deployment only: a model a client made up is "__none__". */
  forRequest(ctx: RequestContext): RequestLabels {
    const d = ctx.deployment;
    return {
      model: d ? d.name : noneLabel,
      provider: d ? d.provider.name : noneLabel,
      deployment: d ? `${d.provider.name}/${d.upstreamModel}` : noneLabel,
      key: this.keyLabel(ctx),
      operation: genAiOperation[ctx.operation] ?? noneLabel,
      responseModel: d ? this.bounds.responseModels.value(ctx.result.responseModel ?? d.upstreamModel, this.max) : noneLabel,
    };
  }

  /** Error codes may echo an upstream's own code; capped like any other label. */
  reason(raw: string | undefined): string {
    return this.bounds.reasons.value(raw);
  }

  private keyLabel(ctx: RequestContext): string {
    if (this.config.key_label === 'off' || ctx.key === undefined) return noneLabel;
    return this.bounds.keys.value(this.config.key_label === 'id' ? ctx.key.id : ctx.key.name, this.max);
  }
}

/** One string that identifies a label set (label values never contain \u0001). */
export function seriesKey(l: RequestLabels): string {
  return `${l.model}\u0001${l.provider}\u0001${l.deployment}\u0001${l.key}\u0001${l.responseModel}\u0001${l.operation}`;
}
