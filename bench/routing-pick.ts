// The routing work of one request, in-process and alone: what the handler does per request with the
// bench's own compiled config — a new AttemptRouter, its first choice, mayRetry, begin and close (the
// in-flight count, breaker and latency EWMA updates in the shared table). The gateway rows above carry
// this inside microseconds of noise; here it is timed in nanoseconds, variants rotating over rounds.
import { parseConfig } from '../src/config/load.js';
import { compileRoutes } from '../src/config/compile.js';
import { createContext, type RequestContext } from '../src/pipeline/context.js';
import { parseRequest } from '../src/pipeline/parse.js';
import { loadAdapters } from '../src/providers/registry.js';
import { AttemptRouter } from '../src/routing/attempts.js';
import { GatewayError } from '../src/shared/errors.js';
import { chatPath } from './scenarios/requests.js';
import { referenceVariant, requestFor, routingYaml, variants } from './routing-config.js';
import { modeName, modes, spread, type Spread } from './routing-overhead.js';

export interface PickRow {
  variant: string;
  mode: 'whole' | 'stream';
  ns_per_request: Spread;
  /** Per round: this variant's ns minus the single model's. */
  vs_single_ns: Spread;
}

function contextFor(model: string, stream: boolean): RequestContext {
  const req = requestFor(model, stream, 'sess-0');
  const body = Buffer.from(req.body);
  const head = { method: 'POST', path: chatPath, query: '', headers: { ...req.headers, 'content-type': 'application/json' }, remoteAddress: '' };
  const ctx = createContext(head, body, 'chat.completions');
  Object.assign(ctx, parseRequest(body, 'messages'));
  ctx.result.status = 200;
  ctx.result.outcome = 'ok';
  ctx.result.ttftMs = 0.1;
  return ctx;
}

export async function runPick(opts: { rounds: number; perRound: number; log(line: string): void }): Promise<PickRow[]> {
  const config = parseConfig(routingYaml('/tmp/switchyard-routing-pick', 1, 1), 'routing bench');
  await loadAdapters(config.providers.map((p) => p.type));
  const routes = compileRoutes(config);
  const lanes = modes.flatMap((stream) =>
    variants.map((v) => ({ variant: v.name, stream, group: routes.groups.get(v.model)!, ctx: contextFor(v.model, stream), ns: [] as number[] })),
  );
  const once = (lane: (typeof lanes)[number]) => {
    const router = new AttemptRouter(lane.group, routes.groups, lane.ctx, routes.routing);
    const choice = router.first();
    if (choice instanceof GatewayError) throw choice;
    router.begin(choice);
    router.mayRetry();
    router.close();
  };
  opts.log(`(1c) routing work alone, in-process: ${opts.rounds} rounds × ${opts.perRound} requests per variant and mode`);
  for (const lane of lanes) for (let i = 0; i < 20_000; i++) once(lane);
  for (let r = 0; r < opts.rounds; r++) {
    const offset = Math.floor((r * lanes.length) / opts.rounds);
    for (let k = 0; k < lanes.length; k++) {
      const lane = lanes[(k + offset) % lanes.length];
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < opts.perRound; i++) once(lane);
      lane.ns.push(Number(process.hrtime.bigint() - t0) / opts.perRound);
    }
  }
  return lanes.map((lane) => {
    const ref = lanes.find((l) => l.variant === referenceVariant && l.stream === lane.stream)!;
    return {
      variant: lane.variant,
      mode: modeName(lane.stream) as 'whole' | 'stream',
      ns_per_request: spread(lane.ns, 0),
      vs_single_ns: spread(lane.ns.map((ns, r) => ns - ref.ns[r]), 0),
    };
  });
}
