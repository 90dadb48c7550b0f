import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { isAgentCredential } from './agent-credentials';

/**
 * What a handler needs to know about the token a request was authenticated with,
 * beyond whose it is. Read only after the verifier accepted the token, so the
 * claims are trusted; decoding is not verifying.
 */
export interface TokenFacts {
  /** Names the token across copies: `jti:<jti>` when the JWT carries one (re-encoded copies share it), else `sha256:<hex>`. */
  key: string;
  /** The JWT's exp in epoch ms; null for an agent credential (it lasts until the agent is revoked or deleted). */
  expiresAt: number | null;
}

export function tokenFacts(token: string): TokenFacts {
  const sha = `sha256:${createHash('sha256').update(token).digest('hex')}`;
  if (isAgentCredential(token)) return { key: sha, expiresAt: null };
  let claims: { jti?: unknown; exp?: unknown };
  try {
    claims = decodeJwt(token);
  } catch {
    return { key: sha, expiresAt: null };
  }
  const jti = typeof claims.jti === 'string' && claims.jti.trim() !== '' ? claims.jti : undefined;
  return { key: jti ? `jti:${jti}` : sha, expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null };
}
