import type { DeploymentJobInput } from '../../../domain/deployments/model';
import { clearPromotionDeploy } from '../../../domain/promotions/promotion-deploy';
import type { Promotion } from '../../../domain/promotions/model';
import type { StepRequest } from '../../../domain/templates/model';
import { deploymentSettings } from '../../../platform/deployment-settings';
import { promotionGateInputs } from '../../../dispatch/promotion-start';
import type { ActivityDeps } from '../../deps';
import { asStepFailure, stepFailure, stepInputs } from './step-failures';
import { stepResourceId } from './step-ids';
import { gateDepsOf } from '../../integrations/http-gate';

/** What the run needs to start the deployment job as its child: the job's input and the names its search attributes show. */
export interface DeployStepPlan {
  job: DeploymentJobInput;
  environmentName: string;
  releaseName: string;
}

/**
 * The `deploy` step's first half: the promotion, loaded with the gate inputs
 * that stand now, must clear (domain/promotions/promotion-deploy.ts, on the
 * clearance every deploying path meets); then the job is the run's child, as a
 * promotion's job is the promotion's. Each try of the node deploys afresh
 * under its own job id (derived from the run, node, item and try).
 */
export function prepareDeployStep(deps: ActivityDeps) {
  return async (request: StepRequest): Promise<DeployStepPlan> => {
    const { promotionId } = stepInputs(request, 'deploy') as { promotionId: string };
    try {
      const { rows } = await deps.pool.query<{ body: Promotion }>('SELECT body FROM promotions WHERE tenant_id = $1 AND id = $2', [request.tenantId, promotionId]);
      const p = rows[0]?.body;
      if (!p) throw stepFailure('PROMOTION_NOT_FOUND', `Promotion ${promotionId} not found`);
      const inputs = await promotionGateInputs(gateDepsOf(deps), request.tenantId, { releaseId: p.releaseId, targetEnvironmentId: p.targetEnvironmentId, changeId: p.changeId });
      const cleared = clearPromotionDeploy(p, inputs, new Date().toISOString());
      if (!cleared.ok) throw cleared.error;
      const jobId = stepResourceId(request, `deployment:${request.attempt}`);
      return {
        job: {
          tenantId: request.tenantId,
          jobId,
          kind: 'promotion',
          environmentId: p.targetEnvironmentId,
          releaseId: p.releaseId,
          promotionId: p.id,
          requestedBy: request.requestedBy.userId,
          reason: `Template run ${request.runId}, step ${request.nodeId}: deploys promotion ${p.id}`,
          settings: deploymentSettings(deps.config),
        },
        environmentName: p.targetEnvironmentName,
        releaseName: p.releaseName,
      };
    } catch (err) {
      throw asStepFailure(err);
    }
  };
}
