import { previewPromotionGates } from '../../../dispatch/promotion-start';
import { blockers } from '../../../domain/promotions/gates';
import type { StepExecutor } from './executor';
import { asStepFailure, stepFailure } from './step-failures';
import { gateDepsOf } from '../../integrations/http-gate';

/**
 * The `gate` step: the promotion gates a request by the run's requester would
 * meet now, computed by the very code behind POST /promotions/preview-gates
 * (one loader, one evaluator). Blocked fails the node unless `failOnBlocked`
 * is false; either way the outputs list every gate.
 */
export const gateStep: StepExecutor<{ releaseId: string; environmentId: string; failOnBlocked: boolean }> = async (input, { deps, request }) => {
  let preview;
  try {
    preview = await previewPromotionGates(gateDepsOf(deps), request.tenantId, { releaseId: input.releaseId, targetEnvironmentId: input.environmentId }, request.requestedBy);
  } catch (err) {
    throw asStepFailure(err);
  }
  const { wouldPass, gates } = preview;
  if (!wouldPass && input.failOnBlocked) {
    const why = preview.inputs.release.deprecated ? [`release ${preview.inputs.release.name} is deprecated`] : blockers(gates).map((g) => `${g.gateName}: ${g.message}`);
    throw stepFailure('GATE_BLOCKED', `Blocked for ${preview.inputs.release.name} → ${preview.inputs.environment.name}: ${why.join('; ')}`, { passed: false, gates });
  }
  return { passed: wouldPass, gates };
};
