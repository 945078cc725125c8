// The simulator's control paths under /sim/: stats, reset and the fault script. Not counted in stats.
import type { IncomingHead, Reply } from '../server/http.js';
import { errors, GatewayError } from '../shared/errors.js';
import { jsonHeaders } from './openai.js';
import { FaultScript, ScriptRuleError } from './script.js';
import type { StatsRecorder } from './stats.js';

export interface SimulatorState {
  readonly stats: StatsRecorder;
  readonly script: FaultScript;
}

function send(reply: Reply, status: number, body: unknown): void {
  reply.send(status, jsonHeaders, JSON.stringify(body));
}

function sendError(reply: Reply, error: GatewayError): void {
  reply.send(error.status, error.headers ? [...jsonHeaders, ...Object.entries(error.headers)] : jsonHeaders, error.toJSON());
}

/** PUT /sim/script: {"rules":[…]} replaces the script, or a 400 naming the rule and field at fault. */
function putScript(state: SimulatorState, raw: Buffer, reply: Reply): void {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    sendError(reply, errors.badJson((err as Error).message));
    return;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('rules' in body)) {
    sendError(reply, errors.invalidParam('rules', 'The body must be a JSON object {"rules":[…]}.'));
    return;
  }
  try {
    state.script.replace((body as { rules: unknown }).rules);
  } catch (err) {
    if (!(err instanceof ScriptRuleError)) throw err;
    sendError(reply, errors.invalidParam(err.param, err.message));
    return;
  }
  send(reply, 200, { rules: state.script.state() });
}

const scriptMethods = 'GET, PUT, DELETE';

export function handleControl(state: SimulatorState, head: IncomingHead, raw: Buffer, reply: Reply): void {
  const { path, method } = head;
  if (path === '/sim/stats' && method === 'GET') {
    send(reply, 200, state.stats.snapshot());
  } else if (path === '/sim/reset' && method === 'POST') {
    state.stats.reset();
    state.script.clear();
    send(reply, 200, { ok: true });
  } else if (path === '/sim/script') {
    if (method === 'GET') send(reply, 200, { rules: state.script.state() });
    else if (method === 'PUT') putScript(state, raw, reply);
    else if (method === 'DELETE') {
      state.script.clear();
      send(reply, 200, { rules: [] });
    } else sendError(reply, errors.methodNotAllowed(method, path, scriptMethods));
  } else {
    sendError(reply, errors.notFound(method, path));
  }
}
