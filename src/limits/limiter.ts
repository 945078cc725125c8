// What a limiter decides and how the limits stage talks to one; the in-process limiter over the shared table.
import { SharedCounterTable, Slot } from './shared-table.js';
import { dayIndex, minuteIndex, monthIndex, msToDayEnd, msToMinuteEnd, msToMonthEnd } from './windows.js';

/** One row of the counter table a request is charged against; `id` names it across machines (Redis). */
export interface Subject {
  readonly row: number;
  readonly id: string;
  /** For messages: "key 'team-a'", "model 'gpt-4o'". */
  readonly label: string;
  /** Only key rows carry budgets and accrue spend. */
  readonly isKey: boolean;
}

export type LimitKind = 'rpm' | 'rpd' | 'tpm' | 'tpd' | 'max_concurrent' | 'budget_total' | 'budget_daily' | 'budget_monthly';

export interface Refusal {
  kind: LimitKind;
  subject: Subject;
  limit: number;
  retryAfterMs: number;
}

/** The most constraining request and token window, for the x-ratelimit-* headers. */
export interface QuotaView {
  requests: { limit: number; remaining: number; resetMs: number } | undefined;
  tokens: { limit: number; remaining: number; resetMs: number } | undefined;
}

/** What was charged at admission; settle() reconciles against it. */
export interface Charge {
  subjects: readonly Subject[];
  tokens: number;
  minute: number;
  day: number;
}

export type Admission =
  | { ok: true; charge: Charge; view: QuotaView }
  | { ok: false; refusal: Refusal; view: QuotaView }
  /** Backend unreachable and configured to fail closed. */
  | { ok: false; refusal: undefined; view: QuotaView; unavailable: true };

