import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../platform/config';
import { createPool } from '../platform/db';
import { resealSecrets } from '../store/integrations';
import { integrationSecretKeys } from '../store/integrations-secrets';

/**
 * Re-encrypts every integration's and plugin instance's secrets under the
 * first key of TOLLGATE_INTEGRATION_KEYS:
 *
 *   TOLLGATE_INTEGRATION_KEYS="new:$(openssl rand -base64 32),old:<the old key>" npm run rotate-integration-key
 *
 * Run it with the new key first and the old ones after (every listed key
 * decrypts), against the database in DATABASE_URL (or the local stack's).
 * When it reports every row current, drop the old keys from the API's and the
 * workers' TOLLGATE_INTEGRATION_KEYS. Safe to run again: rows already under
 * the first key are left alone. `-- --tenant <id>` limits it to one tenant.
 * Exits 1 when a row is sealed under a key the list does not hold (each such
 * row and its key are named; the other rows still move).
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { tenant: { type: 'string' } } });
  const config = loadConfig();
  const keys = integrationSecretKeys(config);
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    const { resealed, current, unreadable } = await resealSecrets(pool, keys, values.tenant);
    console.log(`re-encrypted ${resealed} row(s) under key "${keys[0].id}"; ${current} already were`);
    for (const u of unreadable) console.error(`${u.row} is sealed under key "${u.keyId}", which TOLLGATE_INTEGRATION_KEYS does not list`);
    return unreadable.length ? 1 : 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError ? err.message : `rotate-integration-key failed: ${(err as Error)?.message ?? err}`);
    process.exit(1);
  },
);
