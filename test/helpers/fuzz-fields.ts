// The endpoints the fuzz suite knows, their valid bodies, and per field: a valid value and how a value is judged.
import type { Dialect, Expectation } from './fuzz-case.js';
import type { Rng } from './fuzz-prng.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface FieldSpec {
  /** A valid value. */
  valid(rng: Rng): Json;
  /** What a request with `value` in this field must get, all else valid. */
  judge(value: unknown): Expectation;
  required?: boolean;
}

export interface PostEndpoint {
  name: string;
  path: string;
  dialect: Dialect;
  fields: Readonly<Record<string, FieldSpec>>;
  /** The field most mutations touch for text (content, prompt, input). */
  textPath: (body: JsonObject) => { holder: Record<string, Json>; key: string } | undefined;
  /** A valid body: required fields and a random choice of optional ones. */
  valid(rng: Rng): JsonObject;
}

export const chatModels = ['gpt-4o-mini', 'gpt-4o', 'fast'] as const;
export const embeddingModel = 'text-embedding-3-small';
/** Every model id the test stack configures (stack.ts). */
export const knownModels: ReadonlySet<string> = new Set([...chatModels, embeddingModel]);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const absent = (v: unknown) => v === undefined || v === null;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A field the gateway (or the simulator standing in for the provider) must refuse when wrong. */
const strict = (ok: (v: unknown) => boolean, valid: (rng: Rng) => Json, required = false): FieldSpec => ({
  valid,
  required,
  judge: (v) => (ok(v) ? 'ok' : 'reject'),
});

/** A field only the provider judges: anything but a valid value may be refused or accepted. */
const judged = (ok: (v: unknown) => boolean, valid: (rng: Rng) => Json): FieldSpec => ({
  valid,
  judge: (v) => (ok(v) ? 'ok' : 'answer'),
});

const model = (names: readonly string[]): FieldSpec => ({
  required: true,
  valid: (rng) => rng.pick(names),
  judge: (v) => (typeof v === 'string' && knownModels.has(v) ? 'ok' : 'reject'),
});

/** max_tokens and friends: integers from `min` (OpenAI refuses 0); large ones are the provider's to refuse. */
const tokenLimit = (min: number): FieldSpec => ({
  valid: (rng) => rng.int(Math.max(min, 1), 64),
  judge: (v) => (absent(v) ? 'ok' : !isInt(v) || v < min ? 'reject' : v <= 100_000 ? 'ok' : 'answer'),
});

/** n: how many choices; the issue lists negative/float/string n as invalid input. */
const choices: FieldSpec = {
  valid: (rng) => rng.int(1, 2),
  judge: (v) => (absent(v) ? 'ok' : !isInt(v) || v < 1 || v > 128 ? 'reject' : 'ok'),
};

const stream = strict((v) => absent(v) || typeof v === 'boolean', (rng) => rng.chance(0.5));
const streamOptions: FieldSpec = {
  valid: (rng) => ({ include_usage: rng.chance(0.5) }),
  judge: (v) => (absent(v) ? 'ok' : !isObj(v) ? 'reject' : absent(v.include_usage) || typeof v.include_usage === 'boolean' ? 'ok' : 'answer'),
};
const range = (lo: number, hi: number) => judged((v) => absent(v) || (isNum(v) && v >= lo && v <= hi), (rng) => Math.round((lo + rng.next() * (hi - lo)) * 100) / 100);
const optString = judged((v) => absent(v) || typeof v === 'string', (rng) => rng.text(2));
const optBool = judged((v) => absent(v) || typeof v === 'boolean', (rng) => rng.chance(0.5));
const optObject = judged((v) => absent(v) || isObj(v), (rng) => ({ tag: rng.text(1) }));
const optInt = judged((v) => absent(v) || isInt(v), (rng) => rng.int(0, 1_000_000));

function message(rng: Rng, role: string): JsonObject {
  const content: Json = rng.chance(0.8) ? rng.text(12) : [{ type: 'text', text: rng.text(6) }];
  return { role, content };
}

