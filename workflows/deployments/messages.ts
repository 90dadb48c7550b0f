import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CommandMeta } from '../../domain/actor';
import type { FailureDecisionCommand } from '../../domain/deployments/decisions';
import type { CancelDeploymentJobInput } from '../../domain/deployments/job-requests';
import type { DeploymentJob, DeploymentJobInput } from '../../domain/deployments/model';

/** Messages of the `deploymentJob` workflow; the API imports these definitions. */

export const DEPLOYMENT_JOB_WORKFLOW_TYPE = 'deploymentJob';

export type DeploymentJobWorkflowInput = DeploymentJobInput;

export interface DeploymentJobWorkflowResult {
  id: string;
  status: DeploymentJob['status'];
  statusReason: string | null;
}

/** An operator's answer to the failure a paused job waits on; the taskId names that failure, so two operators cannot both act on it. */
export const decideDeploymentFailure = defineUpdate<DeploymentJob, [FailureDecisionCommand, CommandMeta]>('decideFailure');
/** Stop the job: running hooks get SIGTERM, then SIGKILL after the grace period. */
export const cancelDeploymentJob = defineUpdate<DeploymentJob, [CancelDeploymentJobInput, CommandMeta]>('cancel');
/** The environment's deployment slot was given back: a queued job looks again at once. */
export const environmentSlotFreed = defineSignal<[]>('slotFreed');

export const getDeploymentJob = defineQuery<DeploymentJob | null>('getDeploymentJob');
