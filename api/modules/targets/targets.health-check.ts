import { randomUUID } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { WorkflowFailedError } from '@temporalio/client';
import type { Context } from 'hono';
import type { HealthCheck } from '../../../domain/deployments/model';
import {
  healthCheckSearchAttributesOf,
  healthCheckWorkflowBoundMs,
  storableOutcome,
  unansweredCheck,
  TARGET_HEALTH_CHECK_WORKFLOW_TYPE,
  type TargetHealthCheckInput,
  type TargetHealthCheckOutcome,
} from '../../../domain/deployments/target-health';
import { normalizeHealthCheck } from '../../../domain/inventory-fields';
import { hasPermission, permissionRefusal } from '../../../domain/permissions';
import { workflowId } from '../../../domain/workflow-ids';
import type { targetHealthCheck } from '../../../workflows/deployments/target-health-check';
import type { AppEnv } from '../../context';
import { agentStatusSql } from '../../agent-status';
import { auditedWrite } from '../../entity-writes';
import { Forbidden, NotFound, ServiceUnavailable, Unprocessable } from '../../errors';
import { principalOf } from '../../principal';
import { ok } from '../../respond';
import { checkTargetHealthRoute } from './targets.health-check.routes';

/** Past the workflow's own bound, only a stalled worker or Temporal keeps the answer from coming. */
const ANSWER_SLACK_MS = 5_000;
/** A workflow no worker ever runs is given up this long after its bound, rather than lingering. */
const RUN_SLACK_MS = 60_000;

/**
 * `POST /targets/{id}/health-check`: the target's check (its own, else its
 * environment's, as a deployment uses) runs now on the agent that owns it, in a
 * targetHealthCheck workflow, and the request waits for the answer. What the
 * answer says the target runs is recorded for drift, like a heartbeat's report.
 */
export function targetHealthCheckRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(checkTargetHealthRoute, async (c) => {
    const { tenantId } = mayCheck(c);
    const { id } = c.req.valid('param');
    const { config, pool } = c.get('deps');
    const row = (
      await pool.query(
        `SELECT t.id, t.name, t.labels, t.properties, t.health_check, t.agent_id, e.id AS environment_id, e.name AS environment_name, e.deployment,
                a.last_heartbeat_at, ${agentStatusSql(config.AGENT_OFFLINE_AFTER)} AS agent_status
           FROM targets t
           LEFT JOIN environments e ON e.tenant_id = t.tenant_id AND e.id = t.environment_id
           LEFT JOIN agents a ON a.tenant_id = t.tenant_id AND a.id = t.agent_id
          WHERE t.tenant_id = $1 AND t.id = $2`,
        [tenantId, id],
      )
    ).rows[0];
    if (!row) throw new NotFound(`Target ${id} not found`);
    const check = runnable(normalizeHealthCheck(row.health_check)) ?? runnable(normalizeHealthCheck(row.deployment?.healthCheck));
    if (!check) {
      throw new Unprocessable(`Target ${row.name} has no health check, and neither has its environment`, 'NO_HEALTH_CHECK', { targetId: id, environmentId: row.environment_id });
    }
    const agentId: string | null = row.agent_id;
    if (!agentId) throw new Unprocessable(`Target ${row.name} has no agent to run its health check`, 'NO_AGENT', { targetId: id });

    const input: TargetHealthCheckInput = {
      tenantId,
      agentId,
      target: { id, name: row.name, labels: row.labels ?? {}, properties: row.properties ?? {}, healthCheck: check },
      environment: row.environment_id ? { id: row.environment_id, name: row.environment_name } : null,
      pickupTimeoutMs: config.DEPLOY_PICKUP_TIMEOUT,
      heartbeatTimeoutMs: config.DEPLOY_HEARTBEAT_TIMEOUT,
    };
    // An agent whose heartbeats stopped long ago would only make the request sit out the pickup timeout.
    const silent = silentAgent(agentId, row.agent_status, row.last_heartbeat_at, config.AGENT_OFFLINE_AFTER);
    const ran = silent ? { outcome: silent, workflowId: null } : await runCheck(c, input, row);
    const { workflowId: wfId } = ran;
    const outcome = storableOutcome(ran.outcome);

    const answer = {
      targetId: id,
      healthy: outcome.healthy,
      checks: outcome.checks,
      lastStatus: outcome.lastStatus,
      message: outcome.message,
      checkedAt: outcome.checkedAt,
      agentId: outcome.agentId,
      reported: outcome.reported,
      error: outcome.error,
    };
    await auditedWrite(c, async (db) => {
      const { releaseId, version } = outcome.reported;
      // Only an answer that names a release says what runs there; the agent must still own the target, as for a heartbeat.
      if (releaseId !== null || version !== null) {
        await db.query(
          `UPDATE targets SET reported = jsonb_build_object('releaseId', $4::text, 'version', $5::text, 'healthy', $6::boolean), reported_at = now()
            WHERE tenant_id = $1 AND id = $2 AND agent_id = $3`,
          [tenantId, id, agentId, releaseId, version, outcome.healthy],
        );
      }
      return { result: answer, audit: { action: 'target.health-check', resourceType: 'target', resourceId: id, after: { ...answer, workflowId: wfId } } };
    });
    return ok(c, answer);
  });
}

