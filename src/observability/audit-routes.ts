// GET /admin/audit (search, newest first, paged) and GET /admin/audit/:id (one whole record).
import type { AdminRoute } from '../pipeline/stage.js';
import { GatewayError } from '../shared/errors.js';
import type { AuditDispatcher } from './audit-dispatcher.js';
import { encodeCursor, parseAuditSearch, parseRecordId, summarize } from './audit-search.js';

export function auditRoutes(dispatcher: AuditDispatcher): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/admin/audit',
      async handle(req) {
        const search = parseAuditSearch(req.query);
        const { source, page } = await dispatcher.search(search);
        return {
          status: 200,
          body: {
            object: 'list',
            source,
            data: search.full ? page.records : page.records.map(summarize),
            next_before: page.nextBefore === null ? null : encodeCursor(page.nextBefore),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/admin/audit/:id',
      async handle(req) {
        const id = parseRecordId(req.params.id ?? '');
        const record = await dispatcher.find(id);
        if (record === undefined) throw new GatewayError(404, `No audit record with id '${id}'.`, { type: 'not_found_error', param: 'id', code: 'not_found' });
        return { status: 200, body: record };
      },
    },
  ];
}
