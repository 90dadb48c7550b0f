import { createRoute, z } from '@hono/zod-openapi';
import { createRollbackSchema } from '../../../domain/deployments/job-requests';
import { BODY_ERRORS, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource, listEnvelope } from '../../openapi-helpers';
import { sortablePaginationQuery } from '../../pagination';
import { IdParam, RollbackSchema } from './deployments.responses';
import { emptyIsNone } from '../../list-filters';

/** DEPLOY: rollbacks redeploy an environment's previous good release (or a chosen one) as a new deployment job. */

const tags = ['Rollbacks'];

export const createRollbackRoute = createRoute({
  method: 'post',
  path: '/rollbacks',
  operationId: 'createRollback',
  tags,
  summary: 'Redeploy the release an environment ran before its current one (or another release it ran before) as a new job',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createRollbackSchema) },
  responses: {
    201: {
      description: 'The rollback and the job that carries it out (follow it at /deployment-jobs/{jobId})',
      content: { 'application/json': { schema: envelope(RollbackSchema) } },
      links: linksToResource(['getDeploymentJob', 'listDeploymentTasks'], 'id', 'jobId'),
    },
    ...errorResponses([...BODY_ERRORS, 403, 404, 422], {
      403: 'Without `deployment:operate` (`FORBIDDEN`), or during an active freeze of the environment without `deployment:override-freeze` (`FREEZE_ACTIVE`, with the freeze in `details.freeze`)',
      404: 'The environment or release does not exist in your tenant (`ENVIRONMENT_NOT_FOUND`, `RELEASE_NOT_FOUND`)',
      422:
        'Nothing to go back to: no release was deployed to the environment before its current one (`NO_PREVIOUS_RELEASE`); the release named never finished deploying to the environment, so it is a promotion, not a rollback (`NOT_A_PREVIOUS_RELEASE`); or `IDEMPOTENCY_KEY_REUSED`',
    }),
  },
});

export const listRollbacksRoute = createRoute({
  method: 'get',
  path: '/rollbacks',
  operationId: 'listRollbacks',
  tags,
  summary: 'List rollbacks, newest first',
  request: { query: sortablePaginationQuery(['created_at']).extend({ environmentId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by environment' }) }) },
  responses: { 200: { description: 'A page of rollbacks', content: { 'application/json': { schema: listEnvelope(RollbackSchema) } } }, ...errorResponses([400, 403]) },
});

export const getRollbackRoute = createRoute({
  method: 'get',
  path: '/rollbacks/{id}',
  operationId: 'getRollback',
  tags,
  summary: 'Get a rollback (its job is at /deployment-jobs/{jobId})',
  request: { params: IdParam },
  responses: {
    200: { description: 'The rollback', content: { 'application/json': { schema: envelope(RollbackSchema) } }, links: linksToResource(['getDeploymentJob', 'listDeploymentTasks'], 'id', 'jobId') },
    ...errorResponses([400, 403, 404]),
  },
});