function messages(rng: Rng, system = true): Json[] {
  const list: Json[] = [];
  if (system && rng.chance(0.3)) list.push(message(rng, 'system'));
  const turns = rng.int(1, 3);
  for (let i = 0; i < turns; i++) {
    list.push(message(rng, 'user'));
    if (i < turns - 1) list.push(message(rng, 'assistant'));
  }
  return list;
}

const messagesField: FieldSpec = {
  required: true,
  valid: (rng) => messages(rng),
  judge: (v) => {
    if (!Array.isArray(v) || v.length === 0) return 'reject';
    return v.every((m) => isObj(m) && typeof m.role === 'string' && (typeof m.content === 'string' || Array.isArray(m.content))) ? 'ok' : 'answer';
  },
};

const tool = (rng: Rng): Json => ({
  type: 'function',
  function: { name: rng.pick(['get_weather', 'lookup', 'route_train']), parameters: { type: 'object', properties: { city: { type: 'string' }, n: { type: 'integer' } } } },
});

function withOptional(rng: Rng, body: JsonObject, fields: Readonly<Record<string, FieldSpec>>, p: number): JsonObject {
  for (const [name, spec] of Object.entries(fields)) {
    if (!spec.required && rng.chance(p)) body[name] = spec.valid(rng);
  }
  // stream_options only with stream: true, as clients send it.
  if (body.stream !== true) delete body.stream_options;
  if (body.max_tokens !== undefined && body.max_completion_tokens !== undefined) delete body.max_completion_tokens;
  return body;
}

