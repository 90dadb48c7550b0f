import { ConfigError, loadConfig } from '../platform/config';
import { existingEvidenceKey, publicJwkOf, rotateDevEvidenceKey } from '../platform/evidence';
import { localDataDir } from './stack/data-dir';

/**
 * Rotates the evidence signing key. With the local stack's dev key (no
 * EVIDENCE_SIGNING_KEY) it makes a new key in DATA_DIR and sets the old one's
 * public half aside, so packets signed before still verify; restart the
 * worker(s) so they sign with the new key. With EVIDENCE_SIGNING_KEY set the
 * key is yours to replace: this prints its public half to add to
 * EVIDENCE_RETIRED_KEYS before you set the new key.
 */
function main(): number {
  const config = loadConfig();
  if (config.EVIDENCE_SIGNING_KEY) {
    const pub = publicJwkOf(existingEvidenceKey(config)!);
    console.log('EVIDENCE_SIGNING_KEY is set: rotate it where it is configured. Keep packets it signed verifiable by adding its public half to');
    console.log('EVIDENCE_RETIRED_KEYS (a JSON array or {"keys":[…]}) of the API and the workers, then set the new EVIDENCE_SIGNING_KEY and restart them:');
    console.log(JSON.stringify(pub));
    return 0;
  }
  const { retired, current } = rotateDevEvidenceKey(localDataDir(config));
  console.log(`evidence key rotated: new packets are signed with "${current}" once the worker restarts; "${retired}" is retired and still verifies`);
  return 0;
}

try {
  process.exit(main());
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `rotate-evidence-key failed: ${(err as Error)?.message ?? err}`);
  process.exit(1);
}
