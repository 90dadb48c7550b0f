import { createRoute } from '@hono/zod-openapi';
import { pipelineSchema } from '../../../domain/promotions/pipeline-requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { PipelineIdParam, PipelineSchema } from './pipelines.responses';

/**
 * Promotion pipelines: an ordered set of environments a component's releases
 * move through. A component without one follows the tenant's environment order.
 */

const tags = ['Pipelines'];
const one = (description: string) => ({ description, content: { 'application/json': { schema: envelope(PipelineSchema) } } });
const DUPLICATE = 'A pipeline with this name already exists (`ALREADY_EXISTS`)';
const UNKNOWN_ENVIRONMENTS = 'An environment the body lists does not exist (`ENVIRONMENT_NOT_FOUND`; details.field is `environmentIds`, details.environmentIds names them)';
const FORBIDDEN = 'Without `pipeline:write` (`FORBIDDEN`)';
export const PIPELINE_SORTS = ['name', 'created_at'] as const;
const LIST_ERRORS = { 400: 'A sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' };
const ON_A_PIPELINE = ['getPipeline', 'updatePipeline', 'deletePipeline'] as const;

export const listPipelinesRoute = createRoute({
  method: 'get',
  path: '/pipelines',
  operationId: 'listPipelines',
  tags,
  summary: 'List promotion pipelines, each with its environments in order',
  request: { query: paginationQuery.extend({ sort: sortParam(PIPELINE_SORTS) }) },
  responses: { 200: { description: 'A page of pipelines', content: { 'application/json': { schema: listEnvelope(PipelineSchema) } } }, ...errorResponses([400, 403], LIST_ERRORS) },
});

export const createPipelineRoute = createRoute({
  method: 'post',
  path: '/pipelines',
  operationId: 'createPipeline',
  tags,
  summary: 'Create a pipeline: its environments in promotion order, each at most once',
  request: jsonBody(pipelineSchema),
  responses: {
    201: { ...one('The pipeline'), links: linksToResource(ON_A_PIPELINE) },
    ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 403: FORBIDDEN, 409: DUPLICATE, 422: UNKNOWN_ENVIRONMENTS }),
  },
});

export const getPipelineRoute = createRoute({
  method: 'get',
  path: '/pipelines/{id}',
  operationId: 'getPipeline',
  tags,
  summary: 'Get a pipeline',
  request: { params: PipelineIdParam },
  responses: { 200: one('The pipeline'), ...errorResponses([400, 403, 404], { 404: 'No such pipeline in your tenant (`PIPELINE_NOT_FOUND`)' }) },
});

export const updatePipelineRoute = createRoute({
  method: 'put',
  path: '/pipelines/{id}',
  operationId: 'updatePipeline',
  tags,
  summary: 'Replace a pipeline’s name, description and environments (open promotions of its components are re-gated)',
  request: { params: PipelineIdParam, ...jsonBody(pipelineSchema) },
  responses: {
    200: one('The pipeline'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 403: FORBIDDEN, 404: 'No such pipeline in your tenant (`PIPELINE_NOT_FOUND`)', 409: DUPLICATE, 422: UNKNOWN_ENVIRONMENTS }),
  },
});

export const deletePipelineRoute = createRoute({
  method: 'delete',
  path: '/pipelines/{id}',
  operationId: 'deletePipeline',
  tags,
  summary: 'Delete a pipeline no component follows',
  request: { params: PipelineIdParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses([400, 403, 404, 409], {
      403: FORBIDDEN,
      404: 'No such pipeline in your tenant (`PIPELINE_NOT_FOUND`)',
      409: 'Components still follow it (`IN_USE`; details.components counts them, details.componentNames names up to ten)',
    }),
  },
});