/** Starts the targetHealthCheck workflow and waits for its answer. */
async function runCheck(c: Context<AppEnv>, input: TargetHealthCheckInput, row: Record<string, any>): Promise<{ outcome: TargetHealthCheckOutcome; workflowId: string }> {
  const { config, temporal } = c.get('deps');
  const { tenantId, agentId, target } = input;
  const check = target.healthCheck;
  const bound = healthCheckWorkflowBoundMs(check, input.pickupTimeoutMs);
  // A check may legitimately outlast COMMAND_TIMEOUT (retries, and an offline agent's pickup timeout); the
  // workflow bounds itself, so the wait is that bound, and never shorter than any other command's.
  const deadline = Date.now() + Math.max(config.COMMAND_TIMEOUT, bound + ANSWER_SLACK_MS);
  const wfId = workflowId(tenantId, 'target-health-check', `${target.id}:${randomUUID()}`);
  const client = await temporal.client();
  const { email, userId } = principalOf(c);
  try {
    const outcome = await client.withDeadline(deadline, async () => {
      const handle = await client.workflow.start<typeof targetHealthCheck>(TARGET_HEALTH_CHECK_WORKFLOW_TYPE, {
        workflowId: wfId,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        workflowExecutionTimeout: bound + RUN_SLACK_MS,
        typedSearchAttributes: healthCheckSearchAttributesOf(tenantId, target.id, 'checking', row.environment_name),
        staticSummary: `Health check of ${target.name} on agent ${agentId}`,
        staticDetails: `Requested by ${email ?? userId}: ${check.url ? `GET ${check.url}` : `\`${check.command}\``}, ${check.retries} retries`,
      });
      return handle.result();
    });
    return { outcome, workflowId: wfId };
  } catch (err) {
    if (Date.now() >= deadline || err instanceof WorkflowFailedError) {
      throw new ServiceUnavailable(`The health check of ${target.name} did not answer in time; retry shortly`, 'WORKFLOW_TIMEOUT', { workflowId: wfId });
    }
    throw err;
  }
}

/** The answer for an agent known not to run anything now: revoked, or silent for longer than AGENT_OFFLINE_AFTER. */
function silentAgent(agentId: string, status: string | null, lastHeartbeatAt: Date | null, offlineAfterMs: number): TargetHealthCheckOutcome | null {
  const now = new Date().toISOString();
  if (status === 'revoked') return unansweredCheck(agentId, { code: 'AGENT_REVOKED', message: `agent ${agentId} is revoked; it runs no checks` }, now);
  if (status !== 'offline') return null;
  const since = lastHeartbeatAt ? `has sent no heartbeat since ${new Date(lastHeartbeatAt).toISOString()}` : 'has not sent a heartbeat yet';
  return unansweredCheck(agentId, { code: 'AGENT_OFFLINE', message: `agent ${agentId} ${since} (offline after ${Math.round(offlineAfterMs / 1000)}s); it is offline` }, now);
}

/** Running a check is operating a deployment target: deployment operators may, and so may those who manage the inventory. */
function mayCheck(c: Context<AppEnv>) {
  const principal = principalOf(c);
  if (hasPermission(principal, 'deployment:operate') || hasPermission(principal, 'environment:write')) return principal;
  const { message, allowedRoles } = permissionRefusal('deployment:operate', 'environment:write');
  throw new Forbidden(message, 'FORBIDDEN', {
    required: ['deployment:operate', 'environment:write'],
    allowedRoles,
    roles: principal.roles,
  });
}

const runnable = (check: HealthCheck | null): HealthCheck | null => (check && (check.url || check.command) ? check : null);
