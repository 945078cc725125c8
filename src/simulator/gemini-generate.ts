// Gemini generateContent / streamGenerateContent answers: text, a function call, JSON for a schema, a
// thought part first; streamed as SSE (alt=sse) or, as Google does without it, one JSON array.
import { errors } from '../shared/errors.js';
import type { EventStream } from './delivery.js';
import { schemaValue } from './schema-value.js';
import type { RequestPlan } from './options.js';
import { jsonHeaders, sseHeaders, type Answer, type AnswerContext } from './openai.js';
import { answerLength, argumentPieces, isObject, optionalCount, type JsonObject } from './request.js';
import { contentCharacters, estimateTokens, jsonChunkOf, jsonTextOf, tokenRange } from './text.js';

export type GeminiFraming = 'whole' | 'sse' | 'array';

/** Length of the thought summary sent first when includeThoughts is set. */
const thoughtTokens = 4;
const maxCandidates = 8;

interface FunctionCall {
  name: string;
  args: string;
}

/** Characters of text in `contents` plus `systemInstruction`, the simulator's prompt size. */
export function promptCharacters(contents: unknown, system: unknown): number {
  let total = isObject(system) ? contentCharacters(system.parts) : typeof system === 'string' ? system.length : 0;
  if (Array.isArray(contents)) for (const content of contents) if (isObject(content)) total += contentCharacters(content.parts);
  return total;
}

function requireContents(body: JsonObject): unknown[] {
  const contents = body.contents;
  if (!Array.isArray(contents) || contents.length === 0) throw errors.invalidParam('contents', "'contents' must be a non-empty array.");
  return contents;
}

function declarationsOf(tools: unknown): JsonObject[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((tool) => (isObject(tool) && Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : []))
    .filter((d): d is JsonObject => isObject(d) && typeof d.name === 'string');
}

function answersToolResult(contents: unknown[]): boolean {
  const last = contents[contents.length - 1];
  return isObject(last) && Array.isArray(last.parts) && last.parts.some((p) => isObject(p) && p.functionResponse !== undefined);
}

/**
 * ANY calls the first allowed function; AUTO (the default) calls the first one too, as the OpenAI
 * family does, except right after a function response, so an SDK's tool loop ends; NONE answers text.
 */
