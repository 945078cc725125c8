// Records the changes made through /admin/keys in the config change trail (target `keys.<id>`); the
// key's plaintext secret, answered once on create, is never recorded.
import type { AdminRequest, AdminResponse, AdminRoute } from '../../pipeline/stage.js';
import { diffValues, type ChangeAction, type NewChange } from '../../config/store/changes.js';
import { isObject, type JsonObject } from '../../config/store/merge-patch.js';

const actions: Partial<Record<AdminRoute['method'], ChangeAction>> = { POST: 'create', PATCH: 'update', PUT: 'replace', DELETE: 'delete' };
/** Answer fields that are not the key's settings: the plaintext (create only) and live counters. */
const notRecorded = ['key', 'usage', 'spend'];

function keyView(body: unknown): JsonObject | undefined {
  if (!isObject(body)) return undefined;
  const view: JsonObject = { ...body };
  for (const field of notRecorded) delete view[field];
  return view;
}

/**
 * Wraps the admin server's addAdminRoute: a successful non-GET route under /admin/keys is recorded with
 * its actor. The state before a change is read through the GET /admin/keys/:id route.
 */
export function recordKeyChanges(add: (route: AdminRoute) => void, record: (change: NewChange) => Promise<unknown>): (route: AdminRoute) => void {
  let showKey: AdminRoute | undefined;
  const before = async (req: AdminRequest): Promise<JsonObject | undefined> => {
    if (showKey === undefined || req.params.id === undefined) return undefined;
    try {
      const answer = await showKey.handle({ ...req, method: 'GET', body: undefined });
      return answer.status === 200 ? keyView(answer.body) : undefined;
    } catch {
      return undefined;
    }
  };
  return (route) => {
    const action = actions[route.method];
    const underKeys = route.path === '/admin/keys' || route.path.startsWith('/admin/keys/');
    if (underKeys && route.method === 'GET' && route.path === '/admin/keys/:id') showKey = route;
    if (!underKeys || action === undefined || route.stream !== undefined) return add(route);
    add({
      ...route,
      async handle(req): Promise<AdminResponse> {
        const was = await before(req);
        const answer = await route.handle(req);
        if (answer.status >= 200 && answer.status < 300) {
          const now = keyView(answer.body);
          const id = req.params.id ?? (typeof now?.id === 'string' ? now.id : 'unknown');
          const target = `keys.${id}`;
          await record({ at: new Date().toISOString(), actor: req.actor.name, action, target, diff: diffValues(was, now, target, ['keys', id]) });
        }
        return answer;
      },
    });
  };
}
