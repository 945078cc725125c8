// The simulator's Gemini endpoints seen through the real @google/genai SDK (and plain fetch for what the SDK hides).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError, FunctionCallingConfigMode, GoogleGenAI, Type } from '@google/genai';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

let sim: RunningSimulator;
let ai: GoogleGenAI;
let base: string;

before(async () => {
  sim = await startSimulator({ ttft_ms: 0 });
  base = `http://127.0.0.1:${sim.port}`;
  ai = new GoogleGenAI({ apiKey: 'AIza-sim', httpOptions: { baseUrl: base } });
});
after(() => sim.close());

const words = (text: string | undefined): number => (text ?? '').split(' ').filter((w) => w !== '').length;

const weather = {
  name: 'get_weather',
  parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' }, metric: { type: 'boolean' } }, required: ['city'] },
};
const clock = { name: 'get_time', parameters: { type: Type.OBJECT, properties: { zone: { type: Type.STRING } } } };

async function post(path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': 'k' }): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

describe('gemini generateContent', () => {
  test('text, finish reason, usage counting the system instruction, modelVersion, responseId, the key header', async () => {
    const res = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hello world!', config: { systemInstruction: 'be brief' } });
    assert.equal(words(res.text), 16);
    assert.equal(res.candidates?.[0].finishReason, 'STOP');
    assert.equal(res.modelVersion, 'gemini-2.5-flash');
    assert.match(res.responseId ?? '', /^sim-\d+$/);
    const prompt = Math.ceil(('be brief'.length + 'hello world!'.length) / 4);
    assert.equal(res.usageMetadata?.promptTokenCount, prompt);
    assert.equal(res.usageMetadata?.candidatesTokenCount, 16);
    assert.equal(res.usageMetadata?.totalTokenCount, prompt + 16);
    assert.equal(sim.stats().last.at(-1)?.headers['x-goog-api-key'], 'AIza-sim');
  });

  test('maxOutputTokens cuts with MAX_TOKENS; candidateCount gives several candidates', async () => {
    const res = await ai.models.generateContent({ model: 'm', contents: 'hi', config: { maxOutputTokens: 3, candidateCount: 2 } });
    assert.equal(res.candidates?.length, 2);
    assert.deepEqual(res.candidates?.map((c) => [c.index, c.finishReason, words(c.content?.parts?.[0].text)]), [[0, 'MAX_TOKENS', 3], [1, 'MAX_TOKENS', 3]]);
    assert.equal(res.usageMetadata?.candidatesTokenCount, 6);
  });

  test('includeThoughts: a thought part first and thoughtsTokenCount', async () => {
    const res = await ai.models.generateContent({ model: 'sim-len-2', contents: 'think', config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 128 } } });
    const parts = res.candidates?.[0].content?.parts ?? [];
    assert.equal(parts[0].thought, true);
    assert.equal(words(parts[0].text), 4);
    assert.equal(parts[1].thought, undefined);
    assert.equal(res.text, 'The quick ');
    assert.equal(res.usageMetadata?.thoughtsTokenCount, 4);
  });

  test('function calling: ANY picks the allowed function, AUTO calls, NONE and AUTO after a result answer text', async () => {
    const tools = [{ functionDeclarations: [weather, clock] }];
    const any = await ai.models.generateContent({
      model: 'm', contents: 'time?',
      config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ['get_time'] } } },
    });
    assert.deepEqual(any.functionCalls, [{ name: 'get_time', args: { zone: 'sim' } }]);
    assert.equal(any.candidates?.[0].finishReason, 'STOP');

    const auto = await ai.models.generateContent({ model: 'm', contents: 'weather?', config: { tools } });
    assert.deepEqual(auto.functionCalls, [{ name: 'get_weather', args: { city: 'sim', days: 1, metric: true } }]);

    const none = await ai.models.generateContent({ model: 'm', contents: 'hi', config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.NONE } } } });
    assert.equal(none.functionCalls, undefined);
    assert.equal(words(none.text), 16);

    const answered = await ai.models.generateContent({
      model: 'm',
      contents: [
        { role: 'user', parts: [{ text: 'weather?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 20 } } }] },
      ],
      config: { tools },
    });
    assert.equal(answered.functionCalls, undefined);
    assert.equal(words(answered.text), 16);
  });

  test('a thinking request signs its function call', async () => {
    const res = await ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: 'weather?', config: { tools: [{ functionDeclarations: [weather] }], thinkingConfig: { thinkingBudget: 1024 } } });
    const part = res.candidates?.[0].content?.parts?.find((p) => p.functionCall !== undefined);
    assert.equal(Buffer.from(part?.thoughtSignature ?? '', 'base64').toString(), `sim-signature-${res.responseId?.slice(4)}`);
  });

  test('JSON mode: a value valid for responseJsonSchema, and for an OpenAPI responseSchema', async () => {
    const json = await ai.models.generateContent({
      model: 'm', contents: 'extract',
      config: {
        responseMimeType: 'application/json',
        responseJsonSchema: { type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' }, minItems: 2 }, kind: { enum: ['a', 'b'] }, age: { type: ['integer', 'null'] } } },
      },
    });
    assert.deepEqual(JSON.parse(json.text ?? ''), { name: 'sim', tags: ['sim', 'sim'], kind: 'a', age: 1 });
    const openApi = await ai.models.generateContent({
      model: 'm', contents: 'extract',
      config: { responseMimeType: 'application/json', responseSchema: { type: Type.ARRAY, items: { type: Type.OBJECT, properties: { n: { type: Type.NUMBER } } } } },
    });
    assert.deepEqual(JSON.parse(openApi.text ?? ''), [{ n: 1 }]);
  });
});

