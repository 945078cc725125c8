// /admin/prices: the config's price entries (over the shipped table) by model — list, show, set, delete.
import type { AdminRoute } from '../../pipeline/stage.js';
import type { SwitchyardConfig } from '../../config/types.js';
import { isObject, type JsonObject } from '../../config/store/merge-patch.js';
import { fileObject } from '../../config/store/overlay.js';
import { objectAt } from '../../config/store/runtime-store.js';
import type { ConfigApiDeps } from './deps.js';
import { answering, notFound, objectBody, requireWriter } from './responses.js';

export function priceRoutes(deps: ConfigApiDeps): AdminRoute[] {
  const { store, reloader } = deps;
  const prices = (config: SwitchyardConfig): Record<string, JsonObject> => (isObject(config.prices) ? (config.prices as unknown as Record<string, JsonObject>) : {});
  const shown = (model: string, price: JsonObject) => ({ ...price, source: store.overlay.get(`prices.${model}`)?.op === 'set' ? 'store' : 'file' });

  return [
    {
      method: 'GET',
      path: '/admin/prices',
      handle: () => ({
        status: 200,
        body: { object: 'map', data: Object.fromEntries(Object.entries(prices(reloader.config)).map(([model, price]) => [model, shown(model, price)])) },
      }),
    },
    {
      method: 'GET',
      path: '/admin/prices/:model',
      handle(req) {
        const model = req.params.model ?? '';
        const price = prices(reloader.config)[model];
        if (price === undefined) throw notFound(`price entry for model '${model}' in the config (the shipped table is not listed here)`);
        return { status: 200, body: { model, ...shown(model, price) } };
      },
    },
    {
      method: 'PUT',
      path: '/admin/prices/:model',
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const model = req.params.model ?? '';
          const body = objectBody(req, `prices.${model}`);
          delete body.model;
          let created = false;
          const result = await store.write(req.actor.name, (view) => {
            created = !isObject(objectAt(view.effective, `prices.${model}`));
            return { target: `prices.${model}`, action: created ? 'create' : 'replace', entry: { op: 'set', value: body } };
          });
          const price = prices(result.config)[model] ?? body;
          return { status: created ? 201 : 200, body: { model, ...shown(model, price), generation: result.generation } };
        }),
    },
    {
      method: 'DELETE',
      path: '/admin/prices/:model',
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const model = req.params.model ?? '';
          const result = await store.write(req.actor.name, (view) => {
            if (!isObject(objectAt(view.effective, `prices.${model}`))) throw notFound(`price entry for model '${model}' in the config`);
            const declared = fileObject(view.base, 'prices', model) !== undefined;
            return { target: `prices.${model}`, action: 'delete', entry: declared ? { op: 'delete' } : undefined };
          });
          return { status: 200, body: { deleted: model, generation: result.generation } };
        }),
    },
  ];
}
