// A growable byte buffer that is filled, read and reset over and over: it grows by doubling and keeps
// its memory between fills, so a steady stream of data allocates nothing. After a burst that grew it
// past `keptBytes`, reset() goes back to a buffer of the initial size.

export class ByteBuffer {
  protected buf: Buffer;
  protected used = 0;

  constructor(
    private readonly initialBytes: number,
    private readonly keptBytes: number,
  ) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** Room for `bytes` more bytes after what is used. */
  protected reserve(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.used + bytes) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  protected appendBytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  /** What is held, in place: valid until the next write after a reset. */
  protected held(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  /** Empties the buffer; a view taken before stays intact until the next write. */
  protected reset(): void {
    this.used = 0;
    if (this.buf.length > this.keptBytes) this.buf = Buffer.allocUnsafeSlow(this.initialBytes);
  }
}
