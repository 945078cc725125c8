// The admin credentials: `admin.token` (name `admin`, full access) and the named `admin.tokens`,
// matched in constant time by their SHA-256 digests.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminActor } from '../../pipeline/stage.js';

/** One entry of `admin.tokens` as the config holds it. */
export interface NamedAdminToken {
  readonly name: string;
  readonly token: string;
  readonly read_only: boolean;
}

/** What of `admin` the credentials come from (read defensively: `tokens` may be absent). */
export interface AdminTokenSource {
  readonly token?: string;
  readonly tokens?: readonly NamedAdminToken[];
}

export interface AdminCredential extends AdminActor {
  /** SHA-256 of the token: sessions remember it, so a rotated-out token ends its sessions. */
  readonly digest: Buffer;
}

export const mainTokenName = 'admin';

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export class AdminCredentials {
  private constructor(private readonly credentials: readonly AdminCredential[]) {}

  /** `mainToken`: the resolved admin token (config, SWITCHYARD_ADMIN_TOKEN or <data_dir>/admin.token). */
  static build(mainToken: string, named: readonly NamedAdminToken[] | undefined): AdminCredentials {
    const list: AdminCredential[] = [{ name: mainTokenName, readOnly: false, digest: tokenDigest(mainToken) }];
    for (const entry of Array.isArray(named) ? named : []) {
      // The schema guarantees the shape; a config built by hand (tests) may not.
      if (typeof entry?.name !== 'string' || typeof entry.token !== 'string' || entry.token === '') continue;
      list.push({ name: entry.name, readOnly: entry.read_only === true, digest: tokenDigest(entry.token) });
    }
    return new AdminCredentials(list);
  }

  /** The credential `token` is, or undefined. Every credential is compared, so the time does not tell which one matched. */
  match(token: string): AdminCredential | undefined {
    if (token === '') return undefined;
    return this.matchDigest(tokenDigest(token));
  }

  matchDigest(digest: Buffer): AdminCredential | undefined {
    let found: AdminCredential | undefined;
    for (const credential of this.credentials) {
      if (timingSafeEqual(credential.digest, digest) && found === undefined) found = credential;
    }
    return found;
  }
}