export interface Settlement {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface Limiter {
  admit(subjects: readonly Subject[], tokens: number): Admission | Promise<Admission>;
  /** Real usage known (or the request ended without any): fix the token counters, accrue spend, release concurrency. */
  settle(charge: Charge, settlement: Settlement): void;
  close?(): Promise<void>;
}

/** Starts new minute/day/month windows on a row whose stored window is over. Caller holds the lock. */
function rollWindows(t: SharedCounterTable, row: number, minute: number, day: number, month: number): void {
  if (t.get(row, Slot.minute) !== minute) {
    t.set(row, Slot.minute, minute);
    t.set(row, Slot.minuteRequests, 0);
    t.set(row, Slot.minuteTokens, 0);
  }
  if (t.get(row, Slot.day) !== day) {
    t.set(row, Slot.day, day);
    t.set(row, Slot.dayRequests, 0);
    t.set(row, Slot.dayTokens, 0);
    t.set(row, Slot.spendDay, 0);
  }
  if (t.get(row, Slot.month) !== month) {
    t.set(row, Slot.month, month);
    t.set(row, Slot.spendMonth, 0);
  }
}

/** The window with the least room among the subjects' limits in `slots` ([limit, used] pairs). */
function tightest(
  t: SharedCounterTable,
  subjects: readonly Subject[],
  minuteSlots: readonly [number, number],
  daySlots: readonly [number, number],
  nowMs: number,
): QuotaView['requests'] {
  let best: QuotaView['requests'];
  for (let i = 0; i < subjects.length; i++) {
    const row = subjects[i]!.row;
    for (let w = 0; w < 2; w++) {
      const [limitSlot, usedSlot] = w === 0 ? minuteSlots : daySlots;
      const limit = t.get(row, limitSlot);
      if (limit < 0) continue;
      const remaining = Math.max(0, limit - t.get(row, usedSlot));
      if (best === undefined || remaining < best.remaining) {
        best = { limit, remaining, resetMs: w === 0 ? msToMinuteEnd(nowMs) : msToDayEnd(nowMs) };
      }
    }
  }
  return best;
}

const rpmSlots = [Slot.rpm, Slot.minuteRequests] as const;
const rpdSlots = [Slot.rpd, Slot.dayRequests] as const;
const tpmSlots = [Slot.tpm, Slot.minuteTokens] as const;
const tpdSlots = [Slot.tpd, Slot.dayTokens] as const;

/** Caller holds the lock; windows rolled. */
function view(t: SharedCounterTable, subjects: readonly Subject[], nowMs: number): QuotaView {
  return { requests: tightest(t, subjects, rpmSlots, rpdSlots, nowMs), tokens: tightest(t, subjects, tpmSlots, tpdSlots, nowMs) };
}

/** Limit in `limitSlot` when `used` exceeds it, else -1. */
function exceeded(t: SharedCounterTable, row: number, limitSlot: number, used: number): number {
  const limit = t.get(row, limitSlot);
  return limit >= 0 && used > limit ? limit : -1;
}

/** Cap in `capSlot` when the spend has reached it, else -1. */
function spent(t: SharedCounterTable, row: number, capSlot: number, spendSlot: number): number {
  const cap = t.get(row, capSlot);
  return cap >= 0 && t.get(row, spendSlot) >= cap ? cap : -1;
}

/** The first limit the request would break, or undefined. Caller holds the lock; windows rolled. */
function findRefusal(t: SharedCounterTable, subjects: readonly Subject[], tokens: number, nowMs: number): Refusal | undefined {
  for (let i = 0; i < subjects.length; i++) {
    const subject = subjects[i]!;
    const r = subject.row;
    let limit: number;
    if ((limit = exceeded(t, r, Slot.rpm, t.get(r, Slot.minuteRequests) + 1)) >= 0)
      return { kind: 'rpm', subject, limit, retryAfterMs: msToMinuteEnd(nowMs) };
    if ((limit = exceeded(t, r, Slot.rpd, t.get(r, Slot.dayRequests) + 1)) >= 0)
      return { kind: 'rpd', subject, limit, retryAfterMs: msToDayEnd(nowMs) };
    if ((limit = exceeded(t, r, Slot.tpm, t.get(r, Slot.minuteTokens) + tokens)) >= 0)
      return { kind: 'tpm', subject, limit, retryAfterMs: msToMinuteEnd(nowMs) };
    if ((limit = exceeded(t, r, Slot.tpd, t.get(r, Slot.dayTokens) + tokens)) >= 0)
      return { kind: 'tpd', subject, limit, retryAfterMs: msToDayEnd(nowMs) };
    if ((limit = exceeded(t, r, Slot.maxConcurrent, t.get(r, Slot.concurrent) + 1)) >= 0)
      return { kind: 'max_concurrent', subject, limit, retryAfterMs: 1000 };
    if (!subject.isKey) continue;
    // Budgets refuse once spend has reached the cap; the request in flight may overshoot it by its own cost.
    if ((limit = spent(t, r, Slot.budgetTotal, Slot.spendTotal)) >= 0)
      return { kind: 'budget_total', subject, limit, retryAfterMs: 0 };
    if ((limit = spent(t, r, Slot.budgetDaily, Slot.spendDay)) >= 0)
      return { kind: 'budget_daily', subject, limit, retryAfterMs: msToDayEnd(nowMs) };
    if ((limit = spent(t, r, Slot.budgetMonthly, Slot.spendMonth)) >= 0)
      return { kind: 'budget_monthly', subject, limit, retryAfterMs: msToMonthEnd(nowMs) };
  }
  return undefined;
}

/** Checks and charges all subjects in one critical section: either every counter moves or none does. */
export function admitInTable(t: SharedCounterTable, subjects: readonly Subject[], tokens: number, nowMs: number): Admission {
  const minute = minuteIndex(nowMs);
  const day = dayIndex(nowMs);
  const month = monthIndex(nowMs);
  t.lock();
  try {
    for (let i = 0; i < subjects.length; i++) rollWindows(t, subjects[i]!.row, minute, day, month);
    const refusal = findRefusal(t, subjects, tokens, nowMs);
    if (refusal) return { ok: false, refusal, view: view(t, subjects, nowMs) };
    for (const s of subjects) {
      const r = s.row;
      t.set(r, Slot.minuteRequests, t.get(r, Slot.minuteRequests) + 1);
      t.set(r, Slot.dayRequests, t.get(r, Slot.dayRequests) + 1);
      t.set(r, Slot.minuteTokens, t.get(r, Slot.minuteTokens) + tokens);
      t.set(r, Slot.dayTokens, t.get(r, Slot.dayTokens) + tokens);
      t.set(r, Slot.concurrent, t.get(r, Slot.concurrent) + 1);
      t.set(r, Slot.totalRequests, t.get(r, Slot.totalRequests) + 1);
    }
    return { ok: true, charge: { subjects, tokens, minute, day }, view: view(t, subjects, nowMs) };
  } finally {
    t.unlock();
  }
}

/**
 * Replaces the estimate by the real count in the window it was charged to. When that window is already
 * over, a refund is dropped (the window's quota is gone anyway) and an extra charge goes to the current one.
 */
export function settleInTable(
  t: SharedCounterTable,
  charge: Charge,
  settlement: Settlement,
  nowMs: number,
  releaseConcurrency = true,
): void {
  const minute = minuteIndex(nowMs);
  const day = dayIndex(nowMs);
  const month = monthIndex(nowMs);
  const delta = settlement.promptTokens + settlement.completionTokens - charge.tokens;
  t.lock();
  try {
    for (const s of charge.subjects) {
      const r = s.row;
      if (charge.minute !== minute || charge.day !== day) rollWindows(t, r, minute, day, month);
      if (charge.minute === minute || delta > 0) t.set(r, Slot.minuteTokens, t.get(r, Slot.minuteTokens) + delta);
      if (charge.day === day || delta > 0) t.set(r, Slot.dayTokens, t.get(r, Slot.dayTokens) + delta);
      if (releaseConcurrency) t.set(r, Slot.concurrent, Math.max(0, t.get(r, Slot.concurrent) - 1));
      t.set(r, Slot.totalPromptTokens, t.get(r, Slot.totalPromptTokens) + settlement.promptTokens);
      t.set(r, Slot.totalCompletionTokens, t.get(r, Slot.totalCompletionTokens) + settlement.completionTokens);
      if (s.isKey && settlement.costUsd > 0) {
        rollWindows(t, r, minute, day, month);
        t.set(r, Slot.spendTotal, t.get(r, Slot.spendTotal) + settlement.costUsd);
        t.set(r, Slot.spendDay, t.get(r, Slot.spendDay) + settlement.costUsd);
        t.set(r, Slot.spendMonth, t.get(r, Slot.spendMonth) + settlement.costUsd);
      }
    }
  } finally {
    t.unlock();
  }
}

/** The embedded backend: exact across this process's threads, nothing leaves the machine. */
export class MemoryLimiter implements Limiter {
  constructor(private readonly table: SharedCounterTable) {}

  admit(subjects: readonly Subject[], tokens: number): Admission {
    return admitInTable(this.table, subjects, tokens, Date.now());
  }

  settle(charge: Charge, settlement: Settlement): void {
    settleInTable(this.table, charge, settlement, Date.now());
  }
}
