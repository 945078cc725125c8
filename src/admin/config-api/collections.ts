// /admin/providers and /admin/models: list, create, show, replace, merge, delete one object by name.
// The store's object replaces the file's of the same name; deleting a file's object leaves a tombstone.
import type { AdminRequest, AdminResponse, AdminRoute } from '../../pipeline/stage.js';
import type { SwitchyardConfig } from '../../config/types.js';
import { isObject, mergePatch, type JsonObject } from '../../config/store/merge-patch.js';
import { fileObject, type NamedCollection } from '../../config/store/overlay.js';
import { objectAt, ConfigWriteError, type WriteView } from '../../config/store/runtime-store.js';
import { keepMaskedSecrets, maskSecrets, referFileSecrets } from '../../config/store/secrets.js';
import type { ConfigApiDeps } from './deps.js';
import { alreadyExists, answering, notFound, objectBody, requireWriter } from './responses.js';

const nouns: Record<NamedCollection, string> = { providers: 'provider', models: 'model' };

function listOf(config: SwitchyardConfig, kind: NamedCollection): JsonObject[] {
  return (config[kind] as unknown[]).filter(isObject);
}

export function collectionRoutes(deps: ConfigApiDeps, kind: NamedCollection): AdminRoute[] {
  const { store, reloader } = deps;
  const noun = nouns[kind];
  const base = `/admin/${kind}`;
  const sourceOf = (name: string) => (store.overlay.get(`${kind}.${name}`)?.op === 'set' ? 'store' : 'file');
  const shown = (o: JsonObject) => ({ ...(maskSecrets(o) as JsonObject), source: sourceOf(String(o.name)) });
  const find = (config: SwitchyardConfig, name: string) => listOf(config, kind).find((o) => o.name === name);
  const nameParam = (req: AdminRequest) => req.params.name ?? '';

  /** The body as the store keeps it: masks resolved to the value in force, file secrets referred to. */
  const stored = (view: WriteView, name: string, value: JsonObject): JsonObject => {
    const problems: string[] = [];
    const label = `${kind}.${name}`;
    if (value.name !== undefined && value.name !== name) {
      problems.push(`${label}.name: the name is the one in the URL; to rename, create the new ${noun} and delete this one`);
    }
    const kept = keepMaskedSecrets(value, objectAt(view.effective, label) ?? {}, [], problems, label) as JsonObject;
    if (problems.length > 0) throw new ConfigWriteError('invalid', problems);
    return { ...(referFileSecrets(kept, fileObject(view.base, kind, name) ?? {}, []) as JsonObject), name };
  };

  const answer = (status: number, config: SwitchyardConfig, name: string, generation: number): AdminResponse => {
    const object = find(config, name);
    return { status, body: { ...(object ? shown(object) : { name }), generation } };
  };

  const existing = (view: WriteView, name: string): JsonObject => {
    const object = objectAt(view.effective, `${kind}.${name}`);
    if (!isObject(object)) throw notFound(`${noun} named '${name}'`);
    return object;
  };

  return [
    {
      method: 'GET',
      path: base,
      handle: () => ({ status: 200, body: { object: 'list', data: listOf(reloader.config, kind).map(shown) } }),
    },
    {
      method: 'POST',
      path: base,
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const body = objectBody(req, kind);
          if (typeof body.name !== 'string' || body.name === '') throw new ConfigWriteError('invalid', [`${kind}.name: a new ${noun} needs a name (a string)`]);
          const name = body.name;
          const result = await store.write(req.actor.name, (view) => {
            if (isObject(objectAt(view.effective, `${kind}.${name}`))) throw alreadyExists(`A ${noun} named '${name}'`, 'name');
            return { target: `${kind}.${name}`, action: 'create', entry: { op: 'set', value: stored(view, name, body) } };
          });
          return answer(201, result.config, name, result.generation);
        }),
    },
    {
      method: 'GET',
      path: `${base}/:name`,
      handle(req) {
        const object = find(reloader.config, nameParam(req));
        if (object === undefined) throw notFound(`${noun} named '${nameParam(req)}'`);
        return { status: 200, body: shown(object) };
      },
    },
    {
      method: 'PUT',
      path: `${base}/:name`,
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const name = nameParam(req);
          const body = objectBody(req, `${kind}.${name}`);
          const result = await store.write(req.actor.name, (view) => {
            existing(view, name);
            return { target: `${kind}.${name}`, action: 'replace', entry: { op: 'set', value: stored(view, name, body) } };
          });
          return answer(200, result.config, name, result.generation);
        }),
    },
    {
      method: 'PATCH',
      path: `${base}/:name`,
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const name = nameParam(req);
          const patch = objectBody(req, `${kind}.${name}`);
          const result = await store.write(req.actor.name, (view) => {
            const merged = mergePatch(existing(view, name), patch) as JsonObject;
            return { target: `${kind}.${name}`, action: 'update', entry: { op: 'set', value: stored(view, name, merged) } };
          });
          return answer(200, result.config, name, result.generation);
        }),
    },
    {
      method: 'DELETE',
      path: `${base}/:name`,
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const name = nameParam(req);
          const result = await store.write(req.actor.name, (view) => {
            existing(view, name);
            // A file's object stays out through a tombstone; a store-only one just goes.
            const declared = fileObject(view.base, kind, name) !== undefined;
            return { target: `${kind}.${name}`, action: 'delete', entry: declared ? { op: 'delete' } : undefined };
          });
          return { status: 200, body: { deleted: name, generation: result.generation } };
        }),
    },
  ];
}
