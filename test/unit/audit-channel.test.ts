import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuditBatchReceiver, AuditBatchSender, auditMessage, auditSlotsMessage, type AuditBatchMessage, type AuditSlotsAnnouncement } from '../../src/observability/audit-channel.js';
import { AuditBatchWriter } from '../../src/observability/audit-batch-writer.js';
import { batchLines } from '../../src/observability/audit-sink.js';
import type { ThreadHost } from '../../src/pipeline/stage.js';

/** A server thread's host whose messages are queued, as a MessagePort would until the main thread reads them. */
function queueHost(): ThreadHost & { queue: Array<{ type: string; payload: unknown; transfer?: ArrayBuffer[] }> } {
  const queue: Array<{ type: string; payload: unknown; transfer?: ArrayBuffer[] }> = [];
  return { threadIndex: 0, threadCount: 1, queue, send: (type, payload, transfer) => void queue.push({ type, payload, transfer }), on: () => {} };
}

/** The lines of a batch as the receiver delivers it; read during the call, since a slot is reused after. */
function linesOf(receiver: AuditBatchReceiver, message: AuditBatchMessage): string[] {
  let lines: string[] | undefined;
  assert.equal(receiver.deliver(message, (b) => (lines = batchLines(b))), true);
  return lines!;
}

function batch(writer: AuditBatchWriter, lines: string[]): void {
  for (const line of lines) {
    writer.text(line);
    writer.endLine();
  }
}

test('audit batches cross in shared slots, freed as the main thread reads them; beyond the slots they cross as bytes', () => {
  const host = queueHost();
  const sender = new AuditBatchSender(host);
  const writer = new AuditBatchWriter();
  const sent: string[][] = [];
  // Ten batches before the main thread reads any: 8 slots, then 2 as bytes of their own.
  for (let b = 0; b < 10; b++) {
    const lines = [`{"batch":${b},"n":0}`, `{"batch":${b},"n":1}`];
    batch(writer, lines);
    sender.send(writer);
    sent.push(lines);
  }
  assert.equal(host.queue[0]!.type, auditSlotsMessage, 'the slots are announced before the first batch');
  const batches = host.queue.slice(1);
  assert.equal(batches.filter((m) => 'slot' in (m.payload as object)).length, 8);
  assert.equal(batches.filter((m) => 'data' in (m.payload as object) && m.transfer?.length === 1).length, 2);

  const receiver = new AuditBatchReceiver();
  receiver.announce(host.queue[0]!.payload as AuditSlotsAnnouncement, 0);
  const received = batches.map((m) => {
    assert.equal(m.type, auditMessage);
    return linesOf(receiver, m.payload as AuditBatchMessage);
  });
  assert.deepEqual(received, sent);

  // Read slots are free again: the next batch takes one.
  host.queue.length = 0;
  batch(writer, ['{"after":true}']);
  sender.send(writer);
  const next = host.queue[0]!.payload as AuditBatchMessage;
  assert.ok('slot' in next);
  assert.deepEqual(linesOf(receiver, next), ['{"after":true}']);
});

test('a batch larger than a slot crosses as bytes; an unannounced channel is reported, not read from the wrong memory', () => {
  const host = queueHost();
  const sender = new AuditBatchSender(host);
  const writer = new AuditBatchWriter();
  const big = `{"body":"${'x'.repeat(1024 * 1024)}"}`;
  batch(writer, [big]);
  sender.send(writer);
  const message = host.queue[1]!.payload as AuditBatchMessage;
  assert.ok('data' in message);
  assert.deepEqual(linesOf(new AuditBatchReceiver(), message), [big]);
  batch(writer, ['{"a":1}']);
  sender.send(writer);
  assert.equal(new AuditBatchReceiver().deliver(host.queue[2]!.payload as AuditBatchMessage, () => assert.fail('read an unannounced channel')), false);
});

test("a replaced thread's slots stay readable for its last batches, then are let go", (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const receiver = new AuditBatchReceiver();
  const oldHost = queueHost();
  const oldSender = new AuditBatchSender(oldHost);
  const writer = new AuditBatchWriter();
  batch(writer, ['{"from":"old"}']);
  oldSender.send(writer);
  receiver.announce(oldHost.queue[0]!.payload as AuditSlotsAnnouncement, 3);
  // The replacement (same thread index) announces before the old thread's last batch is read.
  const newHost = queueHost();
  new AuditBatchSender(newHost);
  receiver.announce(newHost.queue[0]!.payload as AuditSlotsAnnouncement, 3);
  assert.deepEqual(linesOf(receiver, oldHost.queue[1]!.payload as AuditBatchMessage), ['{"from":"old"}']);
  assert.equal(receiver.channelCount, 2);
  t.mock.timers.tick(60_000);
  assert.equal(receiver.channelCount, 1, 'the old slots are no longer held');
});
