// Slots of bytes in one SharedArrayBuffer, for handing large payloads between threads by copy
// instead of by message. A thread that receives a transferred (or cloned) ArrayBuffer pays for it in
// full GCs: at a hundred 100 KB buffers a second the receiving event loop ran a mark-compact every
// ~0.6 s, while buffers the thread allocates itself and fills by copy are freed by scavenges
// (docs/guardrails.md, "Large prompts stay bytes"). Used for request bodies going to the guard
// workers and redacted bodies coming back, and for audit batches going to the main thread.
//
// A slot is owned from acquire() (a compare-and-swap, so any thread may acquire) to release() (by
// whichever thread consumed it). A slot whose writer may still be running (its task failed) rests
// before reuse.

/** What crosses to the other threads (once, at start): the memory and its shape. */
export interface SharedSlotsMemory {
  buffer: SharedArrayBuffer;
  slots: number;
  slotBytes: number;
}

const free = 0;
const taken = 1;
/** After a failed task, its slot waits this long before reuse: far longer than terminating a worker takes. */
const restMs = 10_000;

/** The slot states (one Int32 each) come first; the data starts at the next 8-byte boundary. */
function dataOffsetFor(slots: number): number {
  return Math.ceil((slots * 4) / 8) * 8;
}

export class SharedSlots {
  readonly memory: SharedSlotsMemory;
  private readonly states: Int32Array;
  private readonly dataOffset: number;

  constructor(memory: SharedSlotsMemory) {
    this.memory = memory;
    this.states = new Int32Array(memory.buffer, 0, memory.slots);
    this.dataOffset = dataOffsetFor(memory.slots);
  }

  static create(slots: number, slotBytes: number): SharedSlots {
    return new SharedSlots({ buffer: new SharedArrayBuffer(dataOffsetFor(slots) + slots * slotBytes), slots, slotBytes });
  }

  /** A free slot, now owned by the caller, or -1 when all are taken. */
  acquire(): number {
    for (let i = 0; i < this.memory.slots; i++) if (Atomics.compareExchange(this.states, i, free, taken) === free) return i;
    return -1;
  }

  /** Acquires a slot and copies `bytes` into it: the slot, or -1 when they do not fit or none is free. */
  put(bytes: Uint8Array): number {
    if (bytes.byteLength > this.memory.slotBytes) return -1;
    const slot = this.acquire();
    if (slot >= 0) this.write(slot, bytes);
    return slot;
  }

  release(slot: number): void {
    Atomics.store(this.states, slot, free);
  }

  /** For a slot whose writer may still be running: free again only once it surely is not. */
  rest(slot: number): void {
    setTimeout(() => this.release(slot), restMs).unref();
  }

  /** Copies `bytes` into `slot`; false when they do not fit (the caller sends them another way). */
  write(slot: number, bytes: Uint8Array): boolean {
    if (bytes.byteLength > this.memory.slotBytes) return false;
    this.view(slot, bytes.byteLength).set(bytes);
    return true;
  }

  /** The slot's first `length` bytes in place: valid while the caller owns the slot. */
  view(slot: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.dataOffset + slot * this.memory.slotBytes, length);
  }

  /** A copy of the slot's first `length` bytes, in a buffer of the calling thread's own. */
  copyOut(slot: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    out.set(this.view(slot, length));
    return out;
  }
}
