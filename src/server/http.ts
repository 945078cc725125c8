// Transport-neutral request/response types. Everything above the uWS adapter speaks these.

export type HeaderList = ReadonlyArray<readonly [string, string]>;

export interface IncomingHead {
  /** Upper-case method. */
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: string;
  /** Lower-cased header names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  /** Client IP: dotted IPv4 (also for IPv4 clients of a dual-stack listener), RFC 5952 IPv6; '' when no feature asked for it. */
  readonly remoteAddress: string;
}

/**
 * One response. Every method is a no-op once the client has gone or the response has ended,
 * so callers never touch a dead socket.
 */
export interface Reply {
  readonly done: boolean;
  onAbort(cb: () => void): void;
  /** Status, headers and the whole body in one write. */
  send(status: number, headers: HeaderList, body: string | Uint8Array): void;
  /** Starts a streamed (chunked) response. */
  start(status: number, headers: HeaderList): void;
  /** Writes a chunk; false means the socket buffer is full: stop producing until onDrain fires. */
  write(chunk: string | Uint8Array): boolean;
  onDrain(cb: () => void): void;
  end(chunk?: string | Uint8Array): void;
  /** Drops the connection without a proper end (the client sees a reset). */
  destroy(): void;
  /** Closes the connection after this response instead of keeping it alive (used while draining). */
  closeWhenDone(): void;
}

/** What a screen returns to refuse a request from its head; handed back to the handler as `refused`. */
export interface HeadRefusal {
  readonly status: number;
}

/** `refused`: the screen's verdict; the body was then read and dropped, and `body` is empty. */
export type RequestHandler = (head: IncomingHead, body: Buffer, reply: Reply, refused?: HeadRefusal) => void;

export interface ListenOptions {
  host: string;
  port: number;
  /** Read the client address of every request (see IncomingHead.remoteAddress). */
  clientAddress: boolean;
  /** Bodies above this are refused with 413 before they are buffered. */
  maxBodyBytes: number;
  /** The answer sent, with the connection closed, instead of calling the handler when the body is too large. */
  bodyTooLarge: (head: IncomingHead) => { status: number; headers: HeaderList; body: string };
  /** Request heads (request line and headers) above this are refused with 431 and a close; default 16 KiB. */
  maxHeadBytes?: number;
  /**
   * Judges a request by its head before its body is read (e.g. a missing API key). A refusal means
   * the body is read and dropped without being buffered, and the handler is called with `refused`.
   */
  screen?: (head: IncomingHead) => HeadRefusal | undefined;
}

export interface Listener {
  readonly port: number;
  /** Stops accepting new connections; existing ones continue. */
  stopAccepting(): void;
  /** Number of responses not yet ended. */
  inFlight(): number;
  /** Milliseconds since the last response started or ended; 0 while one is in flight. */
  quietForMs(): number;
  /** Hard-closes every connection, in-flight or idle. */
  closeAll(): void;
}

const reasons: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};
const statusLines = new Map<number, string>();

/** "200 OK"-style status line, cached per code. */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${reasons[status] ?? 'Status'}`;
    statusLines.set(status, line);
  }
  return line;
}
