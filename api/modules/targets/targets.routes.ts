import { createRoute, z } from '@hono/zod-openapi';
import { targetSchema } from '../../../domain/promotions/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';

/** ENVMGR targets: the hosts a release is deployed to, grouped by environment and labels. */

export const TargetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    environmentId: z.string(),
    labels: z.record(z.string(), z.string()),
    agentId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Target');

const tags = ['Targets'];
const one = (description: string) => ({ description, content: { 'application/json': { schema: envelope(TargetSchema) } } });
const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
const DUPLICATE = 'A target with this name already exists (`ALREADY_EXISTS`)';
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
    201: { ...one('The target'), links: linksToResource(['getTarget', 'updateTarget', 'deleteTarget']) },
    ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 409: DUPLICATE, 422: 'The environment does not exist (`ENVIRONMENT_NOT_FOUND`)' }),
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
  summary: 'Replace a target’s name, environment and labels',
  request: { params: IdParam, ...jsonBody(targetSchema) },
  responses: { 200: one('The target'), ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 409: DUPLICATE, 422: 'The environment does not exist (`ENVIRONMENT_NOT_FOUND`)' }) },
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
