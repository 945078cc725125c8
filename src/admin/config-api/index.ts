// The admin API for the runtime config: providers, models, prices, sections, the effective config,
// the change trail, and the OpenAPI description of the whole admin API.
import type { AdminRoute } from '../../pipeline/stage.js';
import { collectionRoutes } from './collections.js';
import { configRoutes } from './config-routes.js';
import type { ConfigApiDeps } from './deps.js';
import { openApiRoute } from './openapi-route.js';
import { priceRoutes } from './prices.js';
import { sectionRoutes } from './sections.js';

export type { ConfigApiDeps } from './deps.js';
export { recordKeyChanges } from './key-trail.js';

export function configApiRoutes(deps: ConfigApiDeps): AdminRoute[] {
  return [
    ...collectionRoutes(deps, 'providers'),
    ...collectionRoutes(deps, 'models'),
    ...priceRoutes(deps),
    ...sectionRoutes(deps),
    ...configRoutes(deps),
    openApiRoute(),
  ];
}
