import type { Context } from 'hono';
import { VERSION_PATTERN } from '../../../domain/promotions/requests';
import { DIGEST_PATTERN } from '../../../domain/integrations/oci';
import { integrationType } from '../../../domain/integrations/types';
import { findIntegration } from '../../../store/integrations';
import type { AppEnv } from '../../context';
import { ApiError, Unprocessable } from '../../errors';
import { runCall } from './integrations.calls';

/**
 * The versions a component's sync-versions pulls from a container-registry
 * integration: the repository's tags that read as versions, each with its
 * manifest digest, read by the worker (an integrationCall) over the OCI
 * distribution API. A registry that cannot be read is a 502 with the reason.
 */
export async function registryVersions(c: Context<AppEnv>, tenantId: string, from: { integrationId: string; repository: string }) {
  const row = await findIntegration(c.get('deps').pool, tenantId, from.integrationId);
  if (!row) throw new Unprocessable(`Integration ${from.integrationId} not found`, 'UNKNOWN_INTEGRATION', { integrationId: from.integrationId });
  if (integrationType(row.type_id)?.kind !== 'container-registry') {
    throw new Unprocessable(`Integration ${row.name} is a ${row.type_id}, not a container registry`, 'NOT_A_REGISTRY', { integrationId: row.id, typeId: row.type_id });
  }
  const result = await runCall(c, { tenantId, target: { source: 'integration', id: row.id }, operation: 'tags', args: { repository: from.repository } }, `Tags of ${from.repository} on ${row.name}`);
  if (!result.ok) throw new ApiError(502, 'REGISTRY_UNREACHABLE', `The registry ${row.name} could not list ${from.repository}: ${result.reason}`, { integrationId: row.id, reason: result.reason });
  const tags = (result.details.tags ?? []) as Array<{ tag: string; digest: string | null }>;
  const versions = tags.filter((t) => VERSION_PATTERN.test(t.tag)).map((t) => ({ version: t.tag, digest: t.digest && DIGEST_PATTERN.test(t.digest) ? t.digest : null }));
  if (versions.length === 0) {
    throw new Unprocessable(`${from.repository} on ${row.name} has no tag that reads as a version (found: ${tags.map((t) => t.tag).slice(0, 20).join(', ') || 'none'})`, 'NO_VERSIONS', { integrationId: row.id });
  }
  return versions.slice(0, 500);
}
