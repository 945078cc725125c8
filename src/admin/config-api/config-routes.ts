// GET /admin/config (the effective config, secrets masked, and where each object comes from),
// GET /admin/config/changes (the change trail), POST /admin/config/reset (drop one runtime change).
import type { AdminRoute } from '../../pipeline/stage.js';
import { isObject } from '../../config/store/merge-patch.js';
import { objectSources, targetOf } from '../../config/store/overlay.js';
import { objectAt } from '../../config/store/runtime-store.js';
import { maskSecrets } from '../../config/store/secrets.js';
import { errors } from '../../shared/errors.js';
import type { ConfigApiDeps } from './deps.js';
import { answering, notFound, requireWriter } from './responses.js';

const maxChanges = 1000;

function positiveInt(raw: string | null, param: string, max: number): number | undefined {
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw errors.invalidParam(param, `'${param}' must be an integer from 1 to ${max}, got '${raw}'.`);
  return n;
}

export function configRoutes(deps: ConfigApiDeps): AdminRoute[] {
  const { store, reloader } = deps;
  return [
    {
      method: 'GET',
      path: '/admin/config',
      handle() {
        const { sources, deleted } = objectSources(reloader.base, store.overlay, reloader.config);
        return {
          status: 200,
          body: {
            generation: reloader.generation,
            config: maskSecrets(reloader.config),
            sources,
            deleted,
            store: { backend: store.backend.kind, location: store.backend.description, revision: store.storedRevision },
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/admin/config/changes',
      handle: (req) =>
        answering(async () => {
          const limit = positiveInt(req.query.get('limit'), 'limit', maxChanges) ?? 100;
          const before = positiveInt(req.query.get('before'), 'before', Number.MAX_SAFE_INTEGER);
          return { status: 200, body: { object: 'list', data: await store.changes({ limit, before }) } };
        }),
    },
    {
      method: 'POST',
      path: '/admin/config/reset',
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const target = isObject(req.body) ? req.body.target : undefined;
          if (typeof target !== 'string' || targetOf(target) === undefined) {
            throw errors.invalidParam('target', "'target' names one runtime change: 'providers.<name>', 'models.<name>', 'prices.<model>' or 'sections.<section>'.");
          }
          if (store.overlay.get(target) === undefined) throw notFound(`runtime change for '${target}' (it is as the file says)`);
          const result = await store.write(req.actor.name, () => ({ target, action: 'reset', entry: undefined }));
          const object = objectAt(result.config, target);
          return {
            status: 200,
            body: { target, source: object === undefined ? null : 'file', value: object === undefined ? null : maskSecrets(object, targetOf(target)?.kind === 'sections' ? [targetOf(target)!.name] : []), generation: result.generation },
          };
        }),
    },
  ];
}
