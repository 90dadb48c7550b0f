import type { Context } from 'hono';
import { tokenFacts } from '../auth/token-facts';
import type { AppEnv } from '../context';
import { bearerTokenOf } from '../middleware/auth';
import type { StreamCredential } from './credential-watch';

/** The token that opened a socket, verified again as any request's would be (an agent's is looked up each time). */
export function streamCredentialOf(c: Context<AppEnv>): StreamCredential {
  const token = bearerTokenOf(c) ?? '';
  const { verifier, pool } = c.get('deps');
  return {
    expiresAt: tokenFacts(token).expiresAt,
    recheck: async () => {
      await verifier.verify(token, pool);
    },
  };
}
