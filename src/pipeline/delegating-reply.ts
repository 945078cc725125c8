// A Reply that hands everything to another, for wrappers that change only what is written.
import type { HeaderList, Reply } from '../server/http.js';

export abstract class DelegatingReply implements Reply {
  constructor(protected readonly inner: Reply) {}

  get done(): boolean {
    return this.inner.done;
  }

  onAbort(cb: () => void): void {
    this.inner.onAbort(cb);
  }

  abstract send(status: number, headers: HeaderList, body: string | Uint8Array): void;
  abstract start(status: number, headers: HeaderList): void;
  abstract write(chunk: string | Uint8Array): boolean;
  abstract end(chunk?: string | Uint8Array): void;

  onDrain(cb: () => void): void {
    this.inner.onDrain(cb);
  }

  destroy(): void {
    this.inner.destroy();
  }

  closeWhenDone(): void {
    this.inner.closeWhenDone();
  }
}
