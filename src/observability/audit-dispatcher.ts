// Main thread: takes audit batches from server threads and hands them to the sinks of their epoch.
// An epoch is one set of sinks (what one config names); a reload that changes the sinks starts a new
// one, and the stages a request started under tag its record with their epoch, so a record goes to
// exactly the sinks of the config it started under. A sink no live epoch uses is closed (after it wrote
// what it holds). Watches the sinks' backlog; under the block policy it raises a shared flag that makes
// threads refuse new requests.
import { Counter, Gauge, type Registry } from 'prom-client';
import { GatewayError, errors } from '../shared/errors.js';
import type { AuditQueueConfig } from './config.js';
import type { AuditRecord } from './audit-record.js';
import type { AuditPage, AuditSearch } from './audit-search.js';
import type { AuditBatch, AuditSink } from './audit-sink.js';

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

interface Epoch {
  readonly id: number;
  readonly sinks: readonly AuditSink[];
  /** Sets of server-thread stages writing to it (announced by auditEpochMessage). */
  openSets: number;
}

const unavailable = (detail: string) =>
  new GatewayError(503, `The audit log cannot be read right now: ${detail}`, { type: 'api_error', code: 'audit_unavailable' });

export class AuditDispatcher {
  private readonly flag: Int32Array;
  private readonly watch: NodeJS.Timeout;
  private readonly received: Counter;
  private accepted = 0;
  private dropped = 0;
  private nextId = 1;
  private readonly epochs = new Map<number, Epoch>();
  private current: Epoch;
  /** The epoch before the last begin(), kept until that reload is known to have gone ahead (revert needs it). */
  private pinned: Epoch | undefined;
  /** Every sink a live epoch uses, with how many use it. */
  private readonly users = new Map<AuditSink, number>();
  private readonly closing = new Set<Promise<void>>();

