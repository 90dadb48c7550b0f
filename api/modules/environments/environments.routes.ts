import { createRoute, z } from '@hono/zod-openapi';
import { environmentPatchSchema } from '../../../domain/promotions/inventory-patches';
import { environmentSchema, freezeWindowSchema } from '../../../domain/promotions/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { EnvIdParam, EnvironmentIdParam, EnvironmentSchema, EnvWindowParams, FreezeWindowSchema } from './environments.responses';

/** ENVMGR: environments (the promotion pipeline, by `order`) and their freeze windows. */

const tags = ['Environments'];
const one = (description: string) => ({ description, content: { 'application/json': { schema: envelope(EnvironmentSchema) } } });
const windowOne = (description: string) => ({ description, content: { 'application/json': { schema: envelope(FreezeWindowSchema) } } });
const DUPLICATE = 'An environment with this name or this order already exists (`ALREADY_EXISTS`)';
export const ENVIRONMENT_SORTS = ['order', 'name', 'created_at'] as const;
const LIST_ERRORS = { 400: 'A sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' };

export const listEnvironmentsRoute = createRoute({
  method: 'get',
  path: '/environments',
  operationId: 'listEnvironments',
  tags,
  summary: 'List environments in pipeline order, each with its freeze status',
  request: { query: paginationQuery.extend({ sort: sortParam(ENVIRONMENT_SORTS) }) },
  responses: { 200: { description: 'A page of environments', content: { 'application/json': { schema: listEnvelope(EnvironmentSchema) } } }, ...errorResponses([400, 403], LIST_ERRORS) },
});

const HOOK_403 = 'Without `environment:write`, or a body that sets, changes or removes `deployment.deployHook` without `deployment:hook-write` (`FORBIDDEN`, `details.required` names the permission)';

export const createEnvironmentRoute = createRoute({
  method: 'post',
  path: '/environments',
  operationId: 'createEnvironment',
  tags,
  summary: 'Create an environment',
  request: jsonBody(environmentSchema),
  responses: {
    201: { ...one('The environment'), links: linksToResource(['getEnvironment', 'updateEnvironment', 'patchEnvironment', 'deleteEnvironment']) },
    ...errorResponses([...BODY_ERRORS, 403, 409], { 403: HOOK_403, 409: DUPLICATE }),
  },
});

export const getEnvironmentRoute = createRoute({
  method: 'get',
  path: '/environments/{id}',
  operationId: 'getEnvironment',
  tags,
  summary: 'Get an environment: its settings, whether a freeze is active now, and when the next one starts and ends',
  request: { params: EnvironmentIdParam },
  responses: { 200: one('The environment'), ...errorResponses([400, 403, 404]) },
});

export const updateEnvironmentRoute = createRoute({
  method: 'put',
  path: '/environments/{id}',
  operationId: 'updateEnvironment',
  tags,
  summary: 'Replace an environment’s settings (open promotions to it are re-gated; approvals given under older settings stop counting)',
  request: { params: EnvironmentIdParam, ...jsonBody(environmentSchema) },
  responses: { 200: one('The environment'), ...errorResponses([...BODY_ERRORS, 403, 404, 409], { 403: HOOK_403, 409: `${DUPLICATE}; or \`deployment.deployHook\` changes while a promotion to the environment is deploying (\`HOOK_IN_USE\`)` }) },
});

export const patchEnvironmentRoute = createRoute({
  method: 'patch',
  path: '/environments/{id}',
  operationId: 'patchEnvironment',
  tags,
  summary:
    'Change some of an environment’s settings (merge): fields left out keep their value; deployment settings merge setting by setting (null removes one), each replaced whole (open promotions to it are re-gated)',
  request: { params: EnvironmentIdParam, ...jsonBody(environmentPatchSchema) },
  responses: { 200: one('The environment'), ...errorResponses([...BODY_ERRORS, 403, 404, 409], { 403: HOOK_403, 409: `${DUPLICATE}; or \`deployment.deployHook\` changes while a promotion to the environment is deploying (\`HOOK_IN_USE\`)` }) },
});

export const deleteEnvironmentRoute = createRoute({
  method: 'delete',
  path: '/environments/{id}',
  operationId: 'deleteEnvironment',
  tags,
  summary: 'Delete an environment that no target, agent, policy, promotion, deployment or pipeline refers to',
  request: { params: EnvironmentIdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404, 409], { 409: 'Targets, agents, policies, promotions, deployments or pipelines still refer to it (`IN_USE`; details count each)' }) },
});

export const createFreezeWindowRoute = createRoute({
  method: 'post',
  path: '/environments/{envId}/freeze-windows',
  operationId: 'createFreezeWindow',
  tags,
  summary: 'Add a freeze window: one-off (start, end) or recurring (RFC 5545 rrule, IANA timezone, ISO 8601 duration)',
  request: { params: EnvIdParam, ...jsonBody(freezeWindowSchema) },
  responses: { 201: windowOne('The freeze window'), ...errorResponses([...BODY_ERRORS, 403, 404]) },
});

export const listFreezeWindowsRoute = createRoute({
  method: 'get',
  path: '/environments/{envId}/freeze-windows',
  operationId: 'listFreezeWindows',
  tags,
  summary: 'List an environment’s freeze windows with each one’s next occurrence',
  request: { params: EnvIdParam },
  responses: { 200: { description: 'The windows', content: { 'application/json': { schema: envelope(z.array(FreezeWindowSchema)) } } }, ...errorResponses([400, 403, 404]) },
});

export const deleteFreezeWindowRoute = createRoute({
  method: 'delete',
  path: '/environments/{envId}/freeze-windows/{windowId}',
  operationId: 'deleteFreezeWindow',
  tags,
  summary: 'Remove a freeze window',
  request: { params: EnvWindowParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404]) },
});
