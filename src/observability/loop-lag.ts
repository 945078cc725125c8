// Event-loop lag over a sliding window, measured by a timer of its own and kept per second, so every
// reader (a Prometheus scrape, the dashboard's 10 s sampling, a second scraper) sees the same values:
// reading resets nothing. Node's monitorEventLoopDelay cannot be merged or windowed without a reset.
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';

/** The timer's interval: the lag is how much later than this the thread ran it. */
export const loopDelayResolutionMs = 10;
/** The window the gauge reports, in whole seconds ending now. */
export const loopLagWindowSeconds = 10;

/** What eventLoopSamples() reads: nanosecond intervals between the timer's runs. */
export interface LoopDelayView {
  percentile(p: number): number;
  readonly max: number;
}

export class LoopLagWindow {
  /** One histogram per past second, oldest first; seconds the loop was blocked through are empty ones. */
  private readonly past: RecordableHistogram[] = [];
  private current: RecordableHistogram = createHistogram();
  private currentSecond: number;
  private last: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.last = this.now();
    this.currentSecond = Math.floor(this.last / 1000);
    this.timer = setInterval(() => this.tick(), loopDelayResolutionMs);
    this.timer.unref();
  }

  /** One run of the timer (public for tests, which drive it with a fake clock). */
  tick(): void {
    const now = this.now();
    const second = Math.floor(now / 1000);
    if (second !== this.currentSecond) {
      this.past.push(this.current);
      // A loop blocked for whole seconds leaves those seconds empty rather than stretching the window.
      for (let s = this.currentSecond + 1; s < second && s < this.currentSecond + loopLagWindowSeconds; s++) this.past.push(createHistogram());
      while (this.past.length > loopLagWindowSeconds - 1) this.past.shift();
      this.current = createHistogram();
      this.currentSecond = second;
    }
    this.current.record(Math.max(1, Math.round((now - this.last) * 1e6)));
    this.last = now;
  }

  /** The intervals of the last loopLagWindowSeconds seconds (the current one included), merged. */
  window(): LoopDelayView {
    const merged = createHistogram();
    for (const h of this.past) merged.add(h);
    merged.add(this.current);
    return merged;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
