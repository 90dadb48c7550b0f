import { NotFound } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { findSticker, listStickers } from './version-stickers.queries';
import * as routes from './version-stickers.routes';

/** Every target's version-sticker history, read-only: the deployments' activities write it as tasks succeed. */
export function versionStickersRouter() {
  const router = createRouter();

  router.openapi(routes.listStickersRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, [...routes.STICKER_SORTS], { field: 'deployed_at', direction: 'desc' });
    return okList(c, await listStickers(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.getStickerRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const { id } = c.req.valid('param');
    const found = await findSticker(c.get('deps').pool, tenantId, id);
    if (!found) throw new NotFound(`Version sticker ${id} not found`, 'STICKER_NOT_FOUND');
    return ok(c, found);
  });

  return router;
}
