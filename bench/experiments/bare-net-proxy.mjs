// Experiment (docs/BENCHMARKS.md, "The c=1 latency and its tail"): the same uWS front with a minimal
// keep-alive HTTP/1.1 client on net.Socket instead of undici (content-length bodies only: enough for
// the non-stream bench request).
// node bench/experiments/bare-net-proxy.mjs PORT UPSTREAM_PORT
import { connect } from 'node:net';
import { serve } from './bare-front.mjs';

const [port, up] = [Number(process.argv[2]), Number(process.argv[3])];
const idle = [];

function upstream() {
  const socket = connect({ port: up, host: '127.0.0.1', noDelay: true });
  const conn = { socket, buf: Buffer.alloc(0), done: undefined };
  socket.on('data', (data) => {
    conn.buf = conn.buf.length ? Buffer.concat([conn.buf, data]) : data;
    const headEnd = conn.buf.indexOf('\r\n\r\n');
    if (!conn.done || headEnd < 0) return;
    const head = conn.buf.toString('latin1', 0, headEnd);
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (conn.buf.length < headEnd + 4 + length) return;
    const body = conn.buf.subarray(headEnd + 4, headEnd + 4 + length);
    conn.buf = conn.buf.subarray(headEnd + 4 + length);
    const done = conn.done;
    conn.done = undefined;
    idle.push(conn);
    done(Number(head.slice(9, 12)), body);
  });
  return conn;
}

const forward = (path, body, reply) => {
  const conn = idle.pop() ?? upstream();
  conn.done = reply;
  conn.socket.write(
    Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`), body]),
  );
};
serve(port, forward, (line) => console.log(line));
