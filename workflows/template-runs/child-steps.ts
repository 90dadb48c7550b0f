import * as wf from '@temporalio/workflow';
import type { StepRequest, StepResult } from '../../domain/templates/model';
import { workflowId } from '../../domain/workflow-ids';
import { deploymentTitle } from '../../domain/workflow-titles';
import type { TemplateStepActivities } from '../../activities/template-runs/steps/step-activities';
import type { deploymentJob } from '../deployments/deployment-job';
import { DEPLOYMENT_JOB_WORKFLOW_TYPE, searchAttributesOf as jobSearchAttributesOf } from '../deployments/messages';

/**
 * The steps that reach other modules and wait for them (runsOn 'child'):
 *
 * - `deploy` is a real child: an activity clears the promotion (the clearance
 *   every deploying path meets), then the deployment job runs as this run's
 *   child, as a promotion's job is the promotion's; cancelling the run cancels
 *   the job (its hooks get SIGTERM), and a run that goes away takes it along.
 * - `promote` is a heartbeating activity: a promotion is created by
 *   update-with-start on its own workflow (its answer is the persisted row), so
 *   no run can own it as a child; the activity requests it under an id derived
 *   from the run and node and waits for its outcome, and cancelling it cancels
 *   the promotion.
 *
 * Every node's activity or child carries the node's summary.
 */

/** A step that waits on people (approvals, a CAB) may wait for weeks; its node's `timeout` bounds it when set. */
const LONGEST_WAIT_MS = 90 * 24 * 3_600_000;

export async function callChildStep(request: StepRequest, options: { summary: string; timeoutMs?: number }): Promise<StepResult> {
  switch (request.type) {
    case 'promote':
      return waiting(options).templatePromoteStep.executeWithOptions(
        { ...waitingOptions(options), summary: options.summary },
        [request],
      );
    case 'change-request':
      return waiting(options).templateChangeRequestStep.executeWithOptions({ ...waitingOptions(options), summary: options.summary }, [request]);
    case 'rollout':
      return waiting(options).templateRolloutStep.executeWithOptions({ ...waitingOptions(options), summary: options.summary }, [request]);
    case 'deploy':
      return deploy(request, options);
    default:
      // A type this worker has no runner for fails its node saying so, it never hangs.
      throw wf.ApplicationFailure.nonRetryable(`Step type ${request.type} cannot run on this worker yet`, 'STEP_TYPE_UNAVAILABLE');
  }
}

function waitingOptions(options: { timeoutMs?: number }): wf.ActivityOptions {
  return {
    startToCloseTimeout: options.timeoutMs ?? LONGEST_WAIT_MS,
    // A worker that dies mid-wait is noticed within this; the next try finds the same promotion.
    heartbeatTimeout: '30s',
    // The run learns the step was cancelled only after the activity has cancelled what it started.
    cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 50 },
  };
}

function waiting(options: { timeoutMs?: number }) {
  return wf.proxyActivities<TemplateStepActivities>(waitingOptions(options));
}

const { templatePrepareDeployStep } = wf.proxyActivities<TemplateStepActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

async function deploy(request: StepRequest, options: { summary: string; timeoutMs?: number }): Promise<StepResult> {
  const plan = await templatePrepareDeployStep.executeWithOptions(
    { startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 }, summary: `${options.summary}: clearance` },
    [request],
  );
  const { job } = plan;
  let result;
  try {
    result = await wf.executeChild<typeof deploymentJob>(DEPLOYMENT_JOB_WORKFLOW_TYPE, {
      workflowId: workflowId(request.tenantId, 'deployment', job.jobId),
      args: [job],
      // The job owns the environment's deployment slot: if the run goes away, the job is cancelled and gives it back.
      parentClosePolicy: wf.ParentClosePolicy.REQUEST_CANCEL,
      ...(options.timeoutMs ? { workflowExecutionTimeout: options.timeoutMs } : {}),
      typedSearchAttributes: jobSearchAttributesOf(
        request.tenantId,
        job.jobId,
        { status: 'queued', environmentName: plan.environmentName, releaseName: plan.releaseName },
        deploymentTitle({ kind: 'promotion', releaseName: plan.releaseName, environmentName: plan.environmentName }),
      ),
      staticSummary: options.summary,
      staticDetails: `Deployment job of promotion ${job.promotionId}, for template run ${request.runId} step ${request.nodeId}`,
    });
  } catch (err) {
    if (err instanceof wf.ChildWorkflowFailure && !(err.cause instanceof wf.CancelledFailure)) {
      throw wf.ApplicationFailure.nonRetryable(`Deployment job ${job.jobId} failed: ${err.cause?.message ?? err.message}`, 'DEPLOYMENT_FAILED', { deploymentJobId: job.jobId });
    }
    throw err;
  }
  const outputs = { deploymentJobId: result.id, status: result.status };
  if (result.status !== 'deployed') {
    throw wf.ApplicationFailure.nonRetryable(`Deployment job ${result.id} ended ${result.status}${result.statusReason ? `: ${result.statusReason}` : ''}`, `DEPLOYMENT_${result.status.toUpperCase()}`, outputs);
  }
  return { outputs };
}
