// Admission and settlement over the shared counter table: windows, all-or-nothing charging, reconciliation, budgets, headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedCounterTable, RowStatus, Slot, type SlotName } from '../../src/limits/shared-table.js';
import { admitInTable, settleInTable, type Subject } from '../../src/limits/limiter.js';
import { formatDuration, MINUTE_MS, DAY_MS } from '../../src/limits/windows.js';
import { PriceTable, priceNames, priceOf } from '../../src/limits/prices.js';

const T0 = Date.UTC(2026, 0, 15, 10, 30, 0); // a minute boundary

function tableWith(limits: Array<Partial<Record<'rpm' | 'rpd' | 'tpm' | 'tpd' | 'maxConcurrent' | 'budgetTotal' | 'budgetDaily' | 'budgetMonthly', number>>>) {
  const t = new SharedCounterTable(16);
  const subjects: Subject[] = limits.map((l, i) => {
    const row = i + 1;
    t.resetRow(row);
    t.setStatus(row, RowStatus.active);
    for (const [slot, v] of Object.entries(l)) t.set(row, Slot[slot as SlotName], v);
    return { row, id: `s${row}`, label: `subject ${row}`, isKey: i === 0 };
  });
  return { t, subjects };
}

test('rpm admits exactly the limit in a fixed minute window, then again in the next minute', () => {
  const { t, subjects } = tableWith([{ rpm: 3 }]);
  const results = Array.from({ length: 5 }, (_, i) => admitInTable(t, subjects, 10, T0 + i * 1000).ok);
  assert.deepEqual(results, [true, true, true, false, false]);
  const refused = admitInTable(t, subjects, 10, T0 + 59_999);
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.equal(refused.refusal?.kind, 'rpm');
    assert.equal(refused.refusal?.retryAfterMs, 1);
  }
  assert.equal(admitInTable(t, subjects, 10, T0 + MINUTE_MS).ok, true);
});

test('a refusal by one subject charges no subject (all or nothing)', () => {
  const { t, subjects } = tableWith([{ rpm: 100 }, { rpm: 1 }]);
  assert.equal(admitInTable(t, subjects, 5, T0).ok, true);
  const second = admitInTable(t, subjects, 5, T0 + 1);
  assert.equal(second.ok, false);
  if (!second.ok) assert.equal(second.refusal?.subject.row, 2);
  assert.equal(t.get(1, Slot.minuteRequests), 1, 'the key row was not charged for the refused request');
  assert.equal(t.get(1, Slot.minuteTokens), 5);
  assert.equal(t.get(1, Slot.concurrent), 1);
});

test('tpm counts the estimate at admission and the real usage after settlement', () => {
  const { t, subjects } = tableWith([{ tpm: 1000 }]);
  const a = admitInTable(t, subjects, 600, T0);
  assert.ok(a.ok);
  assert.equal(admitInTable(t, subjects, 600, T0 + 1).ok, false, '600 + 600 > 1000');
  if (!a.ok) return;
  settleInTable(t, a.charge, { promptTokens: 50, completionTokens: 30, costUsd: 0 }, T0 + 2);
  assert.equal(t.get(1, Slot.minuteTokens), 80);
  assert.equal(t.get(1, Slot.dayTokens), 80);
  assert.equal(t.get(1, Slot.concurrent), 0);
  const b = admitInTable(t, subjects, 600, T0 + 3);
  assert.ok(b.ok, 'room again after the refund');
  if (b.ok) {
    assert.deepEqual(b.view.tokens, { limit: 1000, remaining: 320, resetMs: MINUTE_MS - 3 });
  }
});

test('settlement after the window ended: refund dropped, extra charge goes to the current window', () => {
  const { t, subjects } = tableWith([{ tpm: 10_000 }]);
  const a = admitInTable(t, subjects, 100, T0);
  const b = admitInTable(t, subjects, 100, T0);
  assert.ok(a.ok && b.ok);
  if (!a.ok || !b.ok) return;
  settleInTable(t, a.charge, { promptTokens: 10, completionTokens: 10, costUsd: 0 }, T0 + MINUTE_MS + 5);
  assert.equal(t.get(1, Slot.minute), Math.floor((T0 + MINUTE_MS) / MINUTE_MS));
  assert.equal(t.get(1, Slot.minuteTokens), 0, 'the refund for the past minute is dropped');
  assert.equal(t.get(1, Slot.dayTokens), 120, 'the day window is still current: refunded');
  settleInTable(t, b.charge, { promptTokens: 100, completionTokens: 150, costUsd: 0 }, T0 + MINUTE_MS + 6);
  assert.equal(t.get(1, Slot.minuteTokens), 150, 'extra 150 charged to the current minute');
  assert.equal(t.get(1, Slot.dayTokens), 270);
});

