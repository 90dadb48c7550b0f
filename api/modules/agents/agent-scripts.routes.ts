import { createRoute, z } from '@hono/zod-openapi';
import { ARTIFACT_NAME } from '../../../domain/deployments/requests';
import { scriptLinesSchema } from '../../../domain/script-task';
import { BODY_ERRORS, envelope, errorResponses, jsonBody } from '../../openapi-helpers';

/**
 * What an agent sends while it runs a template's `script` step handed to it
 * over its work channel (activity runScript): the command's output lines (the
 * step's log) and the files the step lists (its artifacts). Addressed by the
 * delivery, so only the agent the step was handed to reaches its run.
 */
const tags = ['Agents'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const uuidParam = (name: string) => z.uuid().openapi({ param: { name, in: 'path' } });
const DeliveryParams = z.object({ id: uuidParam('id'), deliveryId: uuidParam('deliveryId') });
const AGENT_ONLY = 'Only the agent itself may call this, with its own credential (`AGENT_ONLY`)';
const NOT_ITS = 'No such agent in this tenant, or no script step was handed to this agent as this delivery (`DELIVERY_NOT_FOUND`)';
const GONE = 'The step has already ended (`DELIVERY_GONE`): nothing more is stored for it';

const LinesAnswer = z
  .object({
    stored: z.number().int().openapi({ description: 'Lines of this batch stored now (a line sent before is not stored again)' }),
    capped: z.boolean().openapi({ description: 'true: the try has reached its line cap; later lines are not stored' }),
  })
  .openapi('ScriptLinesAnswer');

export const ScriptArtifactSchema = z
  .object({ id: z.string(), runId: z.string(), nodeId: z.string(), itemIndex: z.number().int(), name: z.string(), size: z.number().int(), sha256: z.string(), createdAt: z.string() })
  .openapi('WorkflowRunArtifactStored');

export const appendScriptLinesRoute = createRoute({
  method: 'post',
  path: '/agents/{id}/deliveries/{deliveryId}/script-lines',
  operationId: 'appendAgentScriptLines',
  tags,
  summary: 'Store output lines of a script step handed to this agent (the step’s log)',
  request: { params: DeliveryParams, ...jsonBody(scriptLinesSchema) },
  responses: {
    200: json(LinesAnswer, 'Stored'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 410], { 403: AGENT_ONLY, 404: NOT_ITS, 410: GONE }),
  },
});

export const uploadScriptArtifactRoute = createRoute({
  method: 'put',
  path: '/agents/{id}/deliveries/{deliveryId}/artifacts/{name}',
  operationId: 'uploadAgentScriptArtifact',
  tags,
  summary: 'Store a file a script step listed as an artifact (replacing one of the same name for the same step), with its size and sha256',
  request: {
    params: DeliveryParams.extend({
      name: z
        .string()
        .regex(ARTIFACT_NAME, { message: 'must be 1-128 letters, digits, . _ - (not . or ..)' })
        .openapi({ param: { name: 'name', in: 'path' } }),
    }),
    body: { required: false, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
  responses: {
    201: json(ScriptArtifactSchema, 'The stored artifact'),
    ...errorResponses([400, 403, 404, 408, 410, 413], { 403: AGENT_ONLY, 404: NOT_ITS, 410: GONE, 413: 'Larger than ARTIFACT_MAX_BYTES (details.limitBytes)' }),
  },
});
