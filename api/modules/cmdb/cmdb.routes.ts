import { createRoute } from '@hono/zod-openapi';
import { bulkCiRequestSchema, createCiSchema, createRelationshipSchema, patchCiSchema } from '../../../domain/cmdb/requests';
import { BODY_ERRORS, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource, listEnvelope } from '../../openapi-helpers';
import {
  CiBulkJobIdParam,
  CiBulkJobSchema,
  CiIdParam,
  CiListQuery,
  CiSchema,
  ImpactQuery,
  ImpactSchema,
  RelationshipListQuery,
  RelationshipParams,
  RelationshipSchema,
} from './cmdb.responses';

/** The CMDB API as both OpenAPI documents describe it: every status an operation can answer, with its codes. */

const tags = ['CMDB'];

const OPERATIONS_ON_A_CI = ['getCi', 'patchCi', 'deleteCi', 'listCiRelationships', 'createCiRelationship', 'getCiImpact'] as const;

const ciResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: envelope(CiSchema) } },
  links: linksToResource(OPERATIONS_ON_A_CI),
});

const codes = (list: string[]) => list.map((c) => `\`${c}\``).join(', ');
const NOT_FOUND = 'No configuration item with this id in your tenant';
const KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';
const WRITE = 'The caller lacks cmdb:write';

export const listCisRoute = createRoute({
  method: 'get',
  path: '/cmdb/cis',
  operationId: 'listCis',
  tags,
  summary: 'List configuration items with filters',
  description:
    'Filters combine with AND; an empty filter value means no filter. `attr.<key>=<value>` (repeatable) keeps CIs whose attribute equals the value ' +
    '(a number or true/false matches the number or boolean as well as the text), e.g. `attr.engine=postgres`; `<key>` is lower-case letters, digits and _. ' +
    'Pages by cursor (next_cursor) or by page number.',
  request: { query: CiListQuery },
  responses: {
    200: { description: 'A page of configuration items', content: { 'application/json': { schema: listEnvelope(CiSchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid (an `attr.` key included), or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});

export const createCiRoute = createRoute({
  method: 'post',
  path: '/cmdb/cis',
  operationId: 'createCi',
  tags,
  summary: 'Create a configuration item',
  description: 'attributes are checked against the class (each class has its own attributes; an unknown one is refused, naming the known ones).',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createCiSchema) },
  responses: {
    201: {
      ...ciResponse('The new configuration item'),
      headers: { Location: { description: 'The URL of the new CI', schema: { type: 'string' } } },
    },
    ...errorResponses([...BODY_ERRORS], {
      403: WRITE,
      404: 'A retry with the Idempotency-Key of an earlier create whose CI has since been deleted',
      409: `A CI of this name already exists in this environment; codes: ${codes(['ALREADY_EXISTS'])}`,
      422: `The Idempotency-Key was first used for another request; codes: ${codes([KEY_REUSED])}`,
    }),
  },
});

export const getCiRoute = createRoute({
  method: 'get',
  path: '/cmdb/cis/{id}',
  operationId: 'getCi',
  tags,
  summary: 'Get a configuration item',
  request: { params: CiIdParam },
  responses: { 200: ciResponse('The configuration item'), ...errorResponses([400, 403], { 404: NOT_FOUND }) },
});

export const patchCiRoute = createRoute({
  method: 'patch',
  path: '/cmdb/cis/{id}',
  operationId: 'patchCi',
  tags,
  summary: 'Update configuration item fields',
  description: 'attributes merge key by key (null removes a key); the result must fit the class the CI has afterwards.',
  request: { params: CiIdParam, ...jsonBody(patchCiSchema.openapi({ minProperties: 1 } as object)) },
  responses: {
    200: ciResponse('The updated configuration item'),
    ...errorResponses(BODY_ERRORS, {
      403: WRITE,
      404: NOT_FOUND,
      409: `Another CI of this name already exists in this environment; codes: ${codes(['ALREADY_EXISTS'])}`,
    }),
  },
});

export const deleteCiRoute = createRoute({
  method: 'delete',
  path: '/cmdb/cis/{id}',
  operationId: 'deleteCi',
  tags,
  summary: 'Delete a configuration item and its relationships',
  request: { params: CiIdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400], { 403: WRITE, 404: NOT_FOUND }) },
});

export const listRelationshipsRoute = createRoute({
  method: 'get',
  path: '/cmdb/cis/{id}/relationships',
  operationId: 'listCiRelationships',
  tags,
  summary: 'List the relationships a CI is part of, oldest first',
  request: { params: CiIdParam, query: RelationshipListQuery },
  responses: {
    200: { description: 'A page of relationships', content: { 'application/json': { schema: listEnvelope(RelationshipSchema) } } },
    ...errorResponses([400, 403], { 404: NOT_FOUND }),
  },
});

export const createRelationshipRoute = createRoute({
  method: 'post',
  path: '/cmdb/cis/{id}/relationships',
  operationId: 'createCiRelationship',
  tags,
  summary: 'Relate this CI to one it needs (depends_on, runs_on, part_of)',
  description: 'This CI is the source: when target_id goes down, this CI is affected. Cycles are allowed (the impact walk is cycle-safe).',
  request: { params: CiIdParam, ...jsonBody(createRelationshipSchema) },
  responses: {
    201: { description: 'The new relationship', content: { 'application/json': { schema: envelope(RelationshipSchema) } } },
    ...errorResponses(BODY_ERRORS, {
      403: WRITE,
      404: NOT_FOUND,
      409: `The same relationship exists already; codes: ${codes(['ALREADY_EXISTS'])}`,
      422: `target_id names no CI of this tenant, or this CI itself; codes: ${codes(['UNKNOWN_CI', 'SELF_RELATIONSHIP'])}`,
    }),
  },
});

export const deleteRelationshipRoute = createRoute({
  method: 'delete',
  path: '/cmdb/cis/{id}/relationships/{relationshipId}',
  operationId: 'deleteCiRelationship',
  tags,
  summary: 'Delete a relationship this CI is part of',
  request: { params: RelationshipParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400], { 403: WRITE, 404: 'No such CI, or no such relationship on it' }) },
});

