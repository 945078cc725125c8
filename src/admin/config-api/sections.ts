// /admin/config/sections/:section: show, replace (PUT), merge-patch (PATCH) or reset (DELETE) one whole
// config section. A PATCH is kept as a patch over the file's section, so the file's other keys still apply.
import type { AdminRequest, AdminRoute } from '../../pipeline/stage.js';
import { composePatches, isObject, mergePatch, type JsonObject } from '../../config/store/merge-patch.js';
import { sectionNames, type SectionName } from '../../config/store/overlay.js';
import { ConfigWriteError, type WriteResult } from '../../config/store/runtime-store.js';
import { keepMaskedSecrets, maskSecrets, referFileSecrets } from '../../config/store/secrets.js';
import type { ConfigApiDeps } from './deps.js';
import { answering, notFound, requireWriter } from './responses.js';

export function sectionRoutes(deps: ConfigApiDeps): AdminRoute[] {
  const { store, reloader } = deps;
  const path = '/admin/config/sections/:section';
  const sectionOf = (req: AdminRequest): SectionName => {
    const name = req.params.section ?? '';
    if (!(sectionNames as readonly string[]).includes(name)) throw notFound(`config section '${name}' the API changes (there are: ${sectionNames.join(', ')})`);
    return name as SectionName;
  };
  const view = (section: SectionName, value: unknown, generation: number) => ({
    section,
    value: maskSecrets(value, [section]),
    source: store.overlay.get(`sections.${section}`) ? 'store' : 'file',
    generation,
  });
  const written = (section: SectionName, result: WriteResult) =>
    ({ status: 200, body: view(section, (result.config as unknown as Record<string, unknown>)[section], result.generation) });
  const unmasked = (value: unknown, inForce: unknown, section: SectionName): unknown => {
    const problems: string[] = [];
    const kept = keepMaskedSecrets(value, inForce, [section], problems);
    if (problems.length > 0) throw new ConfigWriteError('invalid', problems);
    return kept;
  };

  return [
    {
      method: 'GET',
      path,
      handle(req) {
        const section = sectionOf(req);
        return { status: 200, body: view(section, (reloader.config as unknown as Record<string, unknown>)[section], reloader.generation) };
      },
    },
    {
      method: 'PUT',
      path,
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const section = sectionOf(req);
          if (req.body === undefined) throw new ConfigWriteError('invalid', [`${section}: the body is the new section value`]);
          const result = await store.write(req.actor.name, (v) => {
            const value = referFileSecrets(unmasked(req.body, v.effective, section), v.base, [section]);
            return { target: `sections.${section}`, action: 'replace', entry: { op: 'replace', value } };
          });
          return written(section, result);
        }),
    },
    {
      method: 'PATCH',
      path,
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const section = sectionOf(req);
          if (!isObject(req.body)) throw new ConfigWriteError('invalid', [`${section}: a PATCH body is a JSON object (a merge patch); use PUT to replace the section`]);
          const body = req.body;
          const result = await store.write(req.actor.name, (v) => {
            const current = v.effective[section];
            if (current !== undefined && !isObject(current)) throw new ConfigWriteError('invalid', [`${section}: this section is not an object; use PUT to replace it`]);
            const patch = referFileSecrets(unmasked(body, v.effective, section), v.base, [section]) as JsonObject;
            const entry = v.overlay.get(`sections.${section}`);
            if (entry?.op === 'replace') {
              const value = referFileSecrets(mergePatch(current, unmasked(body, v.effective, section)), v.base, [section]);
              return { target: `sections.${section}`, action: 'update', entry: { op: 'replace', value } };
            }
            const merged = entry?.op === 'merge' ? composePatches(entry.value, patch) : patch;
            return { target: `sections.${section}`, action: 'update', entry: { op: 'merge', value: merged } };
          });
          return written(section, result);
        }),
    },
    {
      method: 'DELETE',
      path,
      handle: (req) =>
        answering(async () => {
          requireWriter(req);
          const section = sectionOf(req);
          if (store.overlay.get(`sections.${section}`) === undefined) {
            return { status: 200, body: view(section, (reloader.config as unknown as Record<string, unknown>)[section], reloader.generation) };
          }
          const result = await store.write(req.actor.name, () => ({ target: `sections.${section}`, action: 'reset', entry: undefined }));
          return written(section, result);
        }),
    },
  ];
}
