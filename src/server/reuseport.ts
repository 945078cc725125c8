// Threads share the port through SO_REUSEPORT. When one thread's listen socket closes (a failed
// thread draining while its replacement already listens), Linux resets the connections still in
// that socket's accept queue unless net.ipv4.tcp_migrate_req=1 (Linux ≥ 5.14) moves them to
// another listener of the same port. Measured here: 0–3 of ~7,000 new connections reset per
// replacement with 0, none with 1.
import { readFileSync } from 'node:fs';

const sysctlPath = '/proc/sys/net/ipv4/tcp_migrate_req';

/** true or false where the kernel has the setting; undefined where it has not (older Linux, other OS). */
export function acceptQueueMigrates(): boolean | undefined {
  try {
    return readFileSync(sysctlPath, 'utf8').trim() === '1';
  } catch {
    return undefined;
  }
}

/** A warning for a multi-thread gateway on a host that would reset queued connections, or undefined. */
export function reuseportWarning(threadCount: number): string | undefined {
  if (threadCount < 2 || acceptQueueMigrates() !== false) return undefined;
  return (
    'net.ipv4.tcp_migrate_req is 0: if a server thread fails and is replaced, connections waiting in its accept ' +
    'queue are reset. Set it to 1 (sysctl -w net.ipv4.tcp_migrate_req=1, or deploy/sysctl/90-switchyard.conf).'
  );
}
