import { createRoute, z } from '@hono/zod-openapi';
import { BODY_ERRORS, envelope, errorResponses, jsonBody } from '../../openapi-helpers';

/** ENVMGR `POST /targets/{id}/health-check`: the target's health check, run now by its agent. */

export const TargetHealthSchema = z
  .object({
    targetId: z.string(),
    healthy: z.boolean(),
    checks: z.number().int().openapi({ description: 'How many checks ran: 1 when the first passed, up to retries + 1; 0 when the agent ran none' }),
    lastStatus: z.string().nullable().openapi({ description: 'The last check’s short answer: the HTTP status ("503"), "exit 1", "timeout", a network error code; null when none ran' }),
    message: z.string().openapi({ description: 'What the last check answered, or why the agent ran no check' }),
    checkedAt: z.string(),
    agentId: z.string(),
    reported: z
      .object({ releaseId: z.string().nullable(), version: z.string().nullable() })
      .openapi({ description: 'The release and version the last health answer’s JSON body names (recorded for drift when either is set)' }),
    error: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .openapi({
        description:
          'Set when the agent ran no check to the end, so the target’s health is unknown: `AGENT_OFFLINE` (no heartbeat for AGENT_OFFLINE_AFTER, or nobody picked the check up within DEPLOY_PICKUP_TIMEOUT), `AGENT_REVOKED`, `AGENT_LOST` (the agent stopped heartbeating mid-check), `CHECK_TIMEOUT`, `AGENT_ERROR`',
      }),
  })
  .openapi('TargetHealthCheck');

// Nothing to send: an empty object (or no body at all) is accepted so that clients that always send JSON can call it.
const HealthCheckRequest = z.strictObject({}).openapi('TargetHealthCheckRequest');

export const checkTargetHealthRoute = createRoute({
  method: 'post',
  path: '/targets/{id}/health-check',
  operationId: 'checkTargetHealth',
  tags: ['Targets'],
  summary: 'Run the target’s health check now, on the agent that owns it, and answer with the result',
  description:
    'The target’s own health check, else its environment’s, with its retries. An unhealthy target is a 200 with `healthy: false`; so is an agent that does not pick the check up in time (`error.code` AGENT_OFFLINE). Needs `deployment:operate` or `environment:write`.',
  request: { params: z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) }), ...jsonBody(HealthCheckRequest, false) },
  responses: {
    200: { description: 'The check’s result', content: { 'application/json': { schema: envelope(TargetHealthSchema) } } },
    ...errorResponses([...BODY_ERRORS, 403, 404, 422], {
      422: 'The target has no health check, nor does its environment (`NO_HEALTH_CHECK`), or no agent owns it (`NO_AGENT`)',
      503: 'Temporal or the worker is unavailable, or the check did not answer in time (`WORKFLOW_TIMEOUT`); retry shortly',
    }),
  },
});
