import type { PoolClient } from '../../../platform/db';
import { Forbidden } from '../../errors';
import { iso } from '../../entity-writes';

/**
 * A registration token registers a given agent name once. Without this, an agent
 * deleted or revoked by an operator came straight back: it still held the token it
 * was started with and simply registered again. A token may still register other
 * names (one token for a fleet), and a new token registers a used name again:
 * that is the operator's deliberate act.
 */
export async function requireUnusedRegistrationToken(db: PoolClient, tenantId: string, name: string, tokenKey: string): Promise<void> {
  const { rows } = await db.query(
    'SELECT agent_id, agent_name, registered_at FROM agent_registration_tokens WHERE tenant_id = $1 AND name_key = lower($2) AND token_key = $3',
    [tenantId, name, tokenKey],
  );
  const used = rows[0];
  if (!used) return;
  throw new Forbidden(
    `This registration token already registered agent ${used.agent_name} (${used.agent_id}) at ${iso(used.registered_at)}; a token registers a name once, so a deleted or revoked agent does not come back with it: register it again with a new token`,
    'REGISTRATION_TOKEN_USED',
    { name, agentId: used.agent_id, registeredAt: iso(used.registered_at) },
  );
}

export async function recordRegistrationToken(
  db: PoolClient,
  tenantId: string,
  use: { agentId: string; name: string; tokenKey: string; expiresAt: number | null; registeredBy: string },
): Promise<void> {
  // Rows of tokens past their exp guard nothing (such a token is refused anyway): they go as new ones come.
  await db.query(`DELETE FROM agent_registration_tokens WHERE tenant_id = $1 AND token_expires_at < now() - interval '1 hour'`, [tenantId]);
  await db.query(
    `INSERT INTO agent_registration_tokens (tenant_id, name_key, token_key, agent_id, agent_name, registered_by, token_expires_at)
     VALUES ($1, lower($2), $3, $4, $2, $5, $6)`,
    [tenantId, use.name, use.tokenKey, use.agentId, use.registeredBy, use.expiresAt === null ? null : new Date(use.expiresAt)],
  );
}
