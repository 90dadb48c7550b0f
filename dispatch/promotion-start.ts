import type { SearchAttributePair } from '@temporalio/common';
import type { Identity } from '../domain/actor';
import { DomainError } from '../domain/errors';
import type { CreatePromotionInput } from '../domain/promotions/commands';
import { blockers, evaluateGates } from '../domain/promotions/gates';
import type { GateInputs, GateResult, PromotionStatus } from '../domain/promotions/model';
import { DEFAULT_PIPELINE_NAME, pipelineRefusal } from '../domain/promotions/pipelines';
import { IN_FLIGHT } from '../domain/promotions/state-machine';
import { promotionTitle } from '../domain/workflow-titles';
import type { Config } from '../platform/config';
import { withTransaction, type Pool } from '../platform/db';
import { deploymentSettings } from '../platform/deployment-settings';
import { httpGateChecker } from '../activities/integrations/http-gate';
import { loadGateInputs } from '../store/gate-inputs';
import { searchAttributesOf, type PromotionWorkflowInput } from '../workflows/promotions/messages';

/**
 * Requesting a promotion, for every caller (the API's POST /promotions and a
 * template run's `promote` step): the same refusals before any workflow
 * exists, the same start options, and the one lock that keeps a single open
 * promotion per release and environment. Refusals are DomainErrors the API
 * answers as it always did (404, 422, 409) and a step reports as its failure.
 */

/** What gathering a promotion's gate inputs needs: the database, and the config whose keys open an http gate's secrets. */
export interface GateDeps {
  pool: Pool;
  config: Pick<Config, 'TOLLGATE_INTEGRATION_KEYS' | 'DATA_DIR' | 'TOLLGATE_PLUGINS' | 'PLUGIN_CALL_TIMEOUT'>;
}

/** The gate inputs for a release and environment (the policy's http gates called now), or the 404 that names which is missing. */
export async function promotionGateInputs(deps: GateDeps, tenantId: string, body: { releaseId: string; targetEnvironmentId: string; changeId?: string | null }): Promise<GateInputs> {
  const result = await loadGateInputs(deps.pool, { tenantId, ...body, now: new Date().toISOString() }, httpGateChecker(deps));
  if (result.ok) return result.inputs;
  if (result.missing === 'release') throw new DomainError('not_found', 'RELEASE_NOT_FOUND', `Release ${body.releaseId} not found`);
  throw new DomainError('not_found', 'ENVIRONMENT_NOT_FOUND', `Environment ${body.targetEnvironmentId} not found`);
}

/**
 * What POST /promotions/preview-gates answers and a template's `gate` step
 * decides on: the gates a request by `requester` would meet now.
 */
export async function previewPromotionGates(deps: GateDeps, tenantId: string, body: { releaseId: string; targetEnvironmentId: string; changeId?: string | null }, requester: Identity) {
  const inputs = await promotionGateInputs(deps, tenantId, body);
  const gates: GateResult[] = evaluateGates(inputs, { now: new Date().toISOString(), requester, approvals: [] });
  const pipeline = inputs.pipeline ?? { id: null, name: DEFAULT_PIPELINE_NAME, environments: [] };
  return { wouldPass: blockers(gates).length === 0 && !inputs.release.deprecated, gates, pipeline, inputs };
}

/** The same evaluator the workflow runs: a blocked request is refused before any workflow exists. */
export async function checkPromotionRequest(deps: GateDeps, tenantId: string, body: CreatePromotionInput, requester: Identity): Promise<GateInputs> {
  const inputs = await promotionGateInputs(deps, tenantId, body);
  if (inputs.release.deprecated) throw new DomainError('rule', 'RELEASE_DEPRECATED', `Release ${inputs.release.name} is deprecated and cannot be promoted`, { releaseId: body.releaseId });
  // A target outside the release's pipeline is refused by name, before the gate results that would only repeat it.
  const outside = pipelineRefusal(inputs);
  if (outside) throw new DomainError('rule', outside.code, outside.message, outside.details);
  const gates = evaluateGates(inputs, { now: new Date().toISOString(), requester, approvals: [] });
  const blocking = blockers(gates);
  if (blocking.length) {
    throw new DomainError('rule', 'PROMOTION_BLOCKED', `Blocked by ${blocking.map((g) => g.gateName).join(', ')}: ${blocking.map((g) => g.message).join('; ')}`, { gates });
  }
  return inputs;
}

export interface PromotionStart {
  args: [PromotionWorkflowInput];
  searchAttributes: SearchAttributePair[];
  summary: string;
  details: string;
}

export function promotionStartOptions(config: Config, tenantId: string, id: string, inputs: GateInputs, body: CreatePromotionInput, requester: Identity): PromotionStart {
  return {
    args: [{ tenantId, promotionId: id, settings: { expiryHourMs: config.PROMOTION_EXPIRY_HOUR, deployment: deploymentSettings(config) } }],
    searchAttributes: searchAttributesOf(
      tenantId,
      { id, status: 'pending', targetEnvironmentName: inputs.environment.name, releaseName: inputs.release.name },
      promotionTitle({ releaseName: inputs.release.name, targetEnvironmentName: inputs.environment.name }),
    ),
    summary: `${inputs.release.name} → ${inputs.environment.name}`,
    details: `Promotion ${id} requested by ${requester.email ?? requester.userId}: ${body.reason}`,
  };
}

/**
 * One open promotion per release and environment. The check and the create run
 * under a transaction-scoped lock on that pair, held until the workflow has
 * written the new row (the create answers only then), so of two concurrent
 * requests the second sees the first's row. A keyed retry of the same create
 * (same id) is not a second promotion.
 */
export async function oneInFlight<T>(pool: Pool, tenantId: string, body: { releaseId: string; targetEnvironmentId: string }, id: string, create: () => Promise<T>): Promise<T> {
  return withTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`promotion-in-flight:${tenantId}:${body.releaseId}:${body.targetEnvironmentId}`]);
    const { rows } = await db.query<{ id: string; status: PromotionStatus }>(
      `SELECT id, status FROM promotions
        WHERE tenant_id = $1 AND release_id = $2 AND target_environment_id = $3 AND status = ANY($4::text[]) AND id <> $5
        ORDER BY requested_at LIMIT 1`,
      [tenantId, body.releaseId, body.targetEnvironmentId, IN_FLIGHT, id],
    );
    const first = rows[0];
    if (first) {
      throw new DomainError('invalid_state', 'PROMOTION_IN_FLIGHT', `Promotion ${first.id} of this release to this environment is still ${first.status}; cancel it or wait for it to end`, {
        promotionId: first.id,
        status: first.status,
      });
    }
    return create();
  });
}
