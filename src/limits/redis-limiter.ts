// The multi-machine limiter: the same check-all-then-charge-all admission as the shared table, done by one
// Lua script inside Redis (atomic, windows from Redis TIME so gateway clocks do not matter). One round trip per request.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { log } from '../shared/log.js';
import type { RedisLimitsConfig } from './config.js';
import type { Admission, Charge, LimitKind, Limiter, QuotaView, Settlement, Subject } from './limiter.js';
import { SharedCounterTable, Slot, type SlotName } from './shared-table.js';
import { DAY_MS, MINUTE_MS, monthIndex, msToDayEnd, msToMinuteEnd, msToMonthEnd } from './windows.js';

/** Redis key suffixes per subject base `<prefix>:lim:<subject id>`. */
const ADMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minute = math.floor(now / 60000)
local day = math.floor(now / 86400000)
local tokens = tonumber(ARGV[1])
local month = ARGV[2]
local n = #KEYS
local function num(k) local v = redis.call('GET', k) if v then return tonumber(v) end return 0 end
local counts = {}
local refused = nil
for i = 1, n do
  local b = KEYS[i]
  local o = 2 + (i - 1) * 8
  local mr, dr = num(b .. ':rm:' .. minute), num(b .. ':rd:' .. day)
  local mt, dt = num(b .. ':tm:' .. minute), num(b .. ':td:' .. day)
  counts[i] = {mr, dr, mt, dt}
  if not refused then
    local l = {}
    for j = 1, 8 do l[j] = tonumber(ARGV[o + j]) end
    if l[1] >= 0 and mr + 1 > l[1] then refused = {i, 1, l[1]}
    elseif l[2] >= 0 and dr + 1 > l[2] then refused = {i, 2, l[2]}
    elseif l[3] >= 0 and mt + tokens > l[3] then refused = {i, 3, l[3]}
    elseif l[4] >= 0 and dt + tokens > l[4] then refused = {i, 4, l[4]}
    elseif l[5] >= 0 and num(b .. ':conc') + 1 > l[5] then refused = {i, 5, l[5]}
    elseif l[6] >= 0 and num(b .. ':spend') >= l[6] then refused = {i, 6, l[6]}
    elseif l[7] >= 0 and num(b .. ':spend:d:' .. day) >= l[7] then refused = {i, 7, l[7]}
    elseif l[8] >= 0 and num(b .. ':spend:m:' .. month) >= l[8] then refused = {i, 8, l[8]}
    end
  end
end
local out
if refused then
  out = {0, now, refused[1], refused[2], tostring(refused[3])}
else
  for i = 1, n do
    local b = KEYS[i]
    local k = b .. ':rm:' .. minute
    redis.call('INCR', k) redis.call('PEXPIRE', k, 120000)
    k = b .. ':rd:' .. day
    redis.call('INCR', k) redis.call('PEXPIRE', k, 172800000)
    k = b .. ':tm:' .. minute
    redis.call('INCRBY', k, tokens) redis.call('PEXPIRE', k, 120000)
    k = b .. ':td:' .. day
    redis.call('INCRBY', k, tokens) redis.call('PEXPIRE', k, 172800000)
    k = b .. ':conc'
    redis.call('INCR', k) redis.call('PEXPIRE', k, 600000)
    redis.call('HINCRBY', b .. ':tot', 'requests', 1)
    local c = counts[i]
    counts[i] = {c[1] + 1, c[2] + 1, c[3] + tokens, c[4] + tokens}
  end
  out = {1, now, minute, day, ''}
