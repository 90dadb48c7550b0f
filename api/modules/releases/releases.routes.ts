import { createRoute, z } from '@hono/zod-openapi';
import { storableText } from '../../../domain/text';
import { componentSchema, deprecateSchema, fromLatestSchema, releaseSchema, releaseUpdateSchema, syncVersionsSchema } from '../../../domain/promotions/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { CompareParams, ComponentSchema, ComponentVersionSchema, IdParam, ReleaseComparisonSchema, ReleaseSchema, ReleaseStateSchema, SyncResultSchema } from './releases.responses';

/** RELMAN: components, their versions, and releases built from them. */

const components = ['Components'];
const releases = ['Releases'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const ON_A_COMPONENT = ['getComponent', 'updateComponent', 'deleteComponent', 'syncComponentVersions', 'listComponentVersions'];
const ON_A_RELEASE = ['getRelease', 'updateRelease', 'deleteRelease', 'getReleaseState', 'deprecateRelease'];
const DUP_COMPONENT = 'A component with this name already exists (`ALREADY_EXISTS`)';
const DUP_RELEASE = 'A release with this name already exists (`ALREADY_EXISTS`)';
const UNRESOLVED =
  'A component or one of its versions is unknown: sync versions first (`COMPONENT_NOT_FOUND`, `VERSION_NOT_FOUND`, `NO_VERSIONS`); or its components are in different pipelines (`RELEASE_PIPELINES_DIFFER`, details.pipelines names each pipeline and its components): a release follows one pipeline';

export const COMPONENT_SORTS = ['name', 'created_at'] as const;
export const RELEASE_SORTS = ['created_at', 'name'] as const;
const nameFilter = storableText().max(100).optional().openapi({ description: 'Exact name (case-insensitive)' });
const ComponentListQuery = paginationQuery.extend({ name: nameFilter, sort: sortParam(COMPONENT_SORTS) });
const ReleaseListQuery = paginationQuery.extend({ name: nameFilter, sort: sortParam(RELEASE_SORTS) });
const LIST_ERRORS = { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' };

export const listComponentsRoute = createRoute({
  method: 'get', path: '/components', operationId: 'listComponents', tags: components, summary: 'List components',
  request: { query: ComponentListQuery },
  responses: { 200: { description: 'A page of components', content: { 'application/json': { schema: listEnvelope(ComponentSchema) } } }, ...errorResponses([400, 403], LIST_ERRORS) },
});
const NO_PIPELINE = 'The `pipelineId` names no pipeline of your tenant (`PIPELINE_NOT_FOUND`, details.field is `pipelineId`)';
const HOOK_403 = 'Without `release:write`, or a body that sets, changes or removes the deploy hook without `deployment:hook-write` (`FORBIDDEN`, `details.required` names the permission)';

export const createComponentRoute = createRoute({
  method: 'post', path: '/components', operationId: 'createComponent', tags: components, summary: 'Create a component',
  request: jsonBody(componentSchema),
  responses: { 201: { ...json(ComponentSchema, 'The component'), links: linksToResource(ON_A_COMPONENT) }, ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 403: HOOK_403, 409: DUP_COMPONENT, 422: NO_PIPELINE }) },
});
export const getComponentRoute = createRoute({
  method: 'get', path: '/components/{id}', operationId: 'getComponent', tags: components, summary: 'Get a component',
  request: { params: IdParam },
  responses: { 200: json(ComponentSchema, 'The component'), ...errorResponses([400, 403, 404]) },
});
export const updateComponentRoute = createRoute({
  method: 'put', path: '/components/{id}', operationId: 'updateComponent', tags: components, summary: 'Replace a component’s fields',
  request: { params: IdParam, ...jsonBody(componentSchema) },
  responses: { 200: json(ComponentSchema, 'The component'), ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 403: HOOK_403, 409: `${DUP_COMPONENT}; or the deploy hook changes while a promotion of a release built on the component is deploying (\`HOOK_IN_USE\`)`, 422: NO_PIPELINE }) },
});
export const deleteComponentRoute = createRoute({
  method: 'delete', path: '/components/{id}', operationId: 'deleteComponent', tags: components, summary: 'Delete a component no release uses',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404, 409], { 409: 'A release uses it (`IN_USE`)' }) },
});
export const syncVersionsRoute = createRoute({
  method: 'post', path: '/components/{id}/sync-versions', operationId: 'syncComponentVersions', tags: components,
  summary: 'Record versions (and digests) of a component; a changed digest updates the releases that use that version and re-gates their open promotions',
  request: { params: IdParam, ...jsonBody(syncVersionsSchema) },
  responses: {
    200: json(SyncResultSchema, 'What was recorded'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 422, 502, 504], {
      422: 'fromRegistry names no integration (`UNKNOWN_INTEGRATION`), one that is not a container registry (`NOT_A_REGISTRY`), or a repository with no tag that reads as a version (`NO_VERSIONS`)',
      502: 'The registry could not be read (`REGISTRY_UNREACHABLE`): details.reason says why',
      504: 'The worker did not answer within the command timeout (`INTEGRATION_CALL_TIMEOUT`)',
    }),
  },
});
export const listVersionsRoute = createRoute({
  method: 'get', path: '/components/{id}/versions', operationId: 'listComponentVersions', tags: components, summary: 'List a component’s versions, newest first',
  request: { params: IdParam },
  responses: { 200: json(z.array(ComponentVersionSchema), 'The versions'), ...errorResponses([400, 403, 404]) },
});

