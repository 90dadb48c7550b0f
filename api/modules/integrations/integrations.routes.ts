import { createRoute, z } from '@hono/zod-openapi';
import { integrationSchema } from '../../../domain/integrations/requests';
import { INTEGRATION_TYPE_IDS } from '../../../domain/integrations/types';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { CallResultSchema, IdParam, IntegrationHealthSchema, IntegrationSchema, IntegrationTypeSchema, TypeIdParam } from './integrations.responses';

/** INTHUB: integrations (registries, notifiers, gates, metric and traffic providers) and their types. */

const tags = ['Integrations'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const ON_ONE = ['getIntegration', 'updateIntegration', 'deleteIntegration', 'testIntegration', 'discoverIntegration', 'getIntegrationHealth'];
const BAD_BODY = 'The body does not match this document (`VALIDATION_FAILED`), e.g. an unknown type, or is not valid JSON (`MALFORMED_JSON`)';
const BAD_CONFIG = 'The config does not match its type’s schema (`INVALID_CONFIG`): validationErrors lists every field under `config.`';
const BAD_EVENTS = 'an event is not one a notifier can take, or events are given to an integration that is not a notifier (`INVALID_EVENTS`): validationErrors names each (`events.<i>`)';
const DUPLICATE = 'An integration with this name already exists (`ALREADY_EXISTS`)';
const CALL_504 = 'The worker did not answer within the command timeout (`INTEGRATION_CALL_TIMEOUT`); the call goes on in its workflow';
const CALL =
  'Runs as a Temporal activity on the orchestrator worker, bounded by the integration’s timeoutMs per HTTP call. The integration’s own failure is an answer: 200 with `ok: false` and the reason (e.g. `connect ECONNREFUSED 127.0.0.1:5000`).';

export const INTEGRATION_SORTS = ['created_at'] as const;
const ListQuery = paginationQuery.extend({
  typeId: z.enum(INTEGRATION_TYPE_IDS as [string, ...string[]]).optional().openapi({ description: 'Only integrations of this type' }),
  sort: sortParam(INTEGRATION_SORTS),
});

export const listTypesRoute = createRoute({
  method: 'get', path: '/integration-types', operationId: 'listIntegrationTypes', tags, summary: 'The integration types, each with its config as JSON Schema',
  responses: { 200: json(z.array(IntegrationTypeSchema), 'Every type'), ...errorResponses([403]) },
});

export const getTypeRoute = createRoute({
  method: 'get', path: '/integration-types/{typeId}', operationId: 'getIntegrationType', tags, summary: 'One integration type',
  request: { params: TypeIdParam },
  responses: { 200: json(IntegrationTypeSchema, 'The type'), ...errorResponses([400, 403, 404], { 404: 'No type of that id (`NOT_FOUND`)' }) },
});

export const listRoute = createRoute({
  method: 'get', path: '/integrations', operationId: 'listIntegrations', tags, summary: 'List integrations, newest first',
  request: { query: ListQuery },
  responses: {
    200: { description: 'A page of integrations', content: { 'application/json': { schema: listEnvelope(IntegrationSchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});

export const createRoute_ = createRoute({
  method: 'post', path: '/integrations', operationId: 'createIntegration', tags,
  summary: 'Create an integration; its config is validated against its type’s schema, secrets are stored encrypted and never returned; its periodic health check starts',
  request: jsonBody(integrationSchema),
  responses: { 201: { ...json(IntegrationSchema, 'The integration'), links: linksToResource(ON_ONE) }, ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 400: BAD_BODY, 409: DUPLICATE, 422: `${BAD_CONFIG}; or ${BAD_EVENTS}` }) },
});

export const getRoute = createRoute({
  method: 'get', path: '/integrations/{id}', operationId: 'getIntegration', tags, summary: 'Get an integration (secrets shown only as set or not)',
  request: { params: IdParam },
  responses: { 200: json(IntegrationSchema, 'The integration'), ...errorResponses([400, 403, 404]) },
});

export const updateRoute = createRoute({
  method: 'put', path: '/integrations/{id}', operationId: 'updateIntegration', tags,
  summary: 'Replace an integration’s name, description and config; a secret field left out keeps its stored value',
  request: { params: IdParam, ...jsonBody(integrationSchema) },
  responses: {
    200: json(IntegrationSchema, 'The integration'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 400: BAD_BODY, 409: DUPLICATE, 422: `${BAD_CONFIG}; or ${BAD_EVENTS}; or the body names another type than the integration’s (\`TYPE_CHANGE\`): create a new integration instead` }),
  },
});

export const deleteRoute = createRoute({
  method: 'delete', path: '/integrations/{id}', operationId: 'deleteIntegration', tags, summary: 'Delete an integration and its health schedule',
  request: { params: IdParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses([400, 403, 404, 409], { 409: 'An approval policy names the integration as an http gate (`INTEGRATION_IN_USE`; `details.policies` lists them by id and name)' }),
  },
});

export const testRoute = createRoute({
  method: 'post', path: '/integrations/{id}/test', operationId: 'testIntegration', tags, summary: 'Check that Tollgate can reach the integration with its config now', description: CALL,
  request: { params: IdParam },
  responses: { 200: json(CallResultSchema, 'Whether it answered, or why not'), ...errorResponses([400, 403, 404, 504], { 504: CALL_504 }) },
});

export const discoverRoute = createRoute({
  method: 'post', path: '/integrations/{id}/discover', operationId: 'discoverIntegration', tags,
  summary: 'List what the integration offers: a registry’s repositories with their tags and digests, a metric provider’s metric names', description: CALL,
  request: { params: IdParam },
  responses: {
    200: json(CallResultSchema, 'What was found, or why nothing could be'),
    ...errorResponses([400, 403, 404, 422, 504], { 422: 'The integration’s type has nothing to discover (`DISCOVER_UNSUPPORTED`)', 504: CALL_504 }),
  },
});

export const healthRoute = createRoute({
  method: 'get', path: '/integrations/{id}/health', operationId: 'getIntegrationHealth', tags,
  summary: 'The last answer of the integration’s periodic health check (a durable Temporal Schedule, every INTEGRATION_HEALTH_INTERVAL)',
  request: { params: IdParam },
  responses: { 200: json(IntegrationHealthSchema, 'The last check'), ...errorResponses([400, 403, 404]) },
});