end
for i = 1, n do for j = 1, 4 do out[#out + 1] = counts[i][j] end end
return out
`;

const SETTLE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local curMinute, curDay = math.floor(now / 60000), math.floor(now / 86400000)
local minute, day, month = ARGV[1], ARGV[2], ARGV[3]
local delta, prompt, completion, cost = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
for i = 1, #KEYS do
  local b = KEYS[i]
  if delta ~= 0 then
    for _, w in ipairs({{':tm:', minute, curMinute, 120000}, {':td:', day, curDay, 172800000}}) do
      local k = b .. w[1] .. w[2]
      if redis.call('EXISTS', k) == 1 then redis.call('INCRBY', k, delta)
      elseif delta > 0 then
        k = b .. w[1] .. w[3]
        redis.call('INCRBY', k, delta) redis.call('PEXPIRE', k, w[4])
      end
    end
  end
  if tonumber(redis.call('DECR', b .. ':conc')) < 0 then redis.call('SET', b .. ':conc', 0) end
  redis.call('HINCRBY', b .. ':tot', 'prompt_tokens', prompt)
  redis.call('HINCRBY', b .. ':tot', 'completion_tokens', completion)
  if ARGV[7 + i] == '1' and tonumber(cost) > 0 then
    redis.call('INCRBYFLOAT', b .. ':spend', cost)
    local k = b .. ':spend:d:' .. curDay
    redis.call('INCRBYFLOAT', k, cost) redis.call('PEXPIRE', k, 259200000)
    k = b .. ':spend:m:' .. month
    redis.call('INCRBYFLOAT', k, cost) redis.call('PEXPIRE', k, 3456000000)
  end
end
return 1
`;

const kinds: LimitKind[] = ['rpm', 'rpd', 'tpm', 'tpd', 'max_concurrent', 'budget_total', 'budget_daily', 'budget_monthly'];
const limitSlots: SlotName[] = ['rpm', 'rpd', 'tpm', 'tpd', 'maxConcurrent', 'budgetTotal', 'budgetDaily', 'budgetMonthly'];
const LOG_EVERY_MS = 10_000;

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** A Redis client that fails fast instead of queueing while disconnected, so a dead Redis never stalls a request. */
export function connectRedis(cfg: RedisLimitsConfig, role: string): Redis {
  const redis = new Redis(cfg.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: cfg.timeout_ms,
    connectTimeout: Math.max(1000, cfg.timeout_ms * 5),
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
  });
  let lastLog = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLog < LOG_EVERY_MS) return;
    lastLog = now;
    log.error('limits: redis connection error', { role, error: err.message });
  });
  return redis;
}

/** Waits until the client is connected, or gives up after `ms` (the caller then runs degraded). */
export function redisReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), ms);
    const onReady = () => done(true);
    function done(ok: boolean): void {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    }
    redis.once('ready', onReady);
  });
}

export class RedisLimiter implements Limiter {
  private readonly admitSha = sha1(ADMIT_LUA);
  private readonly settleSha = sha1(SETTLE_LUA);
  private lastFailureLog = 0;

  constructor(
    private readonly redis: Redis,
    private readonly cfg: RedisLimitsConfig,
    private readonly table: SharedCounterTable,
  ) {}

  base(subjectId: string): string {
    return `${this.cfg.key_prefix}:lim:${subjectId}`;
  }

  async admit(subjects: readonly Subject[], tokens: number): Promise<Admission> {
    const keys = subjects.map((s) => this.base(s.id));
    // Limits are read from the local shared table: the registry keeps them current on every machine.
    const limits = this.table.locked(() => subjects.map((s) => limitSlots.map((slot) => this.table.get(s.row, Slot[slot]))));
    const args = [String(tokens), String(monthIndex(Date.now())), ...limits.flat().map(String)];
    let reply: Array<number | string>;
    try {
      reply = (await this.run(ADMIT_LUA, this.admitSha, keys, args)) as Array<number | string>;
    } catch (err) {
      return this.onDown(err as Error);
    }
    const now = Number(reply[1]);
    const counts = reply.slice(5).map(Number);
    const view = quotaView(limits, counts, now);
    if (reply[0] === 1) {
      return { ok: true, charge: { subjects, tokens, minute: Number(reply[2]), day: Number(reply[3]) }, view };
    }
    const i = Number(reply[2]) - 1;
    const kind = kinds[Number(reply[3]) - 1]!;
    const retryAfterMs =
      kind === 'rpm' || kind === 'tpm' ? msToMinuteEnd(now)
      : kind === 'rpd' || kind === 'tpd' || kind === 'budget_daily' ? msToDayEnd(now)
      : kind === 'budget_monthly' ? msToMonthEnd(now)
      : kind === 'max_concurrent' ? 1000
      : 0;
    return { ok: false, refusal: { kind, subject: subjects[i]!, limit: Number(reply[4]), retryAfterMs }, view };
  }

