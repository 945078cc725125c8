// Failover under load: c=8 non-streamed requests to a two-tier group while its priority-1 deployment
// answers 503 (a fault scripted at the simulator), then recovers. Each response carries the deployment
// that answered and the attempts it took (x-switchyard-deployment, x-switchyard-attempts), timed by the
// client; the count of 503s the fault rule answered is polled at the simulator beside it. Times are
// "from the fault": the later of the fault's PUT /sim/script and the sending of the first request that
// failed over. The first failing upstream response cannot come before either, so each time below
// bounds the one from that first failure from above (a stalled PUT on this shared box does not count).
import { Pool } from 'undici';
import { breakerCooldownMs, failoverGroup, requestFor } from './routing-config.js';
import { sleep, type SimControl } from './routing-sim.js';
import { spread, type Spread } from './routing-overhead.js';
import { chatPath } from './scenarios/requests.js';

export const failoverConcurrency = 8;

export interface FailoverOptions {
  gatewayPort: number;
  sim: SimControl;
  cycles: number;
  /** Steady load before the fault, ms. */
  warmMs: number;
  /** How long the fault lasts, ms (a few cooldowns, so half-open trials happen). */
  faultMs: number;
  /** Simulator count polling interval, ms. */
  pollMs: number;
  log(line: string): void;
}

interface Answer {
  /** ms since the cycle's start. */
  sent: number;
  recv: number;
  /** HTTP status; -1 when the exchange itself failed. */
  status: number;
  deployment: string;
  attempts: number;
}

export interface FailoverCycle {
  requests: number;
  /** Answers that were not 200 (expected: none; retries hide the failures). */
  client_errors: number;
  rps_before: number;
  rps_during_fault: number;
  /** From the fault's PUT to "the fault" (the later of it and the first failed-over request's sending). */
  fault_anchor_ms: number;
  /** Fault → first client response served by the priority-2 deployment. */
  fault_to_first_fallback_ms: number;
  /** That response's own time, send to receive (its first attempt was the 503). */
  first_fallback_request_ms: number;
  /** Requests that failed over in the first burst (their first attempt reached the failing deployment). */
  failed_attempts_before_open: number;
  /** Fault → the last of those answered: after it, nothing reaches deployment 1 until a half-open trial. */
  fault_to_primary_quiet_ms: number;
  /** Fault → first response routed straight to deployment 2 (attempts 1): the breaker was open. */
  fault_to_breaker_open_seen_ms: number;
  /** The same from the simulator: 503s the fault rule answered in the burst, and when that count stopped rising (± pollMs). */
  sim_failed_in_burst: number;
  sim_fault_to_primary_quiet_ms: number;
  /** The fault's PUT, send to answer: the slack in "from the fault" (the rule took effect within it). */
  fault_put_ms: number;
  /** Half-open trials during the fault (each failed, and failed over), and the time between failures. */
  half_open_trials: number;
  trial_intervals_ms: number[];
  /** Fault cleared → first response served by deployment 1 again (depends on where in the cooldown the clear fell). */
  clear_to_return_ms: number;
  /** Last failure on deployment 1 → first response it served again: the cooldown, a trial, closed. */
  last_failure_to_return_ms: number;
  /** Share of responses served by deployment 1 in the 300 ms after its first one. */
  primary_share_after_return: number;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

function analyse(answers: Answer[], polls: Array<{ t: number; failed: number }>, t: { put: number; putDone: number; clear: number; warmStart: number }): FailoverCycle {
  const { primary, secondary } = failoverGroup;
  const byRecv = [...answers].sort((a, b) => a.recv - b.recv);
  const after = (ms: number) => byRecv.filter((a) => a.recv > ms);
  const burstEnd = t.put + breakerCooldownMs / 2;
  const firstFallback = after(t.put).find((a) => a.deployment === secondary.id);
  const failedOver = after(t.put).filter((a) => a.attempts >= 2);
  const burst = failedOver.filter((a) => a.recv < burstEnd);
  const faultAt = Math.max(t.put, ...burst.map((a) => a.sent).sort((a, b) => a - b).slice(0, 1));
  const firstSkip = after(t.put).find((a) => a.deployment === secondary.id && a.attempts === 1);
  const firstBack = after(t.clear).find((a) => a.deployment === primary.id);
  const trials = failedOver.filter((a) => a.recv >= burstEnd && (firstBack === undefined || a.recv < firstBack.recv));
  const failures = [burst[burst.length - 1], ...trials].filter((a) => a !== undefined);
  const lastFailure = failures[failures.length - 1];
  const burstPolls = polls.filter((p) => p.t < burstEnd);
  const burstFinal = burstPolls.length > 0 ? burstPolls[burstPolls.length - 1].failed : 0;
  const quietPoll = burstPolls.find((p) => p.failed === burstFinal);
  const returned = firstBack === undefined ? [] : byRecv.filter((a) => a.recv > firstBack.recv && a.recv <= firstBack.recv + 300);
  const rate = (from: number, to: number) => (to > from ? Math.round((byRecv.filter((a) => a.recv > from && a.recv <= to).length * 1000) / (to - from)) : Number.NaN);
  const since = (a: Answer | undefined, from: number) => (a === undefined ? Number.NaN : r1(a.recv - from));
  return {
    requests: answers.length,
    client_errors: answers.filter((a) => a.status !== 200).length,
    rps_before: rate(t.warmStart, t.put),
    rps_during_fault: rate(t.put, t.clear),
    fault_anchor_ms: r1(faultAt - t.put),
    fault_to_first_fallback_ms: since(firstFallback, faultAt),
    first_fallback_request_ms: firstFallback === undefined ? Number.NaN : r1(firstFallback.recv - firstFallback.sent),
    failed_attempts_before_open: burst.length,
    fault_to_primary_quiet_ms: since(burst[burst.length - 1], faultAt),
    fault_to_breaker_open_seen_ms: since(firstSkip, faultAt),
    sim_failed_in_burst: burstFinal,
    sim_fault_to_primary_quiet_ms: quietPoll === undefined ? Number.NaN : r1(quietPoll.t - faultAt),
    fault_put_ms: r1(t.putDone - t.put),
    half_open_trials: trials.length,
    trial_intervals_ms: failures.slice(1).map((a, i) => r1(a.recv - failures[i].recv)),
    clear_to_return_ms: since(firstBack, t.clear),
    last_failure_to_return_ms: firstBack === undefined || lastFailure === undefined ? Number.NaN : r1(firstBack.recv - lastFailure.recv),
    primary_share_after_return: returned.length === 0 ? Number.NaN : Math.round((1000 * returned.filter((a) => a.deployment === primary.id).length) / returned.length) / 1000,
  };
}

async function cycle(opts: FailoverOptions): Promise<FailoverCycle> {
  const start = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - start) / 1e6;
  const req = requestFor(failoverGroup.model, false, undefined);
  const pool = new Pool(`http://127.0.0.1:${opts.gatewayPort}`, { connections: failoverConcurrency, pipelining: 1 });
  const answers: Answer[] = [];
  let stopping = false;
  const worker = async () => {
    while (!stopping) {
      const sent = now();
      try {
        const res = await pool.request({ method: 'POST', path: chatPath, headers: { 'content-type': 'application/json', ...req.headers }, body: req.body });
        await res.body.dump();
        const deployment = res.headers['x-switchyard-deployment'];
        answers.push({ sent, recv: now(), status: res.statusCode, deployment: typeof deployment === 'string' ? deployment : '', attempts: Number(res.headers['x-switchyard-attempts'] ?? 0) });
      } catch {
        answers.push({ sent, recv: now(), status: -1, deployment: '', attempts: 0 });
      }
    }
  };
  const workers = Array.from({ length: failoverConcurrency }, worker);
  try {
    // Steady state first: deployment 1 serving everything (a previous cycle's breaker may still be closing).
    const warmStart = now();
    await sleep(opts.warmMs);
    const steadyBy = now() + 3 * breakerCooldownMs;
    while (answers.slice(-20).some((a) => a.deployment !== failoverGroup.primary.id) && now() < steadyBy) await sleep(20);
    const put = now();
    await opts.sim.script([{ model: failoverGroup.primary.upstream, status: 503 }]);
    const putDone = now();
    const polls: Array<{ t: number; failed: number }> = [];
    while (now() < put + opts.faultMs) {
      const failed = await opts.sim.scriptApplied();
      polls.push({ t: now(), failed });
      await sleep(opts.pollMs);
    }
    const clear = now();
    await opts.sim.clearScript();
    const returnBy = clear + 2 * breakerCooldownMs + 1000;
    while (!answers.some((a) => a.recv > clear && a.deployment === failoverGroup.primary.id) && now() < returnBy) await sleep(10);
    await sleep(400);
    stopping = true;
    await Promise.all(workers);
    return analyse(answers, polls, { put, putDone, clear, warmStart: Math.max(warmStart + 200, put - 1000) });
  } finally {
    stopping = true;
    await Promise.all(workers);
    await pool.close();
  }
}

