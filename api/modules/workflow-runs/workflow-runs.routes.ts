import { createRoute, z } from '@hono/zod-openapi';
import { instant } from '../../../domain/instant';
import { RUN_STATUSES } from '../../../domain/templates/model';
import { createRunSchema, runCommandSchema, stepDecisionSchema } from '../../../domain/templates/run-requests';
import { ENDED_OUTSIDE } from '../../ended-outside';
import { emptyIsNone } from '../../list-filters';
import { BODY_ERRORS, commandRoute, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource, listEnvelope } from '../../openapi-helpers';
import { sortablePaginationQuery } from '../../pagination';
import { ArtifactParams, IdParam, NodeParams, RunArtifactSchema, RunLogPageSchema, RunNodeSchema, WorkflowRunSchema } from './workflow-runs.responses';

/** WORKFL: runs of workflow templates, their steps, logs and artifacts, and the commands on a run. */

const tags = ['Workflow runs'];
const ON_A_RUN = ['getWorkflowRun', 'pauseWorkflowRun', 'resumeWorkflowRun', 'cancelWorkflowRun', 'listWorkflowRunSteps'] as const;
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const runResponse = (description: string) => ({ ...json(WorkflowRunSchema, description), links: linksToResource(ON_A_RUN) });
const KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';
const RUN_404 = 'No run with this id in your tenant (`RUN_NOT_FOUND`)';
const NODE_404 = 'No run with this id in your tenant (`RUN_NOT_FOUND`), or the run’s template has no node with this id (`NODE_NOT_FOUND`)';

export const RUN_SORTS = ['created_at'] as const;
export const RunListQuery = sortablePaginationQuery(RUN_SORTS).extend({
  templateId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by template' }),
  status: emptyIsNone(z.enum(RUN_STATUSES)).openapi({ description: 'Filter by status' }),
  createdAfter: instant().optional().openapi({ description: 'Runs created at or after this instant' }),
  createdBefore: instant().optional().openapi({ description: 'Runs created before this instant' }),
});

export const listRunsRoute = createRoute({
  method: 'get',
  path: '/workflow-runs',
  operationId: 'listWorkflowRuns',
  tags,
  summary: 'List runs, newest first',
  request: { query: RunListQuery },
  responses: { 200: { description: 'A page of runs', content: { 'application/json': { schema: listEnvelope(WorkflowRunSchema) } } }, ...errorResponses([400, 403]) },
});

export const createRunRoute = createRoute({
  method: 'post',
  path: '/workflow-runs',
  operationId: 'createWorkflowRun',
  tags,
  summary: 'Run a template: its current version (or `version`) with the parameters checked against its declarations (status running, every node pending)',
  description:
    'Parameters left out take their defaults; one without a default is required. To follow the run live, open the WebSocket `GET /api/v1/workflow-runs/{id}/stream` ' +
    '(bearer token in the Authorization header, or `?access_token=`; `?logs=new` to skip the lines logged so far): a `{type: "snapshot", run}` message, then `run` messages ' +
    'when node statuses move and `log` messages (`{nodeId, itemIndex, seq, stream, line, at}`) as steps log; the socket closes with 1000 once the run has finished.',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createRunSchema) },
  responses: {
    201: runResponse('The run, started'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 422], {
      400: 'The body is malformed, or parameters do not match the template’s declarations (`VALIDATION_FAILED`; each problem names `parameters.<name>`: required, invalid_type, invalid_value, unknown_parameter)',
      403: 'The caller lacks template-run:create (FORBIDDEN), or a permission a step of the template needs, since steps act as the requester (STEP_NOT_PERMITTED: promote needs promotion:create, deploy and script deployment:operate, change-request change:create, rollout rollout:operate, gate promotion:read)',
      404: 'No template with this id in your tenant (`TEMPLATE_NOT_FOUND`), or it has no such version (`TEMPLATE_VERSION_NOT_FOUND`)',
      422: `The template version no longer validates (\`TEMPLATE_INVALID\`, details.problems lists each with its node and field), or \`${KEY_REUSED}\``,
    }),
  },
});

export const getRunRoute = createRoute({
  method: 'get',
  path: '/workflow-runs/{id}',
  operationId: 'getWorkflowRun',
  tags,
  summary: 'Get a run: its status and each node’s status, attempts, times and outputs',
  request: { params: IdParam },
  responses: { 200: runResponse('The run'), ...errorResponses([400, 403, 404], { 404: RUN_404 }) },
});

const commandErrors = (what: string) =>
  errorResponses([...BODY_ERRORS, 403, 404, 409, 422], {
    403: 'The caller lacks template-run:operate',
    404: RUN_404,
    409: `The run is not in a state that allows ${what}: it has finished (\`RUN_FINISHED\`, also once its workflow is gone), it is being cancelled (\`RUN_CANCELLING\`), it is already paused (\`RUN_ALREADY_PAUSED\`) or not paused (\`RUN_NOT_PAUSED\`); details.status or details.currentStatus. Or its workflow was ended outside Tollgate (\`${ENDED_OUTSIDE}\`: details say how, by whom and when)`,
    422: `\`${KEY_REUSED}\``,
  });
