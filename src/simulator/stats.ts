// What the simulator received and how each request ended, for tests that check what a gateway forwarded.

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string without '?' ('' when none). */
  query: string;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string>>;
  /** Parsed JSON body; null when there was none or it was not JSON. */
  body: unknown;
  /** The model it was for: the body's "model", or the path's (Gemini, Bedrock, Azure deployments). */
  model?: string;
  /** Epoch milliseconds. */
  at: number;
}

export interface SimulatorStats {
  requests: number;
  inFlight: number;
  completed: number;
  /** Requests whose client went away before the simulator finished answering. */
  aborted: number;
  byPath: Record<string, number>;
  /** Requests per model, as scripted-fault rules match it (requests naming no model are not counted). */
  byModel: Record<string, number>;
  /** The most recent requests (keep_requests of them), oldest first. */
  last: RecordedRequest[];
}

export class StatsRecorder {
  private requests = 0;
  private inFlight = 0;
  private completed = 0;
  private aborted = 0;
  private byPath: Record<string, number> = {};
  private byModel: Record<string, number> = {};
  private ring: RecordedRequest[] = [];
  private next = 0;

  constructor(private readonly keptRequests = 50) {}

  /** Counts a request as started; call completed() or aborted() exactly once afterwards. */
  started(request: RecordedRequest): void {
    this.requests++;
    this.inFlight++;
    this.byPath[request.path] = (this.byPath[request.path] ?? 0) + 1;
    if (request.model !== undefined) this.byModel[request.model] = (this.byModel[request.model] ?? 0) + 1;
    if (this.ring.length < this.keptRequests) this.ring.push(request);
    else this.ring[this.next] = request;
    this.next = (this.next + 1) % this.keptRequests;
  }

  finished(outcome: 'completed' | 'aborted'): void {
    this.inFlight--;
    if (outcome === 'completed') this.completed++;
    else this.aborted++;
  }

  snapshot(): SimulatorStats {
    const last = this.ring.length < this.keptRequests ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return {
      requests: this.requests,
      inFlight: this.inFlight,
      completed: this.completed,
      aborted: this.aborted,
      byPath: { ...this.byPath },
      byModel: { ...this.byModel },
      last,
    };
  }

  /** Forgets history; requests still in flight keep counting in inFlight. */
  reset(): void {
    this.requests = 0;
    this.completed = 0;
    this.aborted = 0;
    this.byPath = {};
    this.byModel = {};
    this.ring = [];
    this.next = 0;
  }
}
