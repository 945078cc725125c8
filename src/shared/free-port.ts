// uWS threads can share a fixed port through SO_REUSEPORT but not one bound as "any port" (0),
// so a caller wanting N threads on a free port picks one first.
import { createServer } from 'node:net';

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('No port assigned.'))));
    });
  });
}
