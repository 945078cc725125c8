// /admin/keys: create, list, show (with usage and spend), change and revoke virtual keys.
import { GatewayError } from '../shared/errors.js';
import type { AdminResponse, AdminRoute } from '../pipeline/stage.js';
import { KeyRegistry, RowsExhaustedError, subjectIds } from './key-registry.js';
import { parseCreateBody, parsePatchBody, publicKeyView, type KeyRecord } from './keys.js';

export interface AdminDeps {
  registry: KeyRegistry;
  /** Resolves once every server thread has applied the current key snapshot. */
  publish(): Promise<void>;
  /** Current counters of a subject (shared table or Redis). */
  usage(subjectId: string): Promise<Record<string, number> | undefined>;
  status(): Record<string, unknown>;
}

function fail(status: number, message: string, code: string): AdminResponse {
  return { status, body: new GatewayError(status, message, { code }).toBody() };
}

const unknownKey = (id: string) => fail(404, `No key with id '${id}'.`, 'key_not_found');

function readOnly(r: KeyRecord): AdminResponse | undefined {
  if (r.source === 'config') return fail(409, `Key '${r.id}' is declared in the config file; change it there.`, 'key_read_only');
  if (r.revoked_at !== null) return fail(409, `Key '${r.id}' is revoked.`, 'key_revoked');
  return undefined;
}

/** Shapes the usage counters of a key and its key×model rows for the API. */
async function usageView(deps: AdminDeps, r: KeyRecord): Promise<Record<string, unknown>> {
  const u = (await deps.usage(subjectIds.key(r.id))) ?? {};
  const models: Record<string, unknown> = {};
  for (const m of Object.keys(r.model_limits)) models[m] = await deps.usage(subjectIds.keyModel(r.id, m));
  return {
    usage: {
      requests_this_minute: u.minuteRequests ?? 0,
      tokens_this_minute: u.minuteTokens ?? 0,
      requests_today: u.dayRequests ?? 0,
      tokens_today: u.dayTokens ?? 0,
      concurrent: u.concurrent ?? 0,
      total_requests: u.totalRequests ?? 0,
      total_prompt_tokens: u.totalPromptTokens ?? 0,
      total_completion_tokens: u.totalCompletionTokens ?? 0,
      by_model: models,
    },
    spend: { total_usd: u.spendTotal ?? 0, today_usd: u.spendDay ?? 0, this_month_usd: u.spendMonth ?? 0 },
  };
}

export function limitsAdminRoutes(deps: AdminDeps): AdminRoute[] {
  const { registry } = deps;
  /** The refusal for a key the API may not change (unknown, declared in config, revoked), if any. */
  const editable = (id: string): AdminResponse | undefined => {
    const r = registry.get(id);
    return r ? readOnly(r) : unknownKey(id);
  };
  return [
    {
      method: 'POST',
      path: '/admin/keys',
      async handle(req) {
        const fields = parseCreateBody(req.body);
        if (typeof fields === 'string') return fail(400, `Invalid key: ${fields}`, 'invalid_value');
        try {
          const { record, plaintext } = await registry.create(fields);
          await deps.publish();
          // The only time the plaintext leaves the gateway.
          return { status: 201, body: { ...publicKeyView(record), key: plaintext } };
        } catch (err) {
          if (err instanceof RowsExhaustedError) return fail(507, err.message, 'limits_table_full');
          throw err;
        }
      },
    },
    {
      method: 'GET',
      path: '/admin/keys',
      handle() {
        return { status: 200, body: { object: 'list', data: registry.list().map(publicKeyView) } };
      },
    },
    {
      method: 'GET',
      path: '/admin/keys/:id',
      async handle(req) {
        const r = registry.get(req.params.id ?? '');
        if (!r) return unknownKey(req.params.id ?? '');
        return { status: 200, body: { ...publicKeyView(r), ...(await usageView(deps, r)) } };
      },
    },
    {
      method: 'PATCH',
      path: '/admin/keys/:id',
      async handle(req) {
        const id = req.params.id ?? '';
        const refused = editable(id);
        if (refused) return refused;
        const fields = parsePatchBody(req.body);
        if (typeof fields === 'string') return fail(400, `Invalid change: ${fields}`, 'invalid_value');
        try {
          const updated = await registry.update(id, fields);
          await deps.publish();
          return { status: 200, body: publicKeyView(updated) };
        } catch (err) {
          if (err instanceof RowsExhaustedError) return fail(507, err.message, 'limits_table_full');
          throw err;
        }
      },
    },
    {
      method: 'DELETE',
      path: '/admin/keys/:id',
      async handle(req) {
        const id = req.params.id ?? '';
        const refused = editable(id);
        if (refused) return refused;
        // revoke() flips the shared row status (every thread refuses from then on); publish() also drops it from their maps.
        const revoked = await registry.revoke(id);
        await deps.publish();
        return { status: 200, body: publicKeyView(revoked) };
      },
    },
    {
      method: 'GET',
      path: '/admin/limits',
      handle() {
        return { status: 200, body: deps.status() };
      },
    },
  ];
}