const command = (name: string, operationId: string, summary: string) =>
  commandRoute({
    path: `/workflow-runs/{id}/${name}`,
    operationId,
    tags,
    summary,
    params: IdParam,
    body: runCommandSchema,
    required: false,
    responses: { 200: runResponse('The run as it now stands'), ...commandErrors(name === 'cancel' ? 'a cancel' : `a ${name}`) },
  });

export const pauseRunRoute = command('pause', 'pauseWorkflowRun', 'Stop scheduling new nodes; running ones finish');
export const resumeRunRoute = command('resume', 'resumeWorkflowRun', 'Go on scheduling nodes after a pause');
export const cancelRunRoute = command('cancel', 'cancelWorkflowRun', 'Cancel running nodes, then run the template’s onCancel and finally nodes');

export const listStepsRoute = createRoute({
  method: 'get',
  path: '/workflow-runs/{id}/steps',
  operationId: 'listWorkflowRunSteps',
  tags,
  summary: 'Every node of the run (main, onCancel and finally) with its status',
  request: { params: IdParam },
  responses: { 200: json(z.array(RunNodeSchema).readonly(), 'The nodes, in template order'), ...errorResponses([400, 403, 404], { 404: RUN_404 }) },
});

export const getStepRoute = createRoute({
  method: 'get',
  path: '/workflow-runs/{id}/steps/{nodeId}',
  operationId: 'getWorkflowRunStep',
  tags,
  summary: 'One node: status, attempts, times, outputs, error, approvals',
  request: { params: NodeParams },
  responses: { 200: json(RunNodeSchema, 'The node'), ...errorResponses([400, 403, 404], { 404: NODE_404 }) },
});

export const LOG_PAGE_MAX = 5_000;
export const getStepLogsRoute = createRoute({
  method: 'get',
  path: '/workflow-runs/{id}/steps/{nodeId}/logs',
  operationId: 'getWorkflowRunStepLogs',
  tags,
  summary: 'The node’s log lines after a sequence number; follow them by asking again from nextAfterSeq',
  request: {
    params: NodeParams,
    query: z.object({
      afterSeq: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).default(-1).openapi({ description: 'Lines after this sequence number (-1: from the first)' }),
      limit: z.coerce.number().int().min(1).max(LOG_PAGE_MAX).default(500).openapi({ description: `At most this many lines (max ${LOG_PAGE_MAX})` }),
      itemIndex: z.coerce.number().int().min(0).max(1_000_000).optional().openapi({ description: 'forEach nodes: the item whose lines to read (absent: the node’s own lines)' }),
    }),
  },
  responses: { 200: json(RunLogPageSchema, 'Log lines, oldest first'), ...errorResponses([400, 403, 404], { 404: NODE_404 }) },
});

export const listStepArtifactsRoute = createRoute({
  method: 'get',
  path: '/workflow-runs/{id}/steps/{nodeId}/artifacts',
  operationId: 'listWorkflowRunStepArtifacts',
  tags,
  summary: 'Files the node produced, with size, sha256 and a download address',
  request: { params: NodeParams },
  responses: { 200: json(z.array(RunArtifactSchema), 'The artifacts, oldest first'), ...errorResponses([400, 403, 404], { 404: NODE_404 }) },
});

export const downloadStepArtifactRoute = createRoute({
  method: 'get',
  path: '/workflow-runs/{id}/steps/{nodeId}/artifacts/{artifactId}',
  operationId: 'downloadWorkflowRunStepArtifact',
  tags,
  summary: 'The artifact’s bytes',
  request: { params: ArtifactParams },
  responses: {
    200: {
      description: 'The content as stored',
      headers: {
        'Content-Disposition': { description: 'attachment; filename="<name>"', schema: { type: 'string' } },
        ETag: { description: '"sha256-<hex>"', schema: { type: 'string' } },
      },
      content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
    },
    ...errorResponses([400, 403, 404], { 404: `${NODE_404}, or no such artifact of the node (\`ARTIFACT_NOT_FOUND\`)` }),
  },
});

const decision = (name: 'approve' | 'reject', operationId: string, summary: string) =>
  commandRoute({
    path: `/workflow-runs/{id}/steps/{nodeId}/${name}`,
    operationId,
    tags,
    summary,
    params: NodeParams,
    body: stepDecisionSchema,
    required: false,
    responses: {
      200: runResponse('The run as it now stands'),
      ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], {
        403: 'The caller is not in one of the step’s approver groups (`NOT_AN_APPROVER`), or requested the run while the step keeps separation of duties (`SOD_VIOLATION`)',
        404: NODE_404,
        409: `The step is not waiting for decisions (\`STEP_NOT_AWAITING_DECISION\`, details.status), the caller has decided it already (\`ALREADY_DECIDED\`), the run has finished (\`RUN_FINISHED\`), or its workflow was ended outside Tollgate (\`${ENDED_OUTSIDE}\`)`,
        422: `The node is not an approval step (\`NOT_AN_APPROVAL_STEP\`), or \`${KEY_REUSED}\``,
      }),
    },
  });

export const approveStepRoute = decision('approve', 'approveWorkflowRunStep', 'Approve an approval step that waits for the caller (members of its groups; separation of duties as the step says)');
export const rejectStepRoute = decision('reject', 'rejectWorkflowRunStep', 'Reject an approval step: the step fails');