export const impactRoute = createRoute({
  method: 'get',
  path: '/cmdb/cis/{id}/impact',
  operationId: 'getCiImpact',
  tags,
  summary: 'What breaks if this CI goes down',
  description:
    'Walks the relationships backwards from this CI (whatever depends_on, runs_on or is part_of it, transitively) up to depth hops. ' +
    'Each affected CI is listed once, at its shortest depth, with the path that reaches it; cycles end a path instead of looping.',
  request: { params: CiIdParam, query: ImpactQuery },
  responses: {
    200: { description: 'The affected CIs, nearest first', content: { 'application/json': { schema: envelope(ImpactSchema) } } },
    ...errorResponses([400, 403], { 404: NOT_FOUND }),
  },
});

export const bulkCisRoute = createRoute({
  method: 'post',
  path: '/cmdb/cis/bulk',
  operationId: 'bulkCis',
  tags,
  summary: 'Bulk create or update configuration items (up to 100 records; asynchronous)',
  description:
    'Answers 202 with the job at once; poll GET /cmdb/cis/bulk/{jobId}. Each record is validated and applied on its own, so a bad ' +
    'record fails alone with the error the single-record call would give. Not subject to the per-request rate limit: each record spends one ' +
    'from a per-user budget of records (1000 a minute unless the deployment says otherwise), refused requests included; past it, 429.',
  request: { headers: idempotencyKeyHeader, ...jsonBody(bulkCiRequestSchema) },
  responses: {
    202: {
      description: 'The job, queued',
      headers: { Location: { description: 'The URL to poll', schema: { type: 'string' } } },
      content: { 'application/json': { schema: envelope(CiBulkJobSchema) } },
      links: linksToResource(['getCiBulkJob'], 'jobId'),
    },
    ...errorResponses([...BODY_ERRORS], {
      400: 'The body does not match this document: an unknown operation, no records or more than 100',
      403: WRITE,
      422: `The Idempotency-Key was first used for another request; codes: ${codes([KEY_REUSED])}`,
    }),
  },
});

export const bulkJobRoute = createRoute({
  method: 'get',
  path: '/cmdb/cis/bulk/{jobId}',
  operationId: 'getCiBulkJob',
  tags,
  summary: 'Status, counts and per-record results of a CMDB bulk job',
  request: { params: CiBulkJobIdParam },
  responses: {
    200: { description: 'The job', content: { 'application/json': { schema: envelope(CiBulkJobSchema) } } },
    ...errorResponses([400, 403], { 404: 'No CMDB bulk job with this id in your tenant' }),
  },
});
