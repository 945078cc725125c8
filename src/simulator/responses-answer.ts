// OpenAI Responses answers as strings: the response object (whole) and its semantic SSE events (stream),
// in the same shapes and order as OpenAI's and the gateway's Responses dialect.
import type { EventStream, WholeAnswer } from './delivery.js';
import { jsonHeaders, sseHeaders } from './openai.js';
import { jsonChunkOf, jsonTextOf } from './text.js';

/** What the answer holds: one function call, a structured (JSON) text in pieces, or generated words. */
export type ResponsesOutput =
  | { kind: 'function_call'; itemId: string; callId: string; name: string; pieces: string[] }
  | { kind: 'json'; itemId: string; pieces: string[]; cut: boolean }
  | { kind: 'text'; itemId: string; tokens: number; cut: boolean };

export interface ResponsesAnswerParts {
  /** The response object's fields before "status" (id, object, created_at) as JSON text, without the brace. */
  idFields: string;
  /** Echoed request fields between incomplete_details and output, and between output and usage. */
  beforeOutput: string;
  afterOutput: string;
  inputTokens: number;
  chunkTokens: number;
  output: ResponsesOutput;
}

function sse(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

function usageJson(input: number, output: number): string {
  return (
    `{"input_tokens":${input},"input_tokens_details":{"cached_tokens":0},"output_tokens":${output},` +
    `"output_tokens_details":{"reasoning_tokens":0},"total_tokens":${input + output}}`
  );
}

const outputTokens = (o: ResponsesOutput): number => (o.kind === 'text' ? o.tokens : o.pieces.length);
const isCut = (o: ResponsesOutput): boolean => o.kind !== 'function_call' && o.cut;

function responseJson(p: ResponsesAnswerParts, status: string, output: string, usage: string): string {
  const incomplete = status === 'incomplete' ? '{"reason":"max_output_tokens"}' : 'null';
  return `{${p.idFields},"status":"${status}","background":false,"error":null,"incomplete_details":${incomplete},${p.beforeOutput},"output":${output},${p.afterOutput},"usage":${usage},"user":null,"metadata":{}}`;
}

function fullText(o: ResponsesOutput): string {
  if (o.kind === 'text') return jsonTextOf(o.tokens);
  return JSON.stringify(o.pieces.join(''));
}

function itemJson(o: ResponsesOutput, status: string, argumentsJson: string, textJson: string): string {
  if (o.kind === 'function_call') {
    return `{"id":"${o.itemId}","type":"function_call","status":"${status}","arguments":${argumentsJson},"call_id":"${o.callId}","name":${JSON.stringify(o.name)}}`;
  }
  const content = textJson === '' ? '' : `{"type":"output_text","annotations":[],"logprobs":[],"text":${textJson}}`;
  return `{"id":"${o.itemId}","type":"message","status":"${status}","content":[${content}],"role":"assistant"}`;
}

export function wholeResponse(p: ResponsesAnswerParts): WholeAnswer {
  const o = p.output;
  const status = isCut(o) ? 'incomplete' : 'completed';
  const text = fullText(o);
  const item = itemJson(o, status, text, text);
  const tokens = outputTokens(o);
  const body = responseJson(p, status, `[${item}]`, usageJson(p.inputTokens, tokens));
  return { status: 200, headers: jsonHeaders, body, tokens, malformed: body.slice(0, body.length >> 1) };
}

export function responseStream(p: ResponsesAnswerParts): EventStream {
  const o = p.output;
  const status = isCut(o) ? 'incomplete' : 'completed';
  const isCall = o.kind === 'function_call';
  const inProgress = responseJson(p, 'in_progress', '[]', 'null');
  const where = `"item_id":"${o.itemId}","output_index":0`;
  const partWhere = `${where},"content_index":0`;
  let head =
    sse('response.created', `{"type":"response.created","sequence_number":0,"response":${inProgress}}`) +
    sse('response.in_progress', `{"type":"response.in_progress","sequence_number":1,"response":${inProgress}}`) +
    sse('response.output_item.added', `{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":${itemJson(o, 'in_progress', '""', '')}}`);
  if (!isCall) {
    head += sse(
      'response.content_part.added',
      `{"type":"response.content_part.added","sequence_number":3,${partWhere},"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}`,
    );
  }
  const first = isCall ? 3 : 4;
  const chunk = p.chunkTokens;
  const units = outputTokens(o);
  const contentCount = Math.ceil(units / chunk);
  const deltaOf = (i: number): string => {
    if (o.kind === 'text') return jsonChunkOf(i * chunk, Math.min(chunk, units - i * chunk));
    return JSON.stringify(o.pieces.slice(i * chunk, (i + 1) * chunk).join(''));
  };
  const content = (i: number): string =>
    isCall
      ? sse('response.function_call_arguments.delta', `{"type":"response.function_call_arguments.delta","sequence_number":${first + i},${where},"delta":${deltaOf(i)}}`)
      : sse('response.output_text.delta', `{"type":"response.output_text.delta","sequence_number":${first + i},${partWhere},"delta":${deltaOf(i)},"logprobs":[]}`);
  let seq = first + contentCount;
  const text = fullText(o);
  const item = itemJson(o, status, text, text);
  let tail = '';
  if (o.kind === 'function_call') {
    tail += sse(
      'response.function_call_arguments.done',
      `{"type":"response.function_call_arguments.done","sequence_number":${seq++},${where},"name":${JSON.stringify(o.name)},"arguments":${text}}`,
    );
  } else {
    tail += sse('response.output_text.done', `{"type":"response.output_text.done","sequence_number":${seq++},${partWhere},"text":${text},"logprobs":[]}`);
    tail += sse(
      'response.content_part.done',
      `{"type":"response.content_part.done","sequence_number":${seq++},${partWhere},"part":{"type":"output_text","annotations":[],"logprobs":[],"text":${text}}}`,
    );
  }
  tail += sse('response.output_item.done', `{"type":"response.output_item.done","sequence_number":${seq++},"output_index":0,"item":${item}}`);
  const terminal = status === 'incomplete' ? 'response.incomplete' : 'response.completed';
  const final = responseJson(p, status, `[${item}]`, usageJson(p.inputTokens, units));
  tail += sse(terminal, `{"type":"${terminal}","sequence_number":${seq},"response":${final}}`);
  const malformedType = isCall ? 'response.function_call_arguments.delta' : 'response.output_text.delta';
  return {
    headers: sseHeaders,
    head,
    contentCount,
    content,
    tail,
    malformed: `event: ${malformedType}\ndata: {"type":"${malformedType}","delta":"unterminated}\n\n`,
  };
}
