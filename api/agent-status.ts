/**
 * An agent's status as SQL over `agents a`, computed at read from the
 * heartbeat and the revocation: the agents module lists and filters by it,
 * the targets module reads it before a health check. `offlineAfterMs` comes
 * from config (an integer), never from a request.
 */
export function agentStatusSql(offlineAfterMs: number): string {
  const ms = Math.max(0, Math.floor(Number(offlineAfterMs)));
  return `(CASE WHEN a.revoked_at IS NOT NULL THEN 'revoked' WHEN a.last_heartbeat_at > now() - ${ms} * interval '1 millisecond' THEN 'online' ELSE 'offline' END)`;
}
