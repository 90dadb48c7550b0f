import { ApplicationFailure } from '@temporalio/common';
import { ANALYSIS_INTEGRATION_TYPE } from '../../domain/rollouts/integrations';
import { integrationSecretKeys } from '../../store/integrations-secrets';
import { integrationWithSecrets } from '../../store/integrations';
import type { ActivityDeps } from '../deps';
import { bearer } from './http';

export interface PrometheusTarget {
  address: string;
  headers: Record<string, string>;
  timeoutMs: number;
  integration: { id: string; name: string };
}

/**
 * The server an analysis's `prometheus` integration names, with its bearer
 * token and timeout, read when the measurement runs (the token stays in the
 * activity). One gone or of another type fails the measurement for good.
 */
export async function prometheusTarget(deps: ActivityDeps, tenantId: string, integrationId: string): Promise<PrometheusTarget> {
  const row = await integrationWithSecrets(deps.pool, integrationSecretKeys(deps.config), tenantId, integrationId);
  if (!row) throw ApplicationFailure.create({ type: 'PROMETHEUS_INTEGRATION_NOT_FOUND', message: `prometheus integration ${integrationId} no longer exists`, nonRetryable: true });
  if (row.type_id !== ANALYSIS_INTEGRATION_TYPE) {
    throw ApplicationFailure.create({ type: 'INTEGRATION_WRONG_TYPE', message: `integration ${row.name} is a ${row.type_id} integration, not a ${ANALYSIS_INTEGRATION_TYPE}`, nonRetryable: true });
  }
  return {
    address: String(row.config.url),
    headers: bearer(row.secrets.bearerToken),
    timeoutMs: Number(row.config.timeoutMs ?? 5_000),
    integration: { id: row.id, name: row.name },
  };
}
