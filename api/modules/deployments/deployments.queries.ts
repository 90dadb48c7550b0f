import { droppedMarker } from '../../../domain/deployments/log-cap';
import type { DeploymentJob, DeploymentTask, TaskPhase, TaskStatus } from '../../../domain/deployments/model';
import type { Pool } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { listPage, type ListSpec } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';
import { RawJson } from '../../respond';

/**
 * Reads of the deployment read model (rows the deploymentJob workflow's
 * activities write); every query is scoped by tenant. Shared by the REST
 * routes and the live streams, so both serve a task and its log alike.
 */

type Queryable = Pick<Pool, 'query'>;

export const JOB_SORT_COLUMNS = { created_at: { column: 'created_at', cast: 'timestamptz' } } as const satisfies ListSpec['sortColumns'];

export interface JobFilters {
  status?: string;
  environmentId?: string;
  releaseId?: string;
  promotionId?: string;
  kind?: string;
}

export async function listJobs(pool: Pool, tenantId: string, filters: JobFilters, request: PageRequest): Promise<Page<RawJson<DeploymentJob>>> {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  add('status', filters.status);
  add('environment_id', filters.environmentId);
  add('release_id', filters.releaseId);
  add('promotion_id', filters.promotionId);
  add('kind', filters.kind);
  // Records as their stored JSON text: served as they are, never parsed (api/respond.ts RawJson).
  return listPage<{ body: string }, RawJson<DeploymentJob>>(
    pool,
    { from: 'deployment_jobs', select: 'body::text AS body', where, params, sortColumns: JOB_SORT_COLUMNS, idColumn: 'id::text' },
    request,
    (row) => new RawJson<DeploymentJob>(row.body),
  );
}

export async function findJob(db: Queryable, tenantId: string, id: string): Promise<DeploymentJob | undefined> {
  const { rows } = await db.query<{ body: DeploymentJob }>('SELECT body FROM deployment_jobs WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

const TASK_COLUMNS = 'body, log_size, log_capped, stopped_by';
interface TaskRow {
  body: DeploymentTask;
  log_size: number;
  log_capped: boolean;
  stopped_by: DeploymentTask['stoppedBy'];
}

/** The body is the task as the workflow last wrote it; its log and stoppedBy move without it (agents write them), so the columns win. */
function presentTask(row: TaskRow): DeploymentTask {
  const body = row.body;
  return {
    ...body,
    stoppedBy: row.stopped_by ?? body.stoppedBy ?? null,
    log: { size: row.log_size, capped: row.log_capped, capBytes: body.log?.capBytes ?? 0 },
  };
}

export async function listTasks(db: Queryable, tenantId: string, jobId: string): Promise<DeploymentTask[]> {
  const { rows } = await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM deployment_tasks WHERE tenant_id = $1 AND job_id = $2 ORDER BY created_at, id`, [tenantId, jobId]);
  return rows.map(presentTask);
}

/** A task of that job (undefined when it belongs to another job or tenant). */
export async function findTask(db: Queryable, tenantId: string, jobId: string, taskId: string): Promise<DeploymentTask | undefined> {
  const { rows } = await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM deployment_tasks WHERE tenant_id = $1 AND job_id = $2 AND id = $3`, [tenantId, jobId, taskId]);
  return rows[0] && presentTask(rows[0]);
}

/** The tasks an agent runs, newest first; `unfinishedOnly` for what it has in hand now. */
export async function tasksOfAgent(db: Queryable, tenantId: string, agentId: string, unfinishedOnly: boolean): Promise<DeploymentTask[]> {
  const { rows } = await db.query<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM deployment_tasks WHERE tenant_id = $1 AND agent_id = $2 AND (NOT $3 OR status IN ('pending', 'running'))
      ORDER BY created_at DESC LIMIT 200`,
    [tenantId, agentId, unfinishedOnly],
  );
  return rows.map(presentTask).reverse();
}

/** A task by id alone, for the agent stream (which knows the task, not its job). */
export async function findTaskById(db: Queryable, tenantId: string, taskId: string): Promise<DeploymentTask | undefined> {
  const { rows } = await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM deployment_tasks WHERE tenant_id = $1 AND id = $2`, [tenantId, taskId]);
  return rows[0] && presentTask(rows[0]);
}

export async function ledgerOf(db: Queryable, tenantId: string, task: Pick<DeploymentTask, 'jobId' | 'targetId' | 'phase' | 'attempt'>) {
  const { rows } = await db.query<{ job_id: string; target_id: string; phase: TaskPhase; attempt: number; task_id: string; agent_id: string; claimed_at: Date }>(
    `SELECT job_id, target_id, phase, attempt, task_id, agent_id, claimed_at FROM deployment_ledger
      WHERE tenant_id = $1 AND job_id = $2 AND target_id = $3 AND phase = $4 AND attempt = $5 ORDER BY claimed_at`,
    [tenantId, task.jobId, task.targetId, task.phase, task.attempt],
  );
  return rows.map((r) => ({ jobId: r.job_id, targetId: r.target_id, phase: r.phase, attempt: r.attempt, taskId: r.task_id, agentId: r.agent_id, claimedAt: iso(r.claimed_at)! }));
}

