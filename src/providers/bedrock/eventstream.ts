// Splits an application/vnd.amazon.eventstream body into messages and decodes them with AWS's codec.
import { crc32 } from 'node:zlib';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { errors, type GatewayError } from '../../shared/errors.js';
import type { StreamFramer, UpstreamEvent } from '../../translate/provider.js';
import { streamErrorEvent } from './errors.js';

/** Total length (4), headers length (4), prelude CRC (4). */
const preludeBytes = 12;
/** Prelude, headers of no length, message CRC. */
const minimumMessageBytes = 16;
/** The event-stream format's own limits: a 16 MiB payload and 128 KiB of headers. */
const maximumMessageBytes = 16 * 1024 * 1024 + 128 * 1024 + minimumMessageBytes;

type Headers = ReturnType<EventStreamCodec['decode']>['headers'];

function headerText(headers: Headers, name: string): string | undefined {
  const header = headers[name];
  return header?.type === 'string' ? header.value : undefined;
}

/**
 * One message → one event: `event` is the message's :event-type, or for an exception its :exception-type
 * (e.g. throttlingException); `data` is the payload as UTF-8 (JSON text). An `error` message becomes event
 * 'error' with data {"__type": :error-code, "message": :error-message}.
 */
export class EventStreamFramer implements StreamFramer {
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);
  private chunks: Buffer[] = [];
  private held = 0;

  constructor(private readonly provider = 'bedrock') {}

  get pendingBytes(): number {
    return this.held;
  }

  push(chunk: Buffer): UpstreamEvent[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.held += chunk.length;
    }
    const events: UpstreamEvent[] = [];
    while (this.held >= preludeBytes) {
      const prelude = this.peek(preludeBytes);
      const total = prelude.readUInt32BE(0);
      // Checked before waiting for `total` bytes: a corrupted length must not make the gateway buffer forever.
      if (crc32(prelude.subarray(0, 8)) !== prelude.readUInt32BE(8)) throw this.invalid('the prelude checksum of an event-stream message does not match');
      if (total < minimumMessageBytes || total > maximumMessageBytes || prelude.readUInt32BE(4) > total - minimumMessageBytes) {
        throw this.invalid(`an event-stream message declares an impossible length (${total} bytes)`);
      }
      if (this.held < total) break;
      events.push(this.decode(this.take(total)));
    }
    return events;
  }

  private decode(bytes: Buffer): UpstreamEvent {
    let message: ReturnType<EventStreamCodec['decode']>;
    try {
      message = this.codec.decode(bytes);
    } catch (err) {
      throw this.invalid(`an event-stream message is corrupt (${(err as Error).message})`);
    }
    const kind = headerText(message.headers, ':message-type');
    const data = toUtf8(message.body);
    if (kind === 'event') return { event: headerText(message.headers, ':event-type'), data };
    if (kind === 'exception') return { event: headerText(message.headers, ':exception-type') ?? 'unknownException', data };
    if (kind === 'error') {
      const body = { __type: headerText(message.headers, ':error-code'), message: headerText(message.headers, ':error-message') };
      return { event: streamErrorEvent, data: JSON.stringify(body) };
    }
    throw this.invalid(`an event-stream message has an unknown :message-type '${String(kind).slice(0, 40)}'`);
  }

  /** The first n held bytes, merging chunks only as far as needed. */
  private peek(n: number): Buffer {
    while (this.chunks[0].length < n) {
      const [first, second, ...rest] = this.chunks;
      this.chunks = [Buffer.concat([first, second]), ...rest];
    }
    return this.chunks[0];
  }

  /** Removes and returns the first n held bytes (n ≤ held). */
  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let needed = n;
    while (needed > 0) {
      const first = this.chunks[0];
      if (first.length <= needed) {
        parts.push(first);
        this.chunks.shift();
        needed -= first.length;
      } else {
        parts.push(first.subarray(0, needed));
        this.chunks[0] = first.subarray(needed);
        needed = 0;
      }
    }
    this.held -= n;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }

  private invalid(detail: string): GatewayError {
    return errors.upstreamInvalidResponse(this.provider, `${detail}.`);
  }
}
