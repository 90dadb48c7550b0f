import { createRoute, z } from '@hono/zod-openapi';
import { appendLogSchema, ARTIFACT_NAME, claimTaskSchema, heartbeatSchema, registerAgentSchema, updateAgentSchema } from '../../../domain/deployments/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { AGENT_STATUSES, AgentRegistrationSchema, AgentSchema, ArtifactSchema, ClaimAnswerSchema, HeartbeatAnswerSchema, LogAnswerSchema } from './agents.responses';

/** ENVMGR agents: registration, their own heartbeats and the calls an agent makes while it runs a deployment task. */

const tags = ['Agents'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const uuidParam = (name: string) => z.uuid().openapi({ param: { name, in: 'path' } });
const IdParam = z.object({ id: uuidParam('id') });
const TaskParams = z.object({ id: uuidParam('id'), taskId: uuidParam('taskId') });
const ArtifactParams = TaskParams.extend({
  name: z
    .string()
    .regex(ARTIFACT_NAME, { message: 'must be 1-128 letters, digits, . _ - (not . or ..)' })
    .openapi({ param: { name: 'name', in: 'path' }, description: 'The file’s name: 1-128 letters, digits, . _ - (not . or ..)' }),
});

const DUPLICATE = 'An agent with this name already exists (`ALREADY_EXISTS`)';
const AGENT_ONLY = 'Only the agent itself may call this, with its own credential (`AGENT_ONLY`); a person’s token is refused, as is another agent’s';
const TASK_404 = 'No such agent in this tenant, or the task is not this agent’s';
export const AGENT_SORTS = ['name', 'registered_at'] as const;

/** The routes whose body is a file (a deployment task's, a script step's): app.ts gives them ARTIFACT_MAX_BYTES instead of the JSON body limit. */
export const ARTIFACT_UPLOAD_PATH = /^\/(?:api\/v1|prod\/api(?:\/v1)?)\/agents\/[^/]+\/(?:tasks|deliveries)\/[^/]+\/artifacts\/[^/]+$/;

export const registerAgentRoute = createRoute({
  method: 'post',
  path: '/agents/register',
  operationId: 'registerAgent',
  tags,
  summary: 'Register an agent: it gets its own credential and task queue, and takes over targets of its environment',
  request: jsonBody(registerAgentSchema),
  responses: {
    201: { ...json(AgentRegistrationSchema, 'The agent, its credential (shown once) and where it polls for tasks'), links: linksToResource(['getAgent', 'updateAgent', 'deleteAgent'], 'id', 'agent/id') },
    ...errorResponses([...BODY_ERRORS, 403, 409, 422], {
      403:
        'Needs the agent:register permission (role agent-registrar, release-manager or admin) (`FORBIDDEN`); `takeOver: true` needs agent:manage as well (`FORBIDDEN`, details.required). A registration token registers a given agent name once: used again for that name (after the agent was deleted or revoked) it is refused (`REGISTRATION_TOKEN_USED`)',
      409: `${DUPLICATE}; or a named target belongs to an online agent and \`takeOver\` was not asked for (\`TARGET_OWNED\`, details.owned names each target and its owner)`,
      422: 'The environment does not exist (`ENVIRONMENT_NOT_FOUND`), or a named target is not in it (`TARGET_NOT_FOUND`, details.missing)',
    }),
  },
});

export const listAgentsRoute = createRoute({
  method: 'get',
  path: '/agents',
  operationId: 'listAgents',
  tags,
  summary: 'List agents, optionally by status and environment',
  request: { query: paginationQuery.extend({ status: z.enum(AGENT_STATUSES).optional(), environmentId: z.uuid().optional(), sort: sortParam(AGENT_SORTS) }) },
  responses: {
    200: { description: 'A page of agents', content: { 'application/json': { schema: listEnvelope(AgentSchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});

export const getAgentRoute = createRoute({
  method: 'get',
  path: '/agents/{id}',
  operationId: 'getAgent',
  tags,
  summary: 'Get an agent and its status',
  request: { params: IdParam },
  responses: { 200: json(AgentSchema, 'The agent'), ...errorResponses([400, 403, 404]) },
});

export const updateAgentRoute = createRoute({
  method: 'put',
  path: '/agents/{id}',
  operationId: 'updateAgent',
  tags,
  summary: 'Rename an agent, replace its labels, or revoke it (its credential stops working at once)',
  request: { params: IdParam, ...jsonBody(updateAgentSchema) },
  responses: { 200: json(AgentSchema, 'The agent'), ...errorResponses([...BODY_ERRORS, 403, 404, 409], { 409: DUPLICATE }) },
});

export const deleteAgentRoute = createRoute({
  method: 'delete',
  path: '/agents/{id}',
  operationId: 'deleteAgent',
  tags,
  summary: 'Remove an agent: its credential stops working at once and its targets have no agent',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404]) },
});

export const heartbeatRoute = createRoute({
  method: 'post',
  path: '/agents/{id}/heartbeat',
  operationId: 'agentHeartbeat',
  tags,
  summary: 'The agent says it is alive, its version and capabilities, and what each of its targets actually runs',
  request: { params: IdParam, ...jsonBody(heartbeatSchema) },
  responses: { 200: json(HeartbeatAnswerSchema, 'Recorded'), ...errorResponses([...BODY_ERRORS, 403, 404], { 403: AGENT_ONLY, 404: 'No such agent in this tenant' }) },
});

export const claimTaskRoute = createRoute({
  method: 'post',
  path: '/agents/{id}/tasks/{taskId}/claim',
  operationId: 'claimAgentTask',
  tags,
  summary: 'Claim (job, target, phase, attempt) in the ledger before running its hook, so it never runs twice',
  request: { params: TaskParams, ...jsonBody(claimTaskSchema) },
  responses: {
    200: json(ClaimAnswerSchema, 'Claimed: run the hook'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], {
      403: AGENT_ONLY,
      404: TASK_404,
      409: 'Already claimed (`ALREADY_CLAIMED`): the hook ran or runs already; do not run it again',
      422: 'The body does not name this task’s job, target, phase and attempt (`TASK_MISMATCH`)',
    }),
  },
});

export const appendLogRoute = createRoute({
  method: 'post',
  path: '/agents/{id}/tasks/{taskId}/logs',
  operationId: 'appendAgentTaskLog',
  tags,
  summary: 'Append the next characters of a task’s log; a resent chunk is stored once, and the log stops at its cap',
  request: { params: TaskParams, ...jsonBody(appendLogSchema) },
  responses: {
    200: json(LogAnswerSchema, 'The log’s size now'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 409], { 403: AGENT_ONLY, 404: TASK_404, 409: 'offset is past the end of the log (`LOG_OFFSET_GAP`, details.size): resend from there' }),
  },
});

export const uploadArtifactRoute = createRoute({
  method: 'put',
  path: '/agents/{id}/tasks/{taskId}/artifacts/{name}',
  operationId: 'uploadAgentTaskArtifact',
  tags,
  summary: 'Store a file the task’s hook left (replacing one of the same name), with its size and sha256',
  request: {
    params: ArtifactParams,
    body: { required: false, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
  responses: {
    201: json(ArtifactSchema, 'The stored artifact'),
    ...errorResponses([400, 403, 404, 408, 413], { 403: AGENT_ONLY, 404: TASK_404, 413: 'Larger than ARTIFACT_MAX_BYTES (details.limitBytes)' }),
  },
});
