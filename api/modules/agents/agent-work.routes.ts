import { createRoute, z } from '@hono/zod-openapi';
import { deliveryHeartbeatSchema, deliveryResultSchema } from '../../../domain/deployments/deliveries';
import { BODY_ERRORS, envelope, errorResponses, jsonBody } from '../../openapi-helpers';

/**
 * The calls an agent makes about a task the API handed it over its work
 * channel (WS /agents/{id}/work, api/agent-work/relay.ts): heartbeats while it
 * runs, then its result. Only the agent the task was handed to may make them.
 */
const tags = ['Agents'];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const uuidParam = (name: string) => z.uuid().openapi({ param: { name, in: 'path' } });
const DeliveryParams = z.object({ id: uuidParam('id'), deliveryId: uuidParam('deliveryId') });
const AGENT_ONLY = 'Only the agent itself may call this, with its own credential (`AGENT_ONLY`)';
const NOT_ITS = 'No such agent in this tenant, or the delivery was not handed to this agent (`DELIVERY_NOT_FOUND`)';
const GONE = 'The task has already ended in Temporal — timed out, cancelled or completed (`DELIVERY_GONE`): stop it';

const HeartbeatAnswer = z.object({ cancelRequested: z.boolean().openapi({ description: 'true: the task was cancelled; stop it and report `cancelled`' }) }).openapi('DeliveryHeartbeatAnswer');
const ResultAnswer = z
  .object({
    outcome: z.string().openapi({ description: 'What was recorded: completed, failed, cancelled, or unclaimed (a success without a ledger claim, recorded as failed UNCLAIMED_RESULT)' }),
    alreadyRecorded: z.boolean().openapi({ description: 'true: this delivery’s result had been recorded before; the first one stands' }),
  })
  .openapi('DeliveryResultAnswer');

export const heartbeatDeliveryRoute = createRoute({
  method: 'post',
  path: '/agents/{id}/deliveries/{deliveryId}/heartbeat',
  operationId: 'heartbeatAgentDelivery',
  tags,
  summary: 'Heartbeat a task handed to this agent; the answer says whether it was cancelled',
  request: { params: DeliveryParams, ...jsonBody(deliveryHeartbeatSchema) },
  responses: {
    200: json(HeartbeatAnswer, 'Recorded'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 410], { 403: AGENT_ONLY, 404: NOT_ITS, 410: GONE }),
  },
});

export const completeDeliveryRoute = createRoute({
  method: 'post',
  path: '/agents/{id}/deliveries/{deliveryId}/result',
  operationId: 'completeAgentDelivery',
  tags,
  summary: 'Report how a task handed to this agent ended: completed with its answer, failed, or cancelled',
  request: { params: DeliveryParams, ...jsonBody(deliveryResultSchema) },
  responses: {
    200: json(ResultAnswer, 'Recorded (or recorded before)'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 410], { 400: 'The body, or the answer inside it, is not valid for the task’s activity', 403: AGENT_ONLY, 404: NOT_ITS, 410: GONE }),
  },
});
