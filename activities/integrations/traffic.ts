import { ApplicationFailure } from '@temporalio/common';
import { joinConfig } from '../../domain/integrations/config';
import { TRAFFIC_INTEGRATION_TYPE } from '../../domain/rollouts/integrations';
import { webhookBody } from '../../domain/rollouts/traffic-webhook';
import type { TrafficSpec, TrafficState } from '../../domain/traffic';
import { integrationSecretKeys } from '../../store/integrations-secrets';
import { integrationWithSecrets } from '../../store/integrations';
import type { ActivityDeps } from '../deps';
import { CallFailed, reasonOf } from './http';
import { runtimeOf } from './runtimes';
import { WebhookRefused } from './traffic-webhook';

export interface IntegrationTrafficInput {
  tenantId: string;
  rolloutId: string;
  integrationId: string;
}

/**
 * A rollout's traffic through a `traffic-webhook` integration instead of a
 * router agent: the row and its bearer token are read here, when the activity
 * runs, so the token never enters the rollout's history (its input carries
 * the integration's id only). An integration gone or of another type, or a
 * receiver refusing (4xx), fails at once; anything else is retried by the
 * workflow's policy.
 */
export function trafficIntegrationActivities(deps: ActivityDeps) {
  async function run(input: IntegrationTrafficInput, operation: 'setWeights' | 'readWeights', args: Record<string, unknown>): Promise<TrafficState> {
    const row = await integrationWithSecrets(deps.pool, integrationSecretKeys(deps.config), input.tenantId, input.integrationId);
    if (!row) throw ApplicationFailure.create({ type: 'TRAFFIC_INTEGRATION_NOT_FOUND', message: `traffic integration ${input.integrationId} no longer exists`, nonRetryable: true });
    if (row.type_id !== TRAFFIC_INTEGRATION_TYPE) {
      throw ApplicationFailure.create({ type: 'INTEGRATION_WRONG_TYPE', message: `integration ${row.name} is a ${row.type_id} integration, not a ${TRAFFIC_INTEGRATION_TYPE}`, nonRetryable: true });
    }
    const config = joinConfig({ config: row.config, secrets: row.secrets });
    try {
      return (await runtimeOf(row.type_id, operation)!(config, args)) as unknown as TrafficState;
    } catch (err) {
      const message = `traffic integration ${row.name}: ${err instanceof CallFailed ? err.message : reasonOf(err, Number(config.timeoutMs ?? 0))}`;
      if (err instanceof WebhookRefused) throw ApplicationFailure.create({ type: 'TRAFFIC_WEBHOOK_REFUSED', message, nonRetryable: true });
      throw ApplicationFailure.create({ type: 'TRAFFIC_WEBHOOK_FAILED', message });
    }
  }

  return {
    /** Sets the weights (PUT) and answers what the receiver says it has now. */
    async setIntegrationTraffic(input: IntegrationTrafficInput & { spec: TrafficSpec }): Promise<TrafficState> {
      return run(input, 'setWeights', { body: webhookBody(input.rolloutId, input.spec) });
    },
    /** Reads the weights back (GET). */
    async readIntegrationTraffic(input: IntegrationTrafficInput & { routeId: string }): Promise<TrafficState> {
      return run(input, 'readWeights', { routeId: input.routeId });
    },
  };
}
