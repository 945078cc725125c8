// /v1/responses through the gateway with the clients that call it by default: forwarded to OpenAI-type
// providers (metered from its own events), translated through chat completions for the others.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';
import { clientKey, multiProviders, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ threads: 1, extra: multiProviders });
});
after(() => stack.stop());

const weather = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };

for (const model of ['gpt-4o-mini', 'claude', 'gemini', 'bedrock-claude']) {
  describe(`/v1/responses → ${model}`, () => {
    test('openai SDK: whole and streamed text with usage', async () => {
      const whole = await stack.client.responses.create({ model, input: 'Say something', max_output_tokens: 16 });
      assert.equal(whole.object, 'response');
      assert.ok(whole.output_text.length > 0);
      assert.ok((whole.usage?.output_tokens ?? 0) > 0);
      const stream = await stack.client.responses.create({ model, input: [{ role: 'user', content: 'Stream please' }], instructions: 'Be brief.', stream: true, max_output_tokens: 16 });
      let text = '';
      let completed: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') completed = event.response;
      }
      assert.ok(text.length > 0);
      assert.ok((completed?.usage?.input_tokens ?? 0) > 0);
    });

    test('openai SDK: a function call and its output on the next turn', async () => {
      const first = await stack.client.responses.create({ model, input: 'Weather in Oslo?', tools: [{ type: 'function', name: 'get_weather', parameters: weather, strict: true }], tool_choice: 'required' });
      const call = first.output.find((item) => item.type === 'function_call');
      assert.ok(call && call.type === 'function_call');
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof (JSON.parse(call.arguments) as { city?: unknown }).city, 'string');
      const second = await stack.client.responses.create({
        model,
        tools: [{ type: 'function', name: 'get_weather', parameters: weather, strict: true }],
        tool_choice: 'none',
        input: [{ role: 'user', content: 'Weather in Oslo?' }, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temp_c":3}' }],
      });
      assert.ok(second.output_text.length > 0);
    });

    test('Vercel AI SDK default provider (Responses API): generateText, streamText and a tool loop', async () => {
      const openai = createOpenAI({ baseURL: stack.baseURL, apiKey: clientKey });
      const text = await generateText({ model: openai(model), prompt: 'hi', maxRetries: 0 });
      assert.ok(text.text.length > 0);
      assert.ok((text.usage.outputTokens ?? 0) > 0);
      const streamed = streamText({ model: openai(model), prompt: 'hi', maxRetries: 0 });
      assert.ok((await streamed.text).length > 0);
      const getWeather = tool({ description: 'weather', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `${city}: 20C` });
      const loop = await generateText({
        model: openai(model),
        prompt: 'weather?',
        tools: { getWeather },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
        providerOptions: { openai: { store: false } },
      });
      assert.equal(loop.steps[0].finishReason, 'tool-calls');
      assert.equal(typeof (loop.steps[0].toolCalls[0]?.input as { city?: unknown }).city, 'string');
    });
  });
}

describe('/v1/responses: other clients and forwarding', () => {
  test('OpenAI Agents SDK default provider runs an agent through the gateway', async () => {
    setTracingDisabled(true);
    setDefaultOpenAIClient(new OpenAI({ baseURL: stack.baseURL, apiKey: clientKey, maxRetries: 0 }) as unknown as Parameters<typeof setDefaultOpenAIClient>[0]);
    const result = await run(new Agent({ name: 'a', instructions: 'be nice', model: 'claude' }), 'hi');
    assert.ok(String(result.finalOutput).length > 0);
    const weatherTool = agentTool({ name: 'weather', description: 'weather', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `${city}: 20C` });
    const withTool = await run(new Agent({ name: 'b', instructions: 'use tools', model: 'gpt-4o-mini', tools: [weatherTool] }), 'weather?');
    assert.ok(String(withTool.finalOutput).length > 0);
  });

  test('LangChain ChatOpenAI with useResponsesApi', async () => {
    for (const model of ['gpt-4o-mini', 'gemini']) {
      const llm = new ChatOpenAI({ model, apiKey: clientKey, configuration: { baseURL: stack.baseURL }, useResponsesApi: true, maxRetries: 0 });
      const message = await llm.invoke('hi');
      assert.ok(message.text.length > 0, model);
      assert.ok((message.usage_metadata?.output_tokens ?? 0) > 0, model);
    }
  });

  test('to an OpenAI provider the request is forwarded as sent, to /responses, model renamed', async () => {
    stack.sim.reset();
    await stack.client.responses.create({ model: 'fast', input: 'hi', metadata: { team: 'a' } });
    const seen = stack.sim.stats().last.at(-1)!;
    assert.equal(seen.path, '/v1/responses');
    assert.deepEqual(seen.body, { model: 'sim-fast', input: 'hi', metadata: { team: 'a' } });
  });

  test('to Anthropic it goes through chat translation, to /v1/messages', async () => {
    stack.sim.reset();
    await stack.client.responses.create({ model: 'claude', input: 'hi' });
    assert.equal(stack.sim.stats().last.at(-1)!.path, '/v1/messages');
  });

  test('stateful parameters are a 400 naming them', async () => {
    await assert.rejects(
      stack.client.responses.create({ model: 'claude', input: 'hi', previous_response_id: 'resp_123' }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'previous_response_id',
    );
  });
});
