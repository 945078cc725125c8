// Where a guard worker puts a redacted body for its server thread: slots in one SharedArrayBuffer the
// pool shares with its workers at start. A body that came back as a transferred (or cloned) buffer
// cost the receiving event loop a full GC every few hundred ms at 100 large prompts a second, while a
// buffer the server thread allocates itself and fills by copy is freed by scavenges (measured in
// docs/guardrails.md, "Large prompts stay bytes").
//
// A slot belongs to one task from acquire() to release(). A task that failed may still have a worker
// writing into its slot while that worker is being terminated, so its slot rests before reuse.

/** What the workers get (workerData): the shared memory and the slot size. */
export interface ReturnAreaShared {
  buffer: SharedArrayBuffer;
  slotBytes: number;
}

/** Worker side: copies `bytes` into `slot`; false when they do not fit (the caller sends them instead). */
export function writeToSlot(area: ReturnAreaShared, slot: number, bytes: Uint8Array): boolean {
  if (bytes.byteLength > area.slotBytes) return false;
  new Uint8Array(area.buffer, slot * area.slotBytes, bytes.byteLength).set(bytes);
  return true;
}

/** After a failed task, its slot waits this long before reuse: far longer than terminating a worker takes. */
const restMs = 10_000;

export class ReturnArea {
  readonly shared: ReturnAreaShared;
  private readonly free: number[] = [];

  constructor(slots: number, slotBytes: number) {
    this.shared = { buffer: new SharedArrayBuffer(slots * slotBytes), slotBytes };
    for (let i = slots - 1; i >= 0; i--) this.free.push(i);
  }

  /** A free slot, or -1 when all are in use (the body then comes back the ordinary way). */
  acquire(): number {
    return this.free.pop() ?? -1;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** For a task that failed: back in the free list only once no worker can still be writing to it. */
  rest(slot: number): void {
    setTimeout(() => this.free.push(slot), restMs).unref();
  }

  /** A copy of the slot's first `length` bytes, in a buffer of this thread's own. */
  copyOut(slot: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    out.set(new Uint8Array(this.shared.buffer, slot * this.shared.slotBytes, length));
    return out;
  }
}