  settle(charge: Charge, s: Settlement): void {
    if (charge.subjects.length === 0) return;
    const keys = charge.subjects.map((x) => this.base(x.id));
    const delta = s.promptTokens + s.completionTokens - charge.tokens;
    const args = [
      String(charge.minute), String(charge.day), String(monthIndex(Date.now())),
      String(delta), String(s.promptTokens), String(s.completionTokens), s.costUsd.toFixed(12),
      ...charge.subjects.map((x) => (x.isKey ? '1' : '0')),
    ];
    this.run(SETTLE_LUA, this.settleSha, keys, args).catch((err: Error) => this.logFailure('settle', err));
  }

  /** Current counters of one subject, for GET /admin/keys/:id. */
  async usage(subjectId: string): Promise<Record<string, number>> {
    const b = this.base(subjectId);
    const now = Date.now();
    const minute = Math.floor(now / MINUTE_MS);
    const day = Math.floor(now / DAY_MS);
    const [values, totals] = await Promise.all([
      this.redis.mget(`${b}:rm:${minute}`, `${b}:rd:${day}`, `${b}:tm:${minute}`, `${b}:td:${day}`, `${b}:conc`,
        `${b}:spend`, `${b}:spend:d:${day}`, `${b}:spend:m:${monthIndex(now)}`),
      this.redis.hgetall(`${b}:tot`),
    ]);
    const n = values.map((v) => Number(v ?? 0));
    return {
      minuteRequests: n[0]!, dayRequests: n[1]!, minuteTokens: n[2]!, dayTokens: n[3]!, concurrent: n[4]!,
      spendTotal: n[5]!, spendDay: n[6]!, spendMonth: n[7]!,
      totalRequests: Number(totals.requests ?? 0),
      totalPromptTokens: Number(totals.prompt_tokens ?? 0),
      totalCompletionTokens: Number(totals.completion_tokens ?? 0),
    };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async run(script: string, sha: string, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err as Error).message.startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(script, keys.length, ...keys, ...args);
    }
  }

  private onDown(err: Error): Admission {
    const empty: QuotaView = { requests: undefined, tokens: undefined };
    if (this.cfg.on_down === 'closed') {
      this.table.countRedisFailClosed();
      this.logFailure('admit (failing closed: 503)', err);
      return { ok: false, refusal: undefined, view: empty, unavailable: true };
    }
    this.table.countRedisFailOpen();
    this.logFailure('admit (failing OPEN: request admitted without limits)', err);
    return { ok: true, charge: { subjects: [], tokens: 0, minute: 0, day: 0 }, view: empty };
  }

  private logFailure(what: string, err: Error): void {
    const now = Date.now();
    if (now - this.lastFailureLog < LOG_EVERY_MS) return;
    this.lastFailureLog = now;
    log.error(`limits: redis ${what}`, { error: err.message, counters: this.table.redisFailures() });
  }
}

/** Same choice as the memory limiter: the window with the least room left. `counts` is 4 per subject. */
function quotaView(limits: number[][], counts: number[], now: number): QuotaView {
  const resets = [msToMinuteEnd(now), msToDayEnd(now)];
  const pick = (limitIndex: number, countIndex: number): QuotaView['requests'] => {
    let best: QuotaView['requests'];
    limits.forEach((l, i) => {
      for (const w of [0, 1]) {
        const limit = l[limitIndex + w]!;
        if (limit < 0) continue;
        const remaining = Math.max(0, limit - counts[i * 4 + countIndex + w]!);
        if (best === undefined || remaining < best.remaining) best = { limit, remaining, resetMs: resets[w]! };
      }
    });
    return best;
  };
  return { requests: pick(0, 0), tokens: pick(2, 2) };
}