const FINISHED_TASK: readonly TaskStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];
export const isTaskFinished = (task: Pick<DeploymentTask, 'status'>) => FINISHED_TASK.includes(task.status);

export interface LogSlice {
  offset: number;
  nextOffset: number;
  data: string;
  /** Whether the read stopped at `limit` with more already there to read from nextOffset. */
  more: boolean;
}

/** Chunk rows read per call: a page of small chunks ends early, and nextOffset says where to go on. */
const CHUNKS_PER_READ = 2_000;

/**
 * The log from `offset` (characters), at most `limit` of them (a marker line
 * alone may be longer). Chunks are rows
 * keyed by the offset they start at, so a read may start inside one. Past the
 * cap the log keeps its head and its tail (domain/deployments/log-cap.ts): the
 * hole between them reads as one marker line, and nextOffset jumps past it. A
 * chunk missing in the middle of a log under its cap (a later one committed
 * first) ends the slice there, unless the task has finished and nothing more
 * will come: then it is passed over.
 */
export async function readLog(db: Queryable, tenantId: string, taskId: string, offset: number, limit: number, finished: boolean): Promise<LogSlice> {
  const { rows } = await db.query<{ offset: number; data: string; capped: boolean }>(
    `SELECT "offset", data, (SELECT log_capped FROM deployment_tasks WHERE tenant_id = $1 AND id = $2) AS capped FROM deployment_task_logs
      WHERE tenant_id = $1 AND task_id = $2
        AND "offset" >= COALESCE((SELECT max("offset") FROM deployment_task_logs WHERE tenant_id = $1 AND task_id = $2 AND "offset" <= $3), 0)
      ORDER BY "offset" LIMIT $4`,
    [tenantId, taskId, offset, CHUNKS_PER_READ],
  );
  let position = offset;
  let data = '';
  /** Where the chunk before the current one ended, and whether it ended a line: the marker of a hole starts there. */
  let lastEnd: number | null = null;
  let lastEndedLine = true;
  for (const chunk of rows) {
    const end = chunk.offset + chunk.data.length;
    if (end > position && chunk.offset > position) {
      if (chunk.capped) {
        // The marker is never split: a page that has no room left for it ends before it, and a page that starts with it holds it whole.
        const marker = droppedMarker(chunk.offset - Math.max(lastEnd ?? position, position), lastEndedLine);
        if (data.length > 0 && data.length + marker.length > limit) return { offset, nextOffset: position, data, more: true };
        data += marker;
      } else if (!finished) {
        break;
      }
      position = chunk.offset;
    }
    lastEnd = end;
    lastEndedLine = chunk.data.endsWith('\n');
    if (end <= position) continue;
    let piece = chunk.data.slice(position - chunk.offset, position - chunk.offset + (limit - data.length));
    // Never end a slice between the two halves of a surrogate pair: the next read starts with both.
    if (piece.length > 1 && data.length + piece.length === limit && /[\ud800-\udbff]$/.test(piece) && piece.length + position - chunk.offset < chunk.data.length) {
      piece = piece.slice(0, -1);
    }
    data += piece;
    position += piece.length;
    if (data.length >= limit || position < end) return { offset, nextOffset: position, data, more: true };
  }
  return { offset, nextOffset: position, data, more: rows.length === CHUNKS_PER_READ };
}

export interface ArtifactRow {
  id: string;
  taskId: string;
  targetId: string | null;
  name: string;
  size: number;
  sha256: string;
  createdAt: string;
}

const ARTIFACT_SELECT = `SELECT a.id, a.job_id, a.task_id, a.name, a.size, a.sha256, a.created_at,
         COALESCE(t.target_id, (SELECT l.target_id FROM deployment_ledger l WHERE l.tenant_id = a.tenant_id AND l.job_id = a.job_id AND l.task_id = a.task_id LIMIT 1)) AS target_id
    FROM deployment_artifacts a LEFT JOIN deployment_tasks t ON t.tenant_id = a.tenant_id AND t.id = a.task_id`;

const presentArtifact = (r: Record<string, any>): ArtifactRow => ({
  id: r.id,
  taskId: r.task_id,
  targetId: r.target_id ?? null,
  name: r.name,
  size: r.size,
  sha256: r.sha256,
  createdAt: iso(r.created_at)!,
});

export async function listArtifacts(db: Queryable, tenantId: string, jobId: string): Promise<ArtifactRow[]> {
  const { rows } = await db.query(`${ARTIFACT_SELECT} WHERE a.tenant_id = $1 AND a.job_id = $2 ORDER BY a.created_at, a.id`, [tenantId, jobId]);
  return rows.map(presentArtifact);
}

export async function readArtifact(db: Queryable, tenantId: string, jobId: string, id: string): Promise<{ name: string; sha256: string; content: Buffer } | undefined> {
  const { rows } = await db.query<{ name: string; sha256: string; content: Buffer }>(
    'SELECT name, sha256, content FROM deployment_artifacts WHERE tenant_id = $1 AND job_id = $2 AND id = $3',
    [tenantId, jobId, id],
  );
  return rows[0];
}

/** The artifact's download address under the dialect prefix the request came in on. */
export function downloadUrl(prefix: string, artifact: Pick<ArtifactRow, 'id'>, jobId: string): string {
  return `${prefix}/deployment-jobs/${jobId}/artifacts/${artifact.id}`;
}
