import { createRoute, z } from '@hono/zod-openapi';
import { targetPatchSchema } from '../../../domain/promotions/inventory-patches';
import { targetSchema } from '../../../domain/promotions/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { HealthCheckSchema } from '../../inventory-responses';

/** ENVMGR targets: the hosts a release is deployed to, grouped by environment and labels. */

export const TargetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    environmentId: z.string(),
    labels: z.record(z.string(), z.string()),
    properties: z.record(z.string(), z.string()),
    healthCheck: HealthCheckSchema.nullable().openapi({ description: 'The target’s own health check; null: the environment’s applies' }),
    agentId: z.string().nullable(),
    agentName: z.string().nullable(),
    ciId: z.string().nullable().openapi({ description: 'The configuration item this target is in the CMDB' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Target');

const StickerFields = z.object({
  targetId: z.string(),
  releaseId: z.string(),
  releaseName: z.string(),
  version: z.string(),
  digests: z.record(z.string(), z.string().nullable()).openapi({ description: 'Digest of each component deployed, by component name' }),
  jobId: z.string(),
  taskId: z.string(),
  deployedAt: z.string(),
});
export const StickerSchema = StickerFields.openapi('VersionSticker');

export const DriftSchema = z
  .object({
    targetId: z.string(),
    status: z.enum(['in_sync', 'drifted', 'unknown', 'no_sticker']).openapi({
      description:
        'no_sticker: Tollgate never deployed here; unknown: no agent, no report from the agent, or only one older than AGENT_OFFLINE_AFTER; drifted: the target does not answer its health probe ("Not answering"), or the release or version reported differs from the sticker; in_sync: a fresh report from a target that answers names the sticker’s release and version',
    }),
    // The sticker's fields inline: a named schema used both plain and nullable would be documented as one or the other.
    expected: StickerFields.nullable().openapi({ description: 'The version sticker: what Tollgate deployed' }),
    actual: z
      .object({ releaseId: z.string().nullable(), version: z.string().nullable(), healthy: z.boolean().nullable(), reportedAt: z.string() })
      .nullable()
      .openapi({ description: 'What the agent last reported the target runs' }),
    reasons: z.array(z.string()),
  })
  .openapi('TargetDrift');

const tags = ['Targets'];
const one = (description: string) => ({ description, content: { 'application/json': { schema: envelope(TargetSchema) } } });
const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
const DUPLICATE = 'A target with this name already exists (`ALREADY_EXISTS`)';
const UNRESOLVED = 'The environment does not exist (`ENVIRONMENT_NOT_FOUND`), the agent does not exist in the target’s environment (`AGENT_NOT_FOUND`), or ciId names no CI of this tenant (`UNKNOWN_CI`)';
export const TARGET_SORTS = ['name', 'created_at'] as const;
// Query strings cannot carry half a surrogate pair; NUL is what is left to refuse in the value.
const LABEL_SELECTOR = /^[A-Za-z0-9][A-Za-z0-9._\/-]{0,62}=[^\u0000]{0,256}$/;
export const TargetListQuery = paginationQuery.extend({
  environmentId: z.uuid().optional(),
  label: z
    .string()
    .regex(LABEL_SELECTOR, { message: 'must be a label selector key=value, e.g. role=web' })
    .optional()
    .openapi({ description: 'Label selector key=value, e.g. role=web' }),
  sort: sortParam(TARGET_SORTS),
});

export const listTargetsRoute = createRoute({
  method: 'get',
  path: '/targets',
  operationId: 'listTargets',
  tags,
  summary: 'List targets, optionally by environment and label',
  request: { query: TargetListQuery },
  responses: {
    200: { description: 'A page of targets', content: { 'application/json': { schema: listEnvelope(TargetSchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});
export const createTargetRoute = createRoute({
  method: 'post',
  path: '/targets',
  operationId: 'createTarget',
  tags,
  summary: 'Register a target in an environment',
  request: jsonBody(targetSchema),
  responses: {
    201: { ...one('The target'), links: linksToResource(['getTarget', 'updateTarget', 'patchTarget', 'deleteTarget', 'getTargetSticker', 'getTargetDrift', 'checkTargetHealth']) },
    ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 409: DUPLICATE, 422: UNRESOLVED }),
  },
});
export const getTargetRoute = createRoute({
  method: 'get',
  path: '/targets/{id}',
  operationId: 'getTarget',
  tags,
  summary: 'Get a target',
  request: { params: IdParam },
  responses: { 200: one('The target'), ...errorResponses([400, 403, 404]) },
});
export const updateTargetRoute = createRoute({
  method: 'put',
  path: '/targets/{id}',
  operationId: 'updateTarget',
  tags,
  summary: 'Replace a target’s name, environment, labels, properties and health check, and assign its agent',
  request: { params: IdParam, ...jsonBody(targetSchema) },
  responses: { 200: one('The target'), ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 409: DUPLICATE, 422: UNRESOLVED }) },
});
export const patchTargetRoute = createRoute({
  method: 'patch',
  path: '/targets/{id}',
  operationId: 'patchTarget',
  tags,
  summary:
    'Change some of a target’s fields (merge): fields left out keep their value; labels and properties merge key by key (null removes a key); a health check given replaces the old one whole',
  request: { params: IdParam, ...jsonBody(targetPatchSchema) },
  responses: { 200: one('The target'), ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 409: DUPLICATE, 422: UNRESOLVED }) },
});
export const deleteTargetRoute = createRoute({
  method: 'delete',
  path: '/targets/{id}',
  operationId: 'deleteTarget',
  tags,
  summary: 'Remove a target',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404]) },
});

export const getStickerRoute = createRoute({
  method: 'get',
  path: '/targets/{id}/sticker',
  operationId: 'getTargetSticker',
  tags,
  summary: 'The target’s version sticker: the release, version and digests Tollgate last deployed to it, by which job, when',
  request: { params: IdParam },
  responses: {
    200: { description: 'The sticker', content: { 'application/json': { schema: envelope(StickerSchema) } } },
    ...errorResponses([400, 403, 404], { 404: 'No such target (`NOT_FOUND`), or nothing was deployed to it yet (`NO_STICKER`)' }),
  },
});
export const getDriftRoute = createRoute({
  method: 'get',
  path: '/targets/{id}/drift',
  operationId: 'getTargetDrift',
  tags,
  summary: 'Compare the target’s version sticker with what its agent reports it actually runs',
  request: { params: IdParam },
  responses: { 200: { description: 'The comparison', content: { 'application/json': { schema: envelope(DriftSchema) } } }, ...errorResponses([400, 403, 404]) },
});
