import { createRoute, z } from '@hono/zod-openapi';
import { emptyIsNone } from '../../list-filters';
import { envelope, errorResponses, listEnvelope } from '../../openapi-helpers';
import { sortablePaginationQuery } from '../../pagination';
import { IdParam, StickerEntrySchema } from './version-stickers.responses';

/** RELEVI: every version sticker each target has had, from the deployments module's history. */

const tags = ['Release evidence'];

export const STICKER_SORTS = ['deployed_at'] as const;
export const StickerListQuery = sortablePaginationQuery(STICKER_SORTS).extend({
  environmentId: emptyIsNone(z.uuid()).openapi({ description: 'Stickers of this environment’s targets' }),
  targetId: emptyIsNone(z.uuid()).openapi({ description: 'Stickers of this target' }),
  releaseId: emptyIsNone(z.uuid()).openapi({ description: 'Stickers naming this release' }),
});

export const listStickersRoute = createRoute({
  method: 'get',
  path: '/version-stickers',
  operationId: 'listVersionStickers',
  tags,
  summary: 'Version-sticker history: what Tollgate deployed to each target, when and by which job, newest first',
  request: { query: StickerListQuery },
  responses: {
    200: { description: 'A page of sticker entries', content: { 'application/json': { schema: listEnvelope(StickerEntrySchema) } } },
    ...errorResponses([400, 403]),
  },
});

export const getStickerRoute = createRoute({
  method: 'get',
  path: '/version-stickers/{id}',
  operationId: 'getVersionSticker',
  tags,
  summary: 'One sticker entry (its id is the deployment task that made it)',
  request: { params: IdParam },
  responses: {
    200: { description: 'The sticker entry', content: { 'application/json': { schema: envelope(StickerEntrySchema) } } },
    ...errorResponses([400, 403, 404], { 404: 'No sticker entry with this id in your tenant (`STICKER_NOT_FOUND`)' }),
  },
});
