// One active health check: the configured tiny chat request in the deployment's own wire shape, sent
// once (no retries) with a time limit, and its answer read into a check result. No state here; the
// schedule and the thresholds are in health-check.ts.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import type { Deployment } from '../config/compile.js';
import { headerPairs, upstreamHeaders } from '../pipeline/forward-headers.js';
import type { SecretRedactor } from '../pipeline/secret-redaction.js';
import type { ChatRequest } from '../translate/canonical.js';
import type { WireRequest } from '../translate/provider.js';
import { failureOfStatus } from './failures.js';

export type CheckResult = 'healthy' | 'down' | 'rate_limited' | 'quota_exhausted';

/** Sent with every check so operators can tell checks from traffic in the provider's logs. */
export const healthCheckHeader = 'x-switchyard-health-check';

/** A check's answer is read up to this much; an error excerpt needs little, and a 2xx body is not used. */
const maxAnswerBytes = 64 * 1024;
const excerptChars = 300;

export interface ProbeResult {
  result: CheckResult;
  /** HTTP status, or null when no answer came (connect error, timeout). */
  status: number | null;
  message: string | null;
  /** rate_limited: the wait the provider asked for (Retry-After / retry-after-ms). */
  retryAfterMs: number | undefined;
  durationMs: number;
}

/** The check request of one deployment, built once: only the request id and a signature change per check. */
export interface Probe {
  readonly deployment: Deployment;
  readonly url: string;
  readonly wire: WireRequest;
}

/**
 * The check body (OpenAI chat form) with the deployment's model, unstreamed, in the provider family's
 * wire shape. Throws a GatewayError when the family's translator refuses the body.
 */
export function buildProbe(deployment: Deployment, checkBody: Readonly<Record<string, unknown>>): Probe {
  const canonical: Record<string, unknown> = { ...checkBody, model: deployment.upstreamModel, stream: false };
  let wire: WireRequest;
  const openAi = deployment.openAi;
  if (openAi !== undefined) {
    // A parameter the preset refuses would make every check fail for a reason that is not the deployment's.
    for (const param of openAi.unsupported) delete canonical[param];
    wire = { path: openAi.paths.chat, headers: [], body: JSON.stringify(canonical) };
  } else {
    const target = {
      provider: deployment.provider,
      upstreamModel: deployment.upstreamModel,
      stream: false,
      dropUnsupported: true,
      created: Math.floor(Date.now() / 1000),
      requestId: 'health-check',
    };
    wire = deployment.adapter.chat.request(canonical as unknown as ChatRequest, target);
  }
  return { deployment, url: deployment.origin + deployment.basePath + wire.path, wire };
}

/** Why a check was cut short: its time limit, or the checks stopping (then it has no result). */
const timedOut = Symbol('timed out');
const stopped = Symbol('stopped');

export interface SendOptions {
  timeoutMs: number;
  dispatcher: Dispatcher;
  /** Aborted when the checks stop. */
  stop: AbortSignal;
  redactor: SecretRedactor;
}

/** Sends the check once; undefined when the checks stopped before it ended. */
export async function sendProbe(probe: Probe, options: SendOptions): Promise<ProbeResult | undefined> {
  const { wire, url } = probe;
  const { timeoutMs, stop } = options;
  if (stop.aborted) return undefined;
  const started = performance.now();
  const controller = new AbortController();
  const onStop = () => controller.abort(stopped);
  stop.addEventListener('abort', onStop, { once: true });
  const timer = setTimeout(() => controller.abort(timedOut), timeoutMs);
  timer.unref();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const headers = await headersOf(probe);
    if (!Array.isArray(headers)) {
      const message = `signing the check request failed (check the provider's credentials): ${options.redactor.redact(headers.message)}`;
      return { result: 'down', status: null, message, retryAfterMs: undefined, durationMs: elapsed() };
    }
    const answer = await request(url, {
      method: 'POST',
      headers,
      body: wire.body,
      dispatcher: options.dispatcher,
      signal: controller.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await readBounded(answer.body);
    return { ...classifyAnswer(answer.statusCode, text, retryHeadersOf(answer.headers), options.redactor), durationMs: elapsed() };
  } catch (err) {
    const reason: unknown = controller.signal.reason;
    if (reason === stopped) return undefined;
    const message = reason === timedOut || isTimeout(err) ? `no answer within ${timeoutMs} ms` : `the provider did not answer: ${describe(err)}`;
    return { result: 'down', status: null, message: options.redactor.redact(message), retryAfterMs: undefined, durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
  }
}

/** The check's headers: forwarded ones (none: no client), the provider's auth and fixed ones, the family's, and a signature. */
async function headersOf(probe: Probe): Promise<string[] | { message: string }> {
  const { deployment, wire } = probe;
  const headers = upstreamHeaders({}, deployment.forward, `hc-${randomUUID()}`, [[healthCheckHeader, '1']]);
  for (const [name, value] of wire.headers) headers.push(name, value);
  const sign = deployment.adapter.sign;
  if (sign === undefined) return headers;
  try {
    for (const [name, value] of await sign(deployment.provider, 'POST', new URL(probe.url), headerPairs(headers), wire.body)) headers.push(name, value);
  } catch (err) {
    return { message: describe(err) };
  }
  return headers;
}

/** What an answer says of the deployment. */
export function classifyAnswer(
  status: number,
  body: string,
  retryHeaders: ReadonlyArray<readonly [string, string]> | undefined,
  redactor: SecretRedactor,
): Omit<ProbeResult, 'durationMs'> {
  if (status >= 200 && status < 300) return { result: 'healthy', status, message: null, retryAfterMs: undefined };
  const excerpt = excerptOf(redactor.redact(body));
  const failure = failureOfStatus(status, body, retryHeaders);
  // Anthropic answers an exhausted account with a 400 ("credit balance is too low"), not a 429.
  if (failure?.quotaExhausted === true || (status >= 400 && status < 500 && quotaWording(body))) {
    return { result: 'quota_exhausted', status, message: `out of credit (HTTP ${status}): ${excerpt}`, retryAfterMs: undefined };
  }
  if (status === 429) return { result: 'rate_limited', status, message: `rate limited: ${excerpt}`, retryAfterMs: failure?.retryAfterMs };
  if (status >= 400 && status < 500 && status !== 408) {
    return {
      result: 'down',
      status,
      message: `HTTP ${status}: the provider refuses the check, so this deployment cannot serve requests (check its key, its model name and routing.health_checks.body): ${excerpt}`,
      retryAfterMs: undefined,
    };
  }
  return { result: 'down', status, message: `HTTP ${status}: ${excerpt}`, retryAfterMs: undefined };
}

/** failures.ts knows every family's wording of an exhausted account; it reads it on a 429. */
function quotaWording(body: string): boolean {
  return failureOfStatus(429, body, undefined)?.quotaExhausted === true;
}

function excerptOf(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return '(empty body)';
  return line.length > excerptChars ? `${line.slice(0, excerptChars)}…` : line;
}

async function readBounded(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = maxAnswerBytes - size;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    size += Math.min(chunk.length, room);
    // Leaving the loop destroys the body: the rest is not downloaded.
    if (size >= maxAnswerBytes) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

function retryHeadersOf(headers: Dispatcher.ResponseData['headers']): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of ['retry-after-ms', 'retry-after']) {
    const value = headers[name];
    if (typeof value === 'string') out.push([name, value]);
    else if (Array.isArray(value) && value.length > 0) out.push([name, value[0]]);
  }
  return out;
}

const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function isTimeout(err: unknown): boolean {
  return timeoutCodes.has((err as { code?: string } | null)?.code ?? '');
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
