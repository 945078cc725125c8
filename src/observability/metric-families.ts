// Hot-path metric primitives. prom-client hashes and validates the label object on every update
// (~1 µs each, a dozen per request); here a caller resolves a series cell once per label set and then
// only adds numbers. Families export the exact JSON prom-client's getMetricsAsJSON() produces, so the
// main thread aggregates them with AggregatorRegistry like any registry.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;
export type MetricJson = MetricObjectWithValues<MetricValue<string>>;

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface CounterCell {
  value: number;
}

export class CounterFamily {
  private readonly cells = new Map<string, { labels: Labels; cell: CounterCell }>();
  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  /** The cell for these labels; `key` must identify the label values uniquely. */
  cell(key: string, labels: () => Labels): CounterCell {
    let found = this.cells.get(key);
    if (found === undefined) {
      found = { labels: labels(), cell: { value: 0 } };
      this.cells.set(key, found);
    }
    return found.cell;
  }

  toJSON(): MetricJson {
    const values: ExportedValue[] = [];
    for (const { labels, cell } of this.cells.values()) values.push({ value: cell.value, labels: { ...labels } });
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' } as unknown as MetricJson;
  }
}

export class HistogramCell {
  /** Per-bucket (not cumulative) counts; the last slot counts values above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily {
  private readonly cells = new Map<string, { labels: Labels; cell: HistogramCell }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  cell(key: string, labels: () => Labels): HistogramCell {
    let found = this.cells.get(key);
    if (found === undefined) {
      found = { labels: labels(), cell: new HistogramCell(this.bounds) };
      this.cells.set(key, found);
    }
    return found.cell;
  }

  toJSON(): MetricJson {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, cell } of this.cells.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += cell.counts[i];
        values.push({ value: cumulative, labels: { ...labels, le }, metricName: bucket });
      });
      values.push({ value: cell.count, labels: { ...labels, le: '+Inf' }, metricName: bucket });
      values.push({ value: cell.sum, labels: { ...labels }, metricName: `${this.name}_sum` });
      values.push({ value: cell.count, labels: { ...labels }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' } as unknown as MetricJson;
  }
}

/** A gauge whose samples are computed when scraped. */
export class GaugeFamily {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly sample: () => Array<{ labels: Labels; value: number }>,
  ) {}

  toJSON(): MetricJson {
    const values: ExportedValue[] = this.sample().map((s) => ({ value: s.value, labels: { ...s.labels } }));
    return { name: this.name, help: this.help, type: 'gauge', values, aggregator: 'sum' } as unknown as MetricJson;
  }
}
