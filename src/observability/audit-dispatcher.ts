// Main thread: takes audit batches from server threads and hands them to every sink. Watches the
// sinks' backlog; under the block policy it raises a shared flag that makes threads refuse new requests.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditConfig } from './config.js';
import type { AuditRecord } from './audit-record.js';
import type { AuditBatch, AuditQuery, AuditSink } from './audit-sink.js';

/**
 * Shared with every server thread: Int32Array over this buffer, index 0 = 1 while the audit queue
 * is over its bound under the block policy (new requests get 503), 0 otherwise.
 */
export function newBackpressureFlag(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

export function isBackpressured(flag: Int32Array): boolean {
  return Atomics.load(flag, 0) === 1;
}

export class AuditDispatcher {
  private readonly flag: Int32Array;
  private readonly watch: NodeJS.Timeout;
  private readonly received: Counter;
  private accepted = 0;

  constructor(
    private readonly sinks: AuditSink[],
    private readonly config: AuditConfig,
    flagBuffer: SharedArrayBuffer,
    registry: Registry,
  ) {
    this.flag = new Int32Array(flagBuffer);
    this.received = new Counter({ name: 'switchyard_audit_records_total', help: 'Audit records received from server threads.', registers: [registry] });
    const dispatcher = this;
    new Gauge({
      name: 'switchyard_audit_queue_depth',
      help: 'Audit records accepted but not yet durable, by sink.',
      labelNames: ['sink'],
      registers: [registry],
      collect() {
        for (const s of dispatcher.sinks) this.set({ sink: s.name }, s.pending());
      },
    });
    new Gauge({
      name: 'switchyard_audit_backpressure',
      help: '1 while new requests are refused because the audit queue is full (block policy).',
      registers: [registry],
      collect() {
        this.set(Atomics.load(dispatcher.flag, 0));
      },
    });
    this.watch = setInterval(() => this.updateFlag(), 50);
    this.watch.unref();
  }

  /** A batch of records as a server thread sent it (its bytes valid only during the call, see AuditSink.write). */
  accept(batch: AuditBatch): void {
    this.accepted += batch.count;
    this.received.inc(batch.count);
    for (const sink of this.sinks) sink.write(batch);
    this.updateFlag();
  }

  acceptedCount(): number {
    return this.accepted;
  }

  /** The deepest backlog of any sink. */
  depth(): number {
    let deepest = 0;
    for (const s of this.sinks) deepest = Math.max(deepest, s.pending());
    return deepest;
  }

  /** Reads from the first sink that can answer (postgres before files when both are on). */
  async query(q: AuditQuery): Promise<{ source: string; records: AuditRecord[] }> {
    const ordered = [...this.sinks].sort((a, b) => (a.name === 'postgres' ? -1 : b.name === 'postgres' ? 1 : 0));
    let lastError: Error | undefined;
    for (const sink of ordered) {
      try {
        return { source: sink.name, records: await sink.query(q) };
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw lastError ?? new Error('no audit sink is configured');
  }

  async close(): Promise<void> {
    clearInterval(this.watch);
    await Promise.all(this.sinks.map((s) => s.close()));
    Atomics.store(this.flag, 0, 0);
  }

  private updateFlag(): void {
    if (this.config.queue.policy !== 'block') return;
    const depth = this.depth();
    const blocked = Atomics.load(this.flag, 0) === 1;
    // Hysteresis: stay blocked until the backlog is down to half, so the flag does not flap.
    if (!blocked && depth >= this.config.queue.max) Atomics.store(this.flag, 0, 1);
    else if (blocked && depth <= this.config.queue.max / 2) Atomics.store(this.flag, 0, 0);
  }
}