test('max_concurrent counts requests in flight and releases on settlement', () => {
  const { t, subjects } = tableWith([{ maxConcurrent: 2 }]);
  const a = admitInTable(t, subjects, 1, T0);
  assert.ok(admitInTable(t, subjects, 1, T0).ok);
  const c = admitInTable(t, subjects, 1, T0);
  assert.equal(c.ok, false);
  if (!c.ok) assert.equal(c.refusal?.kind, 'max_concurrent');
  if (a.ok) settleInTable(t, a.charge, { promptTokens: 1, completionTokens: 0, costUsd: 0 }, T0);
  assert.ok(admitInTable(t, subjects, 1, T0).ok);
});

test('budgets: spend accrues on the key row; daily budget resets at UTC midnight; total never', () => {
  const { t, subjects } = tableWith([{ budgetDaily: 0.01, budgetTotal: 0.03 }, {}]);
  const settle = (now: number) => {
    const a = admitInTable(t, subjects, 1, now);
    assert.ok(a.ok, `admitted at ${new Date(now).toISOString()}`);
    if (a.ok) settleInTable(t, a.charge, { promptTokens: 1, completionTokens: 1, costUsd: 0.01 }, now);
  };
  settle(T0);
  const refused = admitInTable(t, subjects, 1, T0 + 1);
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.equal(refused.refusal?.kind, 'budget_daily');
    assert.equal(refused.refusal?.retryAfterMs, DAY_MS - (T0 % DAY_MS) - 1);
  }
  assert.equal(t.get(2, Slot.spendTotal), 0, 'model rows accrue no spend');
  settle(T0 + DAY_MS);
  settle(T0 + 2 * DAY_MS);
  const total = admitInTable(t, subjects, 1, T0 + 3 * DAY_MS);
  assert.equal(total.ok, false);
  if (!total.ok) assert.equal(total.refusal?.kind, 'budget_total');
  assert.ok(Math.abs(t.get(1, Slot.spendTotal) - 0.03) < 1e-12);
});

test('the header view reports the window with the least room across subjects', () => {
  const { t, subjects } = tableWith([{ rpm: 10, rpd: 1000 }, { rpm: 3 }]);
  const a = admitInTable(t, subjects, 1, T0 + 30_000);
  assert.ok(a.ok);
  assert.deepEqual(a.view.requests, { limit: 3, remaining: 2, resetMs: 30_000 });
  assert.equal(a.view.tokens, undefined);
});

test('formatDuration matches OpenAI header style', () => {
  assert.equal(formatDuration(20), '20ms');
  assert.equal(formatDuration(1000), '1s');
  assert.equal(formatDuration(360_000), '6m0s');
  assert.equal(formatDuration(3_723_000), '1h2m3s');
});

test('prices: exact, dated variants, overrides, cached input', () => {
  const p = new PriceTable({ 'my-model': { input: 1, output: 2 } });
  assert.equal(p.lookup('gpt-4o-mini')?.input, 0.15);
  assert.equal(p.lookup('gpt-4o-2024-08-06')?.input, 2.5);
  assert.equal(p.lookup('gpt-4o-mini-2024-07-18')?.input, 0.15, 'longest prefix wins');
  assert.equal(p.lookup('unknown-model'), undefined);
  const cost = p.costUsd(['alias', 'my-model'], { promptTokens: 1_000_000, completionTokens: 500_000, cachedTokens: 0 });
  assert.equal(cost, 2);
  assert.equal(priceOf({ input: 2.5, cached_input: 1.25, output: 10 }, { promptTokens: 1000, completionTokens: 100, cachedTokens: 400 }), (600 * 2.5 + 400 * 1.25 + 100 * 10) / 1e6);
});

test('cache writes are priced at cache_write_input, reads at cached_input, provider/model entries first', () => {
  const entry = { input: 3, cached_input: 0.3, cache_write_input: 3.75, output: 15 };
  // 115 input tokens: 100 read from the cache, 5 written to it, 10 plain.
  assert.equal(priceOf(entry, { promptTokens: 115, completionTokens: 20, cachedTokens: 100, cacheWriteTokens: 5 }), (10 * 3 + 100 * 0.3 + 5 * 3.75 + 20 * 15) / 1e6);
  const table = new PriceTable({ 'bedrock/claude-x': { input: 1, output: 1 }, 'claude-x': { input: 2, output: 2 } });
  const usage = { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0 };
  assert.equal(table.costUsd(priceNames('claude-x', 'bedrock', 'claude-x', undefined), usage), 1);
  assert.equal(table.costUsd(priceNames('claude-x', 'anthropic', 'claude-x', undefined), usage), 2);
});
