// Load-balancing strategies over one priority tier of a group. Each makes its first choice in O(1) or
// O(log n) from structures built at config load (cumulative weights, a cost envelope) or from two
// random candidates ("power of two choices" for the load-aware ones); only when that choice cannot take
// the request does it fall back to a scan of the usable deployments.
import type { StrategyName } from './config.js';
import type { LiveDeployment } from './live-deployment.js';

export interface PickRequest {
  now: number;
  stream: boolean;
  /** Estimated tokens in and out, for lowest_cost and usage_based. */
  promptTokens: number;
  outputTokens: number;
  random: () => number;
  /** least_latency: share of picks made at random among the usable. */
  explore: number;
}

export type Usable = (m: LiveDeployment) => boolean;

export interface Strategy {
  pick(req: PickRequest, usable: Usable): LiveDeployment | undefined;
}

export function createStrategy(name: StrategyName, members: readonly LiveDeployment[], turn: () => number): Strategy {
  switch (name) {
    case 'weighted':
      return new Weighted(members);
    case 'round_robin':
      return new RoundRobin(members, turn);
    case 'least_busy':
      return new TwoChoices(members, (m) => m.inFlight());
    case 'least_latency':
      return new LeastLatency(members);
    case 'lowest_cost':
      return new LowestCost(members);
    case 'usage_based':
      return new TwoChoices(members, (m, req) => -m.capacity.remaining(req.now, req.promptTokens + req.outputTokens));
  }
}

/** Weighted random: a binary search in the cumulative weights; a pick that cannot serve is redrawn among those that can. */
class Weighted implements Strategy {
  private readonly cumulative: number[] = [];
  private readonly total: number;

  constructor(private readonly members: readonly LiveDeployment[]) {
    let sum = 0;
    for (const m of members) this.cumulative.push((sum += m.weight));
    this.total = sum;
  }

  pick(req: PickRequest, usable: Usable): LiveDeployment | undefined {
    const first = this.members[lowerBound(this.cumulative, req.random() * this.total)];
    if (first !== undefined && usable(first)) return first;
    const rest = this.members.filter(usable);
    if (rest.length === 0) return undefined;
    let sum = 0;
    for (const m of rest) sum += m.weight;
    let point = req.random() * sum;
    for (const m of rest) if ((point -= m.weight) < 0) return m;
    return rest[rest.length - 1];
  }
}

/** Round robin on a counter every server thread shares; a deployment that cannot serve is stepped over. */
class RoundRobin implements Strategy {
  constructor(
    private readonly members: readonly LiveDeployment[],
    private readonly turn: () => number,
  ) {}

  pick(_req: PickRequest, usable: Usable): LiveDeployment | undefined {
    const n = this.members.length;
    const start = this.turn() % n;
    for (let i = 0; i < n; i++) {
      const m = this.members[(start + i) % n];
      if (usable(m)) return m;
    }
    return undefined;
  }
}

/** The better (lower score) of two random usable deployments; with two deployments, always the better one. */
class TwoChoices implements Strategy {
  constructor(
    private readonly members: readonly LiveDeployment[],
    private readonly score: (m: LiveDeployment, req: PickRequest) => number,
  ) {}

  pick(req: PickRequest, usable: Usable): LiveDeployment | undefined {
    const n = this.members.length;
    if (n === 1) return usable(this.members[0]) ? this.members[0] : undefined;
    const i = Math.floor(req.random() * n);
    const j = (i + 1 + Math.floor(req.random() * (n - 1))) % n;
    const a = this.members[i];
    const b = this.members[j];
    const aOk = usable(a);
    const bOk = usable(b);
    if (aOk && bOk) return this.better(a, b, req);
    if (aOk || bOk) return aOk ? a : b;
    let best: LiveDeployment | undefined;
    for (const m of this.members) if (usable(m) && (best === undefined || this.better(m, best, req) === m)) best = m;
    return best;
  }

  private better(a: LiveDeployment, b: LiveDeployment, req: PickRequest): LiveDeployment {
    const sa = this.score(a, req);
    const sb = this.score(b, req);
    if (sa !== sb) return sa < sb ? a : b;
    return req.random() < 0.5 ? a : b;
  }
}

/** Lowest latency EWMA of two random candidates; a share of picks explores so a recovered deployment gets samples. */
class LeastLatency implements Strategy {
  private readonly choices: TwoChoices;

  constructor(private readonly members: readonly LiveDeployment[]) {
    // A deployment without a sample yet scores 0: it is tried first, which is how it gets one.
    this.choices = new TwoChoices(members, (m, req) => m.latencyUs(req.stream));
  }

  pick(req: PickRequest, usable: Usable): LiveDeployment | undefined {
    if (this.members.length > 1 && req.random() < req.explore) {
      const start = Math.floor(req.random() * this.members.length);
      for (let i = 0; i < this.members.length; i++) {
        const m = this.members[(start + i) % this.members.length];
        if (usable(m)) return m;
      }
      return undefined;
    }
    return this.choices.pick(req, usable);
  }
}

/**
 * Cheapest for this request's estimated tokens. A deployment's cost per token is a line over the
 * output share x = out / (in + out): input + (output − input)·x. The lower envelope of those lines is
 * built once; a request finds its cheapest deployment by a binary search over x. Deployments without
 * a price are used only when no priced one can serve.
 */
class LowestCost implements Strategy {
  /** Envelope lines in order of x, and the x where each stops being cheapest. */
  private readonly envelope: LiveDeployment[] = [];
  private readonly until: number[] = [];
  private readonly byCost: (x: number) => LiveDeployment[];

  constructor(members: readonly LiveDeployment[]) {
    const priced = members.filter((m) => m.price !== undefined);
    const unpriced = members.filter((m) => m.price === undefined);
    const at = (m: LiveDeployment, x: number) => (m.price as { input: number; output: number }).input * (1 - x) + (m.price as { output: number }).output * x;
    // Steepest descent first (largest intercept, smallest slope) as x grows: the classic hull build.
    const lines = [...priced].sort((a, b) => slope(b) - slope(a) || at(a, 0) - at(b, 0));
    for (const line of lines) {
      while (this.envelope.length > 0) {
        const last = this.envelope[this.envelope.length - 1];
        if (slope(last) === slope(line)) break;
        const cross = (at(line, 0) - at(last, 0)) / (slope(last) - slope(line));
        const from = this.envelope.length > 1 ? this.until[this.until.length - 2] : -Infinity;
        if (cross <= from) {
          this.envelope.pop();
          this.until.pop();
          continue;
        }
        this.until[this.until.length - 1] = cross;
        break;
      }
      if (this.envelope.length > 0 && slope(this.envelope[this.envelope.length - 1]) === slope(line)) continue;
      this.envelope.push(line);
      this.until.push(Infinity);
    }
    this.byCost = (x) => [...priced].sort((a, b) => at(a, x) - at(b, x)).concat(unpriced);
  }

  pick(req: PickRequest, usable: Usable): LiveDeployment | undefined {
    const total = req.promptTokens + req.outputTokens;
    const x = total === 0 ? 0.5 : req.outputTokens / total;
    const cheapest = this.envelope[lowerBound(this.until, x)];
    if (cheapest !== undefined && usable(cheapest)) return cheapest;
    return this.byCost(x).find(usable);
  }
}

function slope(m: LiveDeployment): number {
  const p = m.price as { input: number; output: number };
  return p.output - p.input;
}

/** First index whose value is ≥ x (the values ascending). */
function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