const chatFields: Record<string, FieldSpec> = {
  model: model(chatModels),
  messages: messagesField,
  stream,
  stream_options: streamOptions,
  max_tokens: tokenLimit(1),
  max_completion_tokens: tokenLimit(1),
  n: choices,
  temperature: range(0, 2),
  top_p: range(0, 1),
  presence_penalty: range(-2, 2),
  frequency_penalty: range(-2, 2),
  seed: optInt,
  user: optString,
  stop: judged((v) => absent(v) || typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')), (rng) => [rng.text(1)]),
  tools: judged((v) => absent(v) || Array.isArray(v), (rng) => [tool(rng)]),
  tool_choice: judged((v) => absent(v) || v === 'auto' || v === 'none' || v === 'required' || isObj(v), (rng) => rng.pick(['auto', 'none'])),
  response_format: judged((v) => absent(v) || isObj(v), (rng) => ({ type: rng.pick(['text', 'json_object']) })),
  logprobs: optBool,
  metadata: optObject,
  parallel_tool_calls: optBool,
};

function prompt(rng: Rng): Json {
  return rng.weighted<() => Json>([
    [5, () => rng.text(10)],
    [2, () => [rng.text(4), rng.text(4)]],
    [1, () => [rng.int(0, 50000), rng.int(0, 50000), rng.int(0, 50000)]],
    [1, () => [[rng.int(0, 50000), rng.int(0, 50000)], [rng.int(0, 50000)]]],
  ])();
}

const completionFields: Record<string, FieldSpec> = {
  model: model(chatModels),
  prompt: {
    required: true,
    valid: prompt,
    judge: (v) => (typeof v === 'string' || (Array.isArray(v) && v.length > 0) ? 'ok' : absent(v) ? 'reject' : 'answer'),
  },
  stream,
  stream_options: streamOptions,
  // Legacy completions take max_tokens 0 (with echo, to score a prompt).
  max_tokens: tokenLimit(0),
  n: choices,
  temperature: range(0, 2),
  top_p: range(0, 1),
  echo: optBool,
  suffix: optString,
  user: optString,
  seed: optInt,
};

function embeddingInput(rng: Rng): Json {
  return rng.weighted<() => Json>([
    [5, () => rng.text(10)],
    [2, () => [rng.text(3), rng.text(3), rng.text(3)]],
    [1, () => [rng.int(0, 50000), rng.int(0, 50000)]],
    [1, () => [[rng.int(0, 50000)], [rng.int(0, 50000), rng.int(0, 50000)]]],
  ])();
}

/** What the simulator (as OpenAI does) accepts as `input`. */
function validInput(v: unknown): boolean {
  if (typeof v === 'string') return true;
  if (!Array.isArray(v) || v.length === 0) return false;
  return v.every((x) => typeof x === 'number') || v.every((x) => typeof x === 'string') || v.every((x) => Array.isArray(x));
}

const embeddingFields: Record<string, FieldSpec> = {
  model: model([embeddingModel]),
  input: strict(validInput, embeddingInput, true),
  dimensions: {
    valid: (rng) => rng.int(1, 32),
    judge: (v) => (absent(v) ? 'ok' : !isInt(v) || v < 1 ? 'reject' : v <= 3072 ? 'ok' : 'answer'),
  },
  encoding_format: strict((v) => absent(v) || v === 'float' || v === 'base64', (rng) => rng.pick(['float', 'base64'])),
  user: optString,
};

const countFields: Record<string, FieldSpec> = {
  model: model(chatModels),
  messages: messagesField,
  stream,
  tools: chatFields.tools,
};

const anthropicFields: Record<string, FieldSpec> = {
  model: model(chatModels),
  // Anthropic has no system role inside messages.
  messages: { ...messagesField, valid: (rng) => messages(rng, false) },
  max_tokens: {
    required: true,
    valid: (rng) => rng.int(1, 64),
    judge: (v) => (!isInt(v) || v < 1 ? 'reject' : v <= 100_000 ? 'ok' : 'answer'),
  },
  system: optString,
  stream,
  temperature: range(0, 1),
  top_p: range(0, 1),
  // OpenAI-family providers have no top_k: the gateway refuses it for them (400 naming it) unless drop_unsupported.
  top_k: { valid: (rng) => rng.int(0, 1_000_000), judge: (v) => (absent(v) ? 'ok' : isInt(v) ? 'answer' : 'reject') },
  stop_sequences: judged((v) => absent(v) || (Array.isArray(v) && v.every((s) => typeof s === 'string')), (rng) => [rng.text(1)]),
  metadata: optObject,
};

function firstContent(body: JsonObject): { holder: Record<string, Json>; key: string } | undefined {
  const list = body.messages;
  if (!Array.isArray(list)) return undefined;
  const m = list.find((x) => isObj(x) && typeof x.content === 'string');
  return m && isObj(m) ? { holder: m as Record<string, Json>, key: 'content' } : undefined;
}

const topLevel = (key: string) => (body: JsonObject) => (typeof body[key] === 'string' ? { holder: body, key } : undefined);

function endpoint(name: string, path: string, dialect: Dialect, fields: Record<string, FieldSpec>, textPath: PostEndpoint['textPath'], p = 0.25): PostEndpoint {
  return {
    name,
    path,
    dialect,
    fields,
    textPath,
    valid(rng) {
      const body: JsonObject = {};
      for (const [key, spec] of Object.entries(fields)) if (spec.required) body[key] = spec.valid(rng);
      return withOptional(rng, body, fields, p);
    },
  };
}

/** The OpenAI-dialect POST endpoints of src/pipeline/endpoints.ts. */
export const openaiPostEndpoints: readonly PostEndpoint[] = [
  endpoint('chat', '/v1/chat/completions', 'openai', chatFields, firstContent),
  endpoint('completions', '/v1/completions', 'openai', completionFields, topLevel('prompt')),
  endpoint('embeddings', '/v1/embeddings', 'openai', embeddingFields, topLevel('input'), 0.6),
  endpoint('count_tokens', '/v1/chat/completions/count_tokens', 'openai', countFields, firstContent),
];

/** The Anthropic dialect, fuzzed once the gateway serves it (the runner probes for it). */
export const anthropicPostEndpoints: readonly PostEndpoint[] = [
  endpoint('anthropic-messages', '/v1/messages', 'anthropic', anthropicFields, firstContent),
];

/** Weights of the POST endpoints as fuzz targets (chat is the one most clients use). */
export const endpointWeight: Readonly<Record<string, number>> = { chat: 5, completions: 2, embeddings: 2, count_tokens: 1, 'anthropic-messages': 4 };
