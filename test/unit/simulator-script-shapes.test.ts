// Scripted errors in each family's real wire shape, as the official SDKs parse them: OpenAI, Azure
// (openai's AzureOpenAI), Anthropic, Gemini (@google/genai) and Bedrock (@aws-sdk/client-bedrock-runtime).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, type Message } from '@aws-sdk/client-bedrock-runtime';
import { ApiError, GoogleGenAI } from '@google/genai';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import OpenAI, { AzureOpenAI } from 'openai';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.js';

let sim: RunningSimulator;
let base: string;
let openai: OpenAI;
let anthropic: Anthropic;
let gemini: GoogleGenAI;
let bedrock: BedrockRuntimeClient;

before(async () => {
  sim = await startSimulator();
  base = `http://127.0.0.1:${sim.port}`;
  openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'x', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: base, apiKey: 'ak', maxRetries: 0 });
  gemini = new GoogleGenAI({ apiKey: 'AIza-sim', httpOptions: { baseUrl: base } });
  bedrock = new BedrockRuntimeClient({
    region: 'us-east-1', endpoint: base, credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'sim-secret' },
    maxAttempts: 1, requestHandler: new NodeHttpHandler(),
  });
});
after(() => sim.close());
beforeEach(() => sim.reset());

const chat = (model: string, content = 'hi') => ({ model, messages: [{ role: 'user' as const, content }] });
const long = 'y'.repeat(400); // 100 prompt tokens as the simulator counts them

describe('openai shapes', () => {
  test('rate_limit: RateLimitError, type requests, code rate_limit_exceeded, Retry-After and retry-after-ms', async () => {
    sim.script([{ model: 'gpt-4o', error: 'rate_limit', retry_after_s: 2, retry_after_ms: 1500 }, { model: 'bare', error: 'rate_limit' }]);
    await assert.rejects(openai.chat.completions.create(chat('gpt-4o')), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.type, 'requests');
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.match(err.message, /^429 Rate limit reached for gpt-4o in organization .* on requests per min \(RPM\)/);
      assert.equal(err.headers.get('retry-after'), '2');
      assert.equal(err.headers.get('retry-after-ms'), '1500');
      assert.match(err.requestID ?? '', /^req_sim_/);
      return true;
    });
    await assert.rejects(openai.chat.completions.create(chat('bare')), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.headers.get('retry-after'), null, 'no Retry-After unless the rule gives one');
      return true;
    });
  });

  test("insufficient_quota: a 429 RateLimitError with OpenAI's type, code and message", async () => {
    sim.script([{ model: 'm', error: 'insufficient_quota' }]);
    await assert.rejects(openai.chat.completions.create(chat('m')), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.type, 'insufficient_quota');
      assert.equal(err.code, 'insufficient_quota');
      assert.match(err.message, /You exceeded your current quota, please check your plan and billing details/);
      return true;
    });
  });

  test('context_length on chat, completions and responses: 400 context_length_exceeded', async () => {
    sim.script([{ max_prompt_tokens: 50 }]);
    await assert.rejects(openai.completions.create({ model: 'm', prompt: long }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.code, 'context_length_exceeded');
      assert.match(err.message, /maximum context length is 50 tokens, however you requested 100 tokens/);
      return true;
    });
    await assert.rejects(openai.responses.create({ model: 'm', input: long }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.param, 'input');
      assert.equal(err.code, 'context_length_exceeded');
      return true;
    });
  });

  test('overloaded and unavailable are 503, server_error 500: InternalServerError, type server_error', async () => {
    sim.script([{ model: 'o', error: 'overloaded' }, { model: 'u', error: 'unavailable' }, { model: 's', error: 'server_error' }, { model: 'b', status: 502 }]);
    for (const [model, status, message] of [['o', 503, /currently overloaded/], ['u', 503, /not ready yet/], ['s', 500, /had an error/], ['b', 502, /Simulated HTTP 502/]] as const) {
      await assert.rejects(openai.chat.completions.create(chat(model)), (err: unknown) => {
        assert.ok(err instanceof OpenAI.InternalServerError, model);
        assert.equal(err.status, status);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  test('a streamed request gets the error as its HTTP status, before any event', async () => {
    sim.script([{ model: 'm', error: 'rate_limit', retry_after_s: 1 }]);
    await assert.rejects(openai.chat.completions.create({ ...chat('m'), stream: true }), (err: unknown) => err instanceof OpenAI.RateLimitError);
    const raw = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ ...chat('m'), stream: true }) });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get('content-type'), 'application/json');
    assert.equal(((await raw.json()) as { error: { code: string } }).error.code, 'rate_limit_exceeded');
  });
});

