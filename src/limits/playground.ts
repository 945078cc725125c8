// The Playground's credential on the public listener: the admin console proxies with the process's random
// token (MainHost.playgroundToken), optionally naming the virtual key the request is to run as.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeyIdentity } from '../pipeline/context.js';

/** Names the virtual key a Playground request runs as; read only from a request bearing the token. */
export const PLAYGROUND_KEY_HEADER = 'x-switchyard-playground-key';

/** Who a Playground request without a key is: no key limits, labelled `playground` in metrics and audit. */
export const PLAYGROUND_IDENTITY: KeyIdentity = Object.freeze({ id: 'playground', name: 'playground' });

export class PlaygroundCredential {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = createHash('sha256').update(token).digest();
  }

  /** `presentedSha256Hex`: the hex SHA-256 of the presented bearer (the auth stage has it already). Constant time. */
  matches(presentedSha256Hex: string): boolean {
    const presented = Buffer.from(presentedSha256Hex, 'hex');
    return presented.length === this.digest.length && timingSafeEqual(presented, this.digest);
  }
}
