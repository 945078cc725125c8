// Deterministic embeddings (float or base64 little-endian float32) and the model list.
import { errors } from '../shared/errors.js';
import { jsonHeaders, type Answer } from './openai.js';
import { requireString, type JsonObject } from './request.js';
import { estimateTokens } from './text.js';

/** FNV-1a, so the same input always gets the same vector. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Vector of `dims` values k/1024 (k in -1024..1024) from a seeded PRNG (mulberry32): exact in
 * float32 and short in JSON, so float and base64 answers decode to identical numbers.
 */
export function embeddingOf(text: string, dims: number): Float32Array {
  const vector = new Float32Array(dims);
  let state = hashOf(text);
  for (let i = 0; i < dims; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    vector[i] = (Math.floor(unit * 2049) - 1024) / 1024;
  }
  return vector;
}

function base64Of(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i], i * 4);
  return bytes.toString('base64');
}

function floatsOf(vector: Float32Array): string {
  let json = '[';
  for (let i = 0; i < vector.length; i++) json += i === 0 ? `${vector[i]}` : `,${vector[i]}`;
  return `${json}]`;
}

const isToken = (item: unknown): item is number => Number.isInteger(item);
const isTokenArray = (item: unknown): item is number[] => Array.isArray(item) && item.length > 0 && item.every(isToken);

/**
 * Texts to embed from OpenAI's four shapes of `input`: a string, strings, a token array or token
 * arrays (tokens embed as their joined text). At most two levels are looked at, so a deeper value is
 * refused, never walked (20,000 nested arrays once overflowed the stack in join).
 */
function inputsOf(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0) {
    if (input.every((item) => typeof item === 'string')) return input as string[];
    if (input.every(isToken)) return [input.join(',')];
    if (input.every(isTokenArray)) return (input as number[][]).map((tokens) => tokens.join(','));
  }
  throw errors.invalidParam(
    'input',
    "'input' must be a string, an array of strings, an array of integers (tokens), or an array of non-empty arrays of integers.",
  );
}

/**
 * Well above OpenAI's largest (3072), and small enough that one request cannot hold the event loop:
 * a vector is computed synchronously, and 2^31 dimensions once took minutes.
 */
export const maxDimensions = 8192;

function dimensionsOf(body: JsonObject, dimsDefault: number): number {
  const dims = body.dimensions;
  if (dims === undefined || dims === null) return dimsDefault;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > maxDimensions) {
    throw errors.invalidParam('dimensions', `'dimensions' must be an integer from 1 to ${maxDimensions}.`);
  }
  return dims;
}

export function answerEmbeddings(body: JsonObject, dimsDefault: number): Answer {
  const model = requireString(body, 'model');
  if (body.input === undefined) throw errors.missingParam('input');
  const inputs = inputsOf(body.input);
  const dims = dimensionsOf(body, dimsDefault);
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw errors.invalidParam('encoding_format', "'encoding_format' must be 'float' or 'base64'.");
  }
  let data = '';
  let characters = 0;
  inputs.forEach((text, index) => {
    characters += text.length;
    const vector = embeddingOf(text, dims);
    const embedding = format === 'base64' ? `"${base64Of(vector)}"` : floatsOf(vector);
    data += `${index === 0 ? '' : ','}{"object":"embedding","index":${index},"embedding":${embedding}}`;
  });
  const promptTokens = estimateTokens(characters);
  const json =
    `{"object":"list","data":[${data}],"model":${JSON.stringify(model)},` +
    `"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens}}}`;
  return {
    kind: 'whole',
    answer: { status: 200, headers: jsonHeaders, body: json, tokens: 0, malformed: json.slice(0, json.length >> 1) },
  };
}

/** Models the simulator lists; it answers for any model name. */
export const listedModels = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'claude-sonnet-4-5', 'sim-fast'];
const modelsCreated = 1_700_000_000;

function modelJson(id: string): string {
  return `{"id":${JSON.stringify(id)},"object":"model","created":${modelsCreated},"owned_by":"switchyard-simulator"}`;
}

export const modelListBody = `{"object":"list","data":[${listedModels.map(modelJson).join(',')}]}`;

export function modelBody(id: string): string {
  return modelJson(id);
}