describe('azure shapes', () => {
  test("the deployment in the path is the model; Azure's own 429 body; other kinds in OpenAI's shape", async () => {
    const azure = new AzureOpenAI({ endpoint: base, apiKey: 'k', apiVersion: '2024-10-21', deployment: 'gpt4o-eu', maxRetries: 0 });
    sim.script([{ model: 'gpt4o-eu', times: 1, error: 'rate_limit', retry_after_s: 7 }, { model: 'gpt4o-eu', max_prompt_tokens: 20 }]);
    await assert.rejects(azure.chat.completions.create(chat('ignored')), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.code, '429');
      assert.match(err.message, /Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit .* Please retry after 7 seconds/);
      assert.equal(err.headers.get('retry-after'), '7');
      return true;
    });
    await assert.rejects(azure.chat.completions.create(chat('ignored', long)), (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded');
    assert.equal((await azure.chat.completions.create(chat('ignored'))).choices[0].finish_reason, 'stop');
  });
});

describe('anthropic shapes', () => {
  const message = (model: string, content = 'hi') => ({ model, max_tokens: 16, messages: [{ role: 'user' as const, content }] });

  test('rate_limit: RateLimitError, rate_limit_error, request_id in body and header, retry-after', async () => {
    sim.script([{ model: 'claude-*', error: 'rate_limit', retry_after_s: 4 }]);
    await assert.rejects(anthropic.messages.create(message('claude-sonnet-4-5')), (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      const body = err.error as { type: string; error: { type: string; message: string }; request_id: string };
      assert.equal(body.type, 'error');
      assert.equal(body.error.type, 'rate_limit_error');
      assert.match(body.request_id, /^req_sim_\d+$/);
      assert.equal(err.requestID, body.request_id);
      assert.equal(err.headers?.get('retry-after'), '4');
      return true;
    });
  });

  test('overloaded is 529 overloaded_error, also for a stream (before any event)', async () => {
    sim.script([{ error: 'overloaded' }]);
    for (const stream of [false, true]) {
      await assert.rejects(anthropic.messages.create({ ...message('m'), stream }), (err: unknown) => {
        assert.ok(err instanceof Anthropic.InternalServerError);
        assert.equal(err.status, 529);
        assert.equal((err.error as { error: { type: string } }).error.type, 'overloaded_error');
        return true;
      });
    }
  });

  test("context_length: 400 'prompt is too long: M tokens > N maximum'; insufficient_quota: the credit-balance 400", async () => {
    sim.script([{ model: 'small', max_prompt_tokens: 30 }, { model: 'broke', error: 'insufficient_quota' }]);
    await assert.rejects(anthropic.messages.create(message('small', long)), (err: unknown) => {
      assert.ok(err instanceof Anthropic.BadRequestError);
      assert.deepEqual((err.error as { error: unknown }).error, { type: 'invalid_request_error', message: 'prompt is too long: 100 tokens > 30 maximum' });
      return true;
    });
    assert.equal((await anthropic.messages.create(message('small'))).stop_reason, 'end_turn');
    await assert.rejects(anthropic.messages.create(message('broke')), (err: unknown) => {
      assert.ok(err instanceof Anthropic.BadRequestError);
      assert.match((err.error as { error: { message: string } }).error.message, /^Your credit balance is too low to access the Anthropic API/);
      return true;
    });
  });
});

