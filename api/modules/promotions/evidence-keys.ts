import type { JWK } from 'jose';
import type { Config } from '../../../platform/config';
import { publicJwkOf, readEvidenceKey } from '../../../platform/evidence';

/** The public half of the evidence signing key, for offline verification (npm run verify-evidence). */
const cached = new Map<string, { keys: JWK[] }>();

export async function evidenceKeys(config: Config): Promise<{ keys: JWK[] }> {
  const key = `${config.DATA_DIR}\n${config.EVIDENCE_SIGNING_KEY ?? ''}`;
  let jwks = cached.get(key);
  if (!jwks) cached.set(key, (jwks = { keys: [publicJwkOf(readEvidenceKey(config))] }));
  return jwks;
}
