// Audit batches from a server thread to the main thread: the thread writes a batch into one of its
// shared slots and sends a small message saying where; the main thread copies it out and frees the
// slot. Sent as transferred ArrayBuffers (as before), the batches cost the main thread a full GC
// every ~0.7 s under load (--trace-gc: 7 mark-compacts of 10-18 ms in 8 s at ~14,000 requests a
// second, the heap not growing). A batch larger than a slot, or one that finds every slot still
// waiting for the main thread, goes the old way.
import { randomUUID } from 'node:crypto';
import type { ThreadHost } from '../pipeline/stage.js';
import { log } from '../shared/log.js';
import { SharedSlots, type SharedSlotsMemory } from '../shared/shared-slots.js';
import type { AuditBatchWriter } from './audit-batch-writer.js';
import type { AuditBatch } from './audit-sink.js';

/** Message type carrying an audit batch (or where it lies) from a server thread to the main thread. */
export const auditMessage = 'observability.audit';
/** Message type announcing a server thread's audit slots, once, before its first batch. */
export const auditSlotsMessage = 'observability.audit-slots';
/**
 * Message type saying that a set of stages writing to an audit epoch (the sinks of one config) started
 * or stopped: after a reload, the main thread closes a sink only once no stages that write to it are left.
 */
export const auditEpochMessage = 'observability.audit-epoch';

export interface AuditEpochUse {
  epoch: number;
  /** True when a set of stages starts writing to the epoch; false once it has sent its last batch. */
  open: boolean;
}

export interface AuditSlotsAnnouncement {
  /** Names this thread's slots; a replacement thread announces slots of its own under a new id. */
  channel: string;
  memory: SharedSlotsMemory;
}

/**
 * An audit batch as it crosses: in a slot, or as bytes of its own. `epoch` names the sinks of the config
 * its requests started under; without one (e.g. MCP's records) a batch goes to the sinks in force.
 */
export type AuditBatchMessage = (AuditBatch | { count: number; channel: string; slot: number; length: number }) & { epoch?: number };

const slots = 8;
const slotBytes = 1024 * 1024;

export class AuditBatchSender {
  private readonly channel = randomUUID();
  private readonly slots = SharedSlots.create(slots, slotBytes);

  constructor(private readonly host: ThreadHost) {
    const announcement: AuditSlotsAnnouncement = { channel: this.channel, memory: this.slots.memory };
    host.send(auditSlotsMessage, announcement);
  }

  /** Sends what the writer holds, for the sinks of `epoch`; the writer starts over. */
  send(writer: AuditBatchWriter, epoch?: number): void {
    const { count, bytes } = writer.takeView();
    const slot = this.slots.put(bytes);
    if (slot >= 0) {
      const message: AuditBatchMessage = { count, channel: this.channel, slot, length: bytes.byteLength, epoch };
      this.host.send(auditMessage, message);
      return;
    }
    const data = new Uint8Array(bytes);
    const message: AuditBatchMessage = { count, data, epoch };
    this.host.send(auditMessage, message, [data.buffer]);
  }
}

/** How long a replaced thread's slots stay readable: its last batches arrive well before. */
const retiredChannelMs = 60_000;

export class AuditBatchReceiver {
  private readonly channels = new Map<string, SharedSlots>();
  private readonly channelOfThread = new Map<number, string>();

  /** A thread's slots; when a replacement thread announces its own, the old ones are let go a minute later. */
  announce(announcement: AuditSlotsAnnouncement, threadIndex: number): void {
    this.channels.set(announcement.channel, new SharedSlots(announcement.memory));
    const previous = this.channelOfThread.get(threadIndex);
    this.channelOfThread.set(threadIndex, announcement.channel);
    if (previous !== undefined && previous !== announcement.channel) {
      setTimeout(() => this.channels.delete(previous), retiredChannelMs).unref();
    }
  }

  /** Channels still readable (for tests). */
  get channelCount(): number {
    return this.channels.size;
  }

  /**
   * Hands the batch to `accept`: in its slot (a view valid only during the call; the slot is free again
   * after it) or as the bytes it came as. A copy per batch cost the main thread a full GC about every
   * 1.2 s under load, from the external memory alone. A thread's announcement precedes its batches on
   * the same port, so an unknown channel is a bug: it is logged (and the batch cannot be read) rather
   * than thrown into the main thread's message loop. False when the batch could not be read.
   */
  deliver(message: AuditBatchMessage, accept: (batch: AuditBatch) => void): boolean {
    if ('data' in message) {
      accept({ count: message.count, data: message.data });
      return true;
    }
    const channel = this.channels.get(message.channel);
    if (!channel) {
      log.error('audit batch from an unannounced channel: its records are lost', { channel: message.channel, records: message.count });
      return false;
    }
    try {
      accept({ count: message.count, data: channel.view(message.slot, message.length) });
    } finally {
      channel.release(message.slot);
    }
    return true;
  }
}
