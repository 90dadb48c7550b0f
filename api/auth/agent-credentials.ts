import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../../domain/permissions';
import type { Pool, PoolClient } from '../../platform/db';
import { mapDatabaseError } from '../database-errors';
import { Unauthorized } from '../errors';

/**
 * An agent's own credential: `tga_<agent id, hex>_<32 random bytes, base64url>`.
 * Only its sha256 is stored; it is shown once, at registration. Unlike a JWT it
 * is looked up on every request, so deleting or revoking the agent stops it at
 * once, with nothing cached to outlive that.
 */
export const AGENT_CREDENTIAL_PREFIX = 'tga_';
const CREDENTIAL = /^tga_([0-9a-f]{32})_([A-Za-z0-9_-]{43,128})$/;

/**
 * What an agent may do with its credential, whatever roles its registrar had: act for itself (heartbeats, its
 * work channel, its tasks' claims, logs and artifacts), read its own targets and watch its own task stream. An agent
 * host is trusted with its own targets and nothing else: no other target's properties, no job, no release.
 */
export const AGENT_PERMISSIONS: readonly string[] = ['agent:self'];

export const isAgentCredential = (token: string) => token.startsWith(AGENT_CREDENTIAL_PREFIX);

export const credentialHash = (credential: string) => createHash('sha256').update(credential).digest('hex');

export function issueAgentCredential(agentId: string): { credential: string; hash: string } {
  const credential = `${AGENT_CREDENTIAL_PREFIX}${agentId.replace(/-/g, '')}_${randomBytes(32).toString('base64url')}`;
  return { credential, hash: credentialHash(credential) };
}

const hexToUuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

export async function verifyAgentCredential(db: Pool | PoolClient, credential: string): Promise<Principal> {
  const parts = CREDENTIAL.exec(credential);
  if (!parts) throw new Unauthorized('The agent credential is malformed (expected tga_<agent id>_<secret>)', 'TOKEN_INVALID');
  const agentId = hexToUuid(parts[1]);
  type Row = { tenant_id: string; id: string; name: string; revoked_at: Date | null };
  let row: Row | undefined;
  try {
    ({ rows: [row] } = await db.query<Row>('SELECT tenant_id, id, name, revoked_at FROM agents WHERE credential_hash = $1', [credentialHash(credential)]));
  } catch (err) {
    throw mapDatabaseError(err) ?? err;
  }
  if (!row || row.id !== agentId) {
    throw new Unauthorized(`Agent ${agentId} does not exist (it was deleted), or this is not the credential it was issued`, 'AGENT_CREDENTIAL_INVALID');
  }
  if (row.revoked_at) throw new Unauthorized(`Agent ${row.name} (${row.id}) was revoked at ${new Date(row.revoked_at).toISOString()}; its credential no longer works`, 'AGENT_REVOKED');
  return { userId: `agent:${row.id}`, tenantId: row.tenant_id, roles: ['agent'], permissions: [...AGENT_PERMISSIONS], name: row.name, groups: [], agentId: row.id };
}