export interface FailoverResult {
  concurrency: number;
  breaker: { consecutive_failures: number; cooldown_ms: number; half_open_requests: number };
  fault_ms: number;
  cycles: FailoverCycle[];
  /** Median and range over the cycles of every numeric field. */
  summary: Record<string, Spread>;
}

export async function runFailover(opts: FailoverOptions): Promise<FailoverResult> {
  opts.log(`(2) failover: ${opts.cycles} cycles at c=${failoverConcurrency}: ${opts.warmMs} ms steady, ${opts.faultMs} ms of 503 on ${failoverGroup.primary.id}, cleared, until traffic returns`);
  const cycles: FailoverCycle[] = [];
  for (let i = 0; i < opts.cycles; i++) {
    const c = await cycle(opts);
    cycles.push(c);
    opts.log(
      `  cycle ${i + 1}: errors ${c.client_errors}, first fallback +${c.fault_to_first_fallback_ms} ms, primary quiet +${c.fault_to_primary_quiet_ms} ms after ${c.failed_attempts_before_open} failures, ` +
        `${c.half_open_trials} trials, back ${c.last_failure_to_return_ms} ms after the last failure (${c.clear_to_return_ms} ms after the clear)`,
    );
  }
  const summary: Record<string, Spread> = {};
  for (const key of Object.keys(cycles[0] ?? {}) as Array<keyof FailoverCycle>) {
    if (typeof cycles[0][key] === 'number') summary[key] = spread(cycles.map((c) => c[key] as number), 3);
  }
  summary.trial_intervals_ms = spread(cycles.flatMap((c) => c.trial_intervals_ms));
  // The breaker's other settings are the schema defaults (src/routing/config.ts).
  return { concurrency: failoverConcurrency, breaker: { consecutive_failures: 5, cooldown_ms: breakerCooldownMs, half_open_requests: 1 }, fault_ms: opts.faultMs, cycles, summary };
}
