// GET /v1/models in Anthropic's shape; its own module so the handler can answer it without the dialect's translator.

/**
 * GET /v1/models in Anthropic's shape (one page holding every model). The gateway knows no release
 * date of a model, so created_at is `created` (epoch seconds, default 0) as RFC 3339.
 */
export function modelListBody(models: Array<{ id: string; ownedBy: string }>, created = 0): string {
  const createdAt = new Date(created * 1000).toISOString().replace('.000Z', 'Z');
  const data = models.map((m) => ({ type: 'model', id: m.id, display_name: m.id, created_at: createdAt }));
  return JSON.stringify({
    data,
    has_more: false,
    first_id: data.length > 0 ? data[0].id : null,
    last_id: data.length > 0 ? data[data.length - 1].id : null,
  });
}
