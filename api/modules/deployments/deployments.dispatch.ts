import type { Context } from 'hono';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import type { DeploymentJob } from '../../../domain/deployments/model';
import { workflowId } from '../../../domain/workflow-ids';
import { getDeploymentJob } from '../../../workflows/deployments/messages';
import type { AppEnv } from '../../context';
import { Conflict, NotFound, ServiceUnavailable } from '../../errors';
import { principalOf } from '../../principal';
import { isWorkflowGone, mapTemporalError } from '../../temporal-errors';
import { sendUpdate } from '../../workflow-commands';
import { endedOutsideConflict } from '../../ended-outside';
import { findJob } from './deployments.queries';

/** Sends operator commands to deployment-job workflows, and reads a job its workflow has not written yet; the API never writes a job row. */

const KEY_SCOPE = 'deployment-job';
/** A read waits this long for a workflow to answer its query before a retryable 503. */
const QUERY_TIMEOUT_MS = 5_000;
const QUERY_RETRY_MS = 100;

export const jobNotFound = (id: string) => new NotFound(`Deployment job ${id} not found`, 'DEPLOYMENT_JOB_NOT_FOUND');

/**
 * The job as its row shows it; in the moment between a job's start and its
 * first write, as its workflow answers the getDeploymentJob query. A workflow
 * that has not built its job yet (it loads its plan first) is asked again for
 * a few seconds rather than answered with a 404 for a job that is there.
 */
export async function loadJob(c: Context<AppEnv>, tenantId: string, id: string): Promise<DeploymentJob> {
  const { pool } = c.get('deps');
  const deadline = Date.now() + QUERY_TIMEOUT_MS;
  for (;;) {
    const row = await findJob(pool, tenantId, id);
    if (row) return row;
    const live = await queryJob(c, tenantId, id, deadline);
    if (live === 'absent') throw jobNotFound(id);
    if (live) return live;
    if (Date.now() >= deadline) throw notReadable(id);
    await new Promise((r) => setTimeout(r, QUERY_RETRY_MS));
  }
}

const notReadable = (id: string) => new ServiceUnavailable(`Deployment job ${id} has started but cannot be read yet; retry shortly`, 'JOB_NOT_READABLE');

async function queryJob(c: Context<AppEnv>, tenantId: string, id: string, deadline: number): Promise<DeploymentJob | null | 'absent'> {
  const client = await c.get('deps').temporal.client();
  try {
    return await client.withDeadline(Math.max(deadline, Date.now() + QUERY_RETRY_MS), () => client.workflow.getHandle(workflowId(tenantId, 'deployment', id)).query(getDeploymentJob));
  } catch (err) {
    if (isWorkflowGone(err)) return 'absent';
    const mapped = mapTemporalError(err);
    if (mapped && mapped.status === 503) throw mapped;
    // The workflow exists but cannot answer (no worker yet, or it failed before its first write).
    c.get('log').warn({ err, jobId: id }, 'deployment job workflow did not answer its query');
    throw notReadable(id);
  }
}

export async function updateJobWorkflow<B>(c: Context<AppEnv>, id: string, definition: UpdateDefinition<DeploymentJob, [B, CommandMeta]>, body: B): Promise<DeploymentJob> {
  const { tenantId } = principalOf(c);
  return sendUpdate(c, {
    kind: 'deployment',
    id,
    definition,
    body,
    scope: KEY_SCOPE,
    async gone() {
      const ended = await endedOutsideConflict(c, {
        kind: 'deployment',
        id,
        noun: 'Deployment job',
        read: () => findJob(c.get('deps').pool, tenantId, id),
        notFound: () => jobNotFound(id),
        stateField: 'status',
        // Its targets are wherever the agents left them: no new run takes a job over.
        resumable: () => false,
        instead: 'deploy the release again, or roll the environment back',
        reconcilePath: null,
      });
      if (ended) throw ended;
      const current = await findJob(c.get('deps').pool, tenantId, id);
      if (!current) throw jobNotFound(id);
      throw new Conflict(`Deployment job ${id} is ${current.status} and accepts no further commands`, 'JOB_FINISHED', { currentStatus: current.status, finishedAt: current.finishedAt });
    },
  });
}
