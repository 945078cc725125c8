// How the config API answers: refusals in the OpenAI error shape (invalid_config with every problem,
// restart_required, not_found, already_exists), problem paths named by object names, request bodies read.
import type { AdminRequest, AdminResponse } from '../../pipeline/stage.js';
import { ConfigWriteError, type WriteRefusal } from '../../config/store/runtime-store.js';
import { isObject, type JsonObject } from '../../config/store/merge-patch.js';
import { GatewayError, type ErrorType } from '../../shared/errors.js';

/** Fields the API adds to objects it shows; ignored when a client sends them back. */
const readOnlyFields = ['source', 'generation'];

/** `providers.3.api_key` → `providers.openai.api_key`, by the names in the candidate data. */
export function nameIndices(problem: string, data: unknown): string {
  return problem.replace(/^(\([a-z]+\) )?(providers|models)\.(\d+)(?=[.:\s]|$)/, (whole, feature: string | undefined, kind: string, index: string) => {
    const list = isObject(data) ? data[kind] : undefined;
    const item = Array.isArray(list) ? list[Number(index)] : undefined;
    return isObject(item) && typeof item.name === 'string' ? `${feature ?? ''}${kind}.${item.name}` : whole;
  });
}

/** The config path a problem names (`models.gpt-4o.provider: unknown provider 'x'` → `models.gpt-4o.provider`), or null. */
export function problemParam(problem: string): string | null {
  // A feature's refusal starts with its name: `(limits) limits.backend: changed; ...`.
  const match = /^(?:\([a-z]+\) )?([^\s:,()]+)[,:]/.exec(problem);
  if (match === null) return null;
  const unknownKey = /: unknown key '([^']+)'/.exec(problem);
  return unknownKey ? `${match[1]}.${unknownKey[1]}` : match[1];
}

/** An error body with the `problems` list beside the four OpenAI fields. */
export function refusal(status: number, code: string, message: string, problems: string[], type?: ErrorType): AdminResponse {
  const param = problems.length > 0 ? problemParam(problems[0]) : null;
  const body = new GatewayError(status, message, { code, param, type }).toBody();
  return { status, body: { error: { ...body.error, problems } } };
}

const refusals: Record<WriteRefusal, { status: number; code: string; type?: ErrorType; lead: string }> = {
  invalid: { status: 400, code: 'invalid_config', lead: 'Invalid configuration change' },
  restart: { status: 409, code: 'restart_required', lead: 'This change needs a restart; nothing was changed' },
  not_applied: { status: 503, code: 'config_not_applied', type: 'api_error', lead: 'The change passed every check but could not be applied; the store was put back' },
  conflict: { status: 409, code: 'write_conflict', lead: 'The config store kept changing under this write' },
  secrets_key: { status: 409, code: 'secrets_key_missing', lead: 'Secrets cannot be stored' },
  unavailable: { status: 503, code: 'config_store_unavailable', type: 'api_error', lead: 'Nothing was changed' },
};

export function writeRefused(err: ConfigWriteError): AdminResponse {
  const problems = err.problems.map((p) => nameIndices(p, err.data));
  const { status, code, type, lead } = refusals[err.refusal];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more, see problems)` : '';
  return refusal(status, code, `${lead}: ${problems[0] ?? 'unknown problem'}${more}`, problems, type);
}

/** Runs a route; a refused write becomes its answer. */
export async function answering(run: () => Promise<AdminResponse>): Promise<AdminResponse> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ConfigWriteError) return writeRefused(err);
    throw err;
  }
}

export function notFound(what: string): GatewayError {
  return new GatewayError(404, `No ${what}.`, { code: 'not_found' });
}

export function alreadyExists(what: string, param: string): GatewayError {
  return new GatewayError(409, `${what} exists already; change it with PUT or PATCH.`, { code: 'already_exists', param });
}

/** The body as a JSON object without the read-only fields, or a refusal naming `label`. */
export function objectBody(req: AdminRequest, label: string): JsonObject {
  if (!isObject(req.body)) throw new ConfigWriteError('invalid', [`${label}: the body must be a JSON object`]);
  const body: JsonObject = { ...req.body };
  for (const field of readOnlyFields) delete body[field];
  return body;
}

/** Writes need a credential that may write (the admin server checks too; this keeps the API safe on any host). */
export function requireWriter(req: AdminRequest): void {
  if (req.actor.readOnly) {
    throw new GatewayError(403, `This admin credential is read-only: ${req.method} ${req.path} is refused.`, { type: 'permission_error', code: 'read_only_token' });
  }
}