  constructor(
    sinks: AuditSink[],
    private queue: AuditQueueConfig,
    flagBuffer: SharedArrayBuffer,
    registry: Registry,
    private readonly onError: (message: string, err?: Error) => void = () => undefined,
  ) {
    this.flag = new Int32Array(flagBuffer);
    this.current = this.addEpoch(sinks);
    this.received = new Counter({ name: 'switchyard_audit_records_total', help: 'Audit records received from server threads.', registers: [registry] });
    const dispatcher = this;
    new Gauge({
      name: 'switchyard_audit_queue_depth',
      help: 'Audit records accepted but not yet durable, by sink.',
      labelNames: ['sink'],
      registers: [registry],
      collect() {
        this.reset();
        const byName = new Map<string, number>();
        for (const s of dispatcher.users.keys()) byName.set(s.name, (byName.get(s.name) ?? 0) + s.pending());
        for (const [sink, depth] of byName) this.set({ sink }, depth);
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

  /** The epoch new stages write to. */
  get epoch(): number {
    return this.current.id;
  }

  /** The sinks some live epoch uses (a reload reuses those it still names). */
  liveSinks(): AuditSink[] {
    return [...this.users.keys()];
  }

  /** The sinks of the current epoch. */
  currentSinks(): readonly AuditSink[] {
    return this.current.sinks;
  }

  /**
   * Makes `sinks` the current epoch (a reload): stages built from now on write to them. The previous
   * epoch lives on until no stages write to it. Returns its id, for revert().
   */
  begin(sinks: AuditSink[], queue: AuditQueueConfig): number {
    this.confirm();
    const previous = this.current;
    this.current = this.addEpoch(sinks);
    this.pinned = previous;
    this.queue = queue;
    return previous.id;
  }

  /**
   * The last begin() went ahead (its reload was applied): the epoch before it may go once nothing
   * writes to it. Also inferred from the threads: a batch of the new epoch, or the old one's stages closing.
   */
  confirm(): void {
    const previous = this.pinned;
    this.pinned = undefined;
    if (previous !== undefined) this.releaseIfIdle(previous);
  }

  /** New queue limits and policy (a reload that left the sinks as they were). */
  setQueue(queue: AuditQueueConfig): void {
    this.queue = queue;
    this.updateFlag();
  }

  /** Undoes the last begin(): `previousId` is current again; sinks only the dropped epoch used are closed once unused. */
  revert(previousId: number, queue: AuditQueueConfig): void {
    const back = this.epochs.get(previousId);
    if (back === undefined) throw new Error(`audit epoch ${previousId} is gone`);
    const dropped = this.current;
    this.current = back;
    this.pinned = undefined;
    this.queue = queue;
    this.releaseIfIdle(dropped);
  }

  /** Another set of stages writes to `epoch` from now on. */
  opened(epoch: number): void {
    const e = this.epochs.get(epoch);
    if (e !== undefined) e.openSets++;
  }

  /** A set of stages writing to `epoch` sent its last batch. */
  closed(epoch: number): void {
    const e = this.epochs.get(epoch);
    if (e === undefined) return;
    e.openSets--;
    // Stages are retired only once replaced: the reload that pinned this epoch went ahead.
    if (e === this.pinned) this.pinned = undefined;
    this.releaseIfIdle(e);
  }

  /**
   * A batch of records as a server thread sent it (its bytes valid only during the call, see
   * AuditSink.write), for the sinks of `epoch` — or, untagged, of the current one.
   */
  accept(batch: AuditBatch, epoch?: number): void {
    this.accepted += batch.count;
    this.received.inc(batch.count);
    // Stages of the current epoch serve only once their reload went ahead.
    if (epoch === this.current.id && this.pinned !== undefined) this.confirm();
    let target = epoch === undefined ? this.current : (this.epochs.get(epoch) ?? this.current);
    // Audit is off now, but these records come from somewhere it was on (e.g. a feature not yet reloaded).
    if (target.sinks.length === 0) target = [...this.epochs.values()].reverse().find((e) => e.sinks.length > 0) ?? target;
    if (target.sinks.length === 0) {
      this.dropped += batch.count;
      this.onError(`audit is off: ${batch.count} audit records had no sink (${this.dropped} so far)`);
      return;
    }
    for (const sink of target.sinks) sink.write(batch);
    this.updateFlag();
  }

  acceptedCount(): number {
    return this.accepted;
  }

  /** The deepest backlog of any sink. */
  depth(): number {
    let deepest = 0;
    for (const s of this.users.keys()) deepest = Math.max(deepest, s.pending());
    return deepest;
  }

  /** A page from the current sinks: the one the cursor came from, else PostgreSQL before the files. */
  async search(search: AuditSearch): Promise<{ source: string; page: AuditPage }> {
    const sinks = this.readable();
    if (search.before !== undefined) {
      const sink = sinks.find((s) => s.name === search.before!.sink);
      if (sink === undefined) throw errors.invalidParam('before', `'before' is a cursor of the ${search.before.sink} audit sink, which is not enabled now.`);
      try {
        return { source: sink.name, page: await sink.search(search) };
      } catch (err) {
        throw unavailable((err as Error).message);
      }
    }
    let lastError: Error | undefined;
    for (const sink of sinks) {
      try {
        return { source: sink.name, page: await sink.search(search) };
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw unavailable(lastError?.message ?? 'no sink answered');
  }

  /** The record with this record_id from the current sinks, or undefined when none holds it. */
  async find(id: string): Promise<AuditRecord | undefined> {
    let answered = false;
    let lastError: Error | undefined;
    for (const sink of this.readable()) {
      try {
        const record = await sink.find(id);
        if (record !== undefined) return record;
        answered = true;
      } catch (err) {
        lastError = err as Error;
      }
    }
    if (!answered) throw unavailable(lastError?.message ?? 'no sink answered');
    return undefined;
  }

  /** Closes every sink (each writes what it holds first). */
  async close(): Promise<void> {
    clearInterval(this.watch);
    const sinks = [...this.users.keys()];
    this.users.clear();
    this.epochs.clear();
    await Promise.all([...sinks.map((s) => s.close()), ...this.closing]);
    Atomics.store(this.flag, 0, 0);
  }

  /** The current sinks, PostgreSQL first; a 404 when audit is off. */
  private readable(): AuditSink[] {
    if (this.current.sinks.length === 0) {
      throw new GatewayError(404, 'The audit log is off (audit.enabled is false).', { type: 'not_found_error', code: 'audit_disabled' });
    }
    return [...this.current.sinks].sort((a, b) => (a.name === 'postgres' ? -1 : b.name === 'postgres' ? 1 : 0));
  }

  private addEpoch(sinks: readonly AuditSink[]): Epoch {
    const epoch: Epoch = { id: this.nextId++, sinks, openSets: 0 };
    this.epochs.set(epoch.id, epoch);
    for (const s of sinks) this.users.set(s, (this.users.get(s) ?? 0) + 1);
    return epoch;
  }

  private releaseIfIdle(epoch: Epoch): void {
    if (epoch === this.current || epoch === this.pinned || epoch.openSets > 0 || !this.epochs.has(epoch.id)) return;
    this.epochs.delete(epoch.id);
    for (const sink of epoch.sinks) {
      const left = (this.users.get(sink) ?? 1) - 1;
      if (left > 0) {
        this.users.set(sink, left);
        continue;
      }
      this.users.delete(sink);
      const closing = sink.close().catch((err: Error) => this.onError(`closing the ${sink.name} audit sink failed`, err));
      this.closing.add(closing);
      void closing.finally(() => this.closing.delete(closing));
    }
  }

  private updateFlag(): void {
    if (this.queue.policy !== 'block') {
      if (Atomics.load(this.flag, 0) === 1) Atomics.store(this.flag, 0, 0);
      return;
    }
    const depth = this.depth();
    const blocked = Atomics.load(this.flag, 0) === 1;
    // Hysteresis: stay blocked until the backlog is down to half, so the flag does not flap.
    if (!blocked && depth >= this.queue.max) Atomics.store(this.flag, 0, 1);
    else if (blocked && depth <= this.queue.max / 2) Atomics.store(this.flag, 0, 0);
  }
}