function chosenCall(body: JsonObject, contents: unknown[]): FunctionCall | undefined {
  const declarations = declarationsOf(body.tools);
  const config = isObject(body.toolConfig) && isObject(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : {};
  const mode = typeof config.mode === 'string' ? config.mode : 'AUTO';
  if (declarations.length === 0 || mode === 'NONE' || (mode !== 'ANY' && answersToolResult(contents))) return undefined;
  const allowed = mode === 'ANY' && Array.isArray(config.allowedFunctionNames) ? config.allowedFunctionNames : undefined;
  const fn = declarations.find((d) => allowed === undefined || allowed.length === 0 || allowed.includes(d.name));
  if (fn === undefined) return undefined;
  return { name: fn.name as string, args: JSON.stringify(argsOf(fn.parametersJsonSchema ?? fn.parameters)) };
}

interface Plan {
  /** Parts after the thought part, each one streamed content event, built when due. */
  count: number;
  piece(i: number): string;
  /** The whole answer part, for the non-streamed body. */
  part: string;
  tokens: number;
  finish: 'STOP' | 'MAX_TOKENS';
}

function textPlan(length: { tokens: number; cut: boolean }, chunkTokens: number): Plan {
  const total = length.tokens;
  return {
    count: Math.ceil(total / chunkTokens),
    piece: (i) => `{"text":${jsonChunkOf(i * chunkTokens, Math.min(chunkTokens, total - i * chunkTokens))}}`,
    part: `{"text":${jsonTextOf(total)}}`,
    tokens: total,
    finish: length.cut ? 'MAX_TOKENS' : 'STOP',
  };
}

function jsonPlan(config: JsonObject, length: { tokens: number }): Plan {
  const schema = config.responseJsonSchema ?? config.responseSchema;
  const json = JSON.stringify(schema === undefined ? { text: tokenRange(0, length.tokens) } : schemaValue(schema));
  const chunks = argumentPieces(json);
  return { count: chunks.length, piece: (i) => `{"text":${JSON.stringify(chunks[i])}}`, part: `{"text":${JSON.stringify(json)}}`, tokens: chunks.length, finish: 'STOP' };
}

function callPlan(call: FunctionCall, signature: string | undefined): Plan {
  const tail = signature === undefined ? '' : `,"thoughtSignature":"${signature}"`;
  const part = `{"functionCall":{"name":${JSON.stringify(call.name)},"args":${call.args}}${tail}}`;
  return { count: 1, piece: () => part, part, tokens: argumentPieces(call.args).length, finish: 'STOP' };
}

export function answerGenerate(body: JsonObject, plan: RequestPlan, ctx: AnswerContext, model: string, framing: GeminiFraming): Answer {
  const contents = requireContents(body);
  const config = isObject(body.generationConfig) ? body.generationConfig : {};
  const candidates = optionalCount(config, 'candidateCount') ?? 1;
  if (candidates < 1 || candidates > maxCandidates) throw errors.invalidParam('generationConfig.candidateCount', `'candidateCount' must be 1 to ${maxCandidates}.`);
  const thinking = isObject(config.thinkingConfig) ? config.thinkingConfig : undefined;
  const thought = thinking?.includeThoughts === true ? `{"text":${JSON.stringify(tokenRange(0, thoughtTokens))},"thought":true}` : undefined;
  const promptTokens = estimateTokens(promptCharacters(contents, body.systemInstruction));
  const length = answerLength(plan.completion_tokens, optionalCount(config, 'maxOutputTokens'));
  const call = chosenCall(body, contents);
  // Gemini 3 signs function calls of thinking requests; the gateway must send the signature back.
  const signature = thinking === undefined ? undefined : Buffer.from(`sim-signature-${ctx.sequence}`).toString('base64');
  const answer = call ? callPlan(call, signature) : config.responseMimeType === 'application/json' ? jsonPlan(config, length) : textPlan(length, plan.chunk_tokens);
  const thoughts = thought === undefined ? 0 : thoughtTokens;
  const output = answer.tokens * candidates;
  const usage =
    `"usageMetadata":{"promptTokenCount":${promptTokens},"candidatesTokenCount":${output},"totalTokenCount":${promptTokens + output + thoughts},` +
    `"promptTokensDetails":[{"modality":"TEXT","tokenCount":${promptTokens}}]${thoughts > 0 ? `,"thoughtsTokenCount":${thoughts}` : ''}}`;
  const trailer = `"modelVersion":${JSON.stringify(model)},"responseId":"sim-${ctx.sequence}"`;
  const response = (parts: string, finish: string): string => {
    let list = '';
    for (let i = 0; i < candidates; i++) {
      list += `${i === 0 ? '' : ','}{"content":{"parts":[${parts}],"role":"model"}${finish === '' ? '' : `,"finishReason":"${finish}"`},"index":${i}}`;
    }
    return `{"candidates":[${list}]`;
  };

  if (framing === 'whole') {
    const json = `${response(thought === undefined ? answer.part : `${thought},${answer.part}`, answer.finish)},${usage},${trailer}}`;
    return {
      kind: 'whole',
      answer: { status: 200, headers: jsonHeaders, body: json, tokens: answer.tokens, malformed: `{"candidates":[{"content":{"parts":[{"text":"trunc` },
    };
  }
  const chunks: Chunks = {
    thought: thought === undefined ? undefined : `${response(thought, '')},${trailer}}`,
    count: answer.count,
    content: (i) => `${response(answer.piece(i), '')},${trailer}}`,
    final: `${response('{"text":""}', answer.finish)},${usage},${trailer}}`,
  };
  return { kind: 'stream', stream: framing === 'sse' ? sseStream(chunks) : arrayStream(chunks) };
}

/** The chunks of a streamed answer: a thought chunk (the stream's head: faults cut after it), content, the final one. */
interface Chunks {
  thought: string | undefined;
  count: number;
  content(i: number): string;
  final: string;
}

/** Gemini ends SSE events with CRLF pairs. */
const sse = (json: string): string => `data: ${json}\r\n\r\n`;

function sseStream(chunks: Chunks): EventStream {
  return {
    headers: sseHeaders,
    head: chunks.thought === undefined ? '' : sse(chunks.thought),
    contentCount: chunks.count,
    content: (i) => sse(chunks.content(i)),
    tail: sse(chunks.final),
    malformed: 'data: {"candidates":[{"content":{"parts":[{"text":"unterminated}\r\n\r\n',
  };
}

/** Without alt=sse: `[` chunk `,\r\n` chunk … `]`, one growing JSON array. */
function arrayStream(chunks: Chunks): EventStream {
  const opened = chunks.thought !== undefined;
  return {
    headers: jsonHeaders,
    head: opened ? `[${chunks.thought}` : '',
    contentCount: chunks.count,
    content: (i) => `${!opened && i === 0 ? '[' : '\r\n,'}${chunks.content(i)}`,
    tail: `${!opened && chunks.count === 0 ? '[' : '\r\n,'}${chunks.final}]`,
    malformed: '{"candidates":[{"content":{"parts":[{"text":"unterminated',
  };
}

/** Function-call args are always an object (Gemini's Struct). */
function argsOf(schema: unknown): JsonObject {
  const value = schemaValue(schema);
  return isObject(value) ? value : {};
}
