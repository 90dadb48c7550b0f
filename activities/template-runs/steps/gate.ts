import { previewPromotionGates } from '../../../dispatch/promotion-start';
import type { StepRequest, StepResult } from '../../../domain/templates/model';
import type { ActivityDeps } from '../../deps';
import { asStepFailure, stepFailure, stepInputs } from './step-failures';

/**
 * The `gate` step: the promotion gates a request by the run's requester would
 * meet now, computed by the very code behind POST /promotions/preview-gates
 * (one loader, one evaluator). Blocked fails the node unless `failOnBlocked`
 * is false; either way the outputs list every gate.
 */
export function gateStep(deps: Pick<ActivityDeps, 'pool'>) {
  return async (request: StepRequest): Promise<StepResult> => {
    const input = stepInputs(request, 'gate') as { releaseId: string; environmentId: string; failOnBlocked: boolean };
    let preview;
    try {
      preview = await previewPromotionGates(deps.pool, request.tenantId, { releaseId: input.releaseId, targetEnvironmentId: input.environmentId }, request.requestedBy);
    } catch (err) {
      throw asStepFailure(err);
    }
    const { wouldPass, gates } = preview;
    if (!wouldPass && input.failOnBlocked) {
      const blocking = gates.filter((g) => !g.passed && g.blocking);
      const why = preview.inputs.release.deprecated ? [`release ${preview.inputs.release.name} is deprecated`] : blocking.map((g) => `${g.gateName}: ${g.message}`);
      throw stepFailure('GATE_BLOCKED', `Blocked for ${preview.inputs.release.name} → ${preview.inputs.environment.name}: ${why.join('; ')}`, { passed: false, gates });
    }
    return { outputs: { passed: wouldPass, gates } };
  };
}
