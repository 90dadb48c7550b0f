import type { Pool, PoolClient } from '../../platform/db';
import type { AgentActivity, DeliveryInputs } from '../../domain/deployments/deliveries';

/** The rows behind the agent work channel (db/migrations/011_agent_deliveries.sql). */
export interface NewDelivery {
  tenantId: string;
  id: string;
  agentId: string;
  activity: AgentActivity;
  taskToken: Uint8Array;
  input: DeliveryInputs[AgentActivity];
  attempt: number;
  startToCloseTimeoutMs: number | null;
  heartbeatTimeoutMs: number | null;
  workflowId: string;
}

export interface OpenDelivery {
  id: string;
  activity: AgentActivity;
  input: DeliveryInputs[AgentActivity];
  attempt: number;
  startToCloseTimeoutMs: number | null;
  heartbeatTimeoutMs: number | null;
}

export interface DeliveryRow {
  id: string;
  agentId: string;
  activity: AgentActivity;
  taskToken: Buffer;
  workflowId: string;
  finishedAt: Date | null;
  acknowledgedAt: Date | null;
  outcome: string | null;
  ledger: { taskId: string; jobId: string; targetId: string; phase: string; attempt: number } | null;
}

export async function insertDelivery(pool: Pool, d: NewDelivery): Promise<void> {
  const task = d.activity === 'deployTarget' ? (d.input as DeliveryInputs['deployTarget']) : null;
  await pool.query(
    `INSERT INTO agent_deliveries (tenant_id, id, agent_id, activity, task_token, input, attempt, start_to_close_timeout_ms, heartbeat_timeout_ms,
                                   workflow_id, task_id, job_id, target_id, phase, task_attempt)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
    [
      d.tenantId, d.id, d.agentId, d.activity, Buffer.from(d.taskToken), JSON.stringify(d.input), d.attempt, d.startToCloseTimeoutMs, d.heartbeatTimeoutMs,
      d.workflowId, task?.taskId ?? null, task?.jobId ?? null, task?.target.id ?? null, task?.phase ?? null, task?.attempt ?? null,
    ],
  );
}

/**
 * Deliveries the agent has not acknowledged yet (no heartbeat): handed over
 * again when it (re)connects. An acknowledged one whose agent restarted is not
 * handed over again: the agent lost it, and Temporal finds that out by the
 * missing heartbeats, as it would for any dead worker.
 */
export async function unacknowledgedDeliveries(pool: Pool, tenantId: string, agentId: string): Promise<OpenDelivery[]> {
  const { rows } = await pool.query(
    `SELECT id, activity, input, attempt, start_to_close_timeout_ms, heartbeat_timeout_ms FROM agent_deliveries
      WHERE tenant_id = $1 AND agent_id = $2 AND finished_at IS NULL AND acknowledged_at IS NULL
        AND created_at > now() - make_interval(secs => COALESCE(start_to_close_timeout_ms, 3600000) / 1000.0)
      ORDER BY created_at`,
    [tenantId, agentId],
  );
  return rows.map((r) => ({
    id: r.id,
    activity: r.activity,
    input: r.input,
    attempt: r.attempt,
    startToCloseTimeoutMs: r.start_to_close_timeout_ms,
    heartbeatTimeoutMs: r.heartbeat_timeout_ms,
  }));
}

export async function findDelivery(db: Pool | PoolClient, tenantId: string, agentId: string, id: string, lock = false): Promise<DeliveryRow | undefined> {
  const { rows } = await db.query(
    `SELECT id, agent_id, activity, task_token, workflow_id, finished_at, acknowledged_at, outcome, task_id, job_id, target_id, phase, task_attempt
       FROM agent_deliveries WHERE tenant_id = $1 AND id = $2 AND agent_id = $3${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, id, agentId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id,
    agentId: r.agent_id,
    activity: r.activity,
    taskToken: r.task_token,
    workflowId: r.workflow_id,
    finishedAt: r.finished_at,
    acknowledgedAt: r.acknowledged_at,
    outcome: r.outcome,
    ledger: r.job_id ? { taskId: r.task_id, jobId: r.job_id, targetId: r.target_id, phase: r.phase, attempt: r.task_attempt } : null,
  };
}

export async function acknowledgeDelivery(pool: Pool, tenantId: string, id: string): Promise<void> {
  await pool.query('UPDATE agent_deliveries SET acknowledged_at = now() WHERE tenant_id = $1 AND id = $2 AND acknowledged_at IS NULL', [tenantId, id]);
}

export async function finishDelivery(db: Pool | PoolClient, tenantId: string, id: string, outcome: string): Promise<void> {
  await db.query('UPDATE agent_deliveries SET finished_at = now(), outcome = $3, acknowledged_at = COALESCE(acknowledged_at, now()) WHERE tenant_id = $1 AND id = $2 AND finished_at IS NULL', [
    tenantId, id, outcome,
  ]);
}

/** Whether the ledger holds this agent's claim on the (job, target, phase, attempt) a deployTarget delivery names. */
export async function claimedBy(db: Pool | PoolClient, tenantId: string, agentId: string, ledger: NonNullable<DeliveryRow['ledger']>): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM deployment_ledger WHERE tenant_id = $1 AND job_id = $2 AND target_id = $3 AND phase = $4 AND attempt = $5 AND agent_id = $6',
    [tenantId, ledger.jobId, ledger.targetId, ledger.phase, ledger.attempt, agentId],
  );
  return (rowCount ?? 0) > 0;
}
