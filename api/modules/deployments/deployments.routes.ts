import { createRoute, z } from '@hono/zod-openapi';
import { cancelDeploymentJobSchema, operatorActionSchema, operatorActionWithReasonSchema } from '../../../domain/deployments/job-requests';
import { JOB_STATUSES } from '../../../domain/deployments/model';
import { BODY_ERRORS, commandRoute, envelope, errorResponses, linksToResource, listEnvelope } from '../../openapi-helpers';
import { sortablePaginationQuery } from '../../pagination';
import {
  ArtifactParams,
  ArtifactSchema,
  DeploymentJobSchema,
  DeploymentTaskDetailSchema,
  DeploymentTaskSchema,
  IdParam,
  TaskLogSchema,
  TaskParams,
} from './deployments.responses';
import { emptyIsNone } from '../../list-filters';

/** DEPLOY: deployment jobs, their tasks, logs and artifacts, and the operator's answers to a paused job. */

const tags = ['Deployments'];
const ON_A_JOB = ['getDeploymentJob', 'listDeploymentTasks', 'listDeploymentArtifacts', 'cancelDeploymentJob'] as const;
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const jobResponse = (description: string) => ({ ...json(DeploymentJobSchema, description), links: linksToResource(ON_A_JOB) });

export const JOB_SORTS = ['created_at'] as const;
export const JobListQuery = sortablePaginationQuery(JOB_SORTS).extend({
  status: emptyIsNone(z.enum(JOB_STATUSES)).openapi({ description: 'Filter by status' }),
  environmentId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by environment' }),
  releaseId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by the release deployed' }),
  promotionId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by the promotion that started the job' }),
  kind: emptyIsNone(z.enum(['promotion', 'rollback', 'rollout'])).openapi({ description: 'promotion, rollback, or rollout (a rollout\'s canary targets)' }),
});

export const listJobsRoute = createRoute({
  method: 'get',
  path: '/deployment-jobs',
  operationId: 'listDeploymentJobs',
  tags,
  summary: 'List deployment jobs, newest first',
  request: { query: JobListQuery },
  responses: { 200: { description: 'A page of jobs', content: { 'application/json': { schema: listEnvelope(DeploymentJobSchema) } } }, ...errorResponses([400, 403]) },
});

export const getJobRoute = createRoute({
  method: 'get',
  path: '/deployment-jobs/{id}',
  operationId: 'getDeploymentJob',
  tags,
  summary: 'Get a deployment job: status, progress, the failure it is paused on, operator decisions',
  description:
    'To follow a job live, open the WebSocket `GET /api/v1/deployment-jobs/{id}/stream` (bearer token in the Authorization header, or `?access_token=` from a browser; ' +
    '`?logs=new` to skip the log so far): a `{type: "snapshot", job, tasks}` message, then `job`, `task`, `log` (`{taskId, offset, data}`) and `artifact` messages as the job moves; ' +
    'the socket closes with 1000 once the job has finished. An agent’s tasks stream the same way from `GET /api/v1/agents/{id}/task-stream`.',
  request: { params: IdParam },
  responses: {
    200: jobResponse('The job'),
    ...errorResponses([400, 403, 404], { 503: 'A dependency is unavailable, or a job just started cannot be read yet (`JOB_NOT_READABLE`); retry' }),
  },
});

export const listTasksRoute = createRoute({
  method: 'get',
  path: '/deployment-jobs/{id}/tasks',
  operationId: 'listDeploymentTasks',
  tags,
  summary: 'Every task of the job (deploy and rollback tasks, each attempt), in the order they were created',
  request: { params: IdParam },
  responses: { 200: json(z.array(DeploymentTaskSchema), 'The tasks'), ...errorResponses([400, 403, 404]) },
});

export const getTaskRoute = createRoute({
  method: 'get',
  path: '/deployment-jobs/{id}/tasks/{taskId}',
  operationId: 'getDeploymentTask',
  tags,
  summary: 'One task, with its log size and cap, how a cancelled hook was stopped, and its ledger claim',
  request: { params: TaskParams },
  responses: { 200: json(DeploymentTaskDetailSchema, 'The task'), ...errorResponses([400, 403, 404]) },
});