describe('gemini shapes', () => {
  const errorBody = (err: unknown): { code: number; status: string; message: string; details?: Array<Record<string, unknown>> } => {
    assert.ok(err instanceof ApiError);
    return (JSON.parse(err.message) as { error: { code: number; status: string; message: string } }).error;
  };

  test('the model in the path is matched; rate_limit is RESOURCE_EXHAUSTED with a RetryInfo of the rule', async () => {
    sim.script([{ model: 'gemini-*', error: 'rate_limit', retry_after_s: 3 }]);
    await assert.rejects(gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }), (err: unknown) => {
      const body = errorBody(err);
      assert.equal((err as ApiError).status, 429);
      assert.equal(body.status, 'RESOURCE_EXHAUSTED');
      assert.deepEqual(body.details, [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }]);
      return true;
    });
    assert.equal((await gemini.models.generateContent({ model: 'other', contents: 'hi' })).candidates?.[0].finishReason, 'STOP');
  });

  test('insufficient_quota carries a QuotaFailure; context_length is INVALID_ARGUMENT; overloaded UNAVAILABLE, streamed too', async () => {
    sim.script([{ model: 'broke', error: 'insufficient_quota' }, { model: 'small', max_prompt_tokens: 10 }, { model: 'busy', error: 'overloaded' }]);
    await assert.rejects(gemini.models.generateContent({ model: 'broke', contents: 'hi' }), (err: unknown) => {
      const body = errorBody(err);
      assert.equal(body.code, 429);
      assert.match(body.message, /^You exceeded your current quota/);
      assert.equal(body.details?.[0]['@type'], 'type.googleapis.com/google.rpc.QuotaFailure');
      return true;
    });
    await assert.rejects(gemini.models.generateContent({ model: 'small', contents: long }), (err: unknown) => {
      const body = errorBody(err);
      assert.equal(body.status, 'INVALID_ARGUMENT');
      assert.equal(body.message, 'The input token count (100) exceeds the maximum number of tokens allowed (10).');
      return true;
    });
    await assert.rejects(gemini.models.generateContentStream({ model: 'busy', contents: 'hi' }), (err: unknown) => {
      const body = errorBody(err);
      assert.deepEqual([body.code, body.status], [503, 'UNAVAILABLE']);
      return true;
    });
  });
});

describe('bedrock shapes', () => {
  const hello: Message[] = [{ role: 'user', content: [{ text: 'hi' }] }];
  type AwsError = Error & { $metadata?: { httpStatusCode?: number }; $response?: { headers: Record<string, string> } };

  test('the model id in the path is matched; each kind is the exception the AWS SDK raises', async () => {
    sim.script([
      { model: 'anthropic.claude-3-haiku*', times: 1, error: 'rate_limit', retry_after_s: 2 },
      { model: 'anthropic.claude-3-haiku*', times: 1, error: 'insufficient_quota' },
      { model: 'anthropic.claude-3-haiku*', times: 1, error: 'overloaded' },
      { model: 'anthropic.claude-3-haiku*', times: 1, error: 'unavailable' },
      { model: 'anthropic.claude-3-haiku*', times: 1, error: 'server_error' },
      { model: 'anthropic.claude-3-haiku*', max_prompt_tokens: 10 },
    ]);
    const modelId = 'anthropic.claude-3-haiku-20240307-v1:0';
    const expected: Array<[string, number, RegExp]> = [
      ['ThrottlingException', 429, /Too many requests/],
      ['ServiceQuotaExceededException', 400, /exceeds the service quota/],
      ['ServiceUnavailableException', 503, /Too many connections/],
      ['ServiceUnavailableException', 503, /unable to process your request/],
      ['InternalServerException', 500, /unexpected error/],
    ];
    for (const [name, status, message] of expected) {
      await assert.rejects(bedrock.send(new ConverseCommand({ modelId, messages: hello })), (err: AwsError) => {
        assert.equal(err.name, name);
        assert.equal(err.$metadata?.httpStatusCode, status);
        assert.match(err.message, message);
        if (name === 'ThrottlingException') assert.equal(err.$response?.headers['retry-after'], '2');
        return true;
      });
    }
    await assert.rejects(bedrock.send(new ConverseStreamCommand({ modelId, messages: [{ role: 'user', content: [{ text: long }] }] })), (err: AwsError) => {
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, 'Input is too long for requested model.');
      return true;
    });
    assert.equal((await bedrock.send(new ConverseCommand({ modelId, messages: hello }))).stopReason, 'end_turn');
  });
});
