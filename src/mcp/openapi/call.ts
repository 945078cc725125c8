// OpenApiToolSource: the tools of one OpenAPI source, and their calls to the real API. The arguments are
// checked against the tool's input schema, the request is built from them alone (the MCP caller's headers
// never get here), the gateway's credential is added, and the answer becomes a tool result.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Agent } from 'undici';
import { ToolSourceError, type McpTool, type ToolCallResult, type ToolSource } from '../tool-source.js';
import type { OpenApiSourceConfig } from './config.js';
import { CredentialError, type Credential } from './credentials.js';
import { exchange, ExchangeFailure, type BoundedResponse } from './http.js';
import { buildRequest, InvalidToolArguments } from './request.js';
import { errorExcerptBytes, failure, secretRedactor, toToolResult } from './response.js';
import type { GeneratedTool, OperationPlan } from './tools.js';

/** A tool with what its calls need; its schemas are compiled on its first call (Ajv takes ~0.3 ms a schema node). */
interface CallableTool {
  tool: McpTool;
  operation: OperationPlan;
  validators?: { input: ValidateFunction; output?: ValidateFunction };
}

/** What calls need besides the tools: where they go, with what credential, within which bounds. */
export interface SourceRuntime {
  config: OpenApiSourceConfig;
  baseUrl: URL;
  agent: Agent;
  credential: Credential;
}

// Schemas use draft 2020-12, MCP's default dialect; formats are annotations here (the API checks them).
// Unoptimized code compiles in half the time, and these validators run once a call.
function newAjv(): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false, code: { optimize: false } });
}

const defaultHeaders = { accept: 'application/json, */*;q=0.5', 'user-agent': 'switchyard-mcp' };

export class OpenApiToolSource implements ToolSource {
  readonly name: string;
  private readonly byName = new Map<string, CallableTool>();
  private readonly basePath: string;
  private readonly staticHeaders: Record<string, string>;
  private closed = false;
  private redaction: { key: string; redact: (text: string) => string } | undefined;

  private readonly ajv = newAjv();

  constructor(
    tools: GeneratedTool[],
    private readonly runtime: SourceRuntime,
  ) {
    this.name = runtime.config.name;
    for (const { tool, operation } of tools) this.byName.set(tool.name, { tool, operation });
    this.basePath = runtime.baseUrl.pathname.replace(/\/+$/, '');
    this.staticHeaders = Object.fromEntries(Object.entries(runtime.config.headers).map(([k, v]) => [k.toLowerCase(), v]));
  }

  /** Copies: the endpoint may rename them (`<source>__<name>`) without touching this source's table. */
  async listTools(): Promise<McpTool[]> {
    return [...this.byName.values()].map(({ tool }) => ({ ...tool }));
  }

  async callTool(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolCallResult> {
    if (this.closed) throw new ToolSourceError(`OpenAPI source '${this.name}' is closed`, -32603);
    const entry = this.byName.get(name);
    if (!entry) throw new ToolSourceError(`unknown tool '${name}'`, -32602);
    const given = args ?? {};
    const { input, output } = this.validators(entry);
    if (!input(given)) {
      const problems = (input.errors ?? []).slice(0, 5).map((e) => {
        const where = e.instancePath ? `'${e.instancePath.slice(1).replace(/\//g, '.')}'` : 'arguments';
        const extra = e.keyword === 'additionalProperties' ? ` ('${(e.params as { additionalProperty: string }).additionalProperty}')` : '';
        return `${where} ${e.message ?? e.keyword}${extra}`;
      });
      throw new InvalidToolArguments(`invalid arguments for tool '${name}': ${problems.join('; ')}`);
    }
    const built = buildRequest(entry.operation, given, this.basePath);
    const { config, baseUrl, credential } = this.runtime;
    const url = `${baseUrl.origin}${built.path}`;
    const redact = this.redactor();
    try {
      let used = await credential.headers();
      let response = await this.send(entry.operation.method, built, used, signal);
      if (response.status === 401 && (await credential.renewAfterRejection(used))) {
        used = await credential.headers();
        response = await this.send(entry.operation.method, built, used, signal);
      }
      return toToolResult(response, { url, maxResponseBytes: config.max_response_bytes, output, redact: this.redactor() });
    } catch (err) {
      if (err instanceof CredentialError) return failure(`Could not authenticate to the API: ${redact(err.message)}`);
      if (err instanceof ExchangeFailure) {
        const where = `${entry.operation.method} ${baseUrl.origin}${built.path.split('?')[0]}`;
        if (err.kind === 'timeout') return failure(`The API did not answer in time (${where}): ${err.message} (timeout_ms)`);
        if (err.kind === 'cancelled') return failure(`The call was cancelled (${where})`);
        return failure(`The API could not be reached (${where}): ${redact(err.message)}`);
      }
      throw err;
    }
  }

  /** Rebuilt only when the secrets change (an OAuth token renewed). */
  private redactor(): (text: string) => string {
    const secrets = this.runtime.credential.secrets();
    const key = secrets.join('\0');
    if (this.redaction?.key !== key) this.redaction = { key, redact: secretRedactor(secrets) };
    return this.redaction.redact;
  }

  private validators(entry: CallableTool): NonNullable<CallableTool['validators']> {
    if (entry.validators) return entry.validators;
    let input: ValidateFunction;
    try {
      input = this.ajv.compile(entry.tool.inputSchema);
    } catch (err) {
      throw new ToolSourceError(`tool '${entry.tool.name}': its input schema (from the spec) cannot be compiled: ${(err as Error).message}`, -32603);
    }
    let output: ValidateFunction | undefined;
    // An advertised outputSchema that cannot be compiled accepts nothing: every answer is then reported as not matching it.
    if (entry.tool.outputSchema) {
      try {
        output = this.ajv.compile(entry.tool.outputSchema);
      } catch {
        const errors = [{ instancePath: '', message: 'cannot be checked: the schema from the spec does not compile' }];
        output = Object.assign(() => false, { errors }) as unknown as ValidateFunction;
      }
    }
    entry.validators = { input, output };
    return entry.validators;
  }

  private send(method: string, built: ReturnType<typeof buildRequest>, credential: Record<string, string>, signal: AbortSignal | undefined): Promise<BoundedResponse> {
    const { config, baseUrl, agent } = this.runtime;
    // Later wins: tool arguments < configured headers < the credential.
    const headers: Record<string, string> = { ...defaultHeaders, ...built.headers, ...this.staticHeaders, ...credential };
    if (built.headers['content-type']) headers['content-type'] = built.headers['content-type'];
    return exchange(
      agent,
      { origin: baseUrl.origin, path: built.path, method, headers, body: built.body },
      {
        timeoutMs: config.timeout_ms,
        maxBytes: (status) => (status >= 200 && status < 300 ? config.max_response_bytes : errorExcerptBytes + 1),
        signal,
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runtime.agent.close();
  }
}
