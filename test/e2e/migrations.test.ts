import { readdirSync } from 'node:fs';
import pg from 'pg';
import { MIGRATIONS_DIR } from '../../platform/db';
import { spawnTs } from '../support/processes';
import { testEnv } from '../support/env';

/** Every migration file, in the order node-pg-migrate applies them (by name). */
const migrationFiles = () =>
  readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''))
    .sort();

/** Migrations run on every start: applying them again changes nothing and says so. */
test('npm run migrate is idempotent against an up-to-date database', async () => {
  const run = async () => {
    const proc = spawnTs('scripts/migrate.ts', { DATABASE_URL: testEnv.databaseUrl, DATA_DIR: testEnv.dataDir, AUTH_JWKS: '{"keys":[]}' });
    expect(await proc.exited).toBe(0);
    return proc.output().trim();
  };
  expect(await run()).toBe('up to date');
  expect(await run()).toBe('up to date');
  const client = new pg.Client({ connectionString: testEnv.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT name FROM pgmigrations ORDER BY id');
    // Each file in db/migrations applied exactly once, in order, and nothing else.
    const files = migrationFiles();
    expect(files.slice(0, 2)).toEqual(['001_platform', '002_changes']);
    expect(rows.map((r) => r.name)).toEqual(files);
  } finally {
    await client.end();
  }
});

test('a bad DATABASE_URL stops the migration with one clear line', async () => {
  const proc = spawnTs('scripts/migrate.ts', { DATABASE_URL: 'not a url', DATA_DIR: testEnv.dataDir, AUTH_JWKS: '{"keys":[]}' });
  expect(await proc.exited).toBe(1);
  expect(proc.output().trim()).toBe('Configuration error: DATABASE_URL must be a postgres:// URL (got "not a url")');
});