describe('gemini streamGenerateContent', () => {
  test('SSE (alt=sse): chunk_tokens per chunk, the final chunk with finishReason and usage', async () => {
    const stream = await ai.models.generateContentStream({ model: 'sim-chunk-4', contents: 'hi' });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.length, 4 + 1);
    assert.deepEqual(chunks.slice(0, 4).map((c) => words(c.text)), [4, 4, 4, 4]);
    const last = chunks[chunks.length - 1];
    assert.equal(last.candidates?.[0].finishReason, 'STOP');
    assert.equal(last.usageMetadata?.candidatesTokenCount, 16);
    assert.ok(chunks.slice(0, -1).every((c) => c.usageMetadata === undefined && c.candidates?.[0].finishReason === undefined));
    assert.match(sim.stats().last.at(-1)?.path ?? '', /:streamGenerateContent$/);
  });

  test('SSE: a thought chunk first, a function call in one chunk, JSON in pieces', async () => {
    const thinking = await ai.models.generateContentStream({ model: 'sim-len-3', contents: 'hi', config: { thinkingConfig: { includeThoughts: true } } });
    const parts = [];
    for await (const chunk of thinking) parts.push(...(chunk.candidates?.[0].content?.parts ?? []));
    assert.equal(parts[0].thought, true);
    assert.equal(parts.filter((p) => !p.thought).map((p) => p.text).join(''), 'The quick switchyard ');

    const call = await ai.models.generateContentStream({ model: 'm', contents: 'weather?', config: { tools: [{ functionDeclarations: [weather] }] } });
    const calls = [];
    for await (const chunk of call) calls.push(...(chunk.functionCalls ?? []));
    assert.deepEqual(calls, [{ name: 'get_weather', args: { city: 'sim', days: 1, metric: true } }]);

    const json = await ai.models.generateContentStream({ model: 'm', contents: 'x', config: { responseMimeType: 'application/json', responseJsonSchema: { type: 'object', properties: { title: { type: 'string' }, count: { type: 'integer' } } } } });
    let text = '';
    let pieces = 0;
    for await (const chunk of json) {
      text += chunk.text ?? '';
      pieces++;
    }
    assert.ok(pieces > 2);
    assert.deepEqual(JSON.parse(text), { title: 'sim', count: 1 });
  });

  test('without alt=sse the stream is one JSON array of chunks', async () => {
    const res = await post('/v1beta/models/sim-chunk-8:streamGenerateContent', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    assert.equal(res.status, 200);
    const chunks = res.json as Array<{ candidates: Array<{ content: { parts: Array<{ text: string }> }; finishReason?: string }> }>;
    assert.equal(chunks.length, 3);
    assert.equal(chunks.map((c) => c.candidates[0].content.parts[0].text).join(''), 'The quick switchyard routes every train to its track while signals blink green and freight rolls ');
    assert.equal(chunks[2].candidates[0].finishReason, 'STOP');
  });

  test('end-after fault by model name: the stream ends with no finishReason', async () => {
    const stream = await ai.models.generateContentStream({ model: 'sim-fault-end-after-3', contents: 'hi' });
    const reasons = [];
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.candidates?.[0].finishReason) reasons.push(chunk.candidates[0].finishReason);
    }
    assert.equal(chunks, 3);
    assert.deepEqual(reasons, []);
  });
});

