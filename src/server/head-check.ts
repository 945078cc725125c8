// Checks of a request head that the uWS parser lets through: framing headers a proxy in front could read
// differently (a smuggled request), a repeated or malformed Host, and the head's size. One scan per
// request, fed header by header while the head is read.

/** Host: reg-name or IPv4, or an [IPv6] literal, and an optional port (RFC 9110 §7.2, RFC 3986 §3.2.2). */
const validHost = /^(?:[A-Za-z0-9\-._~%!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?$/;

const contentLength = 'content-length';
const transferEncoding = 'transfer-encoding';
const host = 'host';

const flagContentLength = 1;
const flagTransferEncoding = 2;
const flagHost = 4;

export class HeadScan {
  /** Bytes of the head as sent, give or take the spacing around colons. */
  bytes = 0;
  /** Why the head is refused with 400, or undefined. */
  problem: string | undefined;
  private seen = 0;

  /** Starts a head: method SP target SP HTTP/1.1 CRLF, and the final CRLF. */
  start(method: string, path: string, query: string): void {
    this.bytes = method.length + path.length + (query ? query.length + 1 : 0) + 15;
    this.problem = undefined;
    this.seen = 0;
  }

  /** One header line, name lower-cased as uWS gives it. */
  header(name: string, value: string): void {
    this.bytes += name.length + value.length + 4;
    if (this.problem !== undefined) return;
    switch (name.length) {
      case 4:
        if (name === host) {
          if (this.repeated(flagHost)) this.problem = 'The Host header is repeated.';
          else if (!validHost.test(value)) this.problem = 'The Host header is not a valid host.';
        }
        return;
      case 14:
        if (name === contentLength && this.repeated(flagContentLength)) this.problem = 'The Content-Length header is repeated.';
        return;
      case 17:
        if (name !== transferEncoding) return;
        // The body is framed by uWS as chunked for anything that ends in "chunked"; only exactly that is
        // what a proxy in front would agree on.
        if (this.repeated(flagTransferEncoding)) this.problem = 'The Transfer-Encoding header is repeated.';
        else if (value.trim().toLowerCase() !== 'chunked') this.problem = `Transfer-Encoding '${value.slice(0, 64)}' is not supported; use chunked.`;
        return;
    }
  }

  private repeated(flag: number): boolean {
    const again = (this.seen & flag) !== 0;
    this.seen |= flag;
    return again;
  }
}
