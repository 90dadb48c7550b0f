import type { JWK } from 'jose';
import type { Config } from '../../../platform/config';
import { evidenceVerificationKeys } from '../../../platform/evidence';

/**
 * The public halves of the evidence keys, current first, then retired ones, for
 * offline verification (npm run verify-evidence). Read on each ask, not cached:
 * after `npm run rotate-evidence-key` the set must name the new key at once.
 */
export async function evidenceKeys(config: Config): Promise<{ keys: JWK[] }> {
  return evidenceVerificationKeys(config);
}
