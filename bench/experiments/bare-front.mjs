// The uWS front both bare proxies share, so the c=1 tail experiment compares only their upstream clients.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Listens on port; forward(path, body, reply) must call reply(status, body) once. */
export function serve(port, forward, onListening) {
  const uws = require('uWebSockets.js');
  uws
    .App()
    .any('/*', (res, req) => {
      const path = req.getUrl();
      const chunks = [];
      let aborted = false;
      res.onAborted(() => (aborted = true));
      res.onData((ab, last) => {
        chunks.push(Buffer.from(ab.slice(0)));
        if (!last) return;
        forward(path, Buffer.concat(chunks), (status, out) => {
          if (!aborted) res.cork(() => res.writeStatus(String(status)).writeHeader('content-type', 'application/json').end(out));
        });
      });
    })
    .listen('127.0.0.1', port, () => onListening(`listening on http://127.0.0.1:${port}`));
}
