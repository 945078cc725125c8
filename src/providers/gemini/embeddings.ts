// Canonical embeddings ↔ Gemini embedContent (one text) / batchEmbedContents (several).
// Gemini reports no token usage for embeddings: usage is 0 unless it sends usageMetadata. Vectors are
// always floats; a client's encoding_format "base64" is for the dialect to honour.
import { errors } from '../../shared/errors.js';
import type { EmbeddingsRequest, EmbeddingsResponse, JsonObject } from '../../translate/canonical.js';
import type { ProviderTarget, WireRequest } from '../../translate/provider.js';
import { geminiPath, isObject, modelResource } from './wire.js';

function textsOf(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string')) return input as string[];
  throw errors.invalidParam('input', "'input' must be a string or a non-empty array of strings for a Gemini provider (token arrays cannot be sent).");
}

function dimensionsOf(req: EmbeddingsRequest): number | undefined {
  const dims = req.dimensions;
  if (dims === undefined || dims === null) return undefined;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1) throw errors.invalidParam('dimensions', "'dimensions' must be a positive integer.");
  return dims;
}

export function toGeminiEmbeddingsRequest(req: EmbeddingsRequest, target: ProviderTarget): WireRequest {
  const texts = textsOf(req.input);
  const dims = dimensionsOf(req);
  const one = (text: string): JsonObject => {
    const request: JsonObject = { content: { parts: [{ text }] } };
    if (dims !== undefined) request.outputDimensionality = dims;
    return request;
  };
  if (texts.length === 1) {
    return { path: geminiPath(target.provider, target.upstreamModel, 'embedContent'), headers: [], body: JSON.stringify(one(texts[0])) };
  }
  const model = modelResource(target.upstreamModel);
  const requests = texts.map((text) => ({ model, ...one(text) }));
  return { path: geminiPath(target.provider, target.upstreamModel, 'batchEmbedContents'), headers: [], body: JSON.stringify({ requests }) };
}

function valuesOf(embedding: unknown, provider: string): number[] {
  if (!isObject(embedding) || !Array.isArray(embedding.values) || !embedding.values.every((v) => typeof v === 'number')) {
    throw errors.upstreamInvalidResponse(provider, 'an embedding has no numeric values.');
  }
  return embedding.values as number[];
}

export function fromGeminiEmbeddingsResponse(body: JsonObject, target: ProviderTarget): EmbeddingsResponse {
  const provider = target.provider.name;
  let vectors: number[][];
  if (body.embedding !== undefined) vectors = [valuesOf(body.embedding, provider)];
  else if (Array.isArray(body.embeddings)) vectors = body.embeddings.map((e: unknown) => valuesOf(e, provider));
  else throw errors.upstreamInvalidResponse(provider, "the answer has neither 'embedding' nor 'embeddings'.");
  const usage = isObject(body.usageMetadata) && typeof body.usageMetadata.promptTokenCount === 'number' ? body.usageMetadata.promptTokenCount : 0;
  return {
    object: 'list',
    data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model: target.upstreamModel,
    usage: { prompt_tokens: usage, total_tokens: usage },
  };
}
