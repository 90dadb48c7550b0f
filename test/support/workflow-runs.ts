import { createHash, randomUUID } from 'node:crypto';
import type { RunNode, TemplateSpec, WorkflowRun } from '../../domain/templates/model';
import { pendingRunNode } from '../../domain/templates/run-nodes';
import type { Pool } from '../../platform/db';

/**
 * Rows of the workflow-template tables written directly, for the runs API's
 * tests: a template at some versions, a run in any state, its log lines and
 * artifacts, each announced as the writers announce them.
 */

export const PIPELINE: TemplateSpec = {
  name: 'release pipeline',
  parameters: [
    { name: 'version', type: 'string' },
    { name: 'region', type: 'string', enum: ['eu', 'us'], default: 'eu' },
    { name: 'replicas', type: 'integer', default: 2 },
  ],
  nodes: [
    { id: 'build', type: 'wait', inputs: { duration: '1h' } },
    { id: 'sign_off', type: 'approval', inputs: { approvals: 1, groups: ['release-manager'] }, dependsOn: ['build'] },
  ],
  finally: [{ id: 'tell', type: 'notify', inputs: { url: 'https://hooks.example.com/done', text: 'done' } }],
};

export async function putTemplate(pool: Pool, tenantId: string, versions: TemplateSpec[], options: { deleted?: boolean; name?: string } = {}): Promise<string> {
  const id = randomUUID();
  const name = options.name ?? `${versions[versions.length - 1].name} ${id.slice(0, 8)}`;
  await pool.query(
    `INSERT INTO workflow_templates (tenant_id, id, name, version, deleted_at, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'test', now(), now())`,
    [tenantId, id, name, versions.length, options.deleted ? new Date() : null],
  );
  for (const [i, spec] of versions.entries()) {
    await pool.query(`INSERT INTO workflow_template_versions (tenant_id, template_id, version, spec, created_by, created_at) VALUES ($1, $2, $3, $4, 'test', now())`, [
      tenantId,
      id,
      i + 1,
      JSON.stringify(spec),
    ]);
  }
  return id;
}

export const node = (nodeId: string, type: RunNode['type'], overrides: Partial<RunNode> = {}): RunNode => ({ ...pendingRunNode({ id: nodeId, type }, 'main'), ...overrides });

export function runBody(tenantId: string, templateId: string, overrides: Partial<WorkflowRun> = {}): WorkflowRun {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    tenantId,
    templateId,
    templateName: 'release pipeline',
    templateVersion: 1,
    parameters: { version: '1.0.0' },
    status: 'running',
    nodes: [node('build', 'wait'), node('sign_off', 'approval'), node('tell', 'notify', { phase: 'finally' })],
    requestedBy: 'test',
    createdAt: now,
    updatedAt: now,
    endedAt: null,
    version: 1,
    ...overrides,
  };
}

/** Writes the run's row as its workflow does (WHERE version < new). */
export async function putRun(pool: Pool, run: WorkflowRun): Promise<WorkflowRun> {
  await pool.query(
    `INSERT INTO workflow_runs (tenant_id, id, version, template_id, template_version, template_name, status, requested_by, created_at, updated_at, ended_at, body)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
     ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, ended_at = EXCLUDED.ended_at, body = EXCLUDED.body
     WHERE workflow_runs.version < EXCLUDED.version`,
    [run.tenantId, run.id, run.version, run.templateId, run.templateVersion, run.templateName, run.status, run.requestedBy, run.createdAt, run.updatedAt, run.endedAt, JSON.stringify(run)],
  );
  return run;
}

export async function appendLines(pool: Pool, run: Pick<WorkflowRun, 'tenantId' | 'id'>, nodeId: string, lines: string[], itemIndex = -1): Promise<void> {
  await pool.query(
    `INSERT INTO workflow_run_logs (tenant_id, run_id, node_id, item_index, seq, line)
     SELECT $1, $2, $3, $4, COALESCE((SELECT max(seq) FROM workflow_run_logs WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 AND item_index = $4), 0) + l.ord, l.line
       FROM unnest($5::text[]) WITH ORDINALITY AS l(line, ord)`,
    [run.tenantId, run.id, nodeId, itemIndex, lines],
  );
}

export async function putRunArtifact(pool: Pool, run: Pick<WorkflowRun, 'tenantId' | 'id'>, nodeId: string, name: string, content: Buffer): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO workflow_run_artifacts (tenant_id, id, run_id, node_id, name, size, sha256, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [run.tenantId, id, run.id, nodeId, name, content.length, createHash('sha256').update(content).digest('hex'), content],
  );
  return id;
}

export async function notifyRun(pool: Pool, event: { tenantId: string; runId: string; kind: 'run' | 'log'; nodeId?: string }): Promise<void> {
  await pool.query(`SELECT pg_notify('workflow_run_events', $1)`, [JSON.stringify(event)]);
}
