import { ConfigError, loadConfig } from '../platform/config';
import { runMigrations } from '../platform/db';

/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the private cluster). Idempotent. */
async function main(): Promise<void> {
  const config = loadConfig();
  const applied = await runMigrations(config.DATABASE_URL);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'up to date');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : (err as Error).message);
  process.exit(1);
});
