// Outcome classes of one answer, and the rule an answer is checked against.
import type { Dialect, Expectation } from './fuzz-case.js';
import type { Ending, RawResponse } from './raw-http.js';

export const outcomeClasses = [
  '2xx',
  /** 2xx stream that carries an error event or lacks its end marker: a failure hidden behind the status. */
  '2xx-stream-error',
  '4xx-dialect',
  '4xx-other',
  /** Any 5xx: the simulator is healthy, so the gateway made it (or relayed a simulator crash). */
  '5xx-gateway',
  /** A final 1xx or a 3xx: never right for these requests. */
  'other-status',
  /** Bytes came back that are not an HTTP/1.x answer (or not a complete, well-framed one). */
  'malformed-answer',
  'closed-no-answer',
  /** Neither an answer nor a close within the per-case deadline. */
  'hang',
] as const;

export type OutcomeClass = (typeof outcomeClasses)[number];

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const nonEmpty = (v: unknown) => typeof v === 'string' && v !== '';
const stringOrNull = (v: unknown) => v === null || typeof v === 'string';

/** {"error":{"message","type","param","code"}}, nothing more (the OpenAI shape; see expectErrorShape in stack.ts). */
function isOpenAIError(v: unknown): boolean {
  if (!isObj(v) || Object.keys(v).join() !== 'error' || !isObj(v.error)) return false;
  const e = v.error;
  return Object.keys(e).sort().join() === 'code,message,param,type' && nonEmpty(e.message) && nonEmpty(e.type) && stringOrNull(e.param) && stringOrNull(e.code);
}

/** {"type":"error","error":{"type","message"}} (request_id allowed), as the Anthropic API answers. */
function isAnthropicError(v: unknown): boolean {
  return isObj(v) && v.type === 'error' && isObj(v.error) && nonEmpty(v.error.type) && nonEmpty(v.error.message);
}

export function isDialectError(body: Buffer, contentType: string | undefined, dialect: Dialect): boolean {
  if (!/^application\/json\b/i.test(contentType ?? '')) return false;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return false;
  }
  return dialect === 'anthropic' ? isAnthropicError(value) : isOpenAIError(value);
}

/** A 2xx event stream is whole when it ends with its dialect's end marker and carries no error event. */
function streamIsWhole(body: Buffer, dialect: Dialect): boolean {
  const text = body.toString('utf8');
  for (const line of text.split('\n')) {
    if (line.startsWith('event: error')) return false;
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    try {
      const event = JSON.parse(line.slice(6)) as unknown;
      if (isObj(event) && ('error' in event || event.type === 'error')) return false;
    } catch {
      return false;
    }
  }
  return dialect === 'anthropic' ? text.includes('message_stop') : text.trimEnd().endsWith('data: [DONE]');
}

export function classifyAnswer(res: RawResponse, dialect: Dialect, isHead: boolean): OutcomeClass {
  const s = res.status;
  if (s >= 200 && s < 300) {
    if (!isHead && /^text\/event-stream\b/i.test(res.headers['content-type'] ?? '') && !streamIsWhole(res.body, dialect)) return '2xx-stream-error';
    return '2xx';
  }
  if (s >= 400 && s < 500) return !isHead && isDialectError(res.body, res.headers['content-type'], dialect) ? '4xx-dialect' : '4xx-other';
  if (s >= 500) return '5xx-gateway';
  return 'other-status';
}

export function classifyMissing(ending: Ending): OutcomeClass {
  if (ending === 'timeout') return 'hang';
  if (ending === 'malformed') return 'malformed-answer';
  return 'closed-no-answer';
}

export function meets(expect: Expectation, cls: OutcomeClass): boolean {
  if (expect === 'ok') return cls === '2xx';
  if (expect === 'reject') return cls === '4xx-dialect';
  return cls === '2xx' || cls === '4xx-dialect';
}
