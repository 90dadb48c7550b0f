import { integrationType } from '../domain/integrations/types';
import type { Pool, PoolClient } from '../platform/db';

/**
 * The integrations approval policies name as http gates: what a policy may
 * name when it is saved, and which policies stand in the way of deleting one.
 * Both lock the integration rows they read, so a save and a delete of the same
 * integration cannot both go through.
 */

type Db = Pool | PoolClient;

export interface HttpGateProblem {
  field: string;
  code: 'INTEGRATION_NOT_FOUND' | 'NOT_AN_HTTP_GATE';
  message: string;
}

/** Each gate whose integration is not an http-gate integration of the tenant, by field (`httpGates.N.integrationId`). */
export async function httpGateProblems(db: Db, tenantId: string, gates: readonly { integrationId: string }[]): Promise<HttpGateProblem[]> {
  if (gates.length === 0) return [];
  const ids = [...new Set(gates.map((g) => g.integrationId))];
  const { rows } = await db.query<{ id: string; name: string; type_id: string }>(
    'SELECT id, name, type_id FROM integrations WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR SHARE',
    [tenantId, ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return gates.flatMap((gate, i): HttpGateProblem[] => {
    const field = `httpGates.${i}.integrationId`;
    const row = byId.get(gate.integrationId);
    if (!row) return [{ field, code: 'INTEGRATION_NOT_FOUND', message: `no integration ${gate.integrationId} in this tenant` }];
    const kind = integrationType(row.type_id)?.kind;
    if (kind !== 'http-gate') return [{ field, code: 'NOT_AN_HTTP_GATE', message: `integration ${row.name} is a ${row.type_id} integration (${kind ?? 'unknown kind'}), not an http gate` }];
    return [];
  });
}

/** The live policies that name the integration as an http gate (call with the integration's row locked). */
export async function policiesNamingIntegration(db: Db, tenantId: string, integrationId: string): Promise<Array<{ id: string; name: string }>> {
  const { rows } = await db.query<{ id: string; name: string }>(
    'SELECT id, name FROM approval_policies WHERE tenant_id = $1 AND deleted_at IS NULL AND http_gates @> $2::jsonb ORDER BY name, id',
    [tenantId, JSON.stringify([{ integrationId }])],
  );
  return rows;
}