export const listReleasesRoute = createRoute({
  method: 'get', path: '/releases', operationId: 'listReleases', tags: releases, summary: 'List releases, newest first',
  request: { query: ReleaseListQuery },
  responses: { 200: { description: 'A page of releases', content: { 'application/json': { schema: listEnvelope(ReleaseSchema) } } }, ...errorResponses([400, 403], LIST_ERRORS) },
});
export const createReleaseRoute = createRoute({
  method: 'post', path: '/releases', operationId: 'createRelease', tags: releases, summary: 'Create a release; each component’s digest is resolved from its synced versions',
  request: jsonBody(releaseSchema),
  responses: { 201: { ...json(ReleaseSchema, 'The release'), links: linksToResource(ON_A_RELEASE) }, ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 409: DUP_RELEASE, 422: UNRESOLVED }) },
});
export const fromLatestRoute = createRoute({
  method: 'post', path: '/releases/from-latest', operationId: 'createReleaseFromLatest', tags: releases, summary: 'Create a release from each component’s newest synced version (all components, or those named)',
  request: jsonBody(fromLatestSchema),
  responses: { 201: { ...json(ReleaseSchema, 'The release'), links: linksToResource(ON_A_RELEASE) }, ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 409: DUP_RELEASE, 422: UNRESOLVED }) },
});
export const getReleaseRoute = createRoute({
  method: 'get', path: '/releases/{id}', operationId: 'getRelease', tags: releases, summary: 'Get a release',
  request: { params: IdParam },
  responses: { 200: json(ReleaseSchema, 'The release'), ...errorResponses([400, 403, 404]) },
});
export const updateReleaseRoute = createRoute({
  method: 'put', path: '/releases/{id}', operationId: 'updateRelease', tags: releases,
  summary: 'Update a release’s description, class or security scan; open promotions of it are re-gated and approvals given on the old scan stop counting',
  request: { params: IdParam, ...jsonBody(releaseUpdateSchema) },
  responses: { 200: json(ReleaseSchema, 'The release'), ...errorResponses([...BODY_ERRORS, 403, 404]) },
});
export const deleteReleaseRoute = createRoute({
  method: 'delete', path: '/releases/{id}', operationId: 'deleteRelease', tags: releases, summary: 'Delete a release no promotion has used',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404, 409], { 409: 'It was promoted or deployed (`IN_USE`); deprecate it instead' }) },
});
export const releaseStateRoute = createRoute({
  method: 'get', path: '/releases/{id}/state', operationId: 'getReleaseState', tags: releases, summary: 'Where the release is deployed and where it is being promoted',
  request: { params: IdParam },
  responses: { 200: json(ReleaseStateSchema, 'The release’s state'), ...errorResponses([400, 403, 404]) },
});
export const deprecateRoute = createRoute({
  method: 'post', path: '/releases/{id}/deprecate', operationId: 'deprecateRelease', tags: releases, summary: 'Deprecate a release: it can no longer be promoted',
  request: { params: IdParam, ...jsonBody(deprecateSchema, false) },
  responses: { 200: json(ReleaseSchema, 'The release'), ...errorResponses([...BODY_ERRORS, 403, 404]) },
});
export const compareRoute = createRoute({
  method: 'get', path: '/releases/{id}/compare/{otherId}', operationId: 'compareReleases', tags: releases, summary: 'Component versions and digests that differ between two releases',
  request: { params: CompareParams },
  responses: { 200: json(ReleaseComparisonSchema, 'The differences'), ...errorResponses([400, 403, 404]) },
});
