import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CommandMeta } from '../../domain/actor';
import type { FailureDecisionCommand } from '../../domain/deployments/decisions';
import type { CancelDeploymentJobInput } from '../../domain/deployments/job-requests';
import type { DeploymentJob, DeploymentJobInput } from '../../domain/deployments/model';
import { SA } from '../../domain/search-attributes';

/** Messages of the `deploymentJob` workflow; the API imports these definitions. */

export const DEPLOYMENT_JOB_WORKFLOW_TYPE = 'deploymentJob';

export type DeploymentJobWorkflowInput = DeploymentJobInput;

export interface DeploymentJobWorkflowResult {
  id: string;
  status: DeploymentJob['status'];
  statusReason: string | null;
}

/**
 * A deployment job's search attributes, one list for every end: the starts
 * (a promotion's child, a rollback from the API) set them for a queued job,
 * and the workflow upserts what moved; before its plan is loaded the job has
 * no environment or release to show. Running jobs replay their upserts, so a
 * new value or order needs `patched()`. The title is given at starts only.
 */
export function searchAttributesOf(tenantId: string, jobId: string, job?: Pick<DeploymentJob, 'status' | 'environmentName' | 'releaseName'> | null, title?: string): SearchAttributePair[] {
  const attributes: SearchAttributePair[] = [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'deployment' },
    { key: SA.resourceId, value: jobId },
    { key: SA.state, value: job?.status ?? 'queued' },
  ];
  if (job) attributes.push({ key: SA.environment, value: job.environmentName }, { key: SA.release, value: job.releaseName });
  if (title !== undefined) attributes.push({ key: SA.title, value: title });
  return attributes;
}

/** An operator's answer to the failure a paused job waits on; the taskId names that failure, so two operators cannot both act on it. */
export const decideDeploymentFailure = defineUpdate<DeploymentJob, [FailureDecisionCommand, CommandMeta]>('decideFailure');
/** Stop the job: running hooks get SIGTERM, then SIGKILL after the grace period. */
export const cancelDeploymentJob = defineUpdate<DeploymentJob, [CancelDeploymentJobInput, CommandMeta]>('cancel');
/** The environment's deployment slot was given back: a queued job looks again at once. */
export const environmentSlotFreed = defineSignal<[]>('slotFreed');

export const getDeploymentJob = defineQuery<DeploymentJob | null>('getDeploymentJob');
