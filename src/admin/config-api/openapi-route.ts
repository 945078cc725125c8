// GET /admin/openapi.yaml: the admin API's OpenAPI 3.1 description (docs/admin-api.yaml), public.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AdminRoute } from '../../pipeline/stage.js';
import { GatewayError } from '../../shared/errors.js';

/** From the compiled module (<build>/src/admin/config-api/) to the package's docs/, for dist/ and any other build dir. */
export const openApiPath = fileURLToPath(new URL('../../../../docs/admin-api.yaml', import.meta.url));

export function openApiRoute(path = openApiPath): AdminRoute {
  let text: string | undefined;
  return {
    method: 'GET',
    path: '/admin/openapi.yaml',
    public: true,
    async handle() {
      try {
        text ??= await readFile(path, 'utf8');
      } catch {
        throw new GatewayError(404, `The OpenAPI description is not installed (${path}).`, { code: 'not_found' });
      }
      return { status: 200, body: undefined, text, contentType: 'application/yaml; charset=utf-8' };
    },
  };
}
