import path from 'node:path';
import pg from 'pg';
import type { Logger } from './logger';

// Postgres returns int8 (bigint, count(*)) as strings by default; our counts and
// versions always fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'tollgate',
  });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'db', 'migrations');

/** Applies pending SQL migrations; safe to run on every start and from several processes (advisory lock). */
export async function runMigrations(databaseUrl: string, log?: Logger): Promise<string[]> {
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    advisoryLockMode: 'wait',
    logger: {
      info: (m: string) => log?.debug({ component: 'migrations' }, m),
      warn: (m: string) => log?.warn({ component: 'migrations' }, m),
      error: (m: string) => log?.error({ component: 'migrations' }, m),
    },
  });
  return applied.map((m) => m.name);
}