describe('gemini embeddings and countTokens', () => {
  test('embedContent through the SDK (batchEmbedContents): deterministic values of outputDimensionality', async () => {
    const res = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['alpha', 'beta', 'alpha'], config: { outputDimensionality: 16 } });
    const vectors = res.embeddings?.map((e) => e.values ?? []) ?? [];
    assert.equal(vectors.length, 3);
    assert.ok(vectors.every((v) => v.length === 16));
    assert.deepEqual(vectors[0], vectors[2]);
    assert.notDeepEqual(vectors[0], vectors[1]);
    assert.match(sim.stats().last.at(-1)?.path ?? '', /:batchEmbedContents$/);
  });

  test(':embedContent for one text; a batch naming another model is refused', async () => {
    const one = await post('/v1beta/models/gemini-embedding-001:embedContent', { content: { parts: [{ text: 'alpha' }] }, outputDimensionality: 4 });
    assert.equal(one.status, 200);
    assert.equal((one.json as { embedding: { values: number[] } }).embedding.values.length, 4);
    const wrong = await post('/v1beta/models/gemini-embedding-001:batchEmbedContents', { requests: [{ model: 'models/other', content: { parts: [{ text: 'a' }] } }] });
    assert.equal(wrong.status, 400);
    assert.equal((wrong.json as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
  });

  test('countTokens', async () => {
    const res = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'hello world! hello world!' });
    assert.equal(res.totalTokens, Math.ceil(25 / 4));
  });
});

describe('gemini errors', () => {
  test('a status fault by model name is Google-shaped, and the SDK raises it as ApiError', async () => {
    await assert.rejects(ai.models.generateContent({ model: 'sim-fault-status-429', contents: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 429);
      const body = JSON.parse(err.message) as { error: { code: number; status: string; details: unknown[] } };
      assert.equal(body.error.code, 429);
      assert.equal(body.error.status, 'RESOURCE_EXHAUSTED');
      assert.equal(body.error.details.length, 1);
      return true;
    });
    const overloaded = await post('/v1beta/models/m:generateContent', { contents: [{ parts: [{ text: 'hi' }] }] }, { 'x-goog-api-key': 'k', 'x-sim-fault': 'status-503' });
    assert.equal(overloaded.status, 503);
    assert.deepEqual(overloaded.json, { error: { code: 503, message: 'Simulated HTTP 503 (simulator fault status-503).', status: 'UNAVAILABLE' } });
  });

  test('no key: 403 PERMISSION_DENIED as Google answers it; a key in the query is accepted', async () => {
    const body = { contents: [{ parts: [{ text: 'hi' }] }] };
    const anonymous = await post('/v1beta/models/m:generateContent', body, {});
    assert.equal(anonymous.status, 403);
    const error = (anonymous.json as { error: { code: number; status: string; message: string } }).error;
    assert.equal(error.code, 403);
    assert.equal(error.status, 'PERMISSION_DENIED');
    assert.match(error.message, /unregistered callers/);
    const keyed = await post('/v1beta/models/m:generateContent?key=AIza-q', body, {});
    assert.equal(keyed.status, 200);
  });

  test('missing contents is 400 INVALID_ARGUMENT; an unknown method 404 NOT_FOUND', async () => {
    const missing = await post('/v1beta/models/m:generateContent', {});
    assert.equal(missing.status, 400);
    assert.equal((missing.json as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
    const unknown = await post('/v1beta/models/m:predict', {});
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json as { error: { status: string } }).error.status, 'NOT_FOUND');
  });
});