export const LOG_PAGE_MAX = 1_048_576;
export const getTaskLogsRoute = createRoute({
  method: 'get',
  path: '/deployment-jobs/{id}/tasks/{taskId}/logs',
  operationId: 'getDeploymentTaskLogs',
  tags,
  summary: 'The task’s log from an offset (characters); follow it by asking again from nextOffset until complete',
  request: {
    params: TaskParams,
    query: z.object({
      offset: z.coerce.number().int().min(0).max(2_147_483_647).default(0).openapi({ description: 'Where to start, in characters (0 = the beginning)' }),
      limit: z.coerce.number().int().min(1).max(LOG_PAGE_MAX).default(65_536).openapi({ description: `At most this many characters (max ${LOG_PAGE_MAX}); the marker line of a capped log’s dropped text is never split, so a page that starts with it may be longer` }),
    }),
  },
  responses: { 200: json(TaskLogSchema, 'Log text from offset'), ...errorResponses([400, 403, 404]) },
});

export const listArtifactsRoute = createRoute({
  method: 'get',
  path: '/deployment-jobs/{id}/artifacts',
  operationId: 'listDeploymentArtifacts',
  tags,
  summary: 'Files the deploy hooks left in $TOLLGATE_ARTIFACTS_DIR, with size and sha256',
  request: { params: IdParam },
  responses: { 200: json(z.array(ArtifactSchema), 'The artifacts, oldest first'), ...errorResponses([400, 403, 404]) },
});

export const downloadArtifactRoute = createRoute({
  method: 'get',
  path: '/deployment-jobs/{id}/artifacts/{artifactId}',
  operationId: 'downloadDeploymentArtifact',
  tags,
  summary: 'The artifact’s bytes',
  request: { params: ArtifactParams },
  responses: {
    200: {
      description: 'The content as stored',
      headers: {
        'Content-Disposition': { description: 'attachment; filename="<name>"', schema: { type: 'string' } },
        ETag: { description: '"sha256-<hex>"', schema: { type: 'string' } },
        Digest: { description: 'sha-256=<base64> (RFC 3230)', schema: { type: 'string' } },
      },
      content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
    },
    ...errorResponses([400, 403, 404]),
  },
});

const commandErrors = errorResponses([...BODY_ERRORS, 403, 404, 409, 422], {
  403: 'Without `deployment:operate` (`FORBIDDEN`); a retry during an active freeze of the environment without `deployment:override-freeze` (`FREEZE_ACTIVE`)',
  409: 'The job is not paused (`JOB_NOT_PAUSED`), that failure was already answered or is not the one it waits on (`FAILURE_ALREADY_DECIDED`), or the job has finished (`JOB_FINISHED`), or its workflow was ended outside Tollgate (`WORKFLOW_ENDED_OUTSIDE`: details say how, by whom and when)',
  422: 'A retry during an active freeze without a reason (`FREEZE_OVERRIDE_NEEDS_REASON`), or `IDEMPOTENCY_KEY_REUSED`',
});

/** An operator's answer to a job answers the job as the workflow left it. */
const commandResponses = () => ({ 200: jobResponse('The job as the workflow left it'), ...commandErrors });

export const retryRoute = commandRoute({
  path: '/deployment-jobs/{id}/retry',
  operationId: 'retryDeploymentTask',
  tags,
  summary: 'Paused job: run the failed target again (a new attempt)',
  params: IdParam,
  body: operatorActionSchema,
  responses: commandResponses(),
});
export const skipRoute = commandRoute({
  path: '/deployment-jobs/{id}/skip',
  operationId: 'skipDeploymentTask',
  tags,
  summary: 'Paused job: leave the failed target as it is and go on',
  params: IdParam,
  body: operatorActionSchema,
  responses: commandResponses(),
});
export const rollbackRoute = commandRoute({
  path: '/deployment-jobs/{id}/rollback',
  operationId: 'rollbackDeploymentJob',
  tags,
  summary: 'Paused job: return every updated target to the release it ran before (reason required)',
  params: IdParam,
  body: operatorActionWithReasonSchema,
  responses: commandResponses(),
});
export const abortRoute = commandRoute({
  path: '/deployment-jobs/{id}/abort',
  operationId: 'abortDeploymentJob',
  tags,
  summary: 'Paused job: stop here, leaving targets as they are (reason required)',
  params: IdParam,
  body: operatorActionWithReasonSchema,
  responses: commandResponses(),
});
export const cancelRoute = commandRoute({
  path: '/deployment-jobs/{id}/cancel',
  operationId: 'cancelDeploymentJob',
  tags,
  summary: 'Stop the job: running hooks get SIGTERM, then SIGKILL after the grace period',
  params: IdParam,
  body: cancelDeploymentJobSchema,
  required: false,
  responses: commandResponses(),
});
